// The image operations of the grounding pipeline (docs/method.md sections 1-2), each with the exact convention of
// the Python reference (training/sightline_ldm/image_ops.py), which test/vectors/grounding-ops.json checks on both
// sides. Arrays are row-major; values float64 while computing, float32 where the reference stores float32.
import type { Types } from '../../common/contract';
import type { DecodedImage } from '../imaging';

export interface Grey {
  rows: number;
  columns: number;
  /** [0, 1], bright = dense */
  values: Float32Array;
}

/**
 * A decoded radiograph as the reference reads it (grounding.read_image_file): PNG/JPEG stored values divided by
 * the format's maximum (255, or 65535 for 16-bit PNG); DICOM through the modality rescale and the file's own first
 * window (when it has one), then min-max to [0, 1], MONOCHROME1 inverted.
 */
export function greyOf(image: DecodedImage): Grey {
  const n = image.rows * image.columns;
  const values = new Float32Array(n);
  const px = image.pixels;
  if (image.format !== 'dicom') {
    const max = image.encoding === 'uint8' ? 255 : 65535;
    for (let i = 0; i < n; i++) values[i] = px[i] / max;
    return { rows: image.rows, columns: image.columns, values };
  }
  const { rescaleSlope: slope, rescaleIntercept: intercept } = image;
  // the decoder lists the file's own windows first and always appends 'Full range' last
  const own = image.windows.length > 1 ? image.windows[0] : null;
  const a = new Float64Array(n);
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    let v = px[i] * slope + intercept;
    if (own) v = dicomLinearWindow(v, own.center, own.width);
    a[i] = v;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const invert = image.photometric === 'MONOCHROME1';
  for (let i = 0; i < n; i++) {
    const u = hi > lo ? (a[i] - lo) / (hi - lo) : 0;
    values[i] = invert ? 1 - u : u;
  }
  return { rows: image.rows, columns: image.columns, values };
}

/** DICOM PS3.3 C.11.2.1.2 linear VOI function onto [0, 1] (the range does not matter: min-max follows). */
/** PS3.3 C.11.2.1.2.1, the linear VOI function: a modality value -> [0, 1] (also the DICOM export's overlay). */
export function dicomLinearWindow(x: number, center: number, width: number): number {
  if (width <= 1) return x < center - 0.5 ? 0 : 1;
  if (x <= center - 0.5 - (width - 1) / 2) return 0;
  if (x > center - 0.5 + (width - 1) / 2) return 1;
  return (x - (center - 0.5)) / (width - 1) + 0.5;
}

/** (H', W') with the short side = size and the long side floor(long * size / short) (torchvision Resize). */
export function resizedShortSideShape(rows: number, columns: number, size: number): [number, number] {
  return rows <= columns ? [size, Math.floor((columns * size) / rows)] : [Math.floor((rows * size) / columns), size];
}

/** (top, left) of a size x size centre crop: floor((h - size) / 2), floor((w - size) / 2). */
export function cropBox(rows: number, columns: number, size: number): [number, number] {
  return [Math.floor((rows - size) / 2), Math.floor((columns - size) / 2)];
}

interface Taps {
  first: Int32Array;
  count: Int32Array;
  /** `width` weights per output index */
  weights: Float64Array;
  width: number;
}

/** torch's antialiased bilinear weights along one axis (UpSampleKernel.cpp, interp_size 2, align_corners false). */
function antialiasTaps(inSize: number, outSize: number): Taps {
  const scale = inSize / outSize;
  const support = scale >= 1 ? scale : 1;
  const invscale = scale >= 1 ? 1 / scale : 1;
  const width = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float64Array(outSize * width);
  for (let i = 0; i < outSize; i++) {
    const center = scale * (i + 0.5);
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xsize = Math.min(Math.max(Math.min(Math.trunc(center + support + 0.5), inSize) - xmin, 0), width);
    let total = 0;
    for (let j = 0; j < xsize; j++) {
      const x = Math.abs((j + xmin - center + 0.5) * invscale);
      const w = x < 1 ? 1 - x : 0;
      weights[i * width + j] = w;
      total += w;
    }
    if (total !== 0) for (let j = 0; j < xsize; j++) weights[i * width + j] /= total;
    first[i] = xmin;
    count[i] = xsize;
  }
  return { first, count, weights, width };
}

