// Heatmaps on the image, as pure functions (the heatmap layer's shader does the same per fragment; these are the
// reference the tests check and the CPU paths use: the value under the cursor, isolines).
//
// A heatmap (`heatmaps.get`) is an S x S float32 map in the model frame, and a geometry: the map covers the
// square of side `side` at (top, left) of the original image (method.md 2.7). The reference mapping of an
// original pixel (row r, column c) inside that square is nearest neighbour with half-pixel centres, exactly the
// Python `image_ops.resize_nearest`: map row = min(floor((r - top + 0.5) * S / side), S - 1), the same for
// columns, here in integer arithmetic ((2d + 1) * S) div (2 * side) so that exact ties land where Python's do.
// Outside the square there is no value (NaN: drawn transparent). Bilinear sampling interpolates between map
// texel centres (map coordinate u = (x - left) * S / side - 0.5), clamped at the square's edges.

import { contours } from 'd3-contour';
import type { Types } from '../../../common/contract';
import { TABLE_SIZE, tableIndex } from './colormaps';

export type HeatmapGeometry = Types['HeatmapGeometry'];
export type Sampling = 'nearest' | 'bilinear';

export interface LoadedHeatmap {
  id: number;
  imageId: number;
  phrase: string;
  model: string;
  variant: string;
  /** S: the map is S x S */
  size: number;
  values: Float32Array;
  threshold: number | null;
  geometry: HeatmapGeometry;
  /** extremes of the finite values */
  min: number;
  max: number;
}

