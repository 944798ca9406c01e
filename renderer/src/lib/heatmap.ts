// Heatmaps on the image, as pure functions (the heatmap layer's shader does the same per fragment; these are the
// reference the tests check and the CPU paths use: the value under the cursor, isolines, the exported figure).
//
// A heatmap (`heatmaps.get`) is a W x H float32 map and a geometry: the map covers the rectangle (left, top,
// width, height) of the original image (a model's map: the centre square of side min(rows, columns) it saw,
// method.md 2.7; an imported one: usually the whole image). The reference mapping of an original pixel (row r,
// column c) inside the rectangle is nearest neighbour with half-pixel centres per axis, exactly the Python
// `image_ops.resize_nearest`: map column = min(floor((c - left + 0.5) * W / width), W - 1), rows the same with
// heights, here in integer arithmetic ((2d + 1) * W) div (2 * width) so that exact ties land where Python's do.
// Outside the rectangle there is no value (NaN: drawn transparent), and so for a map's own NaN (imported maps).
// Bilinear sampling interpolates between map texel centres (u = (x - left) * W / width - 0.5), clamped at the
// rectangle's edges; a NaN among the four neighbours gives NaN.

import { contours } from 'd3-contour';
import type { Types } from '../../../common/contract';
import { TABLE_SIZE, tableIndex } from './colormaps';

export type HeatmapGeometry = Types['HeatmapGeometry'];
export type HeatmapSource = Types['HeatmapSummary']['source'];
export type Sampling = 'nearest' | 'bilinear';

export interface LoadedHeatmap {
  id: number;
  imageId: number;
  phrase: string;
  model: string;
  variant: string;
  source: HeatmapSource;
  /** the map is width x height (row-major) */
  width: number;
  height: number;
  values: Float32Array;
  threshold: number | null;
  geometry: HeatmapGeometry;
  /** extremes of the finite values */
  min: number;
  max: number;
  /** a job's provisional map (`heatmap.partial`, under a negative id of its own): how many of its kept steps it has */
  provisional?: { stepsDone: number; stepsTotal: number };
}

/** What the mapping needs of a heatmap. */
export type MapShape = Pick<LoadedHeatmap, 'width' | 'height' | 'geometry'>;

