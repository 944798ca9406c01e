// The `batch-import` durable job: a results folder's sealed shards stored as the app's own heatmaps (source 'model',
// the bundle's name, version and hash, the variant, its settings key and settings, the model-frame map with its
// threshold and the centre-square geometry the app's grounding gives the image), so that heatmaps.compute, benchmark
// runs, reader studies and comparisons find them as if the app had grounded them. Refused whole when the job's
// bundle is not the installed one or a variant's settings key differs from what the app resolves now; per map, a
// file whose sha256 differs from shard.json's, or an image the app does not hold, is rejected. One transaction per
// image (a cancel keeps the images written); a map already stored is left as is and counted `existing`.
import fs from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { BatchImportRequest, type BatchImportResult } from '../../common/contract/batch';
import type { Db } from '../db/database';
import { findHeatmap, type NewHeatmap } from '../db/heatmaps-repo';
import { prepared } from '../db/statements';
import { resolveSettings, settingsKey } from '../grounding/ground';
import { storeHeatmap } from '../grounding/heatmap-store';
import { cropBox } from '../grounding/image-ops';
import { MapFileError, parseNpy } from '../grounding/map-read';
import type { JobKind, JobRunner } from '../jobs/job-runner';
import type { ModelRegistry } from '../models/registry';
import { installedBundle } from './export';
import { inside, locateJob, sha256Of, shardName, type JobFile, type ShardMap } from './format';
import { readSealedShard, stagedImages } from './status';

export const BATCH_IMPORT_JOB = 'batch-import';
export type ImportParams = z.output<typeof BatchImportRequest>;
export type ImportResult = z.output<typeof BatchImportResult>;

export interface BatchImportDeps {
  db: Db;
  dataDir: string;
  registry: ModelRegistry;
}

export function startBatchImport(jobs: JobRunner, { folder }: ImportParams): { jobId: string } {
  return { jobId: jobs.start(BATCH_IMPORT_JOB, { folder: path.resolve(folder) }) };
}

const hash12 = (h: string) => h.slice(0, 12);

/** The installed bundle when it is the job's, and each variant's resolved settings; an Error refuses the import. */
function checkJobAgainstApp(registry: ModelRegistry, job: JobFile) {
  const bundle = installedBundle(registry, job.bundle.name);
  if (bundle.hash !== job.bundle.hash) {
    throw new Error(`the job was made with bundle ${hash12(job.bundle.hash)}, the app's ${bundle.name} is ${hash12(bundle.hash)}: nothing imported`);
  }
  const variants = new Map(
    job.variants.map((v) => {
      const settings = resolveSettings(bundle, v.name);
      const key = settingsKey(settings);
      if (key !== v.settings_key) throw new Error(`the variant "${v.name}" was grounded with settings ${v.settings_key}, the app resolves ${key} now: nothing imported`);
      return [v.name, { settings, key }] as const;
    }),
  );
  return { bundle, variants };
}

class MapProblem extends Error {}

const CHECKPOINT_MS = 500;

interface ImageRow {
  id: number;
  rows: number;
  columns: number;
  key: string;
}

