// Properties of the grounding metrics (fast-check) and one case computed by hand; the numbers themselves are
// checked against the Python reference in vectors.test.ts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aucRoc, boxMask, cnr, miou, normalise, roundHalfEven, scorePair, type Box } from '../../../../main/evaluation/metrics/score';
import { bootstrapClassMean, bootstrapIndex, classMean, nanPercentile, summarise } from '../../../../main/evaluation/metrics/summary';

const SIZE = 24;

/** An integer box inside a SIZE x SIZE image, at most 8 x 8 (so there is always an outside). */
const boxInside = fc
  .record({ w: fc.integer({ min: 1, max: 8 }), h: fc.integer({ min: 1, max: 8 }) })
  .chain(({ w, h }) => fc.record({ x: fc.integer({ min: 0, max: SIZE - w }), y: fc.integer({ min: 0, max: SIZE - h }), w: fc.constant(w), h: fc.constant(h) }));

const asBox = (b: { x: number; y: number; w: number; h: number }): Box => [b.x, b.y, b.w, b.h];

describe('a hand-computed case', () => {
  it('4 x 4 map 0..14 and 19, box (0, 0, 2, 2)', () => {
    // values in row-major order: 0 1 2 3 / 4 5 6 7 / 8 9 10 11 / 12 13 14 19; min-max divides by 19, which CNR
    // does not see (it is scale-free) and which makes the thresholds 1.9, 3.8, 5.7, 7.6, 9.5 in raw values.
    // CNR: inside {0, 1, 4, 5}: mean 2.5, population variance (2.5^2 + 1.5^2 + 1.5^2 + 2.5^2) / 4 = 4.25;
    //      outside {2, 3, 6..14, 19}: sum 114, mean 9.5, sum of squares 1334, variance 1334/12 - 9.5^2 = 20.91667;
    //      CNR = (2.5 - 9.5) / sqrt(4.25 + 20.91667) = -7 / 5.016639 = -1.395357.
    // mIoU: > 1.9 is 14 pixels, 2 of them ({4, 5}) in the box, union 14 + 4 - 2 = 16 -> 2/16;
    //       > 3.8 is 12 pixels, intersection 2, union 14 -> 2/14; > 5.7 and above: intersection 0 -> 0;
    //       mIoU = (1/8 + 1/7) / 5 = 3/56 = 0.0535714.
    // AUC: 4 positives x 12 negatives = 48 pairs; a positive is higher only for 4 > {2, 3} and 5 > {2, 3}: 4/48.
    const values = Float64Array.from({ length: 16 }, (_, i) => (i === 15 ? 19 : i));
    const s = scorePair({ width: 4, height: 4, values }, [[0, 0, 2, 2]]);
    expect(s.cnr).toBeCloseTo(-7 / Math.sqrt(4.25 + 1334 / 12 - 9.5 ** 2), 12);
    expect(s.cnr).toBeCloseTo(-1.395357, 6);
    expect(s.miou).toBeCloseTo(3 / 56, 12);
    expect(s.auc).toBeCloseTo(4 / 48, 12);
  });

  it("rounds box edges as Python's round(): half to even", () => {
    expect([0.5, 1.5, 2.5, 3.5, -0.5, -1.5, -2.5, 2.4999, 2.5001].map(roundHalfEven)).toEqual([0, 2, 2, 4, -0, -2, -2, 2, 3]);
    // box (0.5, 1.5, 2, 2): columns round(0.5) = 0 .. round(2.5) = 2, rows round(1.5) = 2 .. round(3.5) = 4
    const mask = boxMask([[0.5, 1.5, 2, 2]], 5, 5);
    expect(Array.from(mask).flatMap((v, i) => (v ? [i] : []))).toEqual([10, 11, 15, 16]);
    expect(() => roundHalfEven(NaN)).toThrow(/cannot be rounded/);
  });
});