/** `data` (width x height float32, little-endian, row-major) -> values; throws when the length does not match. */
export function decodeHeatmap(data: Uint8Array, width: number, height = width): Float32Array {
  const n = width * height;
  if (data.byteLength !== n * 4) throw new Error(`heatmap data has ${data.byteLength} bytes, expected ${n * 4} (${width}×${height} float32)`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

export function prepareHeatmap(h: Types['HeatmapData']): LoadedHeatmap {
  const values = decodeHeatmap(h.data, h.width, h.height);
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (min > max) min = max = 0;
  const { id, imageId, phrase, model, variant, source, width, height, threshold, geometry } = h;
  return { id, imageId, phrase, model, variant, source, width, height, values, threshold, geometry, min, max };
}

/** A provisional map as a heatmap to draw; `id` must differ from every other map's (the store counts down from -1). */
export function preparePartial(p: Types['HeatmapPartial'], id: number): LoadedHeatmap {
  const { imageId, phrase, model, variant, width, height, data, threshold, geometry, stepsDone, stepsTotal } = p;
  const h = prepareHeatmap({ id, imageId, phrase, model, modelVersion: '', variant, source: 'model', createdAt: '', width, height, data, threshold, geometry, provenance: {} });
  return { ...h, provisional: { stepsDone, stepsTotal } };
}

/** "5/20" for a provisional map (steps done of its kept steps), else nothing: the panes' data-*-provisional hooks. */
export function provisionalSteps(h: Pick<LoadedHeatmap, 'provisional'> | null | undefined): string | undefined {
  return h?.provisional ? `${h.provisional.stepsDone}/${h.provisional.stepsTotal}` : undefined;
}

/** A shown heatmap's title (the colorbar's): '"left effusion" · demo tuned', with ' · provisional' for a provisional map. */
export function heatmapTitle(h: Pick<LoadedHeatmap, 'phrase' | 'model' | 'variant' | 'provisional'>): string {
  return `“${h.phrase}” · ${h.model} ${h.variant}${h.provisional ? ' · provisional' : ''}`;
}

/** Map index along one axis for original pixel offset d (0 <= d < extent) into the rectangle; the reference mapping. */
export function nearestMapIndex(d: number, extent: number, size: number): number {
  return Math.min(Math.floor(((2 * d + 1) * size) / (2 * extent)), size - 1);
}

/** The map cell (row-major index) shown at original pixel (column, row), or -1 outside the geometry rectangle. */
export function mapIndexAt(h: MapShape, column: number, row: number): number {
  const g = h.geometry;
  const dx = Math.floor(column) - g.left;
  const dy = Math.floor(row) - g.top;
  if (dx < 0 || dy < 0 || dx >= g.width || dy >= g.height) return -1;
  return nearestMapIndex(dy, g.height, h.height) * h.width + nearestMapIndex(dx, g.width, h.width);
}

/**
 * The heatmap's value at image point (x, y) (image pixels, pixel (i, j) covers [i, i+1) x [j, j+1)); NaN
 * outside the geometry rectangle.
 */
export function sampleAt(h: MapShape & Pick<LoadedHeatmap, 'values'>, x: number, y: number, sampling: Sampling = 'nearest'): number {
  const g = h.geometry;
  const qx = x - g.left;
  const qy = y - g.top;
  if (!(qx >= 0 && qy >= 0 && qx < g.width && qy < g.height)) return NaN;
  if (sampling === 'nearest') return h.values[mapIndexAt(h, x, y)];
  const { width: w, height: ht } = h;
  const u = (qx * w) / g.width - 0.5;
  const v = (qy * ht) / g.height - 0.5;
  const i0 = Math.floor(u);
  const j0 = Math.floor(v);
  const fx = u - i0;
  const fy = v - j0;
  const at = (i: number, j: number) => h.values[Math.min(ht - 1, Math.max(0, j)) * w + Math.min(w - 1, Math.max(0, i))];
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
 * The scale the 0-1 settings (lower threshold, fixed range) refer to: a model's map is min-max normalised to
 * [0, 1], so they are its values; an imported map is on its method's own scale, so they are fractions of its value
 * extent [min, max].
 */
export function valueScale(h: Partial<Pick<LoadedHeatmap, 'source' | 'min' | 'max'>> | null): [number, number] {
  return h?.source === 'imported' && h.min !== undefined && h.max !== undefined ? [h.min, h.max] : [0, 1];
}

/** A 0-1 setting on a scale. */
export function fromUnit(t: number, scale: [number, number]): number {
  return scale[0] + t * (scale[1] - scale[0]);
}

type ThresholdSource = Pick<LoadedHeatmap, 'threshold'> & Partial<Pick<LoadedHeatmap, 'source' | 'min' | 'max'>>;

/**
 * The lower threshold in effect: the user's (on the map's value scale), raised to the heatmap's Otsu threshold
 * when Otsu is on and the variant has one (values not above it are then hidden, as the reference heatmap sets
 * them to 0).
 */
export function effectiveLower(lower: number, otsu: boolean, heatmap: ThresholdSource | null): number {
  const base = fromUnit(lower, valueScale(heatmap));
  return otsu && heatmap?.threshold != null ? Math.max(base, heatmap.threshold) : base;
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

/** 'auto': the extremes of the values the threshold leaves visible ([lower, top] when none is). */
export function autoRange(values: Float32Array, lower: number, top = 1): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (!isVisible(v, lower)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return min > max ? [lower, Math.max(lower, top)] : [min, max];
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

/** An isoline as closed rings of points in original-image pixels. */
export interface IsolineRings {
  level: number;
  rings: [number, number][][];
}

/**
 * Isolines of the map at `levels` (d3-contour's marching squares with linear smoothing; no value counts as below
 * every level), placed on the image: a map coordinate u in [0, W] (value k sits at k + 0.5) is image
 * x = left + u * width / W, rows the same with heights.
 */
export function isolineRings(h: MapShape & Pick<LoadedHeatmap, 'values'>, levels: number[]): IsolineRings[] {
  if (levels.length === 0) return [];
  const { left, top, width, height } = h.geometry;
  const kx = width / h.width;
  const ky = height / h.height;
  const gen = contours().size([h.width, h.height]).thresholds(levels);
  return gen(Array.from(h.values, (v) => (Number.isFinite(v) ? v : NaN))).map((c) => ({
    level: c.value,
    rings: c.coordinates.flatMap((polygon) => polygon.map((ring) => ring.map(([u, v]): [number, number] => [left + u * kx, top + v * ky]))),
  }));
}

/** isolineRings as SVG path data (the viewer's isolines layer). */
export function isolinePaths(h: MapShape & Pick<LoadedHeatmap, 'values'>, levels: number[]): Isoline[] {
  const fmt = (n: number) => (Math.round(n * 100) / 100).toString();
  return isolineRings(h, levels).map(({ level, rings }) => ({
    level,
    d: rings.map((ring) => `${ring.map(([x, y], i) => `${i ? 'L' : 'M'}${fmt(x)},${fmt(y)}`).join('')}Z`).join(''),
  }));
}

/**
 * The overlay as the original image's RGBA pixels (columns x rows), sampled at pixel centres: the CPU reference
 * of what the layer draws (tests, the exported figure); heatmapRgba per pixel, the nearest cells looked up once
 * per column and row.
 */
export function renderHeatmapRgba(h: MapShape & Pick<LoadedHeatmap, 'values'>, style: HeatmapStyle, table: Uint8Array, sampling: Sampling = 'nearest'): Uint8ClampedArray {
  if (table.length < TABLE_SIZE * 4) throw new Error('colormap table must have 256 RGBA entries');
  const g = h.geometry;
  const { originalColumns: w, originalRows: rows } = g;
  const out = new Uint8ClampedArray(w * rows * 4);
  const alpha = Math.round(Math.min(1, Math.max(0, style.opacity)) * 255);
  const x0 = Math.max(0, g.left);
  const x1 = Math.min(w, g.left + g.width);
  const y0 = Math.max(0, g.top);
  const y1 = Math.min(rows, g.top + g.height);
  const cols = new Int32Array(Math.max(0, x1 - x0)).map((_, i) => nearestMapIndex(x0 + i - g.left, g.width, h.width));
  for (let r = y0; r < y1; r++) {
    const rowBase = nearestMapIndex(r - g.top, g.height, h.height) * h.width;
    for (let c = x0; c < x1; c++) {
      const v = sampling === 'nearest' ? h.values[rowBase + cols[c - x0]] : sampleAt(h, c + 0.5, r + 0.5, sampling);
      if (!isVisible(v, style.lower)) continue;
      const e = tableIndex(rangePosition(v, style.min, style.max)) * 4;
      const o = (r * w + c) * 4;
      out[o] = table[e];
      out[o + 1] = table[e + 1];
      out[o + 2] = table[e + 2];
      out[o + 3] = alpha;
    }
  }
  return out;
}
