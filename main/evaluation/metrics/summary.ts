// Aggregation of per-pair metrics (docs/method.md 5.1): the unweighted mean of the per-class means, with a 95%
// percentile-bootstrap CI over pairs, the same numbers as training/sightline_eval/metrics.py (`class_mean`,
// `bootstrap_class_mean`, `summarise`; test/vectors/eval-metrics.json is checked by both test suites).
//
// The resamples come from a portable counter-based generator that the Python reference uses too, so that both
// draw exactly the same pairs (numpy's default_rng would have to be reimplemented bit for bit):
//   h(seed, b, i)     = MurmurHash3_x86_32 of the 8 bytes <b as uint32 LE><i as uint32 LE>, murmur seed = seed
//   index(seed, b, i) = floor(h * n / 2^32)     resample b = 0 .. nBoot-1 draws pairs index(seed, b, i), i = 0 .. n-1
import { numpyMean, numpySum } from './numpy-sum';

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;
/** h * n must stay an exact double */
export const MAX_BOOTSTRAP_PAIRS = 2 ** 21;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

/** One murmur3 body round: the hash state after mixing in the 32-bit word k. */
function murmurBlock(h: number, k: number): number {
  k = Math.imul(rotl(Math.imul(k, C1), 15), C2);
  h = rotl(h ^ k, 13);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** murmur3's finaliser, as an unsigned 32-bit integer. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function checkSeed(seed: number): void {
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) throw new RangeError(`bootstrap seed ${seed}: an integer in 0 .. 2^32 - 1`);
}

/** The state after the resample's word: shared by every draw of resample b. */
function resampleState(seed: number, b: number): number {
  return murmurBlock(seed | 0, b | 0);
}

function drawHash(state: number, i: number): number {
  return fmix32(murmurBlock(state, i | 0) ^ 8); // 8: the message length in bytes
}

/** h(seed, b, i): MurmurHash3_x86_32 of <b, i> (two little-endian uint32) with the seed. */
export function bootstrapHash(seed: number, b: number, i: number): number {
  checkSeed(seed);
  return drawHash(resampleState(seed, b), i);
}

/** The pair drawn by resample b at draw i, out of n pairs. */
export function bootstrapIndex(seed: number, b: number, i: number, n: number): number {
  return Math.floor((bootstrapHash(seed, b, i) * n) / 4294967296);
}