/** Bilinear resize with half-pixel centres and antialiasing, as torch.nn.functional.interpolate(antialias=True). */
export function resizeAntialiased(src: ArrayLike<number>, rows: number, columns: number, outRows: number, outColumns: number): Float64Array {
  if (rows === outRows && columns === outColumns) return Float64Array.from(src);
  const h = antialiasTaps(columns, outColumns);
  const v = antialiasTaps(rows, outRows);
  const tmp = new Float64Array(rows * outColumns); // horizontal pass first
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < outColumns; x++) {
      let s = 0;
      const f = h.first[x];
      for (let j = 0; j < h.count[x]; j++) s += h.weights[x * h.width + j] * src[y * columns + f + j];
      tmp[y * outColumns + x] = Math.fround(s);
    }
  }
  const out = new Float64Array(outRows * outColumns);
  for (let y = 0; y < outRows; y++) {
    const f = v.first[y];
    for (let x = 0; x < outColumns; x++) {
      let s = 0;
      for (let j = 0; j < v.count[y]; j++) s += v.weights[y * v.width + j] * tmp[(f + j) * outColumns + x];
      out[y * outColumns + x] = Math.fround(s);
    }
  }
  return out;
}

export interface Geometry {
  originalRows: number;
  originalColumns: number;
  resizedRows: number;
  resizedColumns: number;
  cropTop: number;
  cropLeft: number;
  size: number;
}

/** Grey [0,1] -> short side resized to `size` (antialiased bilinear) -> centre crop size x size (method.md 2.1). */
export function preprocess(grey: Grey, size: number): { input: Float32Array; geometry: Geometry } {
  const [rh, rw] = resizedShortSideShape(grey.rows, grey.columns, size);
  const resized = resizeAntialiased(grey.values, grey.rows, grey.columns, rh, rw);
  const [top, left] = cropBox(rh, rw, size);
  const input = new Float32Array(size * size);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) input[y * size + x] = resized[(top + y) * rw + left + x];
  return {
    input,
    geometry: { originalRows: grey.rows, originalColumns: grey.columns, resizedRows: rh, resizedColumns: rw, cropTop: top, cropLeft: left, size },
  };
}

/** Bilinear resize with half-pixel centres, no antialiasing (torch interpolate, align_corners=False). */
export function resizeBilinear(src: ArrayLike<number>, rows: number, columns: number, outRows: number, outColumns: number): Float64Array {
  const axis = (inSize: number, outSize: number) => {
    const scale = inSize / outSize;
    const i0 = new Int32Array(outSize);
    const i1 = new Int32Array(outSize);
    const l1 = new Float64Array(outSize);
    for (let d = 0; d < outSize; d++) {
      let s = scale * (d + 0.5) - 0.5;
      if (s < 0) s = 0;
      const a = Math.trunc(s);
      i0[d] = a;
      i1[d] = a + (a < inSize - 1 ? 1 : 0);
      l1[d] = Math.min(Math.max(s - a, 0), 1);
    }
    return { i0, i1, l1 };
  };
  const ys = axis(rows, outRows);
  const xs = axis(columns, outColumns);
  const out = new Float64Array(outRows * outColumns);
  for (let y = 0; y < outRows; y++) {
    const r0 = ys.i0[y] * columns;
    const r1 = ys.i1[y] * columns;
    const ly = ys.l1[y];
    for (let x = 0; x < outColumns; x++) {
      const lx = xs.l1[x];
      const top = (1 - lx) * src[r0 + xs.i0[x]] + lx * src[r0 + xs.i1[x]];
      const bottom = (1 - lx) * src[r1 + xs.i0[x]] + lx * src[r1 + xs.i1[x]];
      out[y * outColumns + x] = (1 - ly) * top + ly * bottom;
    }
  }
  return out;
}

/** (a - min) / (max - min) in place; a constant array becomes zeros. */
export function minmaxInPlace(a: Float64Array): Float64Array {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of a) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!(hi > lo)) return a.fill(0);
  const range = hi - lo;
  for (let i = 0; i < a.length; i++) a[i] = (a[i] - lo) / range;
  return a;
}

/** scipy.ndimage's Gaussian kernel: radius int(truncate * sigma + 0.5), normalised. */
export function gaussianKernel(sigma: number, truncate: number): Float64Array {
  const radius = Math.trunc(truncate * sigma + 0.5);
  const k = new Float64Array(2 * radius + 1);
  let sum = 0;
  for (let i = -radius; i <= radius; i++) sum += k[i + radius] = Math.exp(-0.5 * (i / sigma) ** 2);
  for (let i = 0; i < k.length; i++) k[i] /= sum;
  return k;
}

