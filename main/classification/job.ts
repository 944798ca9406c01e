// The `classification` durable job (docs/method.md section 7): per image of a stored run's experiment, in a stable
// order, z0 (the VAE encoder through 'grounding.invert' with stepIndices [0], from the inversion cache when there),
// the image's (t, eps) draws (draws.ts), and every prompt's U-Net error map in one 'classification.errors' task,
// stored in one transaction per image (a resume skips the images already stored; a cancel stops between images and
// aborts the worker task). The heatmap conditions' maps come through the grounding job kind's own `run`, in-process
// (stored maps reused, new ones stored as any grounding job's), pooled to the latent grid after the variant's Otsu
// threshold. At the end the samples and the report (report.ts) are stored with the run.
import { z } from 'zod';
import type { ClassifyRequest } from '../../common/contract/classification';
import { finishClassificationRun, getClassificationRun, imagesWithErrorMaps, insertErrorMaps, listErrorMaps } from '../db/classification-repo';
import { getHeatmap } from '../db/heatmaps-repo';
import { lutMap } from '../evaluation/benchmarks/references';
import { scorePair } from '../evaluation/metrics/score';
import { activationBatch, cachedInversion, resolveSettings, tokenizerOf } from '../grounding/ground';
import { readThresholdedMap } from '../grounding/heatmap-store';
import { mapToImage } from '../grounding/image-ops';
import { groundingJobKind, type HeatmapsServiceDeps } from '../grounding/service';
import type { JobContext, JobKind } from '../jobs/job-runner';
import type { LoadedBundle } from '../models/registry';
import { drawsFor } from './draws';
import { DEFAULT_ERROR_BATCH } from './errors';
import { buildExperiment, heatmapPhrasesOf, type Experiment, type ImageWork, type Resolved } from './experiment';
import { errorIndex, reportOf, samplesOf, type HeatIndex } from './report';
import type { ClassificationProgress } from './tasks';
import { poolWeights } from './weights';

export const CLASSIFICATION_JOB = 'classification';
/** at most this many phrases per grounding call (the grounding job's own limit) */
const PHRASES_PER_CALL = 64;

export const ClassificationParams = z.object({ runId: z.number().int().positive() });
export type ClassificationParams = z.output<typeof ClassificationParams>;
export interface ClassificationResult {
  runId: number;
  images: number;
}

export class ClassificationRunError extends Error {}

export type ClassificationDeps = Pick<HeatmapsServiceDeps, 'db' | 'dataDir' | 'registry' | 'runtime' | 'attentionChunks' | 'jobs'>;
type Ctx = JobContext<ClassificationParams, ClassificationResult>;

/** (draw, prompt) pairs per unet.onnx call: errors.ts's choice, within the grounding's activation budget. */
export const unetBatch = (bundle: LoadedBundle): number => activationBatch(bundle, DEFAULT_ERROR_BATCH);

export function classificationJobKind(deps: ClassificationDeps): JobKind<ClassificationParams, ClassificationResult> {
  const { db } = deps;
  const grounding = groundingJobKind({ ...deps, emit: undefined });
  return {
    kind: CLASSIFICATION_JOB,
    params: ClassificationParams,
    resumable: true,
    async run(ctx) {
      const { runId } = ctx.params;
      const run = getClassificationRun(db, runId);
      if (!run) throw new ClassificationRunError(`no classification run ${runId}`);
      const request = run.request as z.output<typeof ClassifyRequest>;
      const resolved = run.resolved as unknown as Resolved;
      const e = buildExperiment(db, deps.registry, request, resolved);
      ctx.report({ message: 'checking the model' });
      const bundle = await deps.registry.open(e.model, ctx.signal);
      if (bundle.hash !== resolved.bundleHash) throw new ClassificationRunError(`the model ${e.model} changed since the run started (its manifest's sha256 differs); start a new run`);
      const missingNegatives = resolved.negativeIds.length - e.negatives.length;
      if (missingNegatives || e.positives.length !== resolved.pairKeys.length) {
        throw new ClassificationRunError(`the run's images changed since it started (${resolved.pairKeys.length - e.positives.length} positive pair(s), ${missingNegatives} negative image(s) gone); start a new run`);
      }
      const done = imagesWithErrorMaps(db, runId);
      const heat = new Heat(e);
      const label = run.label;
      ctx.report({ done: 0, total: e.images.length, message: label });
      for (let k = 0; k < e.images.length; k++) {
        ctx.signal.throwIfAborted();
        const img = e.images[k];
        const say = (message: string) => ctx.report({ message: `image ${k + 1}/${e.images.length}: ${message}` });
        if (!done.has(img.imageId)) await errorsOf(deps, ctx, e, bundle, img, say);
        for (const variant of e.variants) await heat.gather(deps, grounding, ctx, variant, img, say);
        ctx.report({ done: k + 1, message: label });
      }
      ctx.report({ message: 'scoring' });
      const rows = listErrorMaps(db, runId);
      const samples = samplesOf(e, errorIndex(rows), heat);
      const settings = { ...request, resolved: { ...resolved, pairKeys: undefined, negativeIds: undefined }, benchmark: e.benchmark, model: e.model, score: 'weightedError(normal) - weightedError(pathology)', ci: '95% stratified percentile bootstrap', p_value: 'two-sided permutation test of high - low' };
      finishClassificationRun(db, runId, reportOf(e, samples, rows, settings), samples);
      return { runId, images: e.images.length };
    },
  };
}

