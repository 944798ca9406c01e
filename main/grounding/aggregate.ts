// Cross-attention probabilities -> one heatmap (docs/method.md section 2, steps 5-6; the reference's
// grounding.aggregate): per (layer, step) the mean over heads and over the phrase's tokens, reshaped to the
// layer's grid and min-max normalised; each bilinearly resized to the model's image size; their mean; a Gaussian
// blur; min-max. The Otsu threshold is applied by whoever shows or stores the map (image-ops.otsuThreshold).
import { gaussianBlur, minmaxInPlace, resizeBilinear } from './image-ops';

export interface LayerGrid {
  rows: number;
  columns: number;
  heads: number;
}

export interface AttentionMap {
  /** softmax probabilities [heads, rows * columns, tokens] of one sample */
  probs: Float32Array;
  grid: LayerGrid;
}

/** Mean over heads and phrase tokens, on the layer's grid, min-max normalised (float64, as the reference). */
export function layerMap(map: AttentionMap, positions: number[], tokens: number): Float64Array {
  const { rows, columns, heads } = map.grid;
  const hw = rows * columns;
  if (map.probs.length !== heads * hw * tokens) throw new Error(`attention of ${map.probs.length} values does not fit ${heads} x ${hw} x ${tokens}`);
  const out = new Float64Array(hw);
  for (let n = 0; n < hw; n++) {
    let sum = 0;
    for (const s of positions) {
      let h = 0;
      for (let head = 0; head < heads; head++) h += map.probs[(head * hw + n) * tokens + s];
      sum += h / heads;
    }
    out[n] = sum / positions.length;
  }
  return minmaxInPlace(out);
}

/** The heatmap (size x size, [0, 1], before Otsu) of one phrase from its (layer, step) attention maps. */
export function aggregateMaps(maps: AttentionMap[], positions: number[], tokens: number, size: number, sigma: number, truncate: number): Float32Array {
  if (!maps.length) throw new Error('no attention maps to aggregate');
  if (!positions.length) throw new Error('the phrase has no tokens');
  const acc = new Float64Array(size * size);
  for (const map of maps) {
    const up = resizeBilinear(layerMap(map, positions, tokens), map.grid.rows, map.grid.columns, size, size);
    for (let i = 0; i < acc.length; i++) acc[i] += up[i];
  }
  for (let i = 0; i < acc.length; i++) acc[i] /= maps.length;
  return Float32Array.from(minmaxInPlace(gaussianBlur(acc, size, size, sigma, truncate)));
}

/** Values not above the threshold -> 0 (the reference's apply_otsu on a map and its threshold). */
export function applyThreshold(map: Float32Array, threshold: number | null): Float32Array {
  if (threshold === null) return map;
  return map.map((v) => (v > threshold ? v : 0));
}
