// The exported figure's pixels, composed on the CPU at the image's original resolution (no GPU read-back, the same
// on every machine, and testable): the image through the viewer's window/level and invert (lib/window-level.ts,
// the shader's formula), the heatmap overlay as the layer draws it (lib/heatmap.ts renderHeatmapRgba: colormap,
// opacity, threshold, Otsu, range, sampling) blended over it, its isolines (the isolines layer's lines, widths
// scaled to the figure), the ground-truth boxes, the caption band and the colorbar (lib/figure-layout.ts). The text items are left to a 2D canvas (figure-export.ts). Compare's figure
// is two panels side by side.

import { boxSourceKey, boxSources, rgbOf } from './box-sources';
import { TABLE_SIZE, tableIndex } from './colormaps';
import { figureLayout, type CaptionText, type FigureLayout, type Rect, type TextItem } from './figure-layout';
import { isolineRings, rangePosition, renderHeatmapRgba, type LoadedHeatmap, type Sampling } from './heatmap';
import { applyWindow, type Samples } from './window-level';

export interface FigureImage {
  samples: Samples;
  columns: number;
  rows: number;
  slope: number;
  intercept: number;
  center: number;
  width: number;
  /** the inversion in effect (MONOCHROME1 and the user's toggle already combined) */
  invert: boolean;
}

export interface FigureHeatmap {
  map: LoadedHeatmap;
  /** 256-entry RGBA colormap table */
  table: Uint8Array;
  lower: number;
  range: [number, number];
  opacity: number;
  sampling: Sampling;
  /** isoline levels as the viewer draws them (null or empty: none) */
  isolines?: readonly number[] | null;
}

export interface FigureBox {
  x: number;
  y: number;
  w: number;
  h: number;
  source: string;
  /** the dataset's reader or the user who drew it: its colour, as in the viewer (box-sources.ts) */
  reader?: string | null;
}

export interface FigurePanel {
  image: FigureImage;
  heatmap: FigureHeatmap | null;
  boxes: readonly FigureBox[];
  caption: CaptionText;
}

export interface ComposedFigure {
  width: number;
  height: number;
  /** RGBA, row-major, opaque */
  pixels: Uint8ClampedArray;
  texts: TextItem[];
  layouts: FigureLayout[];
}

type Rgb = readonly [number, number, number];
export const BAND_RGB: Rgb = [16, 17, 19];
export const BAND_ALPHA = 0.72;

/** A colorbar label: two decimals, whole numbers from 100 (as the viewer's colorbar writes them). */
export const formatTick = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2));

/** The image as opaque RGBA: modality value -> linear VOI window -> inversion -> round(g * 255). */
export function greyImage(img: FigureImage): Uint8ClampedArray {
  const n = img.columns * img.rows;
  const out = new Uint8ClampedArray(n * 4);
  for (let i = 0; i < n; i++) {
    let g = applyWindow(img.samples[i] * img.slope + img.intercept, img.center, img.width);
    if (img.invert) g = 1 - g;
    const v = Math.round(g * 255);
    out[i * 4] = out[i * 4 + 1] = out[i * 4 + 2] = v;
    out[i * 4 + 3] = 255;
  }
  return out;
}

/** `src` (RGBA, straight alpha) over the opaque `dst`, in place. */
export function blendOver(dst: Uint8ClampedArray, src: Uint8ClampedArray): void {
  for (let i = 0; i < dst.length; i += 4) {
    const a = src[i + 3] / 255;
    if (a === 0) continue;
    for (let k = 0; k < 3; k++) dst[i + k] = Math.round(src[i + k] * a + dst[i + k] * (1 - a));
  }
}

function clip(r: Rect, width: number, height: number) {
  const x0 = Math.max(0, Math.floor(r.x));
  const y0 = Math.max(0, Math.floor(r.y));
  return { x0, y0, x1: Math.min(width, Math.ceil(r.x + r.width)), y1: Math.min(height, Math.ceil(r.y + r.height)) };
}

/** Fills a rectangle with a colour at an opacity, blended. */
export function fillRect(px: Uint8ClampedArray, width: number, height: number, r: Rect, rgb: Rgb, alpha = 1): void {
  const { x0, y0, x1, y1 } = clip(r, width, height);
  for (let y = y0; y < y1; y++)
    for (let x = x0; x < x1; x++) {
      const i = (y * width + x) * 4;
      for (let k = 0; k < 3; k++) px[i + k] = Math.round(rgb[k] * alpha + px[i + k] * (1 - alpha));
    }
}

