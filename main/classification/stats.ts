// The classifier's statistics (docs/method.md section 7; main/classification/README.md "Statistics"): AUROC
// (Mann-Whitney, ties one half), the ROC curve's corners, a stratified percentile-bootstrap 95% CI, and the paper's
// low/high-mIoU halves with a two-sided permutation p-value of their AUROC difference. Every random choice comes from
// the evaluation's portable hash (main/evaluation/metrics/summary.ts), so a run's numbers are reproducible.
//
// One building block serves all of them: a positive's Mann-Whitney count against the negatives,
// c_i = #{negatives < s_i} + #{negatives = s_i} / 2. The AUROC of any set of positives is sum c_i / (n m), exact
// in doubles (half-integers), so a permuted half's AUROC costs a sum, not a sort.
import type { z } from 'zod';
import type { ConditionResult } from '../../common/contract/classification';
import { bootstrapHash, bootstrapIndex, nanPercentile } from '../evaluation/metrics/summary';

export type Half = NonNullable<z.output<typeof ConditionResult>['low_miou']>;

const TWO_32 = 4294967296;

function checkScores(scores: readonly number[], what: string): void {
  scores.forEach((s, i) => {
    if (!Number.isFinite(s)) throw new RangeError(`${what} score ${i} is ${s}: scores must be finite`);
  });
}

/** Sorted copy (ascending) for the counts. */
function sorted(values: readonly number[]): Float64Array {
  return Float64Array.from(values).sort();
}

/** Number of values of the ascending `xs` below v (strict = true) or at most v. */
function countBelow(xs: Float64Array, v: number, strict: boolean): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (strict ? xs[mid] < v : xs[mid] <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Each positive's Mann-Whitney count c_i against the ascending negatives. */
function mannWhitneyCounts(pos: ArrayLike<number>, negSorted: Float64Array): Float64Array {
  const out = new Float64Array(pos.length);
  for (let i = 0; i < pos.length; i++) {
    const below = countBelow(negSorted, pos[i], true);
    out[i] = below + (countBelow(negSorted, pos[i], false) - below) / 2;
  }
  return out;
}

/** P(score of a positive > score of a negative) + P(equal) / 2; null when a class is empty. */
export function auroc(pos: readonly number[], neg: readonly number[]): number | null {
  checkScores(pos, 'positive');
  checkScores(neg, 'negative');
  if (pos.length === 0 || neg.length === 0) return null;
  const c = mannWhitneyCounts(pos, sorted(neg));
  let u = 0;
  for (const x of c) u += x;
  return u / (pos.length * neg.length);
}

/**
 * The ROC curve's corners as [false-positive rate, true-positive rate], from [0, 0] to [1, 1]: one point per distinct
 * score, thresholds descending (tied scores of both classes give one diagonal step). Empty when a class is empty.
 */
export function rocCurve(pos: readonly number[], neg: readonly number[]): [number, number][] {
  checkScores(pos, 'positive');
  checkScores(neg, 'negative');
  if (pos.length === 0 || neg.length === 0) return [];
  const all = [...pos.map((s) => ({ s, p: 1 })), ...neg.map((s) => ({ s, p: 0 }))].sort((a, b) => b.s - a.s);
  const out: [number, number][] = [[0, 0]];
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < all.length; i++) {
    if (all[i].p) tp++;
    else fp++;
    if (i === all.length - 1 || all[i + 1].s !== all[i].s) out.push([fp / neg.length, tp / pos.length]);
  }
  return out;
}

/**
 * The 95% percentile-bootstrap interval of the AUROC, stratified: resample b draws the positives
 * `bootstrapIndex(seed, b, i, n)` and the negatives `bootstrapIndex(seed + 1 mod 2^32, b, i, m)`; the 2.5th and
 * 97.5th percentiles (numpy's linear method). Null without resamples or when a class is empty.
 * `negativeGroups` (one key per negative, e.g. its image): the negatives are resampled as whole groups instead
 * (draw i picks group `bootstrapIndex(seed + 1, b, i, groups)`, all its negatives), since a located row scores
 * each normal image once per candidate location and those scores are not independent.
 */
