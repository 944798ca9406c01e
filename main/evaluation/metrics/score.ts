// Grounding metrics of one image-phrase pair (docs/method.md 5.1), the same numbers as the Python reference
// training/sightline_eval/metrics.py (its docstring states every convention; test/vectors/eval-metrics.json is
// checked by both test suites). A heatmap is width x height, row-major, at the image's original size, NaN where the
// model saw nothing; boxes are [x, y, w, h] in original pixels. Float64 throughout, sums in numpy's order.
import { numpyMean, numpyVarInPlace } from './numpy-sum';

export const THRESHOLDS: readonly number[] = [0.1, 0.2, 0.3, 0.4, 0.5];

export type Box = readonly [number, number, number, number];

export interface Heatmap {
  width: number;
  height: number;
  /** width x height, row-major; NaN marks pixels without a value */
  values: Float32Array | Float64Array;
}

export interface PairScores {
  cnr: number;
  miou: number;
  auc: number;
}

/** Python's round(): to the nearest integer, halves to the even one (2.5 -> 2, 3.5 -> 4, -2.5 -> -2). */
export function roundHalfEven(x: number): number {
  if (!Number.isFinite(x)) throw new RangeError(`a box coordinate of ${x} cannot be rounded to a pixel`);
  const r = Math.round(x); // halves go up here; r - x is exact for any double
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The pixels of a box, clipped to the image: rows y0 .. y1 - 1, columns x0 .. x1 - 1 (possibly none). */
export function boxRange(box: Box, width: number, height: number): { x0: number; x1: number; y0: number; y1: number } {
  const [x, y, w, h] = box;
  const clip = (v: number, size: number) => Math.min(Math.max(v, 0), size);
  const y0 = clip(roundHalfEven(y), height);
  const x0 = clip(roundHalfEven(x), width);
  // y + h is rounded, not h: the box's far edge is where the reference puts it
  const y1 = Math.max(y0, clip(roundHalfEven(y + h), height));
  const x1 = Math.max(x0, clip(roundHalfEven(x + w), width));
  return { x0, x1, y0, y1 };
}

/** Union of the boxes as a width x height 0/1 mask (NaN pixels included: a box cut by the crop costs IoU). */
export function boxMask(boxes: readonly Box[], width: number, height: number): Uint8Array {
  const mask = new Uint8Array(width * height);
  for (const box of boxes) {
    const { x0, x1, y0, y1 } = boxRange(box, width, height);
    for (let r = y0; r < y1; r++) mask.fill(1, r * width + x0, r * width + x1);
  }
  return mask;
}

/** A float64 copy, min-max normalised over the non-NaN pixels (a constant map becomes 0; NaN stays NaN). */
export function normalise(values: ArrayLike<number>): Float64Array {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < lo) lo = v; // false for NaN
    if (v > hi) hi = v;
  }
  const h = new Float64Array(values.length);
  const span = hi - lo;
  const stretch = hi > lo;
  for (let i = 0; i < h.length; i++) {
    const v = values[i];
    h[i] = v !== v ? NaN : stretch ? (v - lo) / span : 0;
  }
  return h;
}

function checkShape(heat: Heatmap): void {
  const { width, height, values } = heat;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || values.length !== width * height) {
    throw new RangeError(`a heatmap of ${values.length} values is not ${width} x ${height}`);
  }
}

/** Signed CNR of one box; `scratch` (width x height doubles) may be passed to spare an allocation per box. */
export function cnrBox(heat: Heatmap, box: Box, scratch?: Float64Array): number {
  checkShape(heat);
  const { width, height, values } = heat;
  const { x0, x1, y0, y1 } = boxRange(box, width, height);
  const buffer = scratch && scratch.length >= values.length ? scratch : new Float64Array(values.length);
  // inside first (row-major within the box, as numpy's boolean indexing), then the outside after it
  let nIn = 0;
  for (let r = y0; r < y1; r++) {
    for (let i = r * width + x0, end = r * width + x1; i < end; i++) {
      const v = values[i];
      if (v === v) buffer[nIn++] = v;
    }
  }
  let nOut = 0;
  const outside = buffer.subarray(nIn);
  for (let r = 0; r < height; r++) {
    const row = r * width;
    const inRow = r >= y0 && r < y1;
    for (let c = 0; c < width; c++) {
      if (inRow && c >= x0 && c < x1) continue;
      const v = values[row + c];
      if (v === v) outside[nOut++] = v;
    }
  }
  if (nIn === 0 || nOut === 0) return 0;
  const inside = buffer.subarray(0, nIn);
  const muIn = numpyMean(inside, nIn);
  const muOut = numpyMean(outside, nOut);
  const den = numpyVarInPlace(inside, nIn, muIn) + numpyVarInPlace(outside, nOut, muOut); // population variances
  if (!(den > 0)) return 0;
  return (muIn - muOut) / Math.sqrt(den);
}

