// The `benchmark-run` durable job: every pair of a stored run's benchmark scored against its dataset boxes and the
// summary stored with the run. Model runs go through the grounding job kind's own code path (main/grounding/
// service.ts, called in-process, not as sub-jobs): all prompts of an image in one call, so the image is inverted
// once (and not at all when its inversion is cached), stored maps reused, new maps stored as any grounding job
// stores them. A map is scored at the original size as `sightline ground` writes it (Otsu applied, nearest resize
// onto the model's crop, NaN outside). Each image's pairs are written in one transaction, so a resume after a crash
// or a cancel skips the pairs already scored.
import { z } from 'zod';
import type { RunReport } from '../../../common/contract/evaluation';
import { finishRun, getRun, insertRunPair, listRunPairs, type RunPairRow } from '../../db/benchmarks-repo';
import { getHeatmap, findHeatmap } from '../../db/heatmaps-repo';
import { getLut } from '../../db/luts-repo';
import { correctionsById } from '../../db/prompts-repo';
import { IMPORTED_VARIANT } from '../../grounding/heatmap-import';
import { readThresholdedMap } from '../../grounding/heatmap-store';
import { mapToImage } from '../../grounding/image-ops';
import { groundingJobKind, type HeatmapsServiceDeps } from '../../grounding/service';
import type { JobContext, JobKind } from '../../jobs/job-runner';
import type { Lut } from '../lut/build';
import { summariseResults } from '../metrics/evaluate-files';
import { scorePairOnPool } from '../metrics/score-tasks';
import { loadBenchmark, SIDE_RE, swapSides, type BenchmarkPair } from './definitions';
import { lutMap, oracleMap, randomMap } from './references';
import { applySubset, type SubsetRule } from './subsets';

export const BENCHMARK_RUN_JOB = 'benchmark-run';
/** at most this many phrases per grounding call (the grounding job's own limit) */
const PHRASES_PER_CALL = 64;

export const BenchmarkRunParams = z.object({ runId: z.number().int().positive() });
export type BenchmarkRunParams = z.output<typeof BenchmarkRunParams>;
export interface BenchmarkRunResult {
  runId: number;
  scored: number;
}

/** What a run stores as its settings (main/evaluation/benchmarks/start.ts writes them). */
export interface RunSettings {
  benchmark: string;
  method: 'model' | 'imported' | 'oracle' | 'lut' | 'random';
  model: string | null;
  bundleHash: string | null;
  variant: string | null;
  settingsKey: string | null;
  heatmaps: string | null;
  lutId: number | null;
  limit: number | null;
  /** a named subset (main/evaluation/benchmarks/subsets.ts) and its rule when the run started */
  subset?: { name: string; rule: SubsetRule } | null;
  sideSwap: boolean;
  /** phrase id -> the prompt correction used (main/evaluation/prompts.ts) */
  corrections?: Record<string, number>;
  n_boot: number;
  seed: number;
  [key: string]: unknown;
}

export class BenchmarkRunError extends Error {}

type Deps = Pick<HeatmapsServiceDeps, 'db' | 'dataDir' | 'registry' | 'runtime' | 'attentionChunks' | 'jobs'>;

