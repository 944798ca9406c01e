// Descriptive statistics of scores and reading times: mean, sample sd (n - 1), quantiles (linear interpolation
// between order statistics, R's type 7 = numpy's default, so a reader of the CSV gets the same numbers elsewhere),
// the distribution of scale answers, and mid-ranks for Spearman.
import { tQuantile } from './distributions';

export function mean(xs: readonly number[]): number {
  if (!xs.length) return NaN;
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** Sample standard deviation (n - 1); NaN below two values. */
export function sd(xs: readonly number[]): number {
  if (xs.length < 2) return NaN;
  const m = mean(xs);
  let s = 0;
  for (const x of xs) s += (x - m) ** 2;
  return Math.sqrt(s / (xs.length - 1));
}

/** The q-quantile, type 7 (R's default, numpy's 'linear'). */
export function quantile(xs: readonly number[], q: number): number {
  if (!xs.length) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/** Ranks 1..n, ties sharing the mean of the ranks they span (mid-ranks). */
export function ranks(xs: readonly number[]): number[] {
  const order = xs.map((x, i) => [x, i] as const).sort((a, b) => a[0] - b[0]);
  const out = new Array<number>(xs.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && order[j + 1][0] === order[i][0]) j++;
    const r = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) out[order[k][1]] = r;
    i = j + 1;
  }
  return out;
}

export interface Summary {
  n: number;
  mean: number;
  sd: number;
  median: number;
  q1: number;
  q3: number;
  min: number;
  max: number;
}

export function summarise(xs: readonly number[]): Summary {
  return {
    n: xs.length,
    mean: mean(xs),
    sd: sd(xs),
    median: quantile(xs, 0.5),
    q1: quantile(xs, 0.25),
    q3: quantile(xs, 0.75),
    min: xs.length ? Math.min(...xs) : NaN,
    max: xs.length ? Math.max(...xs) : NaN,
  };
}

/** How often each value of a min..max integer scale was given (every value listed, zeros included). */
export function distribution(xs: readonly number[], min: number, max: number): { value: number; count: number }[] {
  const out: { value: number; count: number }[] = [];
  for (let v = min; v <= max; v++) out.push({ value: v, count: xs.filter((x) => x === v).length });
  return out;
}

/** Mean of paired differences with its t interval: the deltas between two arms. */
export function meanWithCi(xs: readonly number[], level = 0.95): { n: number; mean: number; sd: number; ciLow: number; ciHigh: number } {
  const n = xs.length;
  const m = mean(xs);
  const s = sd(xs);
  if (n < 2) return { n, mean: m, sd: s, ciLow: NaN, ciHigh: NaN };
  const half = (tQuantile(1 - (1 - level) / 2, n - 1) * s) / Math.sqrt(n);
  return { n, mean: m, sd: s, ciLow: m - half, ciHigh: m + half };
}
