// The noise schedule and the DDIM inversion step of the chest X-ray LDM (docs/method.md section 2), as the Python
// reference computes them (training/sightline_ldm/schedule.py, checked against the predecessor's golden run):
// scaled-linear betas in float32, alpha-bar = cumprod(1 - beta) in float32, "trailing" timesteps, and MONAI's
// DDIMScheduler.reversed_step for v-prediction, without x0 clipping unless asked (the predecessor builds its
// scheduler with clip_sample=False), with alpha-bar = 0 beyond the last training timestep.

export interface ScheduleSpec {
  num_train_timesteps: number;
  beta_start: number;
  beta_end: number;
}

/** alpha-bar_t for t = 0..T-1, with float32 rounding at every step like torch's float32 tensors. */
export function alphasCumprod(spec: ScheduleSpec): Float64Array {
  const { num_train_timesteps: n, beta_start: b0, beta_end: b1 } = spec;
  const out = new Float64Array(n);
  const lo = Math.fround(Math.sqrt(b0));
  const hi = Math.fround(Math.sqrt(b1));
  let prod = 1;
  for (let i = 0; i < n; i++) {
    // torch.linspace in float32: start + i * (end - start) / (n - 1), then squared in float32
    const s = Math.fround(lo + (i * (hi - lo)) / (n - 1));
    prod = Math.fround(prod * Math.fround(1 - Math.fround(s * s)));
    out[i] = prod;
  }
  return out;
}

/** Ascending "trailing" timesteps t_i = (i + 1) * (T / n) - 1: 9, 19, ..., 999 for n = 100 steps of T = 1000. */
export function trailingTimesteps(numInferenceSteps: number, numTrainTimesteps: number): number[] {
  if (!(numInferenceSteps > 0 && numInferenceSteps <= numTrainTimesteps)) {
    throw new Error(`num_inference_steps must be in 1..${numTrainTimesteps}, got ${numInferenceSteps}`);
  }
  const d = Math.floor(numTrainTimesteps / numInferenceSteps);
  return Array.from({ length: numInferenceSteps }, (_, i) => (i + 1) * d - 1);
}

/** alpha-bar at timestep t; `beyond` (0) past the schedule's end. */
export function alphaBarAt(alphaBar: Float64Array, t: number, beyond = 0): number {
  if (t < 0) throw new Error(`negative timestep ${t}`);
  return t >= alphaBar.length ? beyond : alphaBar[t];
}

/**
 * One inversion step t -> t + D of a v-prediction model: x0 = sqrt(ab_t) z - sqrt(1 - ab_t) v,
 * eps = sqrt(ab_t) v + sqrt(1 - ab_t) z, z' = sqrt(ab_next) x0 + sqrt(1 - ab_next) eps (x0 clamped to [-1, 1] only
 * with clipSample). Writes into `out` (may be `sample`).
 */
export function inversionStep(
  sample: Float32Array,
  v: Float32Array,
  abT: number,
  abNext: number,
  clipSample: boolean,
  out: Float32Array = new Float32Array(sample.length),
): Float32Array {
  const a = Math.fround(Math.sqrt(abT));
  const b = Math.fround(Math.sqrt(Math.fround(1 - abT)));
  const an = Math.fround(Math.sqrt(abNext));
  const bn = Math.fround(Math.sqrt(Math.fround(1 - abNext)));
  for (let j = 0; j < sample.length; j++) {
    let x0 = Math.fround(Math.fround(a * sample[j]) - Math.fround(b * v[j]));
    const eps = Math.fround(Math.fround(a * v[j]) + Math.fround(b * sample[j]));
    if (clipSample) x0 = Math.min(1, Math.max(-1, x0));
    out[j] = Math.fround(Math.fround(an * x0) + Math.fround(bn * eps));
  }
  return out;
}
