// Heatmaps on the image, without a GPU: colormap tables, the geometry mapping of map cells to image pixels,
// threshold / range / opacity, isolines, the persisted settings, and which sentences and boxes belong to a phrase.
import { interpolateInferno, interpolateTurbo, interpolateViridis } from 'd3-scale-chromatic';
import { describe, expect, it } from 'vitest';
import { COLORMAPS, colormapTable, cssGradient, parseColor, tableIndex } from '../../../renderer/src/lib/colormaps';
import {
  autoRange,
  decodeHeatmap,
  heatmapRgba,
  isolineLevels,
  isolinePaths,
  mapIndexAt,
  nearestMapIndex,
  prepareHeatmap,
  rangePosition,
  renderHeatmapRgba,
  sampleAt,
  type HeatmapGeometry,
} from '../../../renderer/src/lib/heatmap';
import { DEFAULT_HEATMAP_SETTINGS, HEATMAP_STORAGE_KEY, effectiveRange, loadHeatmapSettings, normaliseHeatmapSettings, saveHeatmapSettings } from '../../../renderer/src/lib/heatmap-settings';
import { boxesForPhrase, findingSectionNames, findingSentences, isFindingSectionName } from '../../../renderer/src/lib/grounding';
import type { Types } from '../../../common/contract';
import { buildKeyIndex, defaultBindings, findConflicts } from '../../../renderer/src/lib/keymap';

const rgbAt = (table: Uint8Array, i: number) => [table[i * 4], table[i * 4 + 1], table[i * 4 + 2]];

describe('colormap tables', () => {
  it('inferno(0) and inferno(1) are d3-scale-chromatic’s ends, every entry opaque', () => {
    const t = colormapTable('inferno');
    expect(t.length).toBe(256 * 4);
    expect(rgbAt(t, 0)).toEqual(parseColor(interpolateInferno(0)));
    expect(rgbAt(t, 0)).toEqual([0, 0, 4]); // #000004
    expect(rgbAt(t, 255)).toEqual([252, 255, 164]); // #fcffa4
    expect(rgbAt(t, 128)).toEqual(parseColor(interpolateInferno(128 / 255)));
    for (let i = 0; i < 256; i++) expect(t[i * 4 + 3]).toBe(255);
  });

  it('viridis and turbo follow d3; grey runs black to white', () => {
    expect(rgbAt(colormapTable('viridis'), 0)).toEqual(parseColor(interpolateViridis(0)));
    expect(rgbAt(colormapTable('viridis'), 255)).toEqual(parseColor(interpolateViridis(1)));
    expect(rgbAt(colormapTable('turbo'), 255)).toEqual(parseColor(interpolateTurbo(1)));
    expect(rgbAt(colormapTable('grey'), 0)).toEqual([0, 0, 0]);
    expect(rgbAt(colormapTable('grey'), 255)).toEqual([255, 255, 255]);
    const g = colormapTable('grey');
    for (let i = 1; i < 256; i++) expect(g[i * 4]).toBeGreaterThanOrEqual(g[(i - 1) * 4]); // monotone
  });

  it('parses both colour forms d3 answers and rejects others; indexes round t * 255', () => {
    expect(parseColor('#21918c')).toEqual([33, 145, 140]);
    expect(parseColor('rgb(35, 23, 27)')).toEqual([35, 23, 27]);
    expect(() => parseColor('red')).toThrow(/unsupported/);
    expect([tableIndex(0), tableIndex(1), tableIndex(0.5), tableIndex(-1), tableIndex(2), tableIndex(NaN)]).toEqual([0, 255, 128, 0, 255, 0]);
    expect(COLORMAPS).toEqual(['inferno', 'viridis', 'turbo', 'grey']);
    const mid = rgbAt(colormapTable('grey'), 128).join(', ');
    expect(cssGradient('grey', 'to top', 3)).toBe(`linear-gradient(to top, rgb(0, 0, 0) 0.0%, rgb(${mid}) 50.0%, rgb(255, 255, 255) 100.0%)`);
  });
});

/** The Python reference (training/sightline_ldm/image_ops.py resize_nearest), in float64 like numpy. */
const pythonNearest = (d: number, side: number, size: number) => Math.min(Math.floor(((d + 0.5) * size) / side), size - 1);

