// Grounding as worker-pool tasks (main/workers). The worker keeps one GroundingEngine (ONNX sessions) per bundle
// and provider, so a bundle's sessions are created once and reused; `prepare` decodes and preprocesses an image
// file off the main thread.
import os from 'node:os';
import type { BundleManifest } from '../../common/model-bundle';
import { decodeImageFile } from '../imaging';
import { createSession, type ProviderSetting } from '../models/providers';
import { withTransfer, type TaskHandlers } from '../workers/worker-host';
import { GroundingEngine, type AttendSettings, type Graph, type InversionSettings, type PhraseInput, type ProvisionalMap } from './engine';
import { greyOf, preprocess, type Geometry } from './image-ops';
import { readMapFile, type ReadMapFile } from './map-read';

/** What identifies a bundle to the worker: its directory, its manifest (already validated) and its hash. */
export interface BundleRef {
  dir: string;
  hash: string;
  manifest: BundleManifest;
  provider: RuntimeChoice;
}

/** The execution-provider and thread settings the sessions are created with. */
export interface RuntimeChoice {
  setting: ProviderSetting;
  threads: number;
}

export type GroundingTasks = {
  'grounding.prepare': { input: { file: string; size: number }; output: { input: Float32Array; geometry: Geometry } };
  'grounding.invert': {
    input: { bundle: BundleRef; image: Float32Array; emptyIds: number[]; settings: InversionSettings };
    output: { latents: Float32Array; provider: string };
  };
  'grounding.attend': {
    /** `provisional`: report provisional maps between the unet_attention calls (GroundingProgress stage 'provisional') */
    input: { bundle: BundleRef; latents: Float32Array; timesteps: number[]; phrases: PhraseInput[]; settings: AttendSettings; provisional?: boolean };
    output: { maps: Float32Array[]; provider: string };
  };
  /** an imported map file read, parsed and scanned (heatmap-import.ts), its values moved back */
  'grounding.read-map': { input: { file: string; format: 'npy' | 'png' }; output: ReadMapFile | { problem: string } };
};

/** Progress the invert and attend tasks report; attend's provisional maps come as progress too (their buffers moved). */
export type GroundingProgress = { stage: 'inversion' | 'phrases'; done: number; total: number } | { stage: 'provisional'; maps: ProvisionalMap[] };

const MAX_ENGINES = 2;
const engines = new Map<string, { engine: GroundingEngine; provider: Promise<string> }>();

/** The worker's engine of a bundle (sessions reused; the classifier's tasks share it). */
export function engineFor(ref: BundleRef): { engine: GroundingEngine; provider: Promise<string> } {
  const key = `${ref.dir}\0${ref.hash}\0${ref.provider.setting}\0${ref.provider.threads}`;
  let entry = engines.get(key);
  if (entry) {
    engines.delete(key);
    engines.set(key, entry);
    return entry;
  }
  let used: string | null = null;
  let resolveProvider!: (p: string) => void;
  const provider = new Promise<string>((r) => (resolveProvider = r));
  const engine = new GroundingEngine(ref.dir, ref.manifest, async (file, graph) => {
    const created = await createSession(file, { setting: ref.provider.setting, threads: threadsFor(graph, ref.provider.threads, ref.manifest.latent.size) });
    if (used === null) resolveProvider((used = created.fallback ? `${created.provider} (${created.fallback})` : created.provider));
    return created.session;
  });
  entry = { engine, provider };
  engines.set(key, entry);
  while (engines.size > MAX_ENGINES) {
    const [oldest, old] = engines.entries().next().value as [string, { engine: GroundingEngine }];
    engines.delete(oldest);
    void old.engine.release();
  }
  return entry;
}

/** From this latent area up, one batch-1 U-Net call is big enough for threads to pay (the MONAI model: 64 x 64). */
const THREADED_LATENT_AREA = 32 * 32;

/**
 * The `threads` setting, else every core for unet_attention (it runs (kept step x phrase) pairs in large batches)
 * and for the batch-1 graphs of a large model; one thread for a small model's batch-1 graphs, whose calls are too
 * short for threads to pay (the demo: 16 x 16 latents; bench/results/grounding*.json).
 */
export function threadsFor(graph: Graph, setting: number, latentSize: number): number {
  if (setting > 0) return setting;
  const all = Math.max(1, os.availableParallelism());
  return graph === 'unet_attention' || latentSize * latentSize >= THREADED_LATENT_AREA ? all : 1;
}

/** Worker side (registered by main/workers/worker.ts). */
export const groundingTaskHandlers: TaskHandlers<GroundingTasks> = {
  'grounding.read-map': ({ file, format }) => {
    const read = readMapFile(file, format);
    return 'map' in read ? withTransfer(read, [read.map.values.buffer as ArrayBuffer]) : read;
  },
  'grounding.prepare': async ({ file, size }) => {
    const { input, geometry } = preprocess(greyOf(await decodeImageFile(file)), size);
    return withTransfer({ input, geometry }, [input.buffer as ArrayBuffer]);
  },
  'grounding.invert': async ({ bundle, image, emptyIds, settings }, ctx) => {
    const { engine, provider } = engineFor(bundle);
    const latents = await engine.invert(
      image,
      emptyIds,
      settings,
      (done, total) => ctx.progress({ stage: 'inversion', done, total } satisfies GroundingProgress),
      ctx.signal,
    );
    return withTransfer({ latents, provider: await provider }, [latents.buffer as ArrayBuffer]);
  },
  'grounding.attend': async ({ bundle, latents, timesteps, phrases, settings, provisional }, ctx) => {
    const { engine, provider } = engineFor(bundle);
    const maps = await engine.attend(
      latents,
      timesteps,
      phrases,
      settings,
      (done, total) => ctx.progress({ stage: 'phrases', done, total } satisfies GroundingProgress),
      provisional
        ? (partial) =>
            ctx.progress(
              { stage: 'provisional', maps: partial } satisfies GroundingProgress,
              partial.map((m) => m.map.buffer as ArrayBuffer),
            )
        : undefined,
      ctx.signal,
    );
    return withTransfer({ maps, provider: await provider }, maps.map((m) => m.buffer as ArrayBuffer));
  },
};
