// The classifier's statistics (main/classification/stats.ts) against hand-computed examples: AUROC with ties, the
// ROC corners, the stratified bootstrap CI, the mIoU halves (odd count, ties in mIoU) and the permutation p-value
// on a case small enough to enumerate exactly.
import { describe, expect, it } from 'vitest';
import { auroc, aurocCi, miouHalves, rocCurve } from '../../../main/classification/stats';
import { bootstrapIndex, nanPercentile } from '../../../main/evaluation/metrics/summary';

// Worked example with ties. pos = [3, 2, 2, 1], neg = [2, 1, 0]; per positive, #neg below + #neg equal / 2:
//   3 -> 3;  2 -> 2 (1, 0) + 1/2 (the tied 2) = 2.5;  2 -> 2.5;  1 -> 1 (0) + 1/2 (the tied 1) = 1.5
//   U = 3 + 2.5 + 2.5 + 1.5 = 9.5 over 4 x 3 = 12 pairs: AUROC = 9.5 / 12 = 0.791666...
const pos = [3, 2, 2, 1];
const neg = [2, 1, 0];

/** O(n m) Mann-Whitney, written independently of stats.ts */
function naiveAuroc(p: number[], n: number[]): number {
  let u = 0;
  for (const a of p) for (const b of n) u += a > b ? 1 : a === b ? 0.5 : 0;
  return u / (p.length * n.length);
}

describe('auroc', () => {
  it('counts ties one half (the worked example)', () => {
    expect(auroc(pos, neg)).toBe(9.5 / 12);
    expect(auroc([1, 1], [1, 1])).toBe(0.5);
    expect(auroc([5, 6], [1, 2])).toBe(1);
    expect(auroc([1, 2], [5, 6])).toBe(0);
  });

  it('is null when a class is empty and rejects non-finite scores', () => {
    expect(auroc([], neg)).toBeNull();
    expect(auroc(pos, [])).toBeNull();
    expect(() => auroc([NaN], [1])).toThrow(/positive score 0 is NaN/);
  });

  it('equals the O(n m) count on random scores with many ties', () => {
    let s = 1;
    const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) % 7) / 2;
    for (let k = 0; k < 20; k++) {
      const p = Array.from({ length: 1 + (k % 9) }, rnd);
      const n = Array.from({ length: 1 + ((k * 5) % 11) }, rnd);
      expect(auroc(p, n)).toBe(naiveAuroc(p, n));
    }
  });
});

describe('rocCurve', () => {
  it("gives the worked example's corners (ties: one diagonal step), whose area is the AUROC", () => {
    // descending: 3 (p) | 2, 2 (p), 2 (n) | 1 (p), 1 (n) | 0 (n)
    const roc = rocCurve(pos, neg);
    expect(roc).toEqual([
      [0, 0],
      [0, 1 / 4],
      [1 / 3, 3 / 4],
      [2 / 3, 1],
      [1, 1],
    ]);
    let area = 0;
    for (let i = 1; i < roc.length; i++) area += ((roc[i][0] - roc[i - 1][0]) * (roc[i][1] + roc[i - 1][1])) / 2;
    expect(area).toBeCloseTo(9.5 / 12, 12);
    expect(rocCurve([], neg)).toEqual([]);
  });
});

