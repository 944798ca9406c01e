// Starting a benchmark run: the benchmark, the model or reference row and everything that decides the numbers are
// fixed here and stored with the run (model name, manifest sha256, variant and its settings key, the LUT by id, the
// subset, the bootstrap), before the `benchmark-run` job starts; a resume reads them from the run, not from today's
// settings.
import type { z } from 'zod';
import { RpcError } from '../../../common/contract';
import type { RunRecord, RunStartRequest, RunSummary } from '../../../common/contract/evaluation';
import type { Db } from '../../db/database';
import { getRun, insertRun, listRunPairs, listRuns, setRunJob, type RunRow } from '../../db/benchmarks-repo';
import { getNewestLutOfModel } from '../../db/luts-repo';
import { getSettings } from '../../db/settings-repo';
import { prepared } from '../../db/statements';
import { GroundingError, resolveSettings, settingsKey } from '../../grounding/ground';
import type { JobRunner } from '../../jobs/job-runner';
import { DEMO_MODEL_NAME, type LoadedBundle, type ModelRegistry } from '../../models/registry';
import { BenchmarkError, benchmarkKeys, loadBenchmark } from './definitions';
import { BENCHMARK_RUN_JOB, type RunSettings } from './run-job';
import { applySubset, findSubset } from './subsets';

export interface BenchmarkDeps {
  db: Db;
  jobs: JobRunner;
  registry: ModelRegistry;
}

export const REFERENCE_LABELS = {
  oracle: 'Oracle Gaussian from the GT boxes (sigma = side/3)',
  lut: 'Location-only Gaussian (LUT prior, ignores the image)',
  random: 'Random uniform noise',
} as const;

function bundleOf(registry: ModelRegistry, name: string): LoadedBundle {
  const entry = registry.entries().find((e) => e.name === name);
  if (!entry) throw new RpcError('not_found', `no model named "${name}" (see Settings > Models, or \`sightline models list\`)`);
  if (!entry.manifest || !entry.hash) throw new RpcError('bad_file', entry.problem ?? `${entry.dir}: the bundle cannot be read`);
  return { name: entry.name, version: entry.manifest.version, dir: entry.dir, source: entry.source, manifest: entry.manifest, hash: entry.hash };
}

export function listBenchmarks(db: Db) {
  const imported = prepared(db, "SELECT image_id AS imageId, phrase, model AS source FROM heatmaps WHERE source = 'imported'").all() as { imageId: number; phrase: string; source: string }[];
  return benchmarkKeys(db).map(({ key }) => {
    const b = loadBenchmark(db, key, null);
    // imported maps are found by (image, label_text), as the run finds them
    const wanted = new Set(b.pairs.map((p) => `${p.imageId}\u0000${p.labelText}`));
    const bySource = new Map<string, number>();
    for (const h of imported) if (wanted.has(`${h.imageId}\u0000${h.phrase}`)) bySource.set(h.source, (bySource.get(h.source) ?? 0) + 1);
    const sources = [...bySource].map(([source, pairs]) => ({ source, pairs })).sort((x, y) => (x.source < y.source ? -1 : 1));
    return { key, name: b.name, dataset: b.dataset, pairs: b.pairs.length, dropped: b.dropped, classes: b.classes, needsLut: b.name === 'VinDr-CXR', imported: sources };
  });
}

