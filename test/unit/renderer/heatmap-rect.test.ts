// Heatmaps on a rectangle of the image (the contract's HeatmapGeometry {top, left, width, height}, a W x H map):
// the reference's nearest mapping per axis with its exact ties, non-square maps and rectangles, the NaN and the
// own value scale of imported maps, and what the GL renderer uploads for them.
import { describe, expect, it } from 'vitest';
import { colormapTable, tableIndex } from '../../../renderer/src/lib/colormaps';
import { NO_VALUE, withSentinel } from '../../../renderer/src/lib/gl-heatmap-renderer';
import {
  effectiveLower,
  isolinePaths,
  mapIndexAt,
  nearestMapIndex,
  renderHeatmapRgba,
  sampleAt,
  valueScale,
  type HeatmapGeometry,
  type LoadedHeatmap,
} from '../../../renderer/src/lib/heatmap';
import { DEFAULT_HEATMAP_SETTINGS, heatmapStyle } from '../../../renderer/src/lib/heatmap-settings';

/** The Python reference (image_ops.resize_nearest) along one axis, in float64 like numpy. */
const pythonNearest = (d: number, extent: number, size: number) => Math.min(Math.floor(((d + 0.5) * size) / extent), size - 1);

function loaded(width: number, height: number, values: number[], geometry: HeatmapGeometry, extra: Partial<LoadedHeatmap> = {}): LoadedHeatmap {
  const v = Float32Array.from(values);
  const finite = values.filter(Number.isFinite);
  return { id: 1, imageId: 7, phrase: 'p', model: 'm', variant: 'v', source: 'model', width, height, values: v, threshold: null, geometry, min: Math.min(...finite), max: Math.max(...finite), ...extra };
}