export function benchmarkRunJobKind(deps: Deps): JobKind<BenchmarkRunParams, BenchmarkRunResult> {
  const { db } = deps;
  // the grounding job's code path, without provisional-map events (nobody shows a benchmark's partial maps)
  const grounding = groundingJobKind({ ...deps, emit: undefined });
  return {
    kind: BENCHMARK_RUN_JOB,
    params: BenchmarkRunParams,
    resumable: true,
    async run(ctx) {
      const { runId } = ctx.params;
      const run = getRun(db, runId);
      if (!run) throw new BenchmarkRunError(`no benchmark run ${runId}`);
      const s = run.settings as RunSettings;
      const lut = s.lutId === null ? null : (getLut(db, s.lutId)?.lut ?? null);
      if (s.lutId !== null && !lut) throw new BenchmarkRunError(`the run's LUT ${s.lutId} was deleted`);
      // the corrections the run started with (none for runs stored before corrections existed), not today's
      const benchmark = loadBenchmark(db, s.benchmark, lut, false, correctionsById(db, Object.values(s.corrections ?? {})));
      const selected = s.subset ? applySubset(benchmark.pairs, s.subset.rule) : benchmark.pairs;
      const pairs = s.limit ? selected.slice(0, s.limit) : selected;
      const indexOf = new Map(pairs.map((p, i) => [p.key, i]));
      const done = new Set(listRunPairs(db, runId).map((p) => p.key));
      const byImage = new Map<number, BenchmarkPair[]>();
      for (const p of pairs) if (!done.has(p.key)) byImage.set(p.imageId, [...(byImage.get(p.imageId) ?? []), p]);
      let scored = done.size;
      ctx.report({ done: scored, total: pairs.length, message: `${run.label} on ${benchmark.key}` });

      let k = 0;
      for (const [imageId, group] of byImage) {
        ctx.signal.throwIfAborted();
        k++;
        const maps = await mapsOf(deps, grounding, ctx, s, imageId, group, (message) => ctx.report({ message: `image ${k}/${byImage.size}: ${message}` }));
        // each pair scored on the worker pool (~1 s at full resolution), the image's pairs in parallel
        const rows: RunPairRow[] = await Promise.all(group.map(async (p) => {
          const index = indexOf.get(p.key)!;
          const score = async (swapped: boolean) => {
            const found = maps.get(mapKey(p, swapped)) ?? referenceMap(s, lut, p, index, swapped);
            return found ? { heatmapId: found.heatmapId, ...(await scorePairOnPool(deps.runtime.pool, { width: p.width, height: p.height, values: found.values }, p.boxes, ctx.signal)) } : null;
          };
          const base = { key: p.key, index, phraseId: p.phraseId, imageId: p.imageId, studyId: p.studyId, dicom_id: p.dicomId, label_text: p.labelText, category: p.category, prompt: p.prompt! };
          const asWritten = await score(false);
          const swappedPrompt = swapsOf(s, p);
          const swapped = swappedPrompt !== null && asWritten ? await score(true) : null;
          return {
            ...base,
            heatmapId: asWritten?.heatmapId ?? null,
            cnr: asWritten?.cnr ?? null,
            miou: asWritten?.miou ?? null,
            auc: asWritten?.auc ?? null,
            swapped_prompt: swapped ? swappedPrompt : null,
            swapped_cnr: swapped?.cnr ?? null,
            swapped_miou: swapped?.miou ?? null,
            swapped_auc: swapped?.auc ?? null,
          };
        }));
        ctx.signal.throwIfAborted();
        db.transaction(() => rows.forEach((r) => insertRunPair(db, runId, r)))();
        scored += rows.length;
        ctx.report({ done: scored, message: `${run.label} on ${benchmark.key}` });
      }
      finishRun(db, runId, reportOf(listRunPairs(db, runId), s));
      return { runId, scored };
    },
  };
}

interface ScoredMap {
  heatmapId: number | null;
  values: Float32Array;
}

/** The original-size maps of an image's pairs from stored heatmaps (model runs ground the missing ones first). */
async function mapsOf(
  deps: Deps,
  grounding: ReturnType<typeof groundingJobKind>,
  ctx: JobContext<BenchmarkRunParams, BenchmarkRunResult>,
  s: RunSettings,
  imageId: number,
  group: readonly BenchmarkPair[],
  say: (message: string) => void,
): Promise<Map<string, ScoredMap>> {
  const out = new Map<string, ScoredMap>();
  const ids = new Map<string, number>();
  if (s.method === 'model') {
    const prompts = [...new Set(group.flatMap((p) => [p.prompt!, swapsOf(s, p)].filter((t): t is string => t !== null)))];
    for (let i = 0; i < prompts.length; i += PHRASES_PER_CALL) {
      const phrases = prompts.slice(i, i + PHRASES_PER_CALL);
      const { heatmapIds } = await grounding.run({
        jobId: ctx.jobId,
        params: { imageId, phrases, model: s.model, variant: s.variant },
        signal: ctx.signal,
        report: (p) => p.message && say(p.message),
        checkpoint: () => {},
        previous: null,
      });
      phrases.forEach((phrase, j) => ids.set(phrase, heatmapIds[j]));
    }
  } else if (s.method === 'imported') {
    // imported maps are of the dataset's phrase: there is no side-swapped one
    for (const p of group) {
      const row = findHeatmap(deps.db, { imageId, phrase: p.labelText, bundleHash: `imported:${s.heatmaps}`, variant: IMPORTED_VARIANT, settingsKey: '' });
      if (row) ids.set(p.labelText, row.id);
    }
  } else return out;
  for (const p of group) {
    for (const swapped of [false, true]) {
      const text = s.method === 'model' ? (swapped ? swapsOf(s, p) : p.prompt!) : swapped ? null : p.labelText;
      const id = text === null ? undefined : ids.get(text);
      if (id !== undefined) out.set(mapKey(p, swapped), readOriginalSize(deps, s, id, imageId, p));
    }
  }
  return out;
}