/** `data` (S x S float32, little-endian, row-major) -> values; throws when the length does not match. */
export function decodeHeatmap(data: Uint8Array, size: number): Float32Array {
  const n = size * size;
  if (data.byteLength !== n * 4) throw new Error(`heatmap data has ${data.byteLength} bytes, expected ${n * 4} (${size}×${size} float32)`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

export function prepareHeatmap(h: Types['HeatmapData']): LoadedHeatmap {
  const values = decodeHeatmap(h.data, h.size);
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (min > max) min = max = 0;
  return { id: h.id, imageId: h.imageId, phrase: h.phrase, model: h.model, variant: h.variant, size: h.size, values, threshold: h.threshold, geometry: h.geometry, min, max };
}

/** Map index along one axis for original pixel offset d (0 <= d < side) into the square; the reference mapping. */
export function nearestMapIndex(d: number, side: number, size: number): number {
  return Math.min(Math.floor(((2 * d + 1) * size) / (2 * side)), size - 1);
}

/** The map cell (row-major index) shown at original pixel (column, row), or -1 outside the geometry square. */
export function mapIndexAt(geometry: HeatmapGeometry, size: number, column: number, row: number): number {
  const dx = Math.floor(column) - geometry.left;
  const dy = Math.floor(row) - geometry.top;
  if (dx < 0 || dy < 0 || dx >= geometry.side || dy >= geometry.side) return -1;
  return nearestMapIndex(dy, geometry.side, size) * size + nearestMapIndex(dx, geometry.side, size);
}

/**
 * The heatmap's value at image point (x, y) (image pixels, pixel (i, j) covers [i, i+1) x [j, j+1)); NaN
 * outside the geometry square.
 */
export function sampleAt(h: Pick<LoadedHeatmap, 'values' | 'size' | 'geometry'>, x: number, y: number, sampling: Sampling = 'nearest'): number {
  const g = h.geometry;
  const qx = x - g.left;
  const qy = y - g.top;
  if (!(qx >= 0 && qy >= 0 && qx < g.side && qy < g.side)) return NaN;
  const s = h.size;
  if (sampling === 'nearest') return h.values[mapIndexAt(g, s, x, y)];
  const u = (qx * s) / g.side - 0.5;
  const v = (qy * s) / g.side - 0.5;
  const i0 = Math.floor(u);
  const j0 = Math.floor(v);
  const fx = u - i0;
  const fy = v - j0;
  const at = (i: number, j: number) => h.values[Math.min(s - 1, Math.max(0, j)) * s + Math.min(s - 1, Math.max(0, i))];
  const top = at(i0, j0) * (1 - fx) + at(i0 + 1, j0) * fx;
  const bottom = at(i0, j0 + 1) * (1 - fx) + at(i0 + 1, j0 + 1) * fx;
  return top * (1 - fy) + bottom * fy;
}

export interface HeatmapStyle {
  /** values not above it are transparent (so at 0 the zeros Otsu left are) */
  lower: number;
  /** the value range the colormap spans */
  min: number;
  max: number;
  /** 0-1 */
  opacity: number;
}

/**
 * The lower threshold in effect: the user's, raised to the heatmap's Otsu threshold when Otsu is on and the
 * variant has one (values not above it are then hidden, as the reference heatmap sets them to 0).
 */
export function effectiveLower(lower: number, otsu: boolean, heatmap: Pick<LoadedHeatmap, 'threshold'> | null): number {
  return otsu && heatmap?.threshold != null ? Math.max(lower, heatmap.threshold) : lower;
}

/** Whether a value is drawn: finite and above the lower threshold. */
export function isVisible(v: number, lower: number): boolean {
  return Number.isFinite(v) && v > lower;
}

/** Position of v in the colormap: (v - min) / (max - min) clamped to [0, 1]; a degenerate range gives 1. */
export function rangePosition(v: number, min: number, max: number): number {
  if (!(max > min)) return v >= min ? 1 : 0;
  return Math.min(1, Math.max(0, (v - min) / (max - min)));
}

/** RGBA (0-255) of a value through a 256-entry colormap table, or null where it is transparent. */
export function heatmapRgba(v: number, style: HeatmapStyle, table: Uint8Array): [number, number, number, number] | null {
  if (!isVisible(v, style.lower)) return null;
  const i = tableIndex(rangePosition(v, style.min, style.max)) * 4;
  if (table.length < TABLE_SIZE * 4) throw new Error('colormap table must have 256 RGBA entries');
  return [table[i], table[i + 1], table[i + 2], Math.round(Math.min(1, Math.max(0, style.opacity)) * 255)];
}

/** 'auto': the extremes of the values the threshold leaves visible ([lower, 1] when none is). */
export function autoRange(values: Float32Array, lower: number): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (!isVisible(v, lower)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return min > max ? [lower, 1] : [min, max];
}

/** `count` isoline levels evenly inside the range (not at its ends). */
export function isolineLevels(range: [number, number], count: number): number[] {
  const [min, max] = range;
  if (!(max > min) || count < 1) return [];
  return Array.from({ length: count }, (_, k) => min + ((max - min) * (k + 1)) / (count + 1));
}

export interface Isoline {
  level: number;
  /** SVG path data in original-image pixels */
  d: string;
}

/**
 * Isolines of the model-frame map at `levels` (d3-contour's marching squares with linear smoothing), placed on
 * the image: a map coordinate u in [0, S] (value k sits at k + 0.5) is image x = left + u * side / S.
 */
export function isolinePaths(h: Pick<LoadedHeatmap, 'values' | 'size' | 'geometry'>, levels: number[]): Isoline[] {
  if (levels.length === 0) return [];
  const s = h.size;
  const { left, top, side } = h.geometry;
  const k = side / s;
  const gen = contours().size([s, s]).thresholds(levels);
  const fmt = (n: number) => (Math.round(n * 100) / 100).toString();
  return gen(Array.from(h.values)).map((c) => {
    const parts: string[] = [];
    for (const polygon of c.coordinates)
      for (const ring of polygon) {
        ring.forEach(([u, v], i) => parts.push(`${i ? 'L' : 'M'}${fmt(left + u * k)},${fmt(top + v * k)}`));
        parts.push('Z');
      }
    return { level: c.value, d: parts.join('') };
  });
}

/**
 * The overlay as the original image's RGBA pixels (columns x rows), sampled at pixel centres: the CPU reference
 * of what the layer draws (tests; a figure export later).
 */
export function renderHeatmapRgba(
  h: Pick<LoadedHeatmap, 'values' | 'size' | 'geometry'>,
  style: HeatmapStyle,
  table: Uint8Array,
  sampling: Sampling = 'nearest',
): Uint8ClampedArray {
  const { originalColumns: w, originalRows: rows } = h.geometry;
  const out = new Uint8ClampedArray(w * rows * 4);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < w; c++) {
      const rgba = heatmapRgba(sampleAt(h, c + 0.5, r + 0.5, sampling), style, table);
      if (rgba) out.set(rgba, (r * w + c) * 4);
    }
  return out;
}