/** Separable Gaussian blur like scipy.ndimage.gaussian_filter(mode='reflect'): d c b a | a b c d; rows then columns. */
export function gaussianBlur(a: Float64Array, rows: number, columns: number, sigma: number, truncate: number): Float64Array {
  if (sigma <= 0) return Float64Array.from(a);
  const k = gaussianKernel(sigma, truncate);
  const r = (k.length - 1) / 2;
  const reflect = (i: number, n: number) => {
    const period = 2 * n;
    let m = ((i % period) + period) % period;
    if (m >= n) m = period - 1 - m;
    return m;
  };
  const pass = (src: Float64Array, alongRows: boolean) => {
    const out = new Float64Array(src.length);
    const n = alongRows ? rows : columns;
    const idx = Int32Array.from({ length: n + 2 * r }, (_, i) => reflect(i - r, n));
    for (let y = 0; y < rows; y++) {
      for (let x = 0; x < columns; x++) {
        let s = 0;
        const pos = alongRows ? y : x;
        for (let j = 0; j < k.length; j++) {
          const q = idx[pos + j];
          s += k[j] * (alongRows ? src[q * columns + x] : src[y * columns + q]);
        }
        out[y * columns + x] = s;
      }
    }
    return out;
  };
  return pass(pass(a, true), false);
}

/** Two-class Otsu threshold as scikit-image's threshold_multiotsu(classes=2) over `bins` bins of [min, max]. */
export function otsuThreshold(a: ArrayLike<number>, bins = 256): number {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < a.length; i++) {
    if (a[i] < lo) lo = a[i];
    if (a[i] > hi) hi = a[i];
  }
  if (!(hi > lo)) throw new Error('histogram of a constant image');
  const counts = new Float64Array(bins);
  for (let i = 0; i < a.length; i++) counts[Math.min(Math.max(Math.floor(((a[i] - lo) / (hi - lo)) * bins), 0), bins - 1)]++;
  let m0 = 0;
  let m1 = 0;
  let t0 = 0;
  let t1 = 0;
  for (let k = 0; k < bins; k++) {
    t0 += counts[k] / a.length;
    t1 += (k * counts[k]) / a.length;
  }
  let best = -1;
  let bestI = 0;
  for (let i = 0; i < bins - 1; i++) {
    m0 += counts[i] / a.length;
    m1 += (i * counts[i]) / a.length;
    let s = 0;
    if (m0 > 0) s += (m1 * m1) / m0;
    if (t0 - m0 > 0) s += ((t1 - m1) * (t1 - m1)) / (t0 - m0);
    if (s > best) {
      best = s;
      bestI = i;
    }
  }
  // the bin's centre as numpy computes it from the edges lo + (hi - lo) * i / bins
  const edge = (i: number) => lo + ((hi - lo) * i) / bins;
  return (edge(bestI) + edge(bestI + 1)) / 2;
}

/**
 * The model-frame map at the original size: nearest resize (half-pixel centres) onto the centred square of side
 * min(H, W), NaN elsewhere (image_ops.map_to_original).
 */
export function mapToOriginal(map: ArrayLike<number>, size: number, rows: number, columns: number): Float32Array {
  const side = Math.min(rows, columns);
  const [top, left] = cropBox(rows, columns, side);
  return mapToImage(map, size, size, { originalRows: rows, originalColumns: columns, top, left, width: side, height: side });
}

/** A width x height map stretched over its rectangle of the original image (nearest, half-pixel centres), NaN outside. */
export function mapToImage(
  map: ArrayLike<number>,
  width: number,
  height: number,
  g: Types['HeatmapGeometry'],
): Float32Array {
  const out = new Float32Array(g.originalRows * g.originalColumns).fill(NaN);
  const xs = Int32Array.from({ length: g.width }, (_, d) => Math.min(Math.floor(((d + 0.5) * width) / g.width), width - 1));
  const ys = Int32Array.from({ length: g.height }, (_, d) => Math.min(Math.floor(((d + 0.5) * height) / g.height), height - 1));
  for (let y = 0; y < g.height; y++) {
    const row = (g.top + y) * g.originalColumns + g.left;
    const sy = ys[y] * width;
    for (let x = 0; x < g.width; x++) out[row + x] = map[sy + xs[x]];
  }
  return out;
}
