// The statistics of reader-study analysis against published worked examples and hand computations (sources in each
// test). Tolerances are those of the published rounding.
import { describe, expect, it } from 'vitest';
import { icc, krippendorffAlpha, weightedKappa } from '../../../main/reader/analysis/agreement';
import { spearman } from '../../../main/reader/analysis/correlation';
import { distribution, meanWithCi, quantile, ranks, sd, summarise } from '../../../main/reader/analysis/descriptive';
import { normalQuantile, tQuantile, tTwoSided } from '../../../main/reader/analysis/distributions';

describe('Krippendorff alpha', () => {
  // Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: 4 observers x 12 units, values 1-5,
  // with missing values (unit 12 has a single value and is not pairable). The paper reports alpha_nominal = 0.743,
  // alpha_ordinal = 0.815, alpha_interval = 0.849, alpha_ratio = 0.797.
  const _ = null;
  const observers = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, _, _, _],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, _, 3],
    [_, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, _],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, _],
  ];
  const units = observers[0].map((_v, u) => observers.map((o) => o[u]));
  it.each([
    ['nominal', 0.743],
    ['ordinal', 0.815],
    ['interval', 0.849],
    ['ratio', 0.797],
  ] as const)('reproduces the paper: %s alpha = %s', (metric, expected) => {
    expect(krippendorffAlpha(units, metric)).toBeCloseTo(expected, 3);
  });
  it('is 1 for perfect agreement, NaN without variation, and ignores units with one value', () => {
    expect(krippendorffAlpha([[1, 1], [2, 2], [3, null]], 'ordinal')).toBe(1);
    expect(krippendorffAlpha([[2, 2], [2, 2]], 'interval')).toBeNaN();
    expect(krippendorffAlpha([[1, 1], [2, 2], [5, null]], 'interval')).toBe(krippendorffAlpha([[1, 1], [2, 2]], 'interval'));
  });
  it('is negative for systematic disagreement', () => {
    expect(krippendorffAlpha([[1, 2], [2, 1], [1, 2], [2, 1]], 'nominal')).toBeLessThan(0);
  });
});

describe('ICC (Shrout & Fleiss 1979)', () => {
  // Shrout & Fleiss (1979), Table 2: 6 targets x 4 judges; their Table 4 reports ICC(1,1) = .17, ICC(2,1) = .29,
  // ICC(3,1) = .71, ICC(1,4) = .44, ICC(2,4) = .62, ICC(3,4) = .91.
  const table = [
    [9, 2, 5, 8],
    [6, 1, 3, 2],
    [8, 4, 6, 8],
    [7, 1, 2, 6],
    [10, 5, 6, 9],
    [6, 2, 4, 7],
  ];
  it('reproduces Table 4', () => {
    const r = icc(table);
    expect(r.icc11).toBeCloseTo(0.17, 2);
    expect(r.icc21).toBeCloseTo(0.29, 2);
    expect(r.icc31).toBeCloseTo(0.71, 2);
    expect(r.icc1k).toBeCloseTo(0.44, 2);
    expect(r.icc2k).toBeCloseTo(0.62, 2);
    expect(r.icc3k).toBeCloseTo(0.91, 2);
    // mean squares by hand: BMS = 11.24, JMS = 32.49, EMS = 1.02 -> ICC(3,1) = (11.24 - 1.02) / (11.24 + 3 * 1.02)
    expect(r.icc31).toBeCloseTo((11.2417 - 1.0194) / (11.2417 + 3 * 1.0194), 3);
  });
  it('refuses a ragged table and is NaN below two targets', () => {
    expect(() => icc([[1, 2], [3]])).toThrow(/every judge/);
    expect(icc([[1, 2]]).icc21).toBeNaN();
  });
});

describe('weighted kappa', () => {
  // Hand computation. Ratings of 10 items on 1..3:
  //   A: 1 1 2 2 3 3 1 2 3 2      B: 1 2 2 3 3 2 1 2 3 1
  // Table (A rows x B cols): [2 1 0; 1 2 1; 0 1 2]; marginals .3 .4 .3 both.
  // Linear weights (1, .5, 0): po = .6 + .5 * .4 = .8; pe = .34 + .5 * .48 = .58; kappa = .22 / .42 = .5238.
  // Quadratic (1, .75, 0): po = .6 + .75 * .4 = .9; pe = .34 + .75 * .48 = .70; kappa = .2 / .3 = .6667.
  const a = [1, 1, 2, 2, 3, 3, 1, 2, 3, 2];
  const b = [1, 2, 2, 3, 3, 2, 1, 2, 3, 1];
  it('matches the hand computation', () => {
    expect(weightedKappa(a, b, 1, 3, 'linear')).toBeCloseTo(0.22 / 0.42, 12);
    expect(weightedKappa(a, b, 1, 3, 'quadratic')).toBeCloseTo(2 / 3, 12);
  });
  it('is 1 for identical ratings and symmetric in the readers', () => {
    expect(weightedKappa(a, a, 1, 3, 'linear')).toBeCloseTo(1, 12);
    expect(weightedKappa(b, a, 1, 5, 'quadratic')).toBeCloseTo(weightedKappa(a, b, 1, 5, 'quadratic'), 12);
  });
  it('refuses a rating off the scale', () => {
    expect(() => weightedKappa([1, 7], [1, 2], 1, 5, 'linear')).toThrow(/outside 1\.\.5/);
  });
});