const mapKey = (p: BenchmarkPair, swapped: boolean) => `${p.key}${swapped ? '\u0000swapped' : ''}`;

/** The side-swapped prompt of a pair when the run has the check and the prompt names a side, else null. */
function swapsOf(s: RunSettings, p: BenchmarkPair): string | null {
  return s.sideSwap && p.prompt && SIDE_RE.test(p.prompt) ? swapSides(p.prompt) : null;
}

/** A stored heatmap at the image's original size, as it is scored. */
function readOriginalSize(deps: Deps, s: RunSettings, id: number, imageId: number, p: BenchmarkPair): ScoredMap {
  const row = getHeatmap(deps.db, id)!;
  if (s.method === 'model' && row.bundleHash !== s.bundleHash) {
    throw new BenchmarkRunError(`the model ${s.model} changed since the run started (its manifest's sha256 differs); start a new run`);
  }
  const map = readThresholdedMap(deps.dataDir, row);
  const g = row.geometry;
  if (g.originalRows !== p.height || g.originalColumns !== p.width) {
    throw new BenchmarkRunError(`heatmap ${id} is for a ${g.originalColumns} x ${g.originalRows} image, but image ${imageId} is ${p.width} x ${p.height}`);
  }
  return { heatmapId: id, values: mapToImage(map, row.width, row.height, g) };
}

/** A reference row's map (the oracle and random rows ignore the text: their side-swapped map is the same). */
function referenceMap(s: RunSettings, lut: Lut | null, p: BenchmarkPair, index: number, swapped: boolean): ScoredMap | null {
  switch (s.method) {
    case 'oracle':
      return { heatmapId: null, values: oracleMap(p.boxes, p.height, p.width) };
    case 'lut':
      return { heatmapId: null, values: lutMap(lut!, swapped ? swapSides(p.location!) : p.location!, p.height, p.width) };
    case 'random':
      return { heatmapId: null, values: randomMap(s.seed, index, p.height, p.width) };
    default:
      return null;
  }
}

/** The stored summary: per class and the class-mean average with bootstrap CIs, and the pairs without a map. */
export function reportOf(pairs: readonly RunPairRow[], s: Pick<RunSettings, 'n_boot' | 'seed'>): z.output<typeof RunReport> {
  const scored = pairs.filter((p) => p.cnr !== null).map((p) => ({ dicom_id: p.dicom_id, label_text: p.label_text, category: p.category, cnr: p.cnr!, miou: p.miou!, auc: p.auc! }));
  const unmatched = pairs.filter((p) => p.cnr === null).map(({ dicom_id, label_text, category }) => ({ dicom_id, label_text, category }));
  // the text-dependence check: per sided pair the drop (as written minus swapped), summarised like a metric
  const drops = pairs
    .filter((p) => p.cnr !== null && p.swapped_cnr !== null)
    .map((p) => ({ dicom_id: p.dicom_id, label_text: p.label_text, category: p.category, cnr: p.cnr! - p.swapped_cnr!, miou: p.miou! - p.swapped_miou!, auc: p.auc! - p.swapped_auc! }));
  return { ...summariseResults(scored, s.n_boot, s.seed), unmatched, side_swap: drops.length ? summariseResults(drops, s.n_boot, s.seed).average : null };
}