/** One image's error maps: z0, the draws, every prompt in one worker task, stored in one transaction. */
async function errorsOf(deps: ClassificationDeps, ctx: Ctx, e: Experiment, bundle: LoadedBundle, img: ImageWork, say: (m: string) => void): Promise<void> {
  const { runtime } = deps;
  const { manifest } = bundle;
  const settings = resolveSettings(bundle, null);
  const tokenizer = tokenizerOf(bundle);
  const ref = { dir: bundle.dir, hash: bundle.hash, manifest, provider: runtime.provider() };
  // z0 = the inversion at step index 0 (the VAE encoder alone), cached and shared like any inversion
  const { latents: z0 } = await cachedInversion(runtime, {
    bundle,
    ref,
    settings: { ...settings, stepIndices: [0] },
    sha256: img.sha256,
    image: async () => (await runtime.pool.run('grounding.prepare', { file: img.path, size: manifest.image.size }, { signal: ctx.signal })).input,
    signal: ctx.signal,
    say: () => say('encoding the image'),
  });
  const { samples, timesteps: range, seed, target } = e.request;
  const draws = drawsFor(seed, img.sha256, samples, range, z0.length);
  const result = await runtime.onnx.run(
    'classification.errors',
    { bundle: ref, z0, timesteps: draws.timesteps, noise: draws.noise, prompts: img.prompts.map((p) => ({ ids: [...tokenizer.encodePadded(p)] })), target, maxBatch: unetBatch(bundle) },
    {
      signal: ctx.signal,
      onProgress: (p) => {
        const { done, total } = p as ClassificationProgress;
        say(`${done} of ${total} U-Net passes`);
      },
    },
  );
  ctx.signal.throwIfAborted();
  const size = manifest.latent.size;
  insertErrorMaps(
    deps.db,
    ctx.params.runId,
    img.prompts.map((prompt, i) => ({ imageId: img.imageId, prompt, width: size, height: size, map: result.maps[i], passes: samples, ms: result.ms / img.prompts.length })),
  );
}

const heatKey = (...parts: (string | number)[]) => parts.join('\u0000');

/** The heatmap conditions' weights and the positives' mIoU, gathered image by image. */
class Heat implements HeatIndex {
  private readonly w = new Map<string, Float32Array>();
  private readonly m = new Map<string, number>();

  constructor(private readonly e: Experiment) {}

  weights(variant: string, imageId: number, prompt: string): Float32Array {
    const w = this.w.get(heatKey(variant, imageId, prompt));
    if (!w) throw new ClassificationRunError(`no ${variant} heatmap of image ${imageId} for "${prompt}"`);
    return w;
  }

  miou(variant: string, pairKey: string, prompt: string): number | null {
    return this.m.get(heatKey(variant, pairKey, prompt)) ?? null;
  }

  lutMiou(pairKey: string): number | null {
    const p = this.e.positives.find((x) => x.key === pairKey);
    if (!p || !this.e.lut) return null;
    return scorePair({ width: p.width, height: p.height, values: lutMap(this.e.lut.lut, p.location!, p.height, p.width) }, p.boxes).miou;
  }

  /** The variant's maps of the image's prompts (grounded when missing), pooled; the positives' mIoU. */
  async gather(deps: ClassificationDeps, grounding: ReturnType<typeof groundingJobKind>, ctx: Ctx, variant: string, img: ImageWork, say: (m: string) => void): Promise<void> {
    const e = this.e;
    const pairs = e.positives.filter((p) => p.imageId === img.imageId);
    const phrases = heatmapPhrasesOf(e, variant, img);
    const ids = new Map<string, number>();
    for (let i = 0; i < phrases.length; i += PHRASES_PER_CALL) {
      const chunk = phrases.slice(i, i + PHRASES_PER_CALL);
      const { heatmapIds } = await grounding.run({
        jobId: ctx.jobId,
        params: { imageId: img.imageId, phrases: chunk, model: e.model, variant },
        signal: ctx.signal,
        report: (p) => p.message && say(`${variant} heatmaps: ${p.message}`),
        checkpoint: () => {},
        previous: null,
      });
      chunk.forEach((phrase, j) => ids.set(phrase, heatmapIds[j]));
    }
    const latentSize = e.bundle.manifest.latent.size;
    for (const [phrase, id] of ids) {
      const row = getHeatmap(deps.db, id)!;
      if (row.bundleHash !== e.bundle.hash) throw new ClassificationRunError(`the model ${e.model} changed since the run started (its manifest's sha256 differs); start a new run`);
      const map = readThresholdedMap(deps.dataDir, row);
      this.w.set(heatKey(variant, img.imageId, phrase), poolWeights(map, row.width, latentSize));
      for (const p of pairs) {
        if (phrase !== p.prompt && phrase !== e.generic) continue;
        const g = row.geometry;
        const values = mapToImage(map, row.width, row.height, g);
        if (g.originalRows !== p.height || g.originalColumns !== p.width) throw new ClassificationRunError(`heatmap ${id} is for a ${g.originalColumns} x ${g.originalRows} image, but image ${img.imageId} is ${p.width} x ${p.height}`);
        this.m.set(heatKey(variant, p.key, phrase), scorePair({ width: p.width, height: p.height, values }, p.boxes).miou);
      }
    }
  }
}