/** Code-point order, as Python sorts strings (JavaScript's < compares UTF-16 units). */
export function compareCodePoints(a: string, b: string): number {
  const x = Array.from(a, (ch) => ch.codePointAt(0) as number);
  const y = Array.from(b, (ch) => ch.codePointAt(0) as number);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

function classIndex(classes: readonly string[]): { names: string[]; code: Int32Array } {
  const names = [...new Set(classes)].sort(compareCodePoints);
  const at = new Map(names.map((name, k) => [name, k]));
  return { names, code: Int32Array.from(classes, (c) => at.get(c) as number) };
}

function checkLengths(values: ArrayLike<number>, classes: readonly string[]): void {
  if (values.length !== classes.length) throw new RangeError(`${values.length} values and ${classes.length} classes`);
}

/** The unweighted mean of the per-class means (NaN without values) and the per-class means, classes in order. */
export function classMean(values: ArrayLike<number>, classes: readonly string[]): { mean: number; perClass: Map<string, number> } {
  checkLengths(values, classes);
  const { names, code } = classIndex(classes);
  const v = Float64Array.from(values);
  const perClass = new Map<string, number>();
  names.forEach((name, k) => perClass.set(name, numpyMean(v.filter((_, i) => code[i] === k))));
  return { mean: names.length ? numpyMean(Float64Array.from(perClass.values())) : NaN, perClass };
}

/**
 * Bootstrap over pairs: every resample draws n pairs with replacement (the generator above), recomputes each class
 * mean and their unweighted mean; a class absent from a resample is left out of that resample's mean, and its own
 * statistic is NaN there.
 */
export function bootstrapClassMean(
  values: ArrayLike<number>,
  classes: readonly string[],
  nBoot = 10000,
  seed = 0,
): { stats: Float64Array; perClass: Map<string, Float64Array> } {
  checkLengths(values, classes);
  checkSeed(seed);
  const n = values.length;
  if (n > MAX_BOOTSTRAP_PAIRS) throw new RangeError(`bootstrap over ${n} pairs: at most ${MAX_BOOTSTRAP_PAIRS}`);
  const { names, code } = classIndex(classes);
  const k = names.length;
  const v = Float64Array.from(values);
  const stats = new Float64Array(nBoot);
  const per = names.map(() => new Float64Array(nBoot));
  const count = new Float64Array(k);
  const total = new Float64Array(k);
  const means = new Float64Array(k);
  for (let b = 0; b < nBoot; b++) {
    count.fill(0);
    total.fill(0);
    const state = resampleState(seed, b);
    // totals summed in draw order, as numpy's bincount does in the reference
    for (let i = 0; i < n; i++) {
      const j = Math.floor((drawHash(state, i) * n) / 4294967296);
      count[code[j]]++;
      total[code[j]] += v[j];
    }
    let present = 0;
    for (let c = 0; c < k; c++) {
      const m = total[c] / count[c]; // NaN where the class is absent
      per[c][b] = m;
      means[c] = m === m ? m : 0; // numpy's nanmean: NaN as 0 in the sum, divided by the count of the others
      if (m === m) present++;
    }
    stats[b] = numpySum(means, k) / present;
  }
  return { stats, perClass: new Map(names.map((name, c) => [name, per[c]])) };
}

/** numpy's lerp: a + (b - a) t, or b - (b - a)(1 - t) from t = 0.5 on (numpy's choice for accuracy). */
function lerp(a: number, b: number, t: number): number {
  const diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

/** numpy.nanpercentile(values, q), the default 'linear' method; NaN when every value is NaN. */
export function nanPercentile(values: ArrayLike<number>, q: number): number {
  const x = Float64Array.from(values).filter((v) => v === v);
  if (x.length === 0) return NaN;
  x.sort();
  const virtual = (x.length - 1) * (q / 100);
  const previous = Math.min(Math.max(Math.floor(virtual), 0), x.length - 1);
  const next = Math.min(previous + 1, x.length - 1);
  return lerp(x[previous], x[next], virtual - Math.floor(virtual));
}

export interface Interval {
  mean: number;
  ciLow: number;
  ciHigh: number;
}

export interface ClassSummary extends Interval {
  n: number;
}

export interface Summary extends Interval {
  n: number;
  /** classes in code-point order */
  perClass: Record<string, ClassSummary>;
}

export interface SummaryOptions {
  nBoot?: number;
  seed?: number;
  alpha?: number;
}

/** Class mean of the values with a percentile-bootstrap CI, and every class's mean with its own CI (NaN without resamples). */
export function summarise(values: ArrayLike<number>, classes: readonly string[], options: SummaryOptions = {}): Summary {
  const { nBoot = 10000, seed = 0, alpha = 0.05 } = options;
  const { mean, perClass } = classMean(values, classes);
  if (values.length === 0) return { mean: NaN, ciLow: NaN, ciHigh: NaN, n: 0, perClass: {} };
  const sizes = new Map<string, number>();
  for (const c of classes) sizes.set(c, (sizes.get(c) ?? 0) + 1);
  const qLow = (100 * alpha) / 2;
  const qHigh = 100 * (1 - alpha / 2);
  const entries: [string, ClassSummary][] = [];
  let ciLow = NaN;
  let ciHigh = NaN;
  if (nBoot > 0) {
    const boot = bootstrapClassMean(values, classes, nBoot, seed);
    ciLow = nanPercentile(boot.stats, qLow);
    ciHigh = nanPercentile(boot.stats, qHigh);
    for (const [name, m] of perClass) {
      const s = boot.perClass.get(name) as Float64Array;
      entries.push([name, { mean: m, ciLow: nanPercentile(s, qLow), ciHigh: nanPercentile(s, qHigh), n: sizes.get(name) as number }]);
    }
  } else {
    for (const [name, m] of perClass) entries.push([name, { mean: m, ciLow: NaN, ciHigh: NaN, n: sizes.get(name) as number }]);
  }
  // fromEntries defines own properties: a class named "__proto__" stays a class
  return { mean, ciLow, ciHigh, n: values.length, perClass: Object.fromEntries(entries) };
}
