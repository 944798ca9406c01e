// main/grounding's numeric building blocks against the Python reference's own outputs on the same inputs
// (test/vectors/grounding-ops.json, which training/tests/test_grounding_vectors.py checks on the Python side).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  gaussianBlur,
  mapToOriginal,
  otsuThreshold,
  preprocess,
  resizeAntialiased,
  resizeBilinear,
} from '../../../main/grounding/image-ops';
import { alphasCumprod, inversionStep, trailingTimesteps } from '../../../main/grounding/schedule';

const V = JSON.parse(readFileSync(path.resolve(__dirname, '../../vectors/grounding-ops.json'), 'utf8'));
const SCHEDULE = { num_train_timesteps: 1000, beta_start: 0.0015, beta_end: 0.0205 };

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number | null>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const want = b[i];
    if (want === null) expect(Number.isNaN(a[i])).toBe(true);
    else m = Math.max(m, Math.abs(a[i] - want));
  }
  return m;
}

describe('schedule', () => {
  it('alpha-bar in float32 and the trailing timesteps', () => {
    const ab = alphasCumprod(SCHEDULE);
    expect(maxDiff(V.alphas_cumprod.indices.map((i: number) => ab[i]), V.alphas_cumprod.values)).toBeLessThan(2e-7);
    expect(trailingTimesteps(100, 1000)).toEqual(V.trailing_timesteps.values);
  });

  it('the DDIM inversion step, with and without x0 clipping, up to alpha-bar 0 beyond t = 999', () => {
    const ab = alphasCumprod(SCHEDULE);
    const at = (t: number) => (t >= ab.length ? 0 : ab[t]);
    for (const s of V.inversion_step.steps) {
      const z = Float32Array.from(V.inversion_step.sample);
      const v = Float32Array.from(V.inversion_step.v);
      expect(maxDiff(inversionStep(z, v, at(s.t), at(s.t + 10), false), s.next)).toBeLessThan(1e-5);
      expect(maxDiff(inversionStep(z, v, at(s.t), at(s.t + 10), true), s.next_clipped)).toBeLessThan(1e-5);
    }
  });
});

describe('image operations', () => {
  it('antialiased bilinear resize as torch interpolate(antialias=True), down and up', () => {
    for (const c of V.resize_antialiased) {
      expect(maxDiff(resizeAntialiased(c.input, c.rows, c.columns, c.out_rows, c.out_columns), c.output)).toBeLessThan(1e-6);
    }
  });

  it('plain bilinear resize with half-pixel centres', () => {
    for (const c of V.resize_bilinear) {
      expect(maxDiff(resizeBilinear(c.input, c.rows, c.columns, c.out_rows, c.out_columns), c.output)).toBeLessThan(1e-12);
    }
  });

  it("Gaussian blur as scipy's reflect mode, also with a kernel wider than the image", () => {
    for (const c of V.gaussian_blur) {
      expect(maxDiff(gaussianBlur(Float64Array.from(c.input), c.rows, c.columns, c.sigma, c.truncate), c.output)).toBeLessThan(1e-12);
    }
  });

  it("two-class Otsu as scikit-image's", () => {
    for (const c of V.otsu) expect(otsuThreshold(c.input, 256)).toBeCloseTo(c.threshold, 12);
    expect(() => otsuThreshold([0.5, 0.5])).toThrow(/constant/);
  });

  it('maps the model frame back to the original size, NaN where the crop cut', () => {
    for (const c of V.map_to_original) expect(maxDiff(mapToOriginal(c.map, c.size, c.rows, c.columns), c.output)).toBe(0);
  });

  it('preprocesses: short side to the model size, centre crop', () => {
    for (const c of V.preprocess) {
      const { input, geometry } = preprocess({ rows: c.rows, columns: c.columns, values: Float32Array.from(c.input) }, c.size);
      expect([geometry.resizedRows, geometry.resizedColumns]).toEqual(c.resized);
      expect([geometry.cropTop, geometry.cropLeft]).toEqual(c.crop_top_left);
      expect(maxDiff(input, c.output)).toBeLessThan(1e-5); // torch rounds to float32 inside the resize
    }
  });
});