/** Mean over the pair's boxes of the per-box CNR (0 without boxes); `scratch` as for cnrBox. */
export function cnr(heat: Heatmap, boxes: readonly Box[], scratch = new Float64Array(heat.values.length)): number {
  if (boxes.length === 0) return 0;
  const each = Float64Array.from(boxes, (b) => cnrBox(heat, b, scratch));
  return numpyMean(each);
}

/** |pred & mask| / |pred | mask|, 0 when the union is empty. */
export function iou(pred: Uint8Array, mask: Uint8Array): number {
  let inter = 0;
  let union = 0;
  for (let i = 0; i < pred.length; i++) {
    const p = pred[i] !== 0;
    const m = mask[i] !== 0;
    if (p || m) union++;
    if (p && m) inter++;
  }
  return union === 0 ? 0 : inter / union;
}

/**
 * mIoU from one pass over the pixels: each pixel is tallied by how many of the (sorted) thresholds it exceeds
 * (0..k) and whether it is in the mask; the counts per threshold follow from the tallies.
 */
interface Tally {
  sorted: number[];
  order: number[];
  /** [2 e + inMask]: pixels above exactly e thresholds */
  above: Float64Array;
}

function tally(thresholds: readonly number[]): Tally {
  const order = thresholds.map((_, j) => j).sort((a, b) => thresholds[a] - thresholds[b]);
  return { sorted: order.map((j) => thresholds[j]), order, above: new Float64Array(2 * (thresholds.length + 1)) };
}

function miouOfTally({ order, above }: Tally, inMask: number): number {
  const k = order.length;
  const each = new Float64Array(k);
  order.forEach((j, rank) => {
    let pred = 0;
    let inter = 0;
    for (let e = rank + 1; e <= k; e++) {
      pred += above[2 * e] + above[2 * e + 1];
      inter += above[2 * e + 1];
    }
    const union = pred + inMask - inter;
    each[j] = union === 0 ? 0 : inter / union;
  });
  return numpyMean(each);
}

/** Mean over the thresholds of IoU(heat > thr, mask); NaN pixels are never above a threshold. */
export function miou(heat: Heatmap, mask: Uint8Array, thresholds: readonly number[] = THRESHOLDS): number {
  const { values } = heat;
  const t = tally(thresholds);
  const { sorted, above } = t;
  const k = sorted.length;
  let inMask = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const m = mask[i] !== 0 ? 1 : 0;
    inMask += m;
    let e = 0;
    while (e < k && v > sorted[e]) e++; // false for NaN: never above
    above[2 * e + m]++;
  }
  return miouOfTally(t, inMask);
}

/**
 * Twice the Mann-Whitney U of positives over negatives: every (positive, negative) pair counts 2 when the
 * positive is higher, 1 when tied. An integer below 2^53 for any image, so the result is exact.
 *
 * Without sorting all the pixels (a million doubles take ~100 ms to sort here): only the smaller side is sorted and
 * reduced to its distinct values with counts; a table of buckets by value (a monotone map of the value) then gives,
 * for each value of the larger side, where to start looking among them, a step or two at most before it is found.
 */