/** A rectangle's outline `line` pixels wide, centred on its edges; `dash` = [on, off] pixels. */
export function strokeRect(px: Uint8ClampedArray, width: number, height: number, r: Rect, line: number, rgb: Rgb, alpha = 1, dash: [number, number] | null = null): void {
  const h0 = Math.floor(line / 2);
  const on = (t: number) => !dash || t % (dash[0] + dash[1]) < dash[0];
  const edge = (x: number, y: number, w: number, h: number, along: 'x' | 'y') => {
    const { x0, y0, x1, y1 } = clip({ x, y, width: w, height: h }, width, height);
    for (let yy = y0; yy < y1; yy++)
      for (let xx = x0; xx < x1; xx++) {
        if (!on(along === 'x' ? xx - Math.floor(r.x) : yy - Math.floor(r.y))) continue;
        const i = (yy * width + xx) * 4;
        for (let k = 0; k < 3; k++) px[i + k] = Math.round(rgb[k] * alpha + px[i + k] * (1 - alpha));
      }
  };
  const left = Math.round(r.x) - h0;
  const top = Math.round(r.y) - h0;
  const right = Math.round(r.x + r.width) - h0;
  const bottom = Math.round(r.y + r.height) - h0;
  edge(left, top, right - left + line, line, 'x');
  edge(left, bottom, right - left + line, line, 'x');
  edge(left, top + line, line, bottom - top - line, 'y');
  edge(right, top + line, line, bottom - top - line, 'y');
}

/** The colour ramp, high values on top: row y takes table entry round((1 - (y - top) / (h - 1)) * 255). */
export function drawColorbar(px: Uint8ClampedArray, width: number, height: number, bar: Rect, table: Uint8Array): void {
  if (table.length < TABLE_SIZE * 4) throw new Error('colormap table must have 256 RGBA entries');
  const { x0, y0, x1, y1 } = clip(bar, width, height);
  for (let y = y0; y < y1; y++) {
    const t = bar.height > 1 ? 1 - (y - bar.y) / (bar.height - 1) : 1;
    const e = tableIndex(t) * 4;
    for (let x = x0; x < x1; x++) {
      const i = (y * width + x) * 4;
      px[i] = table[e];
      px[i + 1] = table[e + 1];
      px[i + 2] = table[e + 2];
    }
  }
}

/**
 * The isolines layer's look at the figure's scale: each level a dark halo, then a white line, higher levels brighter
 * and thicker; `line` is the figure's box outline width (lib/figure-layout.ts), about a screen pixel's worth.
 */
function drawIsolines(px: Uint8ClampedArray, width: number, height: number, map: LoadedHeatmap, levels: readonly number[], line: number): void {
  const lines = isolineRings(map, [...levels]);
  const mask = new Uint8Array(width * height);
  lines.forEach(({ rings }, i) => {
    const t = i / Math.max(1, lines.length - 1);
    strokeRings(px, mask, width, height, rings, line * 2.5, [0, 0, 0], 0.5);
    strokeRings(px, mask, width, height, rings, line * (1 + 0.75 * t), [255, 255, 255], 0.55 + 0.4 * t);
  });
}

/** Closed rings stroked `line` pixels wide: every pixel centre within line / 2 of a segment, blended once. */
export function strokeRings(px: Uint8ClampedArray, mask: Uint8Array, width: number, height: number, rings: readonly (readonly [number, number][])[], line: number, rgb: Rgb, alpha: number): void {
  mask.fill(0);
  const r = Math.max(0.5, line / 2);
  for (const ring of rings)
    for (let k = 0; k < ring.length; k++) {
      const [ax, ay] = ring[k];
      const [bx, by] = ring[(k + 1) % ring.length];
      const x0 = Math.max(0, Math.floor(Math.min(ax, bx) - r));
      const x1 = Math.min(width - 1, Math.ceil(Math.max(ax, bx) + r));
      const y0 = Math.max(0, Math.floor(Math.min(ay, by) - r));
      const y1 = Math.min(height - 1, Math.ceil(Math.max(ay, by) + r));
      const dx = bx - ax;
      const dy = by - ay;
      const len2 = dx * dx + dy * dy;
      for (let y = y0; y <= y1; y++)
        for (let x = x0; x <= x1; x++) {
          const cx = x + 0.5 - ax;
          const cy = y + 0.5 - ay;
          const s = len2 ? Math.min(1, Math.max(0, (cx * dx + cy * dy) / len2)) : 0;
          const ex = cx - s * dx;
          const ey = cy - s * dy;
          if (ex * ex + ey * ey <= r * r) mask[y * width + x] = 1;
        }
    }
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    for (let k = 0; k < 3; k++) px[i * 4 + k] = Math.round(rgb[k] * alpha + px[i * 4 + k] * (1 - alpha));
  }
}