describe('the rectangle mapping', () => {
  it('maps each axis on its own: a 3 x 2 map over a 7 x 5 rectangle at (left 2, top 1) of a 10 x 8 image', () => {
    const geometry: HeatmapGeometry = { originalRows: 8, originalColumns: 10, top: 1, left: 2, width: 7, height: 5 };
    const shape = { geometry, width: 3, height: 2 };
    for (let row = 0; row < 8; row++)
      for (let column = 0; column < 10; column++) {
        const dx = column - 2;
        const dy = row - 1;
        const inside = dx >= 0 && dx < 7 && dy >= 0 && dy < 5;
        expect(mapIndexAt(shape, column + 0.5, row + 0.5)).toBe(inside ? pythonNearest(dy, 5, 2) * 3 + pythonNearest(dx, 7, 3) : -1);
      }
    // the corners of the rectangle take the map's corners
    expect([mapIndexAt(shape, 2, 1), mapIndexAt(shape, 8, 1), mapIndexAt(shape, 2, 5), mapIndexAt(shape, 8, 5)]).toEqual([0, 2, 3, 5]);
  });

  it('keeps the exact ties of the integer mapping on both axes of a non-square map', () => {
    // (2d + 1) * H / (2 * extent) is an integer: (2 * 1 + 1) * 6 / 18 = 1 and (2 * 4 + 1) * 6 / 18 = 3 exactly
    expect(nearestMapIndex(1, 9, 6)).toBe(1);
    expect(nearestMapIndex(4, 9, 6)).toBe(3);
    expect(nearestMapIndex(1, 768, 512)).toBe(1);
    for (const [extent, size] of [
      [9, 6],
      [768, 512],
      [1000, 1000],
      [2048, 512],
      [333, 1000],
      [5, 7],
    ])
      for (let d = 0; d < extent; d++) expect(nearestMapIndex(d, extent, size)).toBe(pythonNearest(d, extent, size));
    // a 512 x 6 map over a 768 x 9 rectangle: the tie cells on each axis
    const shape = { geometry: { originalRows: 9, originalColumns: 768, top: 0, left: 0, width: 768, height: 9 }, width: 512, height: 6 };
    expect(mapIndexAt(shape, 1, 1)).toBe(1 * 512 + 1);
    expect(mapIndexAt(shape, 767, 4)).toBe(3 * 512 + 511);
  });

  it('samples and renders a non-square map: nearest cells, bilinear between cell centres per axis', () => {
    // a 2 x 1 map over a 4 x 2 image: left half 0.2, right half 0.8
    const h = loaded(2, 1, [0.2, 0.8], { originalRows: 2, originalColumns: 4, top: 0, left: 0, width: 4, height: 2 });
    expect([0.5, 1.5, 2.5, 3.5].map((x) => sampleAt(h, x, 1.5))).toEqual([0.2, 0.2, 0.8, 0.8].map(Math.fround));
    expect(sampleAt(h, 2, 0.3, 'bilinear')).toBeCloseTo(0.5); // half-way between the two centres (x 1 and 3)
    expect(sampleAt(h, 1, 1.9, 'bilinear')).toBeCloseTo(0.2); // one row: clamped vertically
    const grey = colormapTable('grey');
    const rgba = renderHeatmapRgba(h, { lower: 0, min: 0, max: 1, opacity: 1 }, grey);
    const red = Array.from({ length: 8 }, (_, i) => rgba[i * 4]);
    const g = (v: number) => grey[tableIndex(v) * 4];
    expect(red).toEqual([g(0.2), g(0.2), g(0.8), g(0.8), g(0.2), g(0.2), g(0.8), g(0.8)]);
  });

  it('places isolines with each axis scaled on its own', () => {
    // a 4 x 2 map, hot in columns 1-2, over a 40 x 10 rectangle at (left 5, top 3)
    const values = [0, 1, 1, 0, 0, 1, 1, 0];
    const h = loaded(4, 2, values, { originalRows: 20, originalColumns: 50, top: 3, left: 5, width: 40, height: 10 });
    const [line] = isolinePaths(h, [0.5]);
    const points = [...line.d.matchAll(/[ML]([\d.]+),([\d.]+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
    const xs = points.map((p) => p[0]);
    expect(Math.min(...xs)).toBeCloseTo(5 + 1 * 10); // u = 1 (half-way between cells 0 and 1) -> 10 px per map column
    expect(Math.max(...xs)).toBeCloseTo(5 + 3 * 10);
    for (const [, y] of points) expect(y).toBeGreaterThanOrEqual(3 - 1e-9);
    for (const [, y] of points) expect(y).toBeLessThanOrEqual(13 + 1e-9);
  });
});

describe('imported heatmaps: no value, their own scale', () => {
  const geometry: HeatmapGeometry = { originalRows: 2, originalColumns: 3, top: 0, left: 0, width: 3, height: 2 };
  // a map on its method's scale (-2..6) with cells without a value
  const imported = loaded(3, 2, [-2, NaN, 2, 6, Infinity, 4], geometry, { source: 'imported' });

  it('NaN (and infinite) cells are transparent; bilinear next to one has no value either', () => {
    const style = { lower: -Infinity, min: -2, max: 6, opacity: 1 };
    const rgba = renderHeatmapRgba(imported, style, colormapTable('grey'));
    expect(Array.from({ length: 6 }, (_, i) => rgba[i * 4 + 3])).toEqual([255, 0, 255, 255, 0, 255]);
    expect(sampleAt(imported, 1.5, 0.5)).toBeNaN();
    expect(sampleAt(imported, 0.9, 0.5, 'bilinear')).toBeNaN(); // between -2 and NaN
    expect([imported.min, imported.max]).toEqual([-2, 6]);
  });

  it('the threshold and the fixed range are fractions of its value extent; Otsu only with a threshold', () => {
    expect(valueScale(imported)).toEqual([-2, 6]);
    expect(valueScale({ ...imported, source: 'model' })).toEqual([0, 1]);
    expect(effectiveLower(0, true, imported)).toBe(-2);
    expect(effectiveLower(0.5, true, imported)).toBe(2); // no threshold: Otsu changes nothing
    expect(effectiveLower(0.5, false, { ...imported, threshold: 3 })).toBe(2);
    expect(effectiveLower(0.5, true, { ...imported, threshold: 3 })).toBe(3);
    const fixed = { ...DEFAULT_HEATMAP_SETTINGS, rangeMode: 'fixed' as const, rangeMin: 0, rangeMax: 1, lower: 0 };
    expect(heatmapStyle(fixed, imported)).toEqual({ lower: -2, range: [-2, 6] });
    expect(heatmapStyle({ ...fixed, rangeMin: 0.25, rangeMax: 0.75 }, imported).range).toEqual([0, 4]);
    // auto: the extremes of the visible values (not above the threshold: hidden)
    expect(heatmapStyle({ ...fixed, rangeMode: 'auto', lower: 0.5 }, imported)).toEqual({ lower: 2, range: [4, 6] });
    expect(heatmapStyle({ ...fixed, rangeMode: 'auto', lower: 1 }, imported)).toEqual({ lower: 6, range: [6, 6] }); // nothing visible
    // a model's map: the settings are its values (min-max normalised to [0, 1])
    const model = loaded(3, 2, [0, 0.2, 0.4, 0.6, 0.8, 1], geometry, { threshold: 0.3 });
    expect(heatmapStyle({ ...fixed, lower: 0.1, otsu: true }, model)).toEqual({ lower: 0.3, range: [0, 1] });
    expect(heatmapStyle({ ...fixed, lower: 0.1, otsu: false, rangeMode: 'auto' }, model)).toEqual({ lower: 0.1, range: [0.2, 1].map(Math.fround) });
  });

  it('the GL upload replaces every missing value with a finite sentinel below all values, and copies only then', () => {
    const clean = Float32Array.from([0, 1, 2]);
    expect(withSentinel(clean)).toBe(clean);
    const out = withSentinel(imported.values);
    expect(Array.from(out)).toEqual([-2, NO_VALUE, 2, 6, NO_VALUE, 4].map(Math.fround));
    expect(Number.isNaN(imported.values[1])).toBe(true); // the loaded map is left alone
  });
});
