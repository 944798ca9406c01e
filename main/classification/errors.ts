// The classifier's U-Net part (docs/method.md section 7), run in the worker thread on the grounding engine of a
// bundle (its sessions are shared with grounding): for every draw n and prompt p,
//   x_t = sqrt(ab) z0 + sqrt(1 - ab) eps_n,  v_hat = unet(x_t, t_n, context_p)
//   'epsilon': e = |eps_n - (sqrt(ab) v_hat + sqrt(1 - ab) x_t)|        'v': e = |sqrt(ab) eps_n - sqrt(1 - ab) z0 - v_hat|
// and prompt p's error map is the mean of e over the draws and channels (h x w). The heatmap weighting is applied
// later to the map alone (weights.ts), so a run needs draws x prompts U-Net passes whatever its conditions.
// The (draw, prompt) pairs go draw-major through unet.onnx in batches of at most maxBatch; x_t of a draw is made once.
import type { GroundingEngine } from '../grounding/engine';
import { alphaBarAt, alphasCumprod } from '../grounding/schedule';

export type ErrorTarget = 'epsilon' | 'v';

/**
 * (draw, prompt) pairs per unet.onnx call that suit the demo on CPU: 16 ran at ~6.3 ms per pass against ~7.8 at batch 1
 * and ~8.5 at 256 (one intra-op thread, this 2-core machine under load; main/classification/README.md "Cost").
 */
export const DEFAULT_ERROR_BATCH = 16;

export interface ErrorMapInput {
  /** the image latent [C, h, w] (vae_encoder's, scaled) */
  z0: Float32Array;
  /** one timestep per draw */
  timesteps: number[];
  /** the draws' noise [N, C, h, w] */
  noise: Float32Array;
  /** padded token ids of each prompt */
  prompts: { ids: number[] }[];
  target: ErrorTarget;
  /** (draw, prompt) pairs per unet.onnx call */
  maxBatch: number;
}

/** The error map (h x w, row-major) of each prompt, in order; `onPasses(done, total)` after each unet.onnx call. */
export async function errorMaps(
  engine: GroundingEngine,
  input: ErrorMapInput,
  onPasses?: (done: number, total: number) => void,
  signal?: AbortSignal,
): Promise<Float32Array[]> {
  const { channels: C, size: ls } = engine.manifest.latent;
  const { max_length: L, hidden_size: H } = engine.manifest.text;
  const area = ls * ls;
  const length = C * area;
  const N = input.timesteps.length;
  const P = input.prompts.length;
  if (input.z0.length !== length) throw new Error(`z0 of ${input.z0.length} values, expected ${C} x ${ls} x ${ls}`);
  if (N === 0) throw new Error('no draws');
  if (input.noise.length !== N * length) throw new Error(`noise of ${input.noise.length} values, expected ${N} draws x ${length}`);
  if (P === 0) throw new Error('no prompts');
  if (!(Number.isInteger(input.maxBatch) && input.maxBatch >= 1)) throw new Error(`maxBatch ${input.maxBatch}: a positive integer`);
  const alphaBar = alphasCumprod(engine.manifest.schedule);
  const contexts = await engine.encodeText(input.prompts.map((p) => p.ids));
  const { z0, noise, timesteps } = input;

  // x_t per draw (float32, as fed to the U-Net)
  const xt = new Float32Array(N * length);
  const scales = timesteps.map((t) => {
    if (!Number.isInteger(t) || t < 0 || t >= alphaBar.length) throw new Error(`timestep ${t} is outside 0 .. ${alphaBar.length - 1}`);
    const ab = alphaBarAt(alphaBar, t);
    return { a: Math.sqrt(ab), b: Math.sqrt(1 - ab) };
  });
  for (let n = 0; n < N; n++) {
    const { a, b } = scales[n];
    for (let j = 0; j < length; j++) xt[n * length + j] = a * z0[j] + b * noise[n * length + j];
  }

  const sums = Array.from({ length: P }, () => new Float64Array(area));
  const pairs = N * P;
  for (let start = 0; start < pairs; start += input.maxBatch) {
    signal?.throwIfAborted(); // cancelled: stop between unet.onnx calls
    const size = Math.min(input.maxBatch, pairs - start);
    const latent = new Float32Array(size * length);
    const context = new Float32Array(size * L * H);
    const steps: number[] = [];
    for (let k = 0; k < size; k++) {
      const n = Math.floor((start + k) / P);
      const p = (start + k) % P;
      latent.set(xt.subarray(n * length, (n + 1) * length), k * length);
      context.set(contexts.subarray(p * L * H, (p + 1) * L * H), k * L * H);
      steps.push(timesteps[n]);
    }
    const v = await engine.predictV(latent, steps, context, size);
    for (let k = 0; k < size; k++) {
      const n = Math.floor((start + k) / P);
      const sum = sums[(start + k) % P];
      const { a, b } = scales[n];
      for (let c = 0; c < C; c++) {
        for (let i = 0; i < area; i++) {
          const j = c * area + i;
          const vHat = v[k * length + j];
          const eps = noise[n * length + j];
          const e = input.target === 'epsilon' ? eps - (a * vHat + b * xt[n * length + j]) : a * eps - b * z0[j] - vHat;
          sum[i] += Math.abs(e);
        }
      }
    }
    onPasses?.(start + size, pairs);
  }
  return sums.map((s) => Float32Array.from(s, (x) => x / (N * C)));
}
