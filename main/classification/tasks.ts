// The classifier as worker-pool tasks (main/workers): `classification.errors` runs the U-Net passes of one image on
// the worker's grounding engine of the bundle (sessions shared with grounding, created once per bundle and provider).
// z0 is not made here: the caller takes it from 'grounding.invert' with stepIndices [0], which runs the VAE
// encoder and no U-Net step (and shares the inversion cache).
import { engineFor, type BundleRef } from '../grounding/tasks';
import { withTransfer, type TaskHandlers } from '../workers/worker-host';
import { errorMaps, type ErrorTarget } from './errors';

export type ClassificationTasks = {
  'classification.errors': {
    input: { bundle: BundleRef; z0: Float32Array; timesteps: number[]; noise: Float32Array; prompts: { ids: number[] }[]; target: ErrorTarget; maxBatch: number };
    /** each prompt's error map (h x w); passes = draws x prompts; ms = the task's wall time */
    output: { maps: Float32Array[]; provider: string; passes: number; ms: number };
  };
};

/** Progress of 'classification.errors', in U-Net passes (one per (draw, prompt) pair). */
export interface ClassificationProgress {
  done: number;
  total: number;
}

/** Worker side (registered by main/workers/worker.ts). */
export const classificationTaskHandlers: TaskHandlers<ClassificationTasks> = {
  'classification.errors': async ({ bundle, z0, timesteps, noise, prompts, target, maxBatch }, ctx) => {
    const started = performance.now();
    const { engine, provider } = engineFor(bundle);
    const maps = await errorMaps(
      engine,
      { z0, timesteps, noise, prompts, target, maxBatch },
      (done, total) => ctx.progress({ done, total } satisfies ClassificationProgress),
      ctx.signal,
    );
    const ms = performance.now() - started;
    return withTransfer({ maps, provider: await provider, passes: timesteps.length * prompts.length, ms }, maps.map((m) => m.buffer as ArrayBuffer));
  },
};