describe('aurocCi', () => {
  it('is the 2.5 / 97.5 percentiles of stratified resamples (positives seed, negatives seed + 1)', () => {
    const p = [0.9, 0.4, 0.7, 0.7, 0.2, 0.8];
    const n = [0.1, 0.5, 0.7, 0.3, 0.05];
    const B = 200;
    const stats = Array.from({ length: B }, (_, b) =>
      naiveAuroc(
        p.map((_, i) => p[bootstrapIndex(11, b, i, p.length)]),
        n.map((_, i) => n[bootstrapIndex(12, b, i, n.length)]),
      ),
    );
    const ci = aurocCi(p, n, { bootstrap: B, seed: 11 });
    expect(ci).not.toBeNull();
    expect(ci!.low).toBeCloseTo(nanPercentile(stats, 2.5), 12);
    expect(ci!.high).toBeCloseTo(nanPercentile(stats, 97.5), 12);
    expect(ci!.low).toBeLessThan(auroc(p, n)!);
    expect(ci!.high).toBeGreaterThan(auroc(p, n)!);
  });

  it('resamples grouped negatives as whole groups (a normal image scored at several locations is one unit)', () => {
    const p = [0.9, 0.4, 0.7, 0.2];
    const n = [0.1, 0.5, 0.3, 0.8, 0.6, 0.05];
    const groups = ['a', 'a', 'b', 'b', 'c', 'c'];
    const byGroup = [[0.1, 0.5], [0.3, 0.8], [0.6, 0.05]];
    const B = 300;
    const stats = Array.from({ length: B }, (_, b) =>
      naiveAuroc(
        p.map((_, i) => p[bootstrapIndex(4, b, i, p.length)]),
        byGroup.flatMap((_, i) => byGroup[bootstrapIndex(5, b, i, byGroup.length)]),
      ),
    );
    const ci = aurocCi(p, n, { bootstrap: B, seed: 4, negativeGroups: groups })!;
    expect(ci.low).toBeCloseTo(nanPercentile(stats, 2.5), 12);
    expect(ci.high).toBeCloseTo(nanPercentile(stats, 97.5), 12);
    // one group per negative is the ungrouped bootstrap
    expect(aurocCi(p, n, { bootstrap: B, seed: 4, negativeGroups: n.map((_, i) => i) })).toEqual(aurocCi(p, n, { bootstrap: B, seed: 4 }));
    expect(() => aurocCi(p, n, { bootstrap: 10, seed: 0, negativeGroups: ['a'] })).toThrow(/1 negative groups for 6 negatives/);
  });

  it('wraps the negatives seed at 2^32 - 1, and is [1, 1] for separated classes; null without resamples or a class', () => {
    expect(aurocCi([2, 3], [0, 1], { bootstrap: 50, seed: 2 ** 32 - 1 })).toEqual({ low: 1, high: 1 });
    expect(aurocCi(pos, neg, { bootstrap: 0, seed: 0 })).toBeNull();
    expect(aurocCi([], neg, { bootstrap: 10, seed: 0 })).toBeNull();
  });
});