export function aurocCi(
  pos: readonly number[],
  neg: readonly number[],
  o: { bootstrap: number; seed: number; negativeGroups?: readonly (string | number)[] },
): { low: number; high: number } | null {
  checkScores(pos, 'positive');
  checkScores(neg, 'negative');
  if (o.bootstrap <= 0 || pos.length === 0 || neg.length === 0) return null;
  if (o.negativeGroups && o.negativeGroups.length !== neg.length) throw new RangeError(`${o.negativeGroups.length} negative groups for ${neg.length} negatives`);
  const n = pos.length;
  const groups = negativeClusters(neg, o.negativeGroups);
  const negSeed = (o.seed + 1) % TWO_32;
  const p = new Float64Array(n);
  const stats = new Float64Array(o.bootstrap);
  for (let b = 0; b < o.bootstrap; b++) {
    for (let i = 0; i < n; i++) p[i] = pos[bootstrapIndex(o.seed, b, i, n)];
    const drawn: number[] = [];
    for (let i = 0; i < groups.length; i++) drawn.push(...groups[bootstrapIndex(negSeed, b, i, groups.length)]);
    const q = Float64Array.from(drawn).sort();
    let u = 0;
    for (const c of mannWhitneyCounts(p, q)) u += c;
    stats[b] = u / (n * q.length);
  }
  return { low: nanPercentile(stats, 2.5), high: nanPercentile(stats, 97.5) };
}

/** The negatives' scores in groups (first-appearance order); one group per negative without keys. */
function negativeClusters(neg: readonly number[], keys?: readonly (string | number)[]): number[][] {
  if (!keys) return neg.map((s) => [s]);
  const byKey = new Map<string | number, number[]>();
  neg.forEach((s, i) => {
    const group = byKey.get(keys[i]);
    if (group) group.push(s);
    else byKey.set(keys[i], [s]);
  });
  return [...byKey.values()];
}

/**
 * The paper's split: positives with an mIoU (non-finite ones left out) sorted by (mIoU, then their order), the
 * first floor(n / 2) the low half and the last floor(n / 2) the high half (the middle one left out when n is odd),
 * each half's AUROC against every negative, difference = high - low. p-value: two-sided permutation test of the
 * difference, the 2 floor(n / 2) positives' half labels shuffled `permutations` times (Fisher-Yates from the last
 * position down: swap j of permutation b exchanges position k = 2h - 1 - j with floor(u (k + 1)),
 * u = bootstrapHash(seed, b, j) / 2^32; the first h after the shuffle are "low"),
 * p = (1 + #{|diff_b| >= |diff_obs| - 1e-12}) / (1 + B); null without permutations or negatives.
 * Null when a half would be empty (fewer than 2 positives with an mIoU).
 */
export function miouHalves(
  positives: readonly { score: number; miou: number }[],
  negatives: readonly number[],
  o: { permutations: number; seed: number },
): { low: Half; high: Half; difference: number | null } | null {
  checkScores(
    positives.map((p) => p.score),
    'positive',
  );
  checkScores(negatives, 'negative');
  const ranked = positives
    .map((p, order) => ({ ...p, order }))
    .filter((p) => Number.isFinite(p.miou))
    .sort((a, b) => a.miou - b.miou || a.order - b.order);
  const h = Math.floor(ranked.length / 2);
  if (h === 0) return null;
  const low = ranked.slice(0, h);
  const high = ranked.slice(ranked.length - h);
  const m = negatives.length;
  // counts of the 2h positives, low half first
  const c = m ? mannWhitneyCounts([...low, ...high].map((p) => p.score), sorted(negatives)) : new Float64Array(2 * h);
  const halfAuroc = (counts: Float64Array, from: number): number => {
    let u = 0;
    for (let i = from; i < from + h; i++) u += counts[i];
    return u / (h * m);
  };
  const observed = m ? halfAuroc(c, h) - halfAuroc(c, 0) : null;
  let p: number | null = null;
  if (observed !== null && o.permutations > 0) {
    const shuffled = new Float64Array(2 * h);
    let extreme = 0;
    for (let b = 0; b < o.permutations; b++) {
      shuffled.set(c);
      for (let j = 0, k = 2 * h - 1; k > 0; j++, k--) {
        const r = Math.floor((bootstrapHash(o.seed, b, j) / TWO_32) * (k + 1));
        const t = shuffled[k];
        shuffled[k] = shuffled[r];
        shuffled[r] = t;
      }
      if (Math.abs(halfAuroc(shuffled, h) - halfAuroc(shuffled, 0)) >= Math.abs(observed) - 1e-12) extreme++;
    }
    p = (1 + extreme) / (1 + o.permutations);
  }
  const half = (members: typeof ranked, from: number): Half => ({
    auroc: m ? halfAuroc(c, from) : null,
    positives: h,
    miou_range: [members[0].miou, members[members.length - 1].miou],
    p_value: p,
  });
  return { low: half(low, 0), high: half(high, h), difference: observed };
}
