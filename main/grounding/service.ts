// `heatmaps.*`: ground a phrase on a stored image (a durable job on the worker pool; a request answered before
// is served from the store), and read stored heatmaps with their provenance. A grounding job publishes its
// provisional maps as `heatmap.partial` events while it runs (throttled per phrase, never after it ended).
import { z } from 'zod';
import { Id, RpcError, type EventName, type EventPayload, type heatmapsProcedures, type Types } from '../../common/contract';
import { createThrottle, type Throttle } from '../../common/progress';
import type { Db } from '../db/database';
import { findHeatmap, getHeatmap, listHeatmapsOfImage, type HeatmapRow } from '../db/heatmaps-repo';
import { getImageRow } from '../db/images-repo';
import { getSettings } from '../db/settings-repo';
import type { JobKind, JobRunner } from '../jobs/job-runner';
import { DEMO_MODEL_NAME, type LoadedBundle, type ModelRegistry } from '../models/registry';
import type { HandlersOf } from '../rpc/handlers';
import { GroundingError, groundImage, resolveSettings, settingsKey, type GroundingRuntime, type ProvisionalPhrase } from './ground';
import { startHeatmapImport } from './heatmap-import';
import { readHeatmapBytes, storeHeatmap, sweepHeatmapFiles } from './heatmap-store';

export const GROUNDING_JOB = 'grounding';

export const GroundingParams = z.object({
  imageId: Id,
  phrases: z.array(z.string().trim().min(1).max(1000)).min(1).max(64),
  model: z.string().min(1).nullable(),
  variant: z.string().min(1).nullable(),
});
export type GroundingParams = z.output<typeof GroundingParams>;

export interface HeatmapsServiceDeps {
  db: Db;
  dataDir: string;
  jobs: JobRunner;
  registry: ModelRegistry;
  runtime: GroundingRuntime;
  log?: (message: string) => void;
  /** publishes a contract event (app-context wires it to the event bus); without it no provisional maps are made */
  emit?: <E extends EventName>(event: E, payload: EventPayload<E>) => void;
  /** test hook: at least this many attention batches per grounding job (AttendSettings.minChunks), so that the
   * demo model, whose job is otherwise one batch, sends provisional maps too */
  attentionChunks?: number;
}

/** At most one `heatmap.partial` per phrase of a job in this interval (the latest one always goes, unless the job ends). */
export const PARTIAL_INTERVAL_MS = 250;

/** The model a request names, else the one chosen in the settings, else the shipped demo model. */
function modelName(db: Db, requested: string | null | undefined): string {
  return requested ?? getSettings(db).model ?? DEMO_MODEL_NAME;
}

/** The bundle's manifest and hash as they are on disk, without verifying its files (for the store's lookup). */
function peek(registry: ModelRegistry, name: string): LoadedBundle {
  const entry = registry.entries().find((e) => e.name === name);
  if (!entry) throw new RpcError('not_found', `no model named "${name}" (see Settings > Models, or \`sightline models list\`)`);
  if (!entry.manifest || !entry.hash) throw new RpcError('bad_file', entry.problem ?? `${entry.dir}: the bundle cannot be read`);
  return { name: entry.name, version: entry.manifest.version, dir: entry.dir, source: entry.source, manifest: entry.manifest, hash: entry.hash };
}

function imageOf(db: Db, id: number) {
  const image = getImageRow(db, id);
  if (!image) throw new RpcError('not_found', `no image ${id}`);
  return image;
}

export function groundingJobKind(deps: HeatmapsServiceDeps): JobKind<GroundingParams, { heatmapIds: number[] }> {
  const { db, dataDir, registry, runtime } = deps;
  return {
    kind: GROUNDING_JOB,
    params: GroundingParams,
    resumable: false,
    async run(ctx) {
      const { imageId, phrases, model, variant } = ctx.params;
      const image = imageOf(db, imageId);
      ctx.report({ message: 'checking the model' });
      const bundle = await registry.open(modelName(db, model), ctx.signal);
      const settings = resolveSettings(bundle, variant);
      const key = settingsKey(settings);
      const lookup = (phrase: string) => findHeatmap(db, { imageId, phrase, bundleHash: bundle.hash, variant: settings.variant, settingsKey: key });
      const missing = [...new Set(phrases)].filter((p) => !lookup(p));
      if (missing.length) {
        const partials = deps.emit ? partialPublisher(deps.emit, { jobId: ctx.jobId, imageId, model: bundle.name, variant: settings.variant }, ctx.signal) : null;
        let result;
        try {
          result = await groundImage(
            runtime,
            { bundle, settings, file: image.path, sha256: image.sha256, phrases: missing, ...(deps.attentionChunks ? { minChunks: deps.attentionChunks } : {}) },
            ctx.signal,
            ctx.report,
            partials?.push,
          );
        } finally {
          partials?.close();
        }
        for (const g of result.phrases) {
          storeHeatmap(
            db,
            dataDir,
            {
              imageId,
              phrase: g.phrase,
              source: 'model',
              model: bundle.name,
              modelVersion: bundle.version,
              bundleHash: bundle.hash,
              variant: settings.variant,
              settingsKey: key,
              settings: { ...settings },
              width: result.size,
              height: result.size,
              threshold: g.threshold,
              geometry: result.geometry,
              provenance: result.provenance,
            },
            g.map,
          );
        }
      }
      return { heatmapIds: phrases.map((p) => lookup(p)!.id) };
    },
  };
}