function mapOf(width: number, f: (row: number, col: number) => number, height = width) {
  const values = new Float32Array(width * height);
  for (let r = 0; r < height; r++) for (let c = 0; c < width; c++) values[r * width + c] = f(r, c);
  return values;
}

/** A model heatmap's geometry: the centre square of side `side` at (top, left). */
const square = (originalRows: number, originalColumns: number, top: number, left: number, side: number): HeatmapGeometry => ({ originalRows, originalColumns, top, left, width: side, height: side });

describe('map pixels on the image (geometry)', () => {
  // a portrait 664 x 619 image (the demo's MIMIC size): the centre square of side 619 starts at row 22
  const geometry = square(664, 619, 22, 0, 619);
  const at = (g: HeatmapGeometry, size: number, column: number, row: number) => mapIndexAt({ geometry: g, width: size, height: size }, column, row);

  it('nearest mapping is the reference resize_nearest, in integers, for up- and down-sampling', () => {
    for (const [side, size] of [
      [619, 512],
      [768, 512],
      [1024, 512],
      [300, 512],
      [512, 512],
      [7, 3],
    ]) {
      for (let d = 0; d < side; d++) expect(nearestMapIndex(d, side, size)).toBe(pythonNearest(d, side, size));
    }
    // an exact tie: (1 + 0.5) * 512 / 768 = 1.0 lands on map cell 1, as numpy's does
    expect(nearestMapIndex(1, 768, 512)).toBe(1);
  });

  it('places the map on the square at (top, left): first and last cells at its corners, nothing outside', () => {
    const size = 4;
    expect(at(geometry, size, 0, 22)).toBe(0);
    expect(at(geometry, size, 618, 22)).toBe(3);
    expect(at(geometry, size, 0, 22 + 618)).toBe(12);
    expect(at(geometry, size, 618.9, 640.5)).toBe(15);
    expect(at(geometry, size, 0, 21)).toBe(-1); // above the square
    expect(at(geometry, size, 0, 641)).toBe(-1); // below it
    expect(at(geometry, size, 619, 100)).toBe(-1); // right of it
    expect(at(geometry, size, -0.5, 100)).toBe(-1);
    // a landscape image: the square is centred horizontally
    const wide = square(100, 160, 0, 30, 100);
    expect(at(wide, 10, 29, 50)).toBe(-1);
    expect(at(wide, 10, 30, 0)).toBe(0);
    expect(at(wide, 10, 129, 99)).toBe(99);
    expect(at(wide, 10, 130, 0)).toBe(-1);
  });

  it('renders the original-size overlay: the square coloured cell by cell, transparent outside it', () => {
    const h = { width: 2, height: 2, geometry: square(6, 4, 1, 0, 4), values: new Float32Array([0.2, 0.4, 0.6, 1]) };
    const rgba = renderHeatmapRgba(h, { lower: 0, min: 0, max: 1, opacity: 1 }, colormapTable('grey'));
    const alphaRow = (r: number) => Array.from({ length: 4 }, (_, c) => rgba[(r * 4 + c) * 4 + 3]);
    const redRow = (r: number) => Array.from({ length: 4 }, (_, c) => rgba[(r * 4 + c) * 4]);
    expect(alphaRow(0)).toEqual([0, 0, 0, 0]); // the margin the crop removed
    expect(alphaRow(5)).toEqual([0, 0, 0, 0]);
    const g = (v: number) => colormapTable('grey')[tableIndex(v) * 4];
    expect(redRow(1)).toEqual([g(0.2), g(0.2), g(0.4), g(0.4)]);
    expect(redRow(2)).toEqual([g(0.2), g(0.2), g(0.4), g(0.4)]);
    expect(redRow(3)).toEqual([g(0.6), g(0.6), g(1), g(1)]);
    expect(alphaRow(4)).toEqual([255, 255, 255, 255]);
  });

  it('bilinear sampling interpolates between cell centres and clamps at the edges; NaN outside', () => {
    const h = { width: 2, height: 2, geometry: square(4, 4, 0, 0, 4), values: new Float32Array([0, 1, 0, 1]) };
    expect(sampleAt(h, 1, 1, 'bilinear')).toBeCloseTo(0); // cell (0, 0)'s centre
    expect(sampleAt(h, 2, 1, 'bilinear')).toBeCloseTo(0.5); // half-way between the centres
    expect(sampleAt(h, 3, 1, 'bilinear')).toBeCloseTo(1);
    expect(sampleAt(h, 0.1, 3.9, 'bilinear')).toBeCloseTo(0); // clamped
    expect(sampleAt(h, 1.5, 1, 'nearest')).toBe(0);
    expect(sampleAt(h, 2.5, 1, 'nearest')).toBe(1);
    expect(sampleAt(h, 4, 1, 'bilinear')).toBeNaN();
    expect(sampleAt(h, -0.01, 1, 'nearest')).toBeNaN();
  });
});

