// Pooling a model-frame heatmap to the latent grid and the weighted error (main/classification/weights.ts) on
// hand-computed cases, and the constructed case: a prompt whose U-Net error is lower inside the heatmap wins
// under the heatmap weighting while the uniform (plain) classifier picks the other prompt.
import { describe, expect, it } from 'vitest';
import { poolWeights, weightedError } from '../../../main/classification/weights';

describe('poolWeights', () => {
  it('averages each f x f block (4 x 4 map -> 2 x 2 grid), NaN as 0', () => {
    // prettier-ignore
    const map = Float32Array.from([
      1, 2,   0, 0,
      3, 4,   0, NaN,
      0, 0,   8, 8,
      0, 0.5, 8, 8,
    ]);
    expect(Array.from(poolWeights(map, 4, 2))).toEqual([2.5, 0, 0.125, 8]);
  });

  it('is the identity at f = 1, and the demo geometry 128 -> 16 pools 8 x 8 blocks', () => {
    const map = Float32Array.from({ length: 9 }, (_, i) => i / 8);
    expect(Array.from(poolWeights(map, 3, 3))).toEqual(Array.from(map));
    const big = new Float32Array(128 * 128);
    for (let y = 8; y < 16; y++) for (let x = 120; x < 128; x++) big[y * 128 + x] = 1; // block (1, 15)
    big[0] = 0.64; // one pixel of block (0, 0)
    const w = poolWeights(big, 128, 16);
    expect(w[1 * 16 + 15]).toBe(1);
    expect(w[0]).toBeCloseTo(0.01, 7);
    expect(w.reduce((s, x) => s + x, 0)).toBeCloseTo(1.01, 6);
  });

  it('rejects sizes that do not fit', () => {
    expect(() => poolWeights(new Float32Array(15), 4, 2)).toThrow(/expected 4 x 4/);
    expect(() => poolWeights(new Float32Array(25), 5, 2)).toThrow(/not a multiple/);
  });
});

describe('weightedError', () => {
  it('is sum w m / sum w; uniform (the plain mean) for null or all-zero weights', () => {
    const m = Float32Array.from([1, 2, 3, 4]);
    expect(weightedError(m, Float32Array.from([1, 0, 0, 1]))).toBe(2.5);
    expect(weightedError(m, Float32Array.from([0, 0, 3, 1]))).toBe(3.25); // (9 + 4) / 4
    expect(weightedError(m, null)).toBe(2.5);
    expect(weightedError(m, new Float32Array(4))).toBe(2.5);
    expect(weightedError(m, Float32Array.from([2, 2, 2, 2]))).toBe(2.5);
  });

  it('rejects mismatched lengths and negative or non-finite weights', () => {
    const m = Float32Array.from([1, 2]);
    expect(() => weightedError(m, Float32Array.from([1]))).toThrow(/1 weights for an error map of 2/);
    expect(() => weightedError(m, Float32Array.from([1, -1]))).toThrow(/position 1/);
    expect(() => weightedError(m, Float32Array.from([NaN, 1]))).toThrow(/position 0/);
    expect(() => weightedError(new Float32Array(0), null)).toThrow(/empty/);
  });

  it("the constructed case: A's error lower inside the heatmap and higher outside -> weighted picks A, uniform picks B", () => {
    // a 16 x 16 latent grid; the heatmap (128 x 128, Otsu applied) covers the 4 x 4 latent block at rows/cols 4..7
    const size = 128;
    const heat = new Float32Array(size * size);
    for (let y = 32; y < 64; y++) for (let x = 32; x < 64; x++) heat[y * size + x] = 0.5 + (x + y) / 256;
    const w = poolWeights(heat, size, 16);
    const inside = (i: number) => w[i] > 0;
    expect(Array.from(w).filter((x) => x > 0).length).toBe(16);
    const errorA = Float32Array.from({ length: 256 }, (_, i) => (inside(i) ? 0.2 : 0.6));
    const errorB = Float32Array.from({ length: 256 }, () => 0.5);
    // the class with the lower error wins: weighted A 0.2 < B 0.5; uniform A (16 * 0.2 + 240 * 0.6) / 256 = 0.575 > 0.5
    expect(weightedError(errorA, w)).toBeCloseTo(0.2, 6);
    expect(weightedError(errorB, w)).toBeCloseTo(0.5, 6);
    expect(weightedError(errorA, null)).toBeCloseTo(0.575, 6);
    const pick = (wA: Float32Array | null, wB: Float32Array | null) => (weightedError(errorA, wA) < weightedError(errorB, wB) ? 'A' : 'B');
    expect(pick(w, w)).toBe('A');
    expect(pick(null, null)).toBe('B');
    // the score (normal - pathology) with A as the pathology prompt: positive when weighted, negative when uniform
    expect(weightedError(errorB, w) - weightedError(errorA, w)).toBeGreaterThan(0);
    expect(weightedError(errorB, null) - weightedError(errorA, null)).toBeLessThan(0);
  });
});