describe('properties', () => {
  it('a map equal to the box mask has mIoU 1', () => {
    fc.assert(
      fc.property(fc.array(boxInside, { minLength: 1, maxLength: 3 }), (bs) => {
        const boxes = bs.map(asBox);
        const mask = boxMask(boxes, SIZE, SIZE);
        const heat = { width: SIZE, height: SIZE, values: Float64Array.from(mask) };
        expect(scorePair(heat, boxes).miou).toBe(1);
        expect(miou(heat, mask)).toBe(1);
      }),
    );
  });

  it('moving the hot area away from the box lowers CNR', () => {
    const shift = fc.record({ dx: fc.integer({ min: -10, max: 10 }), dy: fc.integer({ min: -10, max: 10 }) }).filter(({ dx, dy }) => dx !== 0 || dy !== 0);
    const noise = fc.array(fc.double({ min: 0, max: 0.05, noNaN: true }), { minLength: SIZE * SIZE, maxLength: SIZE * SIZE });
    fc.assert(
      fc.property(boxInside, shift, noise, (b, { dx, dy }, n) => {
        const moved = { x: Math.min(Math.max(b.x + dx, 0), SIZE - b.w), y: Math.min(Math.max(b.y + dy, 0), SIZE - b.h), w: b.w, h: b.h };
        fc.pre(moved.x !== b.x || moved.y !== b.y);
        const hot = (at: typeof b) => {
          const values = Float64Array.from(n);
          const m = boxMask([asBox(at)], SIZE, SIZE);
          for (let i = 0; i < values.length; i++) values[i] += m[i];
          return { width: SIZE, height: SIZE, values };
        };
        const onBox = cnr(hot(b), [asBox(b)]);
        const away = cnr(hot(moved), [asBox(b)]);
        expect(onBox).toBeGreaterThan(away);
      }),
    );
  });

  it('a constant map has CNR 0 (and mIoU 0, AUC 0.5), NaN margins or not', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.array(boxInside, { maxLength: 3 }), fc.integer({ min: 0, max: 5 }), (c, bs, margin) => {
        const values = new Float32Array(SIZE * SIZE).fill(c);
        for (let r = 0; r < SIZE; r++) for (let k = 0; k < margin; k++) values[r * SIZE + k] = NaN;
        const s = scorePair({ width: SIZE, height: SIZE, values }, bs.map(asBox));
        expect(s.cnr).toBe(0);
        expect(s.miou).toBe(0);
        expect(s.auc).toBe(0.5);
      }),
    );
  });

  it('permuting the pairs does not change the class means', () => {
    const pairs = fc.array(fc.record({ v: fc.double({ min: -5, max: 5, noNaN: true }), c: fc.constantFrom('Edema', 'Pneumonia', 'Cardiomegaly', 'Ａ', '😀') }), {
      minLength: 1,
      maxLength: 60,
    });
    fc.assert(
      fc.property(pairs.chain((ps) => fc.tuple(fc.constant(ps), fc.shuffledSubarray(ps, { minLength: ps.length, maxLength: ps.length }))), ([ps, shuffled]) => {
        const a = classMean(
          ps.map((p) => p.v),
          ps.map((p) => p.c),
        );
        const b = classMean(
          shuffled.map((p) => p.v),
          shuffled.map((p) => p.c),
        );
        expect([...b.perClass.keys()]).toEqual([...a.perClass.keys()]);
        for (const [k, m] of a.perClass) expect(Math.abs((b.perClass.get(k) as number) - m)).toBeLessThan(1e-12);
        expect(Math.abs(b.mean - a.mean)).toBeLessThan(1e-12);
      }),
    );
  });

  it('AUC is the brute-force pair count, with ties, on any values', () => {
    const data = fc.array(fc.record({ s: fc.oneof(fc.integer({ min: -3, max: 3 }), fc.double({ min: -1e6, max: 1e6, noNaN: true })), y: fc.boolean() }), { maxLength: 400 });
    fc.assert(
      fc.property(data, (d) => {
        const scores = d.map((x) => x.s);
        const labels = d.map((x) => x.y);
        const pos = scores.filter((_, i) => labels[i]);
        const neg = scores.filter((_, i) => !labels[i]);
        let twice = 0;
        for (const p of pos) for (const q of neg) twice += p > q ? 2 : p === q ? 1 : 0;
        const want = pos.length && neg.length ? twice / 2 / (pos.length * neg.length) : 0.5;
        expect(aucRoc(scores, labels)).toBe(want);
      }),
    );
  });

  it('AUC on large inputs with heavy ties and either side the smaller equals the mid-rank formula', () => {
    // the reference's own formula: U = sum of the positives' mid-ranks - nPos (nPos + 1) / 2
    const midRankAuc = (scores: Float64Array, labels: Uint8Array) => {
      const order = Array.from(scores.keys()).sort((a, b) => scores[a] - scores[b]);
      const ranks = new Float64Array(scores.length);
      for (let i = 0; i < order.length; ) {
        let j = i;
        while (j < order.length && scores[order[j]] === scores[order[i]]) j++;
        for (let k = i; k < j; k++) ranks[order[k]] = (i + 1 + j) / 2;
        i = j;
      }
      let nPos = 0;
      let sum = 0;
      labels.forEach((y, i) => {
        if (y) {
          nPos++;
          sum += ranks[i];
        }
      });
      return (sum - (nPos * (nPos + 1)) / 2) / (nPos * (scores.length - nPos));
    };
    let state = 12345;
    const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32;
    for (const [n, levels, share] of [[200_000, 300, 0.2], [100_000, 5, 0.8], [50_000, 0, 0.5]] as const) {
      const scores = Float64Array.from({ length: n }, () => (levels ? Math.floor(next() * levels) / levels : next() ** 3));
      const labels = Uint8Array.from({ length: n }, (_, i) => (next() < share + 0.2 * Math.sin(i / 5000) ? 1 : 0));
      expect(aucRoc(scores, labels)).toBe(midRankAuc(scores, labels));
    }
  });

  it('the bootstrap draws every pair about equally often and the percentile is numpy linear', () => {
    const n = 13;
    const counts = new Array(n).fill(0);
    for (let b = 0; b < 2000; b++) for (let i = 0; i < n; i++) counts[bootstrapIndex(7, b, i, n)]++;
    for (const c of counts) expect(Math.abs(c - 2000)).toBeLessThan(200); // ~4.5 sigma
    expect(nanPercentile([NaN, 4, 1, 3, 2], 25)).toBe(1.75);
    expect(nanPercentile([5], 97.5)).toBe(5);
    expect(nanPercentile([NaN], 50)).toBeNaN();
    // a class with one pair is absent from about (12/13)^13 = 35% of the resamples: NaN there
    const { perClass } = bootstrapClassMean([...new Array(12).fill(0), 1], [...new Array(12).fill('a'), 'b'], 2000, 3);
    const absent = (perClass.get('b') as Float64Array).filter((v) => Number.isNaN(v)).length / 2000;
    expect(absent).toBeGreaterThan(0.3);
    expect(absent).toBeLessThan(0.4);
  });

  it('summaries: degenerate CI for constant values, NaN CIs without resamples, bad seeds refused', () => {
    const s = summarise(new Array(10).fill(0.3), [...'aaaaabbbbb'], { nBoot: 200 });
    expect(s.ciLow).toBeCloseTo(0.3, 12);
    expect(s.ciHigh).toBeCloseTo(0.3, 12);
    expect(summarise([1, 2], ['a', 'b'], { nBoot: 0 }).ciLow).toBeNaN();
    expect(summarise([], []).n).toBe(0);
    expect(() => summarise([1], ['a'], { seed: -1 })).toThrow(/seed/);
    expect(() => summarise([1], ['a'], { seed: 2 ** 32 })).toThrow(/seed/);
    expect(() => classMean([1, 2], ['a'])).toThrow(/2 values and 1 classes/);
    expect(Object.keys(summarise([1, 2], ['__proto__', 'b'], { nBoot: 10 }).perClass)).toEqual(['__proto__', 'b']);
  });

  it('normalise keeps NaN and maps the range to [0, 1]; a heatmap of the wrong size is refused', () => {
    expect(Array.from(normalise([2, NaN, 4, 3]))).toEqual([0, NaN, 1, 0.5]);
    expect(() => scorePair({ width: 3, height: 3, values: new Float32Array(8) }, [])).toThrow(/8 values is not 3 x 3/);
  });
});