describe('threshold, range and opacity', () => {
  const table = colormapTable('inferno');

  it('values not above the lower threshold (and NaN) are transparent; the rest take the opacity', () => {
    const style = { lower: 0.3, min: 0, max: 1, opacity: 0.5 };
    expect(heatmapRgba(0, style, table)).toBeNull();
    expect(heatmapRgba(0.3, style, table)).toBeNull();
    expect(heatmapRgba(NaN, style, table)).toBeNull();
    expect(heatmapRgba(0.31, style, table)).toEqual([...rgbAt(table, tableIndex(0.31)), 128]);
    expect(heatmapRgba(1, { ...style, opacity: 1 }, table)![3]).toBe(255);
    expect(heatmapRgba(1, { ...style, opacity: 0 }, table)![3]).toBe(0);
    expect(heatmapRgba(0, { ...style, lower: 0 }, table)).toBeNull(); // at 0, Otsu's zeros are transparent
    expect(heatmapRgba(0.01, { ...style, lower: 0 }, table)).not.toBeNull();
  });

  it('the range stretches the colormap and clamps outside it', () => {
    const style = { lower: 0, min: 0.25, max: 0.75, opacity: 1 };
    expect(heatmapRgba(0.25, style, table)!.slice(0, 3)).toEqual(rgbAt(table, 0));
    expect(heatmapRgba(0.1, style, table)!.slice(0, 3)).toEqual(rgbAt(table, 0));
    expect(heatmapRgba(0.75, style, table)!.slice(0, 3)).toEqual(rgbAt(table, 255));
    expect(heatmapRgba(0.95, style, table)!.slice(0, 3)).toEqual(rgbAt(table, 255));
    expect(heatmapRgba(0.5, style, table)!.slice(0, 3)).toEqual(rgbAt(table, 128));
    expect(rangePosition(0.5, 0.5, 0.5)).toBe(1); // a degenerate range
    expect(rangePosition(0.4, 0.5, 0.5)).toBe(0);
  });

  it('auto range spans the visible values; fixed is the settings’', () => {
    const values = new Float32Array([0, 0, 0.35, 0.6, 0.9, NaN]);
    expect(autoRange(values, 0)).toEqual([Math.fround(0.35), Math.fround(0.9)]);
    expect(autoRange(values, 0.5)).toEqual([Math.fround(0.6), Math.fround(0.9)]);
    expect(autoRange(values, 0.95)).toEqual([0.95, 1]); // nothing visible
    const s = { ...DEFAULT_HEATMAP_SETTINGS, rangeMode: 'fixed' as const, rangeMin: 0.2, rangeMax: 0.7 };
    expect(effectiveRange(s, () => [0, 1])).toEqual([0.2, 0.7]);
    expect(effectiveRange({ ...s, rangeMode: 'auto' }, () => [0.35, 0.9])).toEqual([0.35, 0.9]);
  });
});

