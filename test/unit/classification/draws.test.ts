// The classifier's portable draws (main/classification/draws.ts) against the Python reference's generator
// (test/vectors/classify-demo.json `generator`, written by training/sightline_eval/classify.py), and the properties
// the classifier relies on: in range, one timestep per stratum, standard normal noise, deterministic per image.
import { describe, expect, it } from 'vitest';
import { bootstrapHash } from '../../../main/evaluation/metrics/summary';
import { drawsFor, imageSeedOf, uniformDraw } from '../../../main/classification/draws';
import { classifyVectors } from './vectors';

const sha = 'a3f1c2d4' + '5'.repeat(56);

describe('the generator', () => {
  it('derives the image seed from the first 8 hex digits of the sha256 and the run seed', () => {
    expect(imageSeedOf(7, sha)).toBe(bootstrapHash(7, 0xa3f1c2d4, 0));
    expect(imageSeedOf(7, sha)).toBe(imageSeedOf(7, 'A3F1C2D4' + '0'.repeat(56)));
    expect(imageSeedOf(7, sha)).not.toBe(imageSeedOf(8, sha));
    expect(() => imageSeedOf(0, 'not-a-hash')).toThrow(/expected a hex digest/);
  });

  it('u is (h + 0.5) / 2^32: strictly inside (0, 1)', () => {
    const s = imageSeedOf(0, sha);
    expect(uniformDraw(s, 3, 5)).toBe((bootstrapHash(s, 3, 5) + 0.5) / 2 ** 32);
    for (let j = 0; j < 1000; j++) {
      const u = uniformDraw(s, 0, j);
      expect(u > 0 && u < 1).toBe(true);
    }
  });

  it('stratifies the timesteps: one per stratum of [lo, hi], hi reachable, lo = hi allowed', () => {
    for (const [lo, hi, N] of [
      [0, 999, 32],
      [100, 200, 7],
      [0, 999, 1000],
      [5, 5, 3],
      [0, 2, 9],
    ] as const) {
      const { timesteps } = drawsFor(3, sha, N, [lo, hi], 2);
      const span = hi - lo + 1;
      timesteps.forEach((t, n) => {
        expect(t).toBeGreaterThanOrEqual(lo);
        expect(t).toBeLessThanOrEqual(hi);
        // stratum n covers [lo + n span / N, lo + (n + 1) span / N)
        expect(t).toBeGreaterThanOrEqual(lo + Math.floor((n * span) / N));
        expect(t).toBeLessThanOrEqual(Math.min(hi, lo + Math.floor(((n + 1) * span) / N)));
      });
    }
    // 1000 draws over 1000 timesteps: every timestep exactly once
    expect(new Set(drawsFor(0, sha, 1000, [0, 999], 1).timesteps).size).toBe(1000);
  });

  it('makes standard normal noise (100k values: mean ~0, sd ~1, tails), an odd length uses the cosine of the last pair', () => {
    const { noise } = drawsFor(0, sha, 4, [0, 999], 25_000);
    let sum = 0;
    let sq = 0;
    let beyond2 = 0;
    for (const x of noise) {
      sum += x;
      sq += x * x;
      if (Math.abs(x) > 2) beyond2++;
    }
    const mean = sum / noise.length;
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.abs(Math.sqrt(sq / noise.length - mean * mean) - 1)).toBeLessThan(0.01);
    expect(Math.abs(beyond2 / noise.length - 0.0455)).toBeLessThan(0.003);
    const odd = drawsFor(0, sha, 2, [0, 999], 5);
    const even = drawsFor(0, sha, 2, [0, 999], 6);
    expect(Array.from(odd.noise.subarray(0, 5))).toEqual(Array.from(even.noise.subarray(0, 5)));
    expect(Array.from(odd.noise.subarray(5, 10))).toEqual(Array.from(even.noise.subarray(6, 11)));
  });

  it('is deterministic per (seed, image) and independent of the sample count for the noise', () => {
    const a = drawsFor(1, sha, 8, [0, 999], 768);
    const b = drawsFor(1, sha, 8, [0, 999], 768);
    expect(a).toEqual(b);
    const fewer = drawsFor(1, sha, 4, [0, 999], 768);
    expect(Array.from(fewer.noise)).toEqual(Array.from(a.noise.subarray(0, 4 * 768)));
    expect(drawsFor(1, 'b' + sha.slice(1), 8, [0, 999], 768).noise[0]).not.toBe(a.noise[0]);
  });

  it('rejects bad arguments', () => {
    expect(() => drawsFor(0, sha, 0, [0, 999], 4)).toThrow(/samples/);
    expect(() => drawsFor(0, sha, 4, [10, 5], 4)).toThrow(/timestep range/);
    expect(() => drawsFor(0, sha, 4, [0, 999], 0)).toThrow(/latent length/);
  });
});

describe("the Python reference's generator (classify-demo.json)", () => {
  const v = classifyVectors();
  it.runIf(v !== null)('imageSeed, u and eps equal to 1e-9 / 1e-6', () => {
    const g = v!.generator;
    const s = imageSeedOf(g.seed, g.sha256);
    expect(s).toBe(g.image_seed);
    g.u0.forEach((u, n) => expect(Math.abs(uniformDraw(s, 0, n) - u)).toBeLessThanOrEqual(1e-9));
    g.u1.forEach((u, j) => expect(Math.abs(uniformDraw(s, 1, j) - u)).toBeLessThanOrEqual(1e-9));
    const [C, h, w] = g.latent_shape;
    const length = C * h * w;
    const { timesteps, noise } = drawsFor(g.seed, g.sha256, g.samples, g.timestep_range, length);
    expect(timesteps).toEqual(g.timesteps);
    g.eps_first8.forEach((e, j) => expect(Math.abs(noise[j] - e), `eps[0][${j}]`).toBeLessThanOrEqual(1e-6));
    const last = noise.subarray(g.samples * length - 4);
    g.eps_draw7_last4.forEach((e, j) => expect(Math.abs(last[j] - e), `eps[${g.samples - 1}][${length - 4 + j}]`).toBeLessThanOrEqual(1e-6));
  });
});