/**
 * A job's provisional maps -> `heatmap.partial` events: per phrase at most one per PARTIAL_INTERVAL_MS (the latest
 * kept for the trailing edge); nothing once the job is cancelled or `close()`d (called before the job ends).
 */
export function partialPublisher(
  emit: NonNullable<HeatmapsServiceDeps['emit']>,
  job: { jobId: string; imageId: number; model: string; variant: string },
  signal: AbortSignal,
): { push: (p: ProvisionalPhrase) => void; close: () => void } {
  const throttles = new Map<string, Throttle<ProvisionalPhrase>>();
  let closed = false;
  const send = (p: ProvisionalPhrase) => {
    if (closed || signal.aborted) return;
    emit('heatmap.partial', {
      ...job,
      phrase: p.phrase,
      stepsDone: p.stepsDone,
      stepsTotal: p.stepsTotal,
      width: p.size,
      height: p.size,
      data: new Uint8Array(p.map.buffer as ArrayBuffer, p.map.byteOffset, p.map.byteLength),
      threshold: p.threshold,
      geometry: p.geometry,
    });
  };
  return {
    push: (p) => {
      if (closed || signal.aborted) return;
      let throttle = throttles.get(p.phrase);
      if (!throttle) throttles.set(p.phrase, (throttle = createThrottle(PARTIAL_INTERVAL_MS, send)));
      throttle.push(p);
    },
    close: () => {
      closed = true;
      for (const t of throttles.values()) t.cancel();
      throttles.clear();
    },
  };
}

function summary(row: HeatmapRow): Types['HeatmapSummary'] {
  const { id, imageId, phrase, source, model, modelVersion, variant, createdAt } = row;
  return { id, imageId, phrase, source, model, modelVersion, variant, createdAt };
}

export function createHeatmapsService(deps: HeatmapsServiceDeps): HandlersOf<typeof heatmapsProcedures> {
  const { db, dataDir, jobs, registry } = deps;
  setTimeout(() => {
    try {
      const removed = sweepHeatmapFiles(db, dataDir);
      if (removed) deps.log?.(`heatmaps: removed ${removed} map file(s) of deleted images`);
    } catch (error) {
      deps.log?.(`heatmaps: could not sweep old map files: ${(error as Error).message}`);
    }
  }, 2000).unref();

  return {
    'heatmaps.compute': ({ imageId, phrase, model, variant }) => {
      imageOf(db, imageId);
      const name = modelName(db, model);
      const bundle = peek(registry, name);
      let settings;
      try {
        settings = resolveSettings(bundle, variant ?? null);
      } catch (error) {
        if (error instanceof GroundingError) throw new RpcError('invalid_input', error.message);
        throw error;
      }
      const stored = findHeatmap(db, { imageId, phrase, bundleHash: bundle.hash, variant: settings.variant, settingsKey: settingsKey(settings) });
      if (stored) return { heatmapId: stored.id, jobId: null };
      return { heatmapId: null, jobId: jobs.start(GROUNDING_JOB, { imageId, phrases: [phrase], model: name, variant: settings.variant }) };
    },
    'heatmaps.get': ({ id }) => {
      const row = getHeatmap(db, id);
      if (!row) throw new RpcError('not_found', `no heatmap ${id}`);
      let data: Uint8Array<ArrayBuffer>;
      try {
        data = readHeatmapBytes(dataDir, row.file, row.width, row.height);
      } catch (error) {
        const again = row.source === 'imported' ? `import ${row.model}'s heatmaps again` : 'ground the phrase again';
        throw new RpcError('bad_file', `the map file of heatmap ${id} cannot be read (${(error as Error).message}); ${again}`);
      }
      const { width, height, threshold, geometry } = row;
      return { ...summary(row), width, height, data, threshold, geometry, provenance: { ...row.provenance, settings: row.settings } };
    },
    'heatmaps.list': ({ imageId }) => listHeatmapsOfImage(db, imageId).map(summary),
    'heatmaps.import': (input) => startHeatmapImport(jobs, input),
  };
}