describe('Spearman', () => {
  // Hand computation with ties: x = 1 2 2 3 4, y = 2 1 3 3 5. Mid-ranks x: 1 2.5 2.5 4 5; y: 2 1 3.5 3.5 5.
  // Deviations from 3: x -2 -.5 -.5 1 2, y -1 -2 .5 .5 2: Sxy = 7.25, Sxx = Syy = 9.5: rho = 7.25 / 9.5 = .763158.
  const x = [1, 2, 2, 3, 4];
  const y = [2, 1, 3, 3, 5];
  it('ranks ties by their mean rank', () => {
    expect(ranks(x)).toEqual([1, 2.5, 2.5, 4, 5]);
    expect(ranks(y)).toEqual([2, 1, 3.5, 3.5, 5]);
  });
  it('matches the hand computation: rho, its t-test p and the Bonett-Wright Fisher-z interval', () => {
    const r = spearman(x, y);
    expect(r.n).toBe(5);
    expect(r.rho).toBeCloseTo(7.25 / 9.5, 12);
    // t = rho sqrt(3 / (1 - rho^2)) on 3 df; Student's t with 3 df in closed form: p = 1 - (2/pi)(u/(1+u^2) + atan u), u = t/sqrt 3
    const t = r.rho * Math.sqrt(3 / (1 - r.rho ** 2));
    const u = t / Math.sqrt(3);
    expect(r.p).toBeCloseTo(1 - (2 / Math.PI) * (u / (1 + u * u) + Math.atan(u)), 10);
    expect(r.p).toBeCloseTo(0.1332, 3);
    // z = atanh(.763158) = 1.003735; se = sqrt((1 + .582410 / 2) / 2) = .803494; z -+ 1.959964 se = -.571084, 2.578554;
    // tanh of those: -.51616, .98855 (tanh 2.578554 = 172.66 / 174.66)
    expect(r.ciLow).toBeCloseTo(Math.tanh(Math.atanh(r.rho) - 1.959964 * Math.sqrt((1 + r.rho ** 2 / 2) / 2)), 6);
    expect(r.ciLow).toBeCloseTo(-0.51616, 4);
    expect(r.ciHigh).toBeCloseTo(0.98855, 4);
  });
  it('drops non-finite pairs, and is NaN when a side is constant or n < 3', () => {
    expect(spearman([...x, NaN], [...y, 4]).n).toBe(5);
    expect(spearman([1, 1, 1, 1], [1, 2, 3, 4]).rho).toBeNaN();
    expect(spearman([1, 2], [1, 2]).rho).toBeNaN();
    expect(spearman([1, 2, 3, 4], [4, 3, 2, 1]).rho).toBe(-1);
  });
});

describe('distributions (against printed tables)', () => {
  it('normal quantile', () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963985, 8);
    expect(normalQuantile(0.995)).toBeCloseTo(2.575829304, 8);
    expect(normalQuantile(0.001)).toBeCloseTo(-3.090232306, 7);
    expect(normalQuantile(0.5)).toBe(0);
  });
  it('Student t: two-sided tails and quantiles', () => {
    expect(tTwoSided(3.182446305, 3)).toBeCloseTo(0.05, 8);
    expect(tTwoSided(2.228138852, 10)).toBeCloseTo(0.05, 8);
    expect(tTwoSided(4.032142984, 5)).toBeCloseTo(0.01, 8);
    expect(tTwoSided(1, 1)).toBeCloseTo(0.5, 10); // Cauchy: 1 - (2/pi) atan 1
    expect(tTwoSided(1.5, 2)).toBeCloseTo(1 - 1.5 / Math.sqrt(2 + 2.25), 10); // closed form for 2 df
    expect(tQuantile(0.975, 10)).toBeCloseTo(2.228138852, 6);
    expect(tQuantile(0.025, 29)).toBeCloseTo(-2.045229642, 6);
  });
});

describe('descriptive', () => {
  it('sd, type-7 quantiles, distribution and a t interval of a mean', () => {
    expect(sd([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(Math.sqrt(32 / 7), 12);
    expect(quantile([1, 2, 3, 4], 0.25)).toBe(1.75); // R: quantile(1:4, .25) = 1.75
    expect(summarise([3, 1, 2]).median).toBe(2);
    expect(distribution([1, 3, 3, 5], 1, 5)).toEqual([
      { value: 1, count: 1 },
      { value: 2, count: 0 },
      { value: 3, count: 2 },
      { value: 4, count: 0 },
      { value: 5, count: 1 },
    ]);
    // mean 2, sd 1 over 3 values: 2 +- t(.975, 2) / sqrt 3 = 2 +- 4.302653 / 1.732051
    const m = meanWithCi([1, 2, 3]);
    expect(m.ciLow).toBeCloseTo(2 - 4.302653 / Math.sqrt(3), 5);
    expect(m.ciHigh).toBeCloseTo(2 + 4.302653 / Math.sqrt(3), 5);
  });
});
