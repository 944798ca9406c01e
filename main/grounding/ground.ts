// Grounding one image (docs/method.md sections 2-3), the main thread's part: the bundle and variant settings, the
// image prepared on the worker pool, the inversion from the cache or from the ONNX worker (never twice at once
// for the same key), the phrases tokenised here and attended in the ONNX worker, and the Otsu threshold. With
// `onProvisional` the worker also sends provisional maps between its attention batches (engine.ts).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Types } from '../../common/contract';
import type { GroundingVariant } from '../../common/model-bundle';
import { defaultVariantName } from '../models/presets';
import type { LoadedBundle } from '../models/registry';
import type { AppTasks } from '../workers/app-tasks';
import type { WorkerPool } from '../workers/pool';
import { cropBox, otsuThreshold } from './image-ops';
import { inversionKey, type InversionCache } from './inversion-cache';
import type { BundleRef, GroundingProgress, RuntimeChoice } from './tasks';
import { ClipTokenizer } from './tokenizer';

export interface GroundingRuntime {
  /** decoding and preprocessing (several threads) */
  pool: WorkerPool<AppTasks>;
  /** the ONNX sessions (one thread: one copy of the model in memory) */
  onnx: WorkerPool<AppTasks>;
  cache: InversionCache;
  provider: () => RuntimeChoice;
}

/** The settings a heatmap is made with: the variant's, resolved, and what identifies them. */
export interface ResolvedSettings {
  variant: string;
  layers: number[];
  numInferenceSteps: number;
  stepIndices: number[];
  timesteps: number[];
  otsu: boolean;
  otsuBins: number;
  sigma: number;
  truncate: number;
  clipSample: boolean;
  inversionPrompt: string;
  tokenOverrides?: Record<string, number[]>;
}

export function resolveSettings(bundle: LoadedBundle, variant: string | null): ResolvedSettings {
  const variants = bundle.manifest.grounding;
  const name = variant ?? defaultVariantName(bundle.manifest) ?? '';
  const v: GroundingVariant | undefined = variants[name];
  if (!v) throw new GroundingError(`${bundle.name} has no variant "${name}" (it has ${Object.keys(variants).join(', ')})`);
  return {
    variant: name,
    layers: [...v.layers],
    numInferenceSteps: v.num_inference_steps,
    stepIndices: [...v.step_indices],
    timesteps: [...v.timesteps],
    otsu: v.otsu,
    otsuBins: v.otsu_bins,
    sigma: v.blur_sigma_px,
    truncate: v.blur_truncate,
    clipSample: v.clip_sample,
    inversionPrompt: v.inversion_prompt,
    ...(v.token_overrides ? { tokenOverrides: v.token_overrides } : {}),
  };
}

/** Same key, same map: a hash of everything the map depends on besides the image, the phrase and the bundle. */
export function settingsKey(s: ResolvedSettings): string {
  return createHash('sha256').update(JSON.stringify(s)).digest('hex').slice(0, 24);
}

/** A problem with the request itself (unknown variant, a phrase without tokens): shown as is. */
export class GroundingError extends Error {
  override name = 'GroundingError';
}

export interface GroundedPhrase {
  phrase: string;
  /** model frame, size x size, [0, 1], before the Otsu threshold */
  map: Float32Array;
  threshold: number | null;
}

export interface GroundingResult {
  size: number;
  geometry: Types['HeatmapGeometry'];
  phrases: GroundedPhrase[];
  provenance: Record<string, unknown>;
}

export interface GroundingInput {
  bundle: LoadedBundle;
  settings: ResolvedSettings;
  /** the image file and its content hash (the inversion cache's key) */
  file: string;
  sha256: string;
  phrases: string[];
  /** at least this many attention batches when provisional maps are asked for (AttendSettings.minChunks; tests) */
  minChunks?: number;
}

/** A phrase's map from the first `stepsDone` of its `stepsTotal` kept steps, while the job goes on. */
export interface ProvisionalPhrase {
  phrase: string;
  /** model frame, size x size, [0, 1], before the Otsu threshold */
  map: Float32Array;
  threshold: number | null;
  stepsDone: number;
  stepsTotal: number;
  size: number;
  geometry: Types['HeatmapGeometry'];
}

const tokenizers = new Map<string, ClipTokenizer>();

/** The bundle's CLIP tokenizer, read once per bundle (the classifier's job tokenises its prompts with it too). */
export function tokenizerOf(bundle: LoadedBundle): ClipTokenizer {
  const key = `${bundle.dir}\0${bundle.hash}`;
  let t = tokenizers.get(key);
  if (!t) {
    const { text } = bundle.manifest;
    t = ClipTokenizer.fromJson(readFileSync(path.join(bundle.dir, text.tokenizer), 'utf8'), {
      bosId: text.bos_id,
      eosId: text.eos_id,
      padId: text.pad_id,
      maxLength: text.max_length,
    });
    tokenizers.set(key, t);
  }
  return t;
}

