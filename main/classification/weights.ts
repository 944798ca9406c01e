// The heatmap weighting of the classifier's error (docs/method.md section 7): a condition's weights are its
// heatmap's model-frame map (Otsu threshold already applied by the caller: values not above it are 0) averaged over
// the f x f pixel block of each latent position, and a prompt's weighted error is the weighted mean of its error map.
// The error is linear in the draws, so every weighting of a prompt is computed from its one error map (the mean
// over draws and channels); no U-Net pass depends on the heatmap.

/**
 * A size x size model-frame map pooled to latentSize x latentSize (row-major): the mean of each f x f block,
 * f = size / latentSize. Non-finite values (NaN outside the model's square) count as 0, like values under Otsu.
 */
export function poolWeights(map: Float32Array, size: number, latentSize: number): Float32Array {
  if (map.length !== size * size) throw new RangeError(`heatmap of ${map.length} values, expected ${size} x ${size}`);
  const f = size / latentSize;
  if (!Number.isInteger(f) || f < 1) throw new RangeError(`heatmap size ${size} is not a multiple of the latent size ${latentSize}`);
  const out = new Float32Array(latentSize * latentSize);
  for (let y = 0; y < latentSize; y++) {
    for (let x = 0; x < latentSize; x++) {
      let sum = 0;
      for (let dy = 0; dy < f; dy++) {
        const row = (y * f + dy) * size + x * f;
        for (let dx = 0; dx < f; dx++) {
          const v = map[row + dx];
          if (Number.isFinite(v)) sum += v;
        }
      }
      out[y * latentSize + x] = sum / (f * f);
    }
  }
  return out;
}

/**
 * sum_i w_i m_i / sum_i w_i over the latent positions; the plain mean of m when w is null or sums to 0 (a heatmap
 * with nothing above its threshold weighs every position the same). Weights must be finite and not negative.
 */
export function weightedError(m: Float32Array, w: Float32Array | null): number {
  if (m.length === 0) throw new RangeError('an empty error map');
  if (w && w.length !== m.length) throw new RangeError(`${w.length} weights for an error map of ${m.length} positions`);
  let total = 0;
  let weight = 0;
  if (w) {
    for (let i = 0; i < m.length; i++) {
      const wi = w[i];
      if (!(wi >= 0) || !Number.isFinite(wi)) throw new RangeError(`weight ${wi} at position ${i}: weights are finite and not negative`);
      total += wi * m[i];
      weight += wi;
    }
    if (weight > 0) return total / weight;
  }
  total = 0;
  for (let i = 0; i < m.length; i++) total += m[i];
  return total / m.length;
}