describe('miouHalves', () => {
  it('splits an odd count at the median (the middle one left out), ties in mIoU by order', () => {
    const positives = [
      { score: 0.9, miou: 0.5 }, // 3rd
      { score: 0.1, miou: 0.1 }, // 1st
      { score: 0.6, miou: 0.3 }, // 2nd
      { score: 0.8, miou: 0.9 }, // 5th
      { score: 0.2, miou: 0.3 }, // ties 0.3 with #2 and comes after it: the middle one, left out
    ];
    // sorted by (mIoU, order): 0.1 (#1), 0.3 (#2), 0.3 (#4), 0.5 (#0), 0.9 (#3): low = #1, #2; high = #0, #3
    // against negatives 0.5, 0.15: low 0.1 beats none, 0.6 both -> 2 / 4 = 0.5; high beats all -> 1; difference 0.5
    const negatives = [0.5, 0.15];
    const r = miouHalves(positives, negatives, { permutations: 0, seed: 0 })!;
    expect(r.low).toEqual({ auroc: naiveAuroc([0.1, 0.6], negatives), positives: 2, miou_range: [0.1, 0.3], p_value: null });
    expect(r.high).toEqual({ auroc: naiveAuroc([0.9, 0.8], negatives), positives: 2, miou_range: [0.5, 0.9], p_value: null });
    expect(r.low.auroc).toBe(0.5);
    expect(r.high.auroc).toBe(1);
    expect(r.difference).toBe(1 - 0.5);
  });

  it('leaves out positives without an mIoU, is null with fewer than 2, has null AUROCs without negatives', () => {
    expect(miouHalves([{ score: 1, miou: 0.2 }], [0], { permutations: 10, seed: 0 })).toBeNull();
    expect(miouHalves([{ score: 1, miou: 0.2 }, { score: 2, miou: NaN }], [0], { permutations: 10, seed: 0 })).toBeNull();
    const r = miouHalves(
      [
        { score: 1, miou: 0.2 },
        { score: 2, miou: 0.4 },
      ],
      [],
      { permutations: 10, seed: 0 },
    )!;
    expect(r.low.auroc).toBeNull();
    expect(r.high.p_value).toBeNull();
    expect(r.difference).toBeNull();
  });

  it('the permutation p-value approaches the exact one (6 equally likely splits of 4 positives) for large B', () => {
    // negatives [0.5]; low half scores 0.1, 0.5 (counts 0, 0.5), high half 0.9, 0.8 (counts 1, 1): AUROC 0.25 vs 1,
    // difference 0.75. The six ways to choose the "low" pair from the counts {0, 0.5, 1, 1}: {0, .5} +.75,
    // {0, 1} +.25 (twice), {.5, 1} -.25 (twice), {1, 1} -.75: |diff| >= .75 in 2 of 6, exact p = 1/3.
    const positives = [
      { score: 0.1, miou: 0.1 },
      { score: 0.5, miou: 0.2 },
      { score: 0.9, miou: 0.3 },
      { score: 0.8, miou: 0.4 },
    ];
    const negatives = [0.5];
    const exact = exactPermutationP(positives, negatives);
    expect(exact).toBeCloseTo(1 / 3, 12);
    const B = 20_000;
    const r = miouHalves(positives, negatives, { permutations: B, seed: 5 })!;
    expect(r.difference).toBe(0.75);
    expect(r.low.p_value).toBe(r.high.p_value);
    const p = r.low.p_value!;
    expect(Number.isInteger(Math.round(p * (1 + B) * 1e6) / 1e6)).toBe(true); // (1 + k) / (1 + B)
    expect(Math.abs(p - exact)).toBeLessThan(0.012); // ~3.5 standard errors at B = 20000
    // a tiny B: p is at least 1 / (1 + B); the seed changes the draws, not the exact target
    expect(miouHalves(positives, negatives, { permutations: 1, seed: 0 })!.low.p_value! >= 0.5).toBe(true);
    const other = miouHalves(positives, negatives, { permutations: B, seed: 6 })!.low.p_value!;
    expect(Math.abs(other - exact)).toBeLessThan(0.012);
  });

  it('a 6-positive case: p against the exact enumeration of the 20 splits', () => {
    const positives = [0.3, 0.2, 0.6, 0.7, 0.9, 0.55].map((score, i) => ({ score, miou: i / 10 }));
    const negatives = [0.1, 0.4, 0.5, 0.65];
    const exact = exactPermutationP(positives, negatives);
    const r = miouHalves(positives, negatives, { permutations: 20_000, seed: 1 })!;
    expect(r.difference).toBeCloseTo(naiveAuroc([0.7, 0.9, 0.55], negatives) - naiveAuroc([0.3, 0.2, 0.6], negatives), 12);
    expect(Math.abs(r.low.p_value! - exact)).toBeLessThan(0.012);
  });
});

/** Every way to choose which h of the 2h positives (sorted by mIoU) are "low": the share with |diff| >= |observed|. */
function exactPermutationP(positives: { score: number; miou: number }[], negatives: number[]): number {
  const s = [...positives].sort((a, b) => a.miou - b.miou).map((p) => p.score);
  const h = Math.floor(s.length / 2);
  const all = [...s.slice(0, h), ...s.slice(s.length - h)];
  const diff = (low: number[], high: number[]) => naiveAuroc(high, negatives) - naiveAuroc(low, negatives);
  const observed = Math.abs(diff(all.slice(0, h), all.slice(h)));
  let hits = 0;
  let total = 0;
  for (let mask = 0; mask < 1 << (2 * h); mask++) {
    let bits = 0;
    for (let i = 0; i < 2 * h; i++) bits += (mask >> i) & 1;
    if (bits !== h) continue;
    const low = all.filter((_, i) => (mask >> i) & 1);
    const high = all.filter((_, i) => !((mask >> i) & 1));
    total++;
    if (Math.abs(diff(low, high)) >= observed - 1e-12) hits++;
  }
  return hits / total;
}
