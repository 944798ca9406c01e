import { describe, expect, it } from 'vitest';
import { applyWindow, sampleStats } from '../../../renderer/src/lib/window-level';
import {
  DEFAULT_PRESETS,
  describePreset,
  parsePresetDefs,
  presetProblem,
  resolvePreset,
  resolvePresets,
  type PresetDef,
  type PresetImage,
} from '../../../renderer/src/lib/window-presets';

const lung = DEFAULT_PRESETS.find((d) => d.name === 'Lung')!;

/** A synthetic chest-like image: 1000 samples spread over [lo, lo + span], plus `outliers` saturated pixels. */
function image(lo: number, span: number, opts: Partial<PresetImage> & { outliers?: number; sixteen?: boolean } = {}): PresetImage & { values: number[] } {
  const values = Array.from({ length: 1000 }, (_, i) => Math.round(lo + (span * i) / 999));
  for (let i = 0; i < (opts.outliers ?? 0); i++) values.push(opts.sixteen ? 65535 : 255);
  const samples = opts.sixteen ? new Uint16Array(values) : new Uint8Array(values);
  return {
    values,
    windows: opts.windows ?? [],
    stats: sampleStats(samples),
    rescaleSlope: opts.rescaleSlope ?? 1,
    rescaleIntercept: opts.rescaleIntercept ?? 0,
    photometric: opts.photometric ?? 'MONOCHROME2',
  };
}

describe('window presets', () => {
  it('offer the five chest presets on keys 1-5, in a stable order', () => {
    expect(DEFAULT_PRESETS.map((d) => d.name)).toEqual(['Default (from file)', 'Lung', 'Mediastinum', 'Bone', 'Full range']);
    const r = resolvePresets(DEFAULT_PRESETS, image(0, 255));
    expect(r.map((p) => p.index)).toEqual([1, 2, 3, 4, 5]);
  });

  it('mean the same on every image: the same picture stored 8-bit or 16-bit with an offset shows the same', () => {
    const a = image(10, 200);
    const b = image(10 * 16 + 100, 200 * 16, { sixteen: true });
    const wa = resolvePreset(lung, a);
    const wb = resolvePreset(lung, b);
    for (let i = 0; i < 1000; i += 37) {
      expect(applyWindow(b.values[i], wb.center, wb.width)).toBeCloseTo(applyWindow(a.values[i], wa.center, wa.width), 1);
    }
  });

  it('use the 1-99 % range, so a few saturated pixels (markers) do not move them', () => {
    const clean = resolvePreset(lung, image(20, 100));
    const marked = resolvePreset(lung, image(20, 100, { outliers: 5 }));
    expect(marked.center).toBeCloseTo(clean.center, 0);
    expect(marked.width).toBeCloseTo(clean.width, 0);
    // 'Full range' does include them
    expect(resolvePreset({ name: 'Full', kind: 'full', center: 0, width: 0 }, image(20, 100, { outliers: 5 }))).toEqual({ center: 138, width: 236 });
  });

  it('mirror relative presets for MONOCHROME1, where low stored values are bright', () => {
    const img = image(0, 1000, { sixteen: true });
    const { p1, p99 } = img.stats; // 10, 990
    const m2 = resolvePreset(lung, img);
    const m1 = resolvePreset(lung, { ...img, photometric: 'MONOCHROME1' });
    expect(m2.center).toBeCloseTo(p1 + 0.35 * (p99 - p1), 9);
    expect(m1.center).toBeCloseTo(p1 + 0.65 * (p99 - p1), 9);
    expect(m1.width).toBe(m2.width);
  });

  it('work in modality units (rescale, a negative slope)', () => {
    const img = image(0, 1000, { sixteen: true, rescaleSlope: -2, rescaleIntercept: 100 });
    // modality values 100 down to -1900; the 1-99 % stored range [p1, p99] becomes [100 - 2 p99, 100 - 2 p1]
    const { p1, p99 } = img.stats;
    const w = resolvePreset(lung, img);
    expect(w.center).toBeCloseTo(100 - 2 * p99 + 0.35 * 2 * (p99 - p1), 9);
    expect(w.width).toBeCloseTo(0.7 * 2 * (p99 - p1), 9);
    expect(resolvePreset({ name: 'CT lung', kind: 'absolute', center: -600, width: 1500 }, img)).toEqual({ center: -600, width: 1500 });
  });

  it('take the file\'s first window for the default, else the full range; a flat image still gets a window', () => {
    const own = image(0, 255, { windows: [{ center: 0, width: 0 }, { center: 100, width: 50 }] });
    expect(resolvePreset(DEFAULT_PRESETS[0], own)).toEqual({ center: 100, width: 50 });
    expect(resolvePreset(DEFAULT_PRESETS[0], image(0, 255))).toEqual({ center: 128, width: 256 });
    const flat = { ...image(0, 0), stats: { min: 7, max: 7, p1: 7, p99: 7 } };
    expect(resolvePreset(lung, flat).width).toBeGreaterThanOrEqual(1);
  });

  it('check what is stored: a malformed list falls back to the defaults as a whole', () => {
    const mine: PresetDef[] = [{ name: 'Soft', kind: 'absolute', center: 40, width: 400 }];
    expect(parsePresetDefs(mine)).toEqual(mine);
    expect(parsePresetDefs(null)).toEqual(DEFAULT_PRESETS);
    expect(parsePresetDefs([])).toEqual(DEFAULT_PRESETS);
    expect(parsePresetDefs([...mine, { name: 'x', kind: 'magic', center: 0, width: 1 }])).toEqual(DEFAULT_PRESETS);
    expect(parsePresetDefs(Array.from({ length: 10 }, () => mine[0]))).toEqual(DEFAULT_PRESETS);
    expect(presetProblem({ name: ' ', kind: 'full', center: 0, width: 0 })).toBe('needs a name');
    expect(presetProblem({ name: 'a', kind: 'relative', center: 0.5, width: -1 })).toMatch(/fraction/);
    expect(presetProblem({ name: 'a', kind: 'absolute', center: 1, width: 0.5 })).toBe('width at least 1');
    expect(describePreset(lung)).toBe('level at 35 %, width 70 % of the image’s 1–99 % value range');
  });
});