export function startBenchmarkRun(deps: BenchmarkDeps, request: z.output<typeof RunStartRequest>): { runId: number; jobId: string } {
  const { db, jobs, registry } = deps;
  const wrap = <T>(f: () => T): T => {
    try {
      return f();
    } catch (error) {
      if (error instanceof BenchmarkError || error instanceof GroundingError) throw new RpcError('invalid_input', error.message);
      throw error;
    }
  };
  const model = request.model ?? getSettings(db).model ?? DEMO_MODEL_NAME;
  const method = request.reference ?? (request.heatmaps ? 'imported' : 'model');
  let bundle: LoadedBundle | null = null;
  let variant: string | null = null;
  let key: string | null = null;
  if (method === 'model') {
    bundle = bundleOf(registry, model);
    const resolved = wrap(() => resolveSettings(bundle!, request.variant ?? null));
    variant = resolved.variant;
    key = settingsKey(resolved);
  }
  const probe = wrap(() => loadBenchmark(db, request.benchmark, null));
  const lutNeeded = method === 'lut' || probe.name === 'VinDr-CXR';
  const lut = lutNeeded ? getNewestLutOfModel(db, model) : null;
  if (lutNeeded && !lut) throw new RpcError('invalid_input', `no LUT in the frame of the model "${model}" (${method === 'lut' ? 'the location-only row' : 'VinDr-CXR prompts'} need one: sightline lut build --model ${model})`);
  const benchmark = wrap(() => loadBenchmark(db, probe.key, lut?.lut ?? null));
  const subset = request.subset === undefined ? null : wrap(() => findSubset(db, benchmark.key, request.subset!));
  const selected = subset ? applySubset(benchmark.pairs, subset.rule) : benchmark.pairs;
  const pairCount = request.limit ? Math.min(request.limit, selected.length) : selected.length;
  if (!pairCount) throw new RpcError('invalid_input', `${benchmark.key}${subset ? `, subset "${subset.name}",` : ''} has no pair with a location to score`);
  const label =
    method === 'model' ? `${model} (${variant})` : method === 'imported' ? `imported: ${request.heatmaps}` : REFERENCE_LABELS[method as keyof typeof REFERENCE_LABELS];
  if (request.sideSwap && method === 'imported') throw new RpcError('invalid_input', 'imported heatmaps are of the dataset phrases: there is no side-swapped map to check them with');
  const settings: RunSettings = {
    benchmark: benchmark.key,
    method,
    model: method === 'model' || method === 'lut' ? model : null,
    bundleHash: bundle?.hash ?? null,
    modelVersion: bundle?.version ?? null,
    variant,
    settingsKey: key,
    heatmaps: request.heatmaps ?? null,
    lutId: lut?.id ?? null,
    lut: lut ? `${lut.name} v${lut.version}` : null,
    limit: request.limit ?? null,
    // the subset's rule as it was when the run started (a resume applies this, not the subset's later edits)
    subset,
    sideSwap: request.sideSwap,
    n_boot: request.bootstrap,
    seed: request.seed,
    dropped: benchmark.dropped,
    // the users' prompt corrections in force when the run started (phrase id -> correction id): a resume uses these
    corrections: benchmark.corrections,
    classes: benchmark.classes,
    ci: '95% percentile bootstrap over pairs (docs/method.md 5.1)',
    map: 'model-frame map after the variant Otsu threshold, nearest-resized onto the centre square, NaN outside',
  };
  const runId = insertRun(db, { benchmark: benchmark.name, dataset: benchmark.dataset, method, label, settings, pairCount });
  const jobId = jobs.start(BENCHMARK_RUN_JOB, { runId });
  setRunJob(db, runId, jobId);
  return { runId, jobId };
}

/** A run as the contract shows it: its state from its job (done once its summary is stored). */
export function runSummary(jobs: JobRunner, r: RunRow): z.output<typeof RunSummary> {
  const job = r.jobId ? jobs.get(r.jobId) : null;
  const state = r.report ? 'done' : (job?.state ?? 'interrupted');
  const { id, jobId, benchmark, dataset, method, label, pairCount, scored, createdAt, finishedAt, report } = r;
  return { id, jobId, benchmark, dataset, method, label, pairCount, scored, state, createdAt, finishedAt, report };
}

export function listRunSummaries(deps: BenchmarkDeps) {
  return listRuns(deps.db).map((r) => runSummary(deps.jobs, r));
}

export function getRunRecord(deps: BenchmarkDeps, id: number): z.output<typeof RunRecord> {
  const r = getRun(deps.db, id);
  if (!r) throw new RpcError('not_found', `no benchmark run ${id}`);
  const corrections = (r.settings.corrections ?? {}) as Record<string, number>;
  const pairs = listRunPairs(deps.db, id).map((p) => ({ ...p, corrected: p.phraseId !== null && String(p.phraseId) in corrections }));
  return { ...runSummary(deps.jobs, r), settings: r.settings, pairs };
}