export function batchImportJobKind({ db, dataDir, registry }: BatchImportDeps): JobKind<ImportParams, ImportResult> {
  const imageBySha = (sha: string) =>
    (prepared(db, 'SELECT id, rows, columns, ifnull(dicom_id, image_key) AS key FROM images WHERE sha256 = ?').get(sha) as ImageRow | undefined) ?? null;
  return {
    kind: BATCH_IMPORT_JOB,
    params: BatchImportRequest,
    // importing again counts what is stored as `existing`: nothing to resume
    resumable: false,
    async run(ctx) {
      const { signal } = ctx;
      ctx.report({ message: `reading ${ctx.params.folder}` });
      const { job, resultsDir } = locateJob(ctx.params.folder);
      const { bundle, variants } = checkJobAgainstApp(registry, job);
      const size = bundle.manifest.image.size;
      const result: ImportResult = { imported: 0, existing: 0, shardsImported: 0, unfinished: [], rejected: [] };
      const snapshot = (): ImportResult => ({ ...result, unfinished: [...result.unfinished], rejected: [...result.rejected] });

      const sealed: { k: number; dir: string; maps: ShardMap[]; provenance: Record<string, unknown> }[] = [];
      for (let k = 0; k < job.shards.length; k++) {
        if (!fs.existsSync(path.join(resultsDir, 'shards', shardName(k)))) {
          result.unfinished.push(`shard ${k}: ${stagedImages(job, resultsDir, k)} of ${job.shards[k].length} images done`);
          continue;
        }
        const checked = readSealedShard(job, resultsDir, k);
        if (typeof checked === 'string') {
          result.rejected.push({ shard: k, file: shardName(k), reason: checked });
          continue;
        }
        const { shard, dir } = checked;
        if (shard.bundle_hash !== job.bundle.hash) result.rejected.push({ shard: k, file: 'shard.json', reason: `made with bundle ${hash12(shard.bundle_hash)}, the job's is ${hash12(job.bundle.hash)}` });
        else if (shard.size !== size) result.rejected.push({ shard: k, file: 'shard.json', reason: `maps of ${shard.size} x ${shard.size}, the model's frame is ${size} x ${size}` });
        else {
          // what the job wants of the shard; a shard.json listing fewer is imported for what it has, and reported
          const wanted = job.shards[k].reduce((n, i) => n + job.images[i].phrases.length, 0) * job.variants.length;
          if (shard.maps.length < wanted) result.rejected.push({ shard: k, file: 'shard.json', reason: `lists ${shard.maps.length} maps, the job wants ${wanted}` });
          sealed.push({ k, dir, maps: shard.maps, provenance: shard.provenance });
        }
      }
      const total = sealed.reduce((n, s) => n + s.maps.length, 0);
      let done = 0;
      let checkpointAt = 0;
      ctx.report({ done: 0, total, message: `importing ${total} maps of ${sealed.length} sealed shard${sealed.length === 1 ? '' : 's'}` });

      for (const { k, dir, maps, provenance } of sealed) {
        const byImage = new Map<number, ShardMap[]>();
        for (const m of maps) byImage.set(m.image, [...(byImage.get(m.image) ?? []), m]);
        for (const [index, group] of byImage) {
          if (signal.aborted) break;
          const ready: { heatmap: Omit<NewHeatmap, 'file'>; map: Float32Array }[] = [];
          for (const m of group) {
            try {
              ready.push(await readMap(m, index));
            } catch (error) {
              if (!(error instanceof MapProblem)) throw error;
              result.rejected.push({ shard: k, file: m.file, reason: error.message });
            }
          }
          if (signal.aborted) break;
          db.transaction(() => {
            for (const r of ready) {
              if (findHeatmap(db, r.heatmap)) result.existing++;
              else {
                storeHeatmap(db, dataDir, r.heatmap, r.map);
                result.imported++;
              }
            }
            done += group.length;
            ctx.report({ done });
            if (Date.now() - checkpointAt >= CHECKPOINT_MS) {
              ctx.checkpoint(snapshot());
              checkpointAt = Date.now();
            }
          })();
        }
        if (signal.aborted) break;
        result.shardsImported++;

        async function readMap(m: ShardMap, index: number): Promise<{ heatmap: Omit<NewHeatmap, 'file'>; map: Float32Array }> {
          if (!job.shards[k].includes(index)) throw new MapProblem(`image ${index} is not in shard ${k}`);
          const wanted = job.images[index];
          if (m.key !== wanted.key || m.image_sha256 !== wanted.sha256) throw new MapProblem(`image ${index} is ${wanted.key} (${hash12(wanted.sha256)}) in the job, ${m.key} (${hash12(m.image_sha256)}) here`);
          const variant = variants.get(m.variant);
          if (!variant) throw new MapProblem(`the job has no variant "${m.variant}"`);
          if (m.settings_key !== variant.key) throw new MapProblem(`settings ${m.settings_key}, the variant's are ${variant.key}`);
          if (!wanted.phrases.includes(m.phrase)) throw new MapProblem(`"${m.phrase}" is not a phrase of image ${index} in the job`);
          const file = inside(dir, m.file);
          if (!file) throw new MapProblem('the path leaves the shard folder');
          let bytes: Buffer;
          try {
            // read asynchronously: a big import leaves the event loop to the app's other calls between files
            bytes = await fs.promises.readFile(file);
          } catch {
            throw new MapProblem('missing file');
          }
          if (sha256Of(bytes) !== m.sha256) throw new MapProblem('its sha256 differs from shard.json\'s (changed or damaged)');
          let parsed;
          try {
            parsed = parseNpy(bytes);
          } catch (error) {
            if (error instanceof MapFileError) throw new MapProblem(`unreadable: ${error.message}`);
            throw error;
          }
          if (parsed.rows !== size || parsed.columns !== size) throw new MapProblem(`a ${parsed.rows} x ${parsed.columns} map, the model's frame is ${size} x ${size}`);
          if (parsed.values.some((v) => !(v >= 0 && v <= 1))) throw new MapProblem('a value outside [0, 1] (or NaN): a model map is normalised to [0, 1]');
          const image = imageBySha(wanted.sha256);
          if (!image) throw new MapProblem(`no stored image has the sha256 ${hash12(wanted.sha256)} of ${wanted.key} (import it first)`);
          if (image.key !== wanted.key) throw new MapProblem(`the stored image ${image.id} with that sha256 is ${image.key}, not ${wanted.key}`);
          if (image.rows !== wanted.rows || image.columns !== wanted.columns) throw new MapProblem(`image ${image.id} is ${image.columns} x ${image.rows}, the job says ${wanted.columns} x ${wanted.rows}`);
          const side = Math.min(image.rows, image.columns);
          const [top, left] = cropBox(image.rows, image.columns, side);
          return {
            heatmap: {
              imageId: image.id,
              phrase: m.phrase,
              source: 'model',
              model: bundle.name,
              modelVersion: bundle.version,
              bundleHash: bundle.hash,
              variant: m.variant,
              settingsKey: variant.key,
              settings: { ...variant.settings },
              width: size,
              height: size,
              threshold: m.threshold,
              // the app's own grounding geometry (main/grounding/ground.ts): the centre square of the short side
              geometry: { originalRows: image.rows, originalColumns: image.columns, top, left, width: side, height: side },
              provenance: {
                runtime: 'pytorch-batch',
                job_id: job.id,
                shard: k,
                code_version: provenance.code_version ?? null,
                host: provenance.host ?? null,
                torch: provenance.torch ?? null,
                device: provenance.device ?? null,
                world_size: provenance.world_size ?? null,
                folder: resultsDir,
                bundleHash: bundle.hash,
              },
            },
            map: parsed.values,
          };
        }
      }
      if (signal.aborted) {
        ctx.checkpoint(snapshot());
        throw signal.reason instanceof Error ? signal.reason : new Error('cancelled');
      }
      return result;
    },
  };
}
