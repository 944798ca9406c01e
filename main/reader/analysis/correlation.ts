// Spearman's rho: Pearson's r on mid-ranks (ties averaged). p-value: the t approximation t = rho sqrt((n - 2) /
// (1 - rho^2)) on n - 2 df (what scipy.stats.spearmanr reports). CI: Fisher's z with the Bonett & Wright (2000)
// standard error for Spearman, sqrt((1 + rho^2 / 2) / (n - 3)) — wider than 1 / sqrt(n - 3), which is Pearson's and
// too narrow for rank correlations; undefined below n = 4.
import { ranks } from './descriptive';
import { normalQuantile, tTwoSided } from './distributions';

export interface Correlation {
  n: number;
  rho: number;
  p: number;
  ciLow: number;
  ciHigh: number;
}

export function pearson(x: readonly number[], y: readonly number[]): number {
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
    syy += (y[i] - my) ** 2;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : NaN;
}

/** Spearman's rho of paired values; pairs with a non-finite member are dropped (a NaN CNR of an empty map). */
export function spearman(xs: readonly number[], ys: readonly number[], level = 0.95): Correlation {
  if (xs.length !== ys.length) throw new RangeError(`spearman: ${xs.length} x values but ${ys.length} y values`);
  const keep = xs.map((x, i) => Number.isFinite(x) && Number.isFinite(ys[i]));
  const x = xs.filter((_, i) => keep[i]);
  const y = ys.filter((_, i) => keep[i]);
  const n = x.length;
  const none = { n, rho: NaN, p: NaN, ciLow: NaN, ciHigh: NaN };
  if (n < 3) return none;
  const rho = pearson(ranks(x), ranks(y));
  if (Number.isNaN(rho)) return none; // one side constant
  const df = n - 2;
  const p = Math.abs(rho) >= 1 ? 0 : tTwoSided(rho * Math.sqrt(df / (1 - rho * rho)), df);
  if (n < 4 || Math.abs(rho) >= 1) return { n, rho, p, ciLow: NaN, ciHigh: NaN };
  const z = Math.atanh(rho);
  const se = Math.sqrt((1 + (rho * rho) / 2) / (n - 3));
  const zq = normalQuantile(1 - (1 - level) / 2);
  return { n, rho, p, ciLow: Math.tanh(z - zq * se), ciHigh: Math.tanh(z + zq * se) };
}