/** One panel: the image at its original size with everything drawn on it. */
export function composePanel(p: FigurePanel): ComposedFigure {
  const { columns: w, rows: h } = p.image;
  const pixels = greyImage(p.image);
  const hm = p.heatmap;
  if (hm) {
    const { map } = hm;
    if (map.geometry.originalColumns !== w || map.geometry.originalRows !== h) throw new Error('the heatmap belongs to an image of another size');
    blendOver(pixels, renderHeatmapRgba(map, { lower: hm.lower, min: hm.range[0], max: hm.range[1], opacity: hm.opacity }, hm.table, hm.sampling));
  }
  const [lo, hi] = hm?.range ?? [0, 1];
  const { layout, texts } = figureLayout(w, h, p.caption, hm ? [hi, (lo + hi) / 2, lo].map(formatTick) : null);
  if (hm?.isolines?.length) drawIsolines(pixels, w, h, hm.map, hm.isolines, layout.line);
  const sources = new Map(boxSources(p.boxes.map((b) => ({ source: b.source as 'dataset' | 'user', reader: b.reader ?? null }))).map((s) => [s.key, s]));
  for (const b of p.boxes) {
    const r = { x: b.x, y: b.y, width: b.w, height: b.h };
    const src = sources.get(boxSourceKey({ source: b.source as 'dataset' | 'user', reader: b.reader ?? null }))!;
    strokeRect(pixels, w, h, r, layout.line + 2, [0, 0, 0], 0.55);
    strokeRect(pixels, w, h, r, layout.line, rgbOf(src.colour), 1, src.dashed ? [6 * layout.line, 4 * layout.line] : null);
  }
  fillRect(pixels, w, h, layout.caption, BAND_RGB, BAND_ALPHA);
  if (hm && layout.colorbarPanel && layout.colorbar) {
    fillRect(pixels, w, h, layout.colorbarPanel, BAND_RGB, BAND_ALPHA);
    const bar = layout.colorbar;
    strokeRect(pixels, w, h, { x: bar.x - 1, y: bar.y - 1, width: bar.width + 1, height: bar.height + 1 }, 1, [255, 255, 255], 0.45);
    drawColorbar(pixels, w, h, bar, hm.table);
    if (hm.lower > lo && hm.lower < hi) {
      // the lower threshold: values at or below it are transparent
      const y = Math.round(bar.y + (1 - rangePosition(hm.lower, lo, hi)) * (bar.height - 1));
      for (let x = bar.x - 3; x < bar.x + bar.width + 3; x += 5) fillRect(pixels, w, h, { x, y, width: 3, height: 1 }, [255, 255, 255], 0.85);
    }
  }
  return { width: w, height: h, pixels, texts, layouts: [layout] };
}

/** Panels of the same height side by side, left to right (Compare). */
export function sideBySide(panels: readonly ComposedFigure[]): ComposedFigure {
  if (panels.length === 1) return panels[0];
  const height = panels[0]?.height ?? 0;
  if (panels.some((p) => p.height !== height)) throw new Error('panels side by side must have the same height');
  const width = panels.reduce((s, p) => s + p.width, 0);
  const pixels = new Uint8ClampedArray(width * height * 4);
  const texts: TextItem[] = [];
  const layouts: FigureLayout[] = [];
  let x0 = 0;
  for (const p of panels) {
    for (let y = 0; y < height; y++) pixels.set(p.pixels.subarray(y * p.width * 4, (y + 1) * p.width * 4), (y * width + x0) * 4);
    texts.push(...p.texts.map((t) => ({ ...t, x: t.x + x0 })));
    layouts.push(...p.layouts);
    x0 += p.width;
  }
  return { width, height, pixels, texts, layouts };
}