/**
 * How many samples go through a U-Net graph at once: a rough memory budget of 2 GB of activations, at most `max`
 * (unet_attention's (step, phrase) pairs: 256; the classifier's (draw, prompt) pairs: its own cap).
 */
export function activationBatch(bundle: LoadedBundle, max: number): number {
  const { latent, architecture } = bundle.manifest as LoadedBundle['manifest'] & { architecture?: { unet?: { num_channels?: number[] } } };
  const channels = Math.max(...(architecture?.unet?.num_channels ?? [512]));
  const perSample = latent.size * latent.size * channels * 4 * 12;
  return Math.max(1, Math.min(max, Math.floor((2 * 1024 ** 3) / perSample)));
}

/**
 * An inversion in progress, shared by every request that needs it. It runs under its own signal, aborted only when
 * every waiter has been cancelled: one job's cancel must not fail another's request for the same image (a benchmark
 * run cancelled while the viewer grounds a phrase on one of its images).
 */
interface SharedInversion {
  latents: Promise<Float32Array>;
  controller: AbortController;
  waiters: number;
  /** the live waiters' progress reporters */
  says: Set<(done: number, message: string) => void>;
}

const inflight = new Map<string, SharedInversion>();

/** What the inversion depends on besides the image (a variant's settings; the classifier asks for step 0 only). */
export type InversionRequest = Pick<ResolvedSettings, 'numInferenceSteps' | 'stepIndices' | 'clipSample' | 'inversionPrompt'>;

/**
 * The U-Net input latents of an image at the kept steps (`stepIndices` [0]: z0, the VAE encoder alone): from the
 * inversion cache, else from the ONNX worker, never computed twice at once for the same key. `image` gives the
 * preprocessed input when it is needed; `say(done, message)` reports the inversion's steps. A cancelled caller's
 * promise rejects at once with its signal's reason; the inversion goes on while another caller waits for it.
 */
export async function cachedInversion(
  runtime: GroundingRuntime,
  o: {
    bundle: LoadedBundle;
    ref: BundleRef;
    settings: InversionRequest;
    sha256: string;
    image: () => Promise<Float32Array>;
    signal: AbortSignal;
    say?: (done: number, message: string) => void;
  },
): Promise<{ latents: Float32Array; cached: boolean }> {
  const { bundle, settings, signal } = o;
  signal.throwIfAborted();
  const key = inversionKey({
    imageSha256: o.sha256,
    bundleHash: bundle.hash,
    numInferenceSteps: settings.numInferenceSteps,
    stepIndices: settings.stepIndices,
    clipSample: settings.clipSample,
    inversionPrompt: settings.inversionPrompt,
    imageSize: bundle.manifest.image.size,
  });
  const hit = runtime.cache.get(key);
  if (hit) return { latents: hit, cached: true };
  let shared = inflight.get(key);
  // one whose waiters have all left is stopping: it must not take a new waiter with it
  if (!shared || shared.controller.signal.aborted) {
    const steps = Math.max(...settings.stepIndices);
    const entry: SharedInversion = { controller: new AbortController(), waiters: 0, says: new Set(), latents: Promise.resolve(new Float32Array()) };
    const sayAll = (done: number, message: string) => entry.says.forEach((say) => say(done, message));
    entry.latents = o
      .image()
      .then((image) => {
        sayAll(0, 'inverting the image');
        return runtime.onnx.run(
          'grounding.invert',
          {
            bundle: o.ref,
            image,
            emptyIds: [...tokenizerOf(bundle).encodePadded(settings.inversionPrompt)],
            settings: { numInferenceSteps: settings.numInferenceSteps, stepIndices: settings.stepIndices, clipSample: settings.clipSample },
          },
          {
            signal: entry.controller.signal,
            onProgress: (p) => {
              const progress = p as GroundingProgress;
              if (progress.stage === 'inversion') sayAll(progress.done, `inverting the image: step ${progress.done} of ${steps}`);
            },
          },
        );
      })
      .then(({ latents }) => {
        runtime.cache.set(key, latents);
        return latents;
      })
      .finally(() => inflight.get(key) === entry && inflight.delete(key));
    inflight.set(key, (shared = entry));
    o.say?.(0, 'inverting the image');
  } else o.say?.(0, 'waiting for the same image to be inverted');
  return { latents: await waitFor(shared, signal, o.say), cached: false };
}

