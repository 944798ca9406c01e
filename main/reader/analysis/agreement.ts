// Inter-reader agreement. Krippendorff's alpha from the coincidence matrix (Krippendorff 2011, "Computing
// Krippendorff's Alpha-Reliability": any number of coders, missing values allowed, units with fewer than two values
// not pairable); Cohen's weighted kappa (1968) for one pair of readers, linear or quadratic agreement weights over
// the scale's categories; intraclass correlations of Shrout & Fleiss (1979) for a fully crossed targets x judges
// table (ICC(1,1), (2,1), (3,1) and their k-judge averages).

export type AlphaMetric = 'nominal' | 'ordinal' | 'interval' | 'ratio';

/** Krippendorff's alpha; `data[unit][coder]` is a value or null (missing). NaN when nothing is pairable or no variation. */
export function krippendorffAlpha(data: readonly (readonly (number | null)[])[], metric: AlphaMetric): number {
  const units = data.map((u) => u.filter((v): v is number => v !== null && Number.isFinite(v))).filter((u) => u.length >= 2);
  const values = [...new Set(units.flat())].sort((a, b) => a - b);
  const index = new Map(values.map((v, i) => [v, i]));
  const V = values.length;
  if (V < 2) return NaN;
  // o[c][k]: coincidences, each unit's ordered pairs of values from different coders weighted 1 / (m_u - 1)
  const o = Array.from({ length: V }, () => new Float64Array(V));
  for (const u of units) {
    const w = 1 / (u.length - 1);
    for (let i = 0; i < u.length; i++) for (let j = 0; j < u.length; j++) if (i !== j) o[index.get(u[i])!][index.get(u[j])!] += w;
  }
  const nc = o.map((row) => row.reduce((s, x) => s + x, 0));
  const n = nc.reduce((s, x) => s + x, 0);
  // cum[g] = n_0 + ... + n_(g-1): the ordinal metric's sums in O(1) (a numeric question can have many values)
  const cum = new Float64Array(V + 1);
  for (let g = 0; g < V; g++) cum[g + 1] = cum[g] + nc[g];
  const delta2 = (c: number, k: number): number => {
    if (c === k) return 0;
    switch (metric) {
      case 'nominal':
        return 1;
      case 'interval':
        return (values[c] - values[k]) ** 2;
      case 'ratio':
        return ((values[c] - values[k]) / (values[c] + values[k])) ** 2;
      case 'ordinal': {
        // the ranks between c and k as the marginals lay them out: sum of n_g for g from c to k, less half the ends
        const [lo, hi] = c < k ? [c, k] : [k, c];
        return (cum[hi + 1] - cum[lo] - (nc[lo] + nc[hi]) / 2) ** 2;
      }
    }
  };
  let observed = 0;
  let expected = 0;
  for (let c = 0; c < V; c++)
    for (let k = 0; k < V; k++) {
      const d = delta2(c, k);
      observed += o[c][k] * d;
      expected += nc[c] * nc[k] * d;
    }
  return expected > 0 ? 1 - ((n - 1) * observed) / expected : NaN;
}

/** Cohen's weighted kappa of two readers' paired ratings on the integer categories min..max. */
export function weightedKappa(a: readonly number[], b: readonly number[], min: number, max: number, weights: 'linear' | 'quadratic'): number {
  if (a.length !== b.length) throw new RangeError(`weightedKappa: ${a.length} ratings against ${b.length}`);
  const k = max - min + 1;
  const n = a.length;
  if (n === 0 || k < 2) return NaN;
  const p = Array.from({ length: k }, () => new Float64Array(k));
  for (let i = 0; i < n; i++) {
    const r = a[i] - min;
    const c = b[i] - min;
    if (!(r >= 0 && r < k && c >= 0 && c < k && Number.isInteger(r) && Number.isInteger(c))) throw new RangeError(`weightedKappa: rating pair (${a[i]}, ${b[i]}) outside ${min}..${max}`);
    p[r][c] += 1 / n;
  }
  const rows = p.map((row) => row.reduce((s, x) => s + x, 0));
  const cols = Array.from({ length: k }, (_, j) => p.reduce((s, row) => s + row[j], 0));
  const w = (i: number, j: number) => (weights === 'linear' ? 1 - Math.abs(i - j) / (k - 1) : 1 - (i - j) ** 2 / (k - 1) ** 2);
  let po = 0;
  let pe = 0;
  for (let i = 0; i < k; i++)
    for (let j = 0; j < k; j++) {
      po += w(i, j) * p[i][j];
      pe += w(i, j) * rows[i] * cols[j];
    }
  return pe < 1 ? (po - pe) / (1 - pe) : NaN;
}

export interface Icc {
  targets: number;
  judges: number;
  icc11: number;
  icc21: number;
  icc31: number;
  icc1k: number;
  icc2k: number;
  icc3k: number;
}

/** Shrout & Fleiss ICCs of a complete table `x[target][judge]` (two-way ANOVA mean squares). */
export function icc(x: readonly (readonly number[])[]): Icc {
  const n = x.length;
  const k = n ? x[0].length : 0;
  const nan = { targets: n, judges: k, icc11: NaN, icc21: NaN, icc31: NaN, icc1k: NaN, icc2k: NaN, icc3k: NaN };
  if (n < 2 || k < 2) return nan;
  if (x.some((row) => row.length !== k)) throw new RangeError('icc: every target needs a rating from every judge');
  let grand = 0;
  for (const row of x) for (const v of row) grand += v;
  grand /= n * k;
  let ssRows = 0;
  for (const row of x) ssRows += k * (row.reduce((s, v) => s + v, 0) / k - grand) ** 2;
  let ssCols = 0;
  for (let j = 0; j < k; j++) ssCols += n * (x.reduce((s, row) => s + row[j], 0) / n - grand) ** 2;
  let ssTotal = 0;
  for (const row of x) for (const v of row) ssTotal += (v - grand) ** 2;
  const ssErr = ssTotal - ssRows - ssCols;
  const bms = ssRows / (n - 1);
  const jms = ssCols / (k - 1);
  const ems = ssErr / ((n - 1) * (k - 1));
  const wms = (ssCols + ssErr) / (n * (k - 1));
  return {
    targets: n,
    judges: k,
    icc11: (bms - wms) / (bms + (k - 1) * wms),
    icc21: (bms - ems) / (bms + (k - 1) * ems + (k * (jms - ems)) / n),
    icc31: (bms - ems) / (bms + (k - 1) * ems),
    icc1k: (bms - wms) / bms,
    icc2k: (bms - ems) / (bms + (jms - ems) / n),
    icc3k: (bms - ems) / bms,
  };
}