describe('decoding and isolines', () => {
  it('decodes S x S little-endian float32 and refuses a wrong length', () => {
    const values = new Float32Array([0, 0.25, 0.5, 1]);
    const bytes = new Uint8Array(values.buffer);
    expect(Array.from(decodeHeatmap(bytes, 2))).toEqual([0, 0.25, 0.5, 1]);
    const offset = new Uint8Array(17);
    offset.set(bytes, 1);
    expect(Array.from(decodeHeatmap(offset.subarray(1), 2))).toEqual([0, 0.25, 0.5, 1]); // unaligned view
    expect(() => decodeHeatmap(bytes.subarray(0, 12), 2)).toThrow(/expected 16/);
    const h = prepareHeatmap({
      id: 5, imageId: 9, phrase: 'p', model: 'demo', modelVersion: '1', variant: 'frozen', source: 'model', createdAt: '', width: 2, height: 2, data: bytes, threshold: 0.4, provenance: {},
      geometry: square(2, 2, 0, 0, 2),
    });
    expect([h.min, h.max, h.threshold, h.width, h.height, h.source]).toEqual([0, 1, 0.4, 2, 2, 'model']);
    // a non-square map: width x height values
    expect(Array.from(decodeHeatmap(new Uint8Array(new Float32Array([1, 2, 3, 4, 5, 6]).buffer), 3, 2))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(() => decodeHeatmap(bytes, 3, 2)).toThrow(/3×2/);
  });

  it('levels sit inside the range; contours are placed on the image through the geometry', () => {
    expect(isolineLevels([0, 1], 3)).toEqual([0.25, 0.5, 0.75]);
    expect(isolineLevels([0.5, 0.5], 3)).toEqual([]);
    // a 4 x 4 map with one hot 2 x 2 block in the middle, on the square of side 40 at (top 10, left 0)
    const values = mapOf(4, (r, c) => (r >= 1 && r <= 2 && c >= 1 && c <= 2 ? 1 : 0));
    const [line] = isolinePaths({ width: 4, height: 4, values, geometry: square(60, 40, 10, 0, 40) }, [0.5]);
    expect(line.level).toBe(0.5);
    const points = [...line.d.matchAll(/[ML]([\d.]+),([\d.]+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
    expect(points.length).toBeGreaterThan(3);
    // the 0.5 contour runs half-way between the hot cells' centres (map 1.5 and 2.5 -> u = 1 and 3): x 10..30
    const xs = points.map((p) => p[0]);
    const ys = points.map((p) => p[1]);
    expect(Math.min(...xs)).toBeCloseTo(10);
    expect(Math.max(...xs)).toBeCloseTo(30);
    expect(Math.min(...ys)).toBeCloseTo(20);
    expect(Math.max(...ys)).toBeCloseTo(40);
  });
});

describe('heatmap settings', () => {
  it('keeps valid fields, falls back per field, persists', () => {
    expect(normaliseHeatmapSettings(null)).toEqual(DEFAULT_HEATMAP_SETTINGS);
    const s = normaliseHeatmapSettings({ colormap: 'turbo', opacity: 2, lower: 0.2, sampling: 'cubic', rangeMode: 'fixed', rangeMin: 0.8, rangeMax: 0.3, visible: false, isolineCount: 4 });
    expect(s).toMatchObject({ colormap: 'turbo', opacity: DEFAULT_HEATMAP_SETTINGS.opacity, lower: 0.2, sampling: 'nearest', rangeMin: 0, rangeMax: 1, visible: false, isolineCount: 4 });
    const store = new Map<string, string>();
    const storage = { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v) };
    expect(loadHeatmapSettings(storage)).toEqual(DEFAULT_HEATMAP_SETTINGS);
    saveHeatmapSettings(storage, { ...s, colormap: 'viridis' });
    expect(JSON.parse(store.get(HEATMAP_STORAGE_KEY)!).colormap).toBe('viridis');
    expect(loadHeatmapSettings(storage).colormap).toBe('viridis');
    store.set(HEATMAP_STORAGE_KEY, '{broken');
    expect(loadHeatmapSettings(storage)).toEqual(DEFAULT_HEATMAP_SETTINGS);
    expect(loadHeatmapSettings(null)).toEqual(DEFAULT_HEATMAP_SETTINGS);
  });
});

describe('finding sentences and boxes of a phrase', () => {
  const sentence = (id: number, text: string) => ({ id, index: id, text, start: 0, end: 0 });
  const report: Types['Report'] = {
    id: 1,
    text: '',
    sections: [
      { name: 'SYNTHETIC', start: 0, end: 0, sentences: [sentence(1, 'Sightline synthetic world phantom, not a patient (no patient data).')] },
      { name: 'EXAMINATION', start: 0, end: 0, sentences: [sentence(2, 'CHEST (PA AND LAT)')] },
      { name: 'INDICATION', start: 0, end: 0, sentences: [sentence(3, 'Follow-up.')] },
      { name: 'FINDINGS', start: 0, end: 0, sentences: [sentence(4, 'Small right pleural effusion.'), sentence(5, 'No pneumothorax.')] },
      { name: 'IMPRESSION', start: 0, end: 0, sentences: [sentence(6, 'Small  right pleural effusion.'), sentence(7, 'Right lower lobe atelectasis.')] },
    ],
  };

  it('only FINDINGS and IMPRESSION sentences are findings, each text once', () => {
    expect(isFindingSectionName('PROVISIONAL FINDINGS IMPRESSION (PFI)')).toBe(true);
    expect(isFindingSectionName('TECHNIQUE')).toBe(false);
    expect([...findingSectionNames(report)]).toEqual(['FINDINGS', 'IMPRESSION']);
    expect(findingSentences(report).map((s) => s.id)).toEqual([4, 5, 7]);
    expect(findingSentences(null)).toEqual([]);
    // a bare FINAL REPORT: everything but the headers and the notice
    const bare = { ...report, sections: [report.sections[0], report.sections[1], { name: 'FINAL REPORT', start: 0, end: 0, sentences: [sentence(8, 'Cardiomegaly.')] }] };
    expect(findingSentences(bare).map((s) => s.id)).toEqual([8]);
  });

  it('boxes of the chosen dataset phrase, its sentence or the same text, on one image', () => {
    const box = (id: number, imageId: number, phraseId: number) => ({ id, imageId, phraseId, x: 1, y: 2, w: 3, h: 4, source: 'dataset' as const });
    const phrases: Types['Phrase'][] = [
      { id: 10, text: 'Small right pleural effusion', sentenceId: 4, category: 'Pleural Effusion', boxes: [box(100, 7, 10), box(101, 8, 10)] },
      { id: 11, text: 'Right lower lobe atelectasis', sentenceId: null, category: 'Atelectasis', boxes: [box(102, 7, 11)] },
    ];
    expect(boxesForPhrase(phrases, { text: 'x', sentenceId: null, phraseId: 10 }, 7).map((b) => b.id)).toEqual([100]);
    expect(boxesForPhrase(phrases, { text: 'Small right pleural effusion.', sentenceId: 4, phraseId: null }, 8).map((b) => b.id)).toEqual([101]);
    expect(boxesForPhrase(phrases, { text: 'right lower lobe atelectasis.', sentenceId: null, phraseId: null }, 7).map((b) => b.id)).toEqual([102]);
    expect(boxesForPhrase(phrases, { text: 'no such phrase', sentenceId: null, phraseId: null }, 7)).toEqual([]);
    expect(boxesForPhrase(phrases, null, 7)).toEqual([]);
    expect(boxesForPhrase(phrases, { text: 'x', sentenceId: null, phraseId: 10 }, null)).toEqual([]);
  });
});

describe('grounding keys', () => {
  it('h toggles the heatmap, c cycles the colormap, b toggles the boxes, e exports the figure: free keys, no conflict', () => {
    expect(findConflicts(defaultBindings)).toEqual([]);
    const index = buildKeyIndex(defaultBindings);
    expect([index.get('H'), index.get('C'), index.get('B'), index.get('E')]).toEqual(['heatmap.toggle', 'heatmap.colormap', 'boxes.toggle', 'figure.export']);
  });
});

describe('Otsu in the viewer', () => {
  it("hides what the variant's Otsu threshold drops when Otsu is on, and never lowers the user's threshold", async () => {
    const { effectiveLower } = await import('../../../renderer/src/lib/heatmap');
    expect(effectiveLower(0, true, { threshold: 0.3 })).toBe(0.3);
    expect(effectiveLower(0.5, true, { threshold: 0.3 })).toBe(0.5);
    expect(effectiveLower(0.1, false, { threshold: 0.3 })).toBe(0.1);
    expect(effectiveLower(0.1, true, { threshold: null })).toBe(0.1);
    expect(effectiveLower(0.1, true, null)).toBe(0.1);
  });
});