/** One caller's wait for a shared inversion: its own cancel rejects it at once, the last waiter's cancel stops it. */
async function waitFor(shared: SharedInversion, signal: AbortSignal, say?: (done: number, message: string) => void): Promise<Float32Array> {
  shared.waiters++;
  if (say) shared.says.add(say);
  let leave: () => void = () => {};
  const left = new Promise<never>((_, reject) => {
    leave = () => {
      if (say) shared.says.delete(say);
      if (--shared.waiters === 0) shared.controller.abort(signal.reason);
      reject(signal.reason);
    };
  });
  signal.addEventListener('abort', leave, { once: true });
  try {
    return await Promise.race([shared.latents, left]);
  } finally {
    if (!signal.aborted) {
      signal.removeEventListener('abort', leave);
      shared.waiters--;
      if (say) shared.says.delete(say);
    }
  }
}

export async function groundImage(
  runtime: GroundingRuntime,
  input: GroundingInput,
  signal: AbortSignal,
  report: (p: { done: number; total: number; message: string }) => void,
  onProvisional?: (p: ProvisionalPhrase) => void,
): Promise<GroundingResult> {
  const { bundle, settings } = input;
  const { manifest } = bundle;
  const size = manifest.image.size;
  const tokenizer = tokenizerOf(bundle);
  const phrases = input.phrases.map((phrase) => {
    const positions = tokenizer.phraseTokenPositions(phrase);
    if (!positions.length) throw new GroundingError(`"${phrase}" has no tokens the model knows`);
    return { ids: [...tokenizer.encodePadded(phrase)], positions };
  });
  const pairs = phrases.length * settings.stepIndices.length;
  const inversionSteps = Math.max(...settings.stepIndices);
  const provider = runtime.provider();
  const ref = { dir: bundle.dir, hash: bundle.hash, manifest, provider };
  const t0 = Date.now();

  report({ done: 0, total: inversionSteps + pairs, message: 'reading the image' });
  const prepared = await runtime.pool.run('grounding.prepare', { file: input.file, size }, { signal });
  const t1 = Date.now();
  const { originalRows: rows, originalColumns: columns } = prepared.geometry;
  const side = Math.min(rows, columns);
  const [top, left] = cropBox(rows, columns, side);

  const { latents, cached } = await cachedInversion(runtime, {
    bundle,
    ref,
    settings,
    sha256: input.sha256,
    image: async () => prepared.input,
    signal,
    say: (done, message) => report({ done, total: inversionSteps + pairs, message }),
  });
  const t2 = Date.now();

  report({ done: inversionSteps, total: inversionSteps + pairs, message: `grounding ${phrases.length} phrase${phrases.length === 1 ? '' : 's'}` });
  const geometry = { originalRows: rows, originalColumns: columns, top, left, width: side, height: side };
  const threshold = (map: Float32Array) => (settings.otsu && hasRange(map) ? otsuThreshold(map, settings.otsuBins) : null);
  const attended = await runtime.onnx.run(
    'grounding.attend',
    {
      bundle: ref,
      latents,
      timesteps: settings.timesteps,
      phrases,
      settings: {
        layers: settings.layers,
        sigma: settings.sigma,
        truncate: settings.truncate,
        tokenOverrides: settings.tokenOverrides,
        maxBatch: activationBatch(bundle, 256),
        ...(input.minChunks !== undefined ? { minChunks: input.minChunks } : {}),
      },
      provisional: onProvisional !== undefined,
    },
    {
      signal,
      onProgress: (p) => {
        const progress = p as GroundingProgress;
        if (progress.stage === 'provisional') {
          if (signal.aborted) return;
          for (const m of progress.maps) {
            onProvisional?.({ phrase: input.phrases[m.phrase], map: m.map, threshold: threshold(m.map), stepsDone: m.stepsDone, stepsTotal: m.stepsTotal, size, geometry });
          }
          return;
        }
        report({ done: inversionSteps + progress.done, total: inversionSteps + pairs, message: `grounding: ${progress.done} of ${pairs} attention passes` });
      },
    },
  );
  const t3 = Date.now();
  return {
    size,
    geometry,
    phrases: attended.maps.map((map, i) => ({ phrase: input.phrases[i], map, threshold: threshold(map) })),
    provenance: {
      bundleHash: bundle.hash,
      bundleDir: bundle.dir,
      provider: attended.provider,
      threads: provider.threads,
      runtime: 'onnxruntime-node',
      inversionCached: cached,
      ms: { prepare: t1 - t0, inversion: cached ? 0 : t2 - t1, phrases: t3 - t2, perPhrase: Math.round((t3 - t2) / phrases.length) },
    },
  };
}

function hasRange(map: Float32Array): boolean {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of map) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return hi > lo;
}