function twiceU(pos: Float64Array, neg: Float64Array): number {
  const smallIsPos = pos.length <= neg.length;
  const sorted = Float64Array.from(smallIsPos ? pos : neg).sort();
  const large = smallIsPos ? neg : pos;
  // distinct values of the smaller side, each followed by how many of that side lie below it (one cache line for
  // both), and a last pair (+Infinity, size) that ends every scan
  const table = new Float64Array(2 * sorted.length + 2);
  let m = 0;
  for (let j = 0; j < sorted.length; ) {
    let k = j;
    while (k < sorted.length && sorted[k] === sorted[j]) k++;
    table[2 * m] = sorted[j];
    table[2 * m + 1] = j;
    m++;
    j = k;
  }
  const n = sorted.length;
  table[2 * m] = Infinity;
  table[2 * m + 1] = n;
  const lo = table[0];
  const hi = table[2 * m - 2];
  let scale = m / (hi - lo);
  if (!Number.isFinite(scale)) scale = 0; // one value only (or a span beyond the doubles): a single bucket
  // first[b]: the first distinct value whose bucket is b or more; every value before it is below anything in b
  const first = new Int32Array(m + 1);
  for (let j = 0, b = 0; j <= m; j++) {
    const bj = j === m ? m : Math.min(m - 1, ((table[2 * j] - lo) * scale) | 0);
    while (b <= bj) first[b++] = j;
  }
  let total = 0;
  for (let i = 0; i < large.length; i++) {
    const x = large[i];
    let lessThanX = 0;
    let equalX = 0;
    if (x > hi) lessThanX = n;
    else if (x >= lo) {
      let j = 2 * first[Math.min(m - 1, ((x - lo) * scale) | 0)];
      while (table[j] < x) j += 2; // stops within x's bucket, at hi at the latest
      lessThanX = table[j + 1];
      if (table[j] === x) equalX = table[j + 3] - lessThanX;
    }
    // x is a negative: positives above it count 2, equal 1; x is a positive: negatives below it count 2
    total += smallIsPos ? 2 * (n - lessThanX - equalX) + equalX : 2 * lessThanX + equalX;
  }
  return total;
}

/**
 * Exact ROC AUC: Mann-Whitney U / (n_pos n_neg), ties counting one half (the reference's mid-ranks give the same
 * U exactly); 0.5 when either class is empty. Scores must not be NaN.
 */
export function aucRoc(scores: ArrayLike<number>, labels: ArrayLike<number | boolean>): number {
  if (scores.length !== labels.length) throw new RangeError(`${scores.length} scores and ${labels.length} labels`);
  let nPos = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i]) nPos++;
  const nNeg = scores.length - nPos;
  if (nPos === 0 || nNeg === 0) return 0.5;
  const pos = new Float64Array(nPos);
  const neg = new Float64Array(nNeg);
  for (let i = 0, p = 0, q = 0; i < scores.length; i++) {
    const s = scores[i];
    if (s !== s) throw new RangeError(`score ${i} is NaN (AUC is computed over the pixels with a value)`);
    if (labels[i]) pos[p++] = s;
    else neg[q++] = s;
  }
  return twiceU(pos, neg) / 2 / (nPos * nNeg);
}

export interface ScoreOptions {
  thresholds?: readonly number[];
  /** min-max normalise first (default true, as method.md 5.1 asks of every heatmap) */
  normaliseFirst?: boolean;
}

/** { cnr, miou, auc } of one image-phrase pair. */
export function scorePair(heatmap: Heatmap, boxes: readonly Box[], options: ScoreOptions = {}): PairScores {
  checkShape(heatmap);
  const { width, height } = heatmap;
  const values = options.normaliseFirst === false ? Float64Array.from(heatmap.values) : normalise(heatmap.values);
  const heat: Heatmap = { width, height, values };
  const mask = boxMask(boxes, width, height);
  // one pass: the mIoU tallies, and for the AUC over the pixels with a value (positives = mask pixels) the
  // positives from the front of one buffer and the negatives from its back (their order does not matter); the
  // buffer is then CNR's scratch
  const t = tally(options.thresholds ?? THRESHOLDS);
  const { sorted, above } = t;
  const k = sorted.length;
  const buffer = new Float64Array(values.length);
  let inMask = 0;
  let nPos = 0;
  let back = values.length;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const m = mask[i];
    inMask += m;
    if (v !== v) continue; // never above a threshold, not scored by the AUC
    let e = 0;
    while (e < k && v > sorted[e]) e++;
    above[2 * e + m]++;
    if (m) buffer[nPos++] = v;
    else buffer[--back] = v;
  }
  const nNeg = values.length - back;
  const auc = nPos > 0 && nNeg > 0 ? twiceU(buffer.subarray(0, nPos), buffer.subarray(back)) / 2 / (nPos * nNeg) : 0.5;
  return { cnr: cnr(heat, boxes, buffer), miou: miouOfTally(t, inMask), auc };
}
