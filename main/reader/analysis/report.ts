// The analysis of one question of a study, from its answers and each case x arm's metrics — pure (study.ts reads the
// database and the frozen maps). Units of agreement are case x arm, coders the readers. Pooled correlations use the
// readers' mean score per case x arm and paired deltas the readers' mean per case, so each case counts once (the
// readers of one case are not independent).
import type { z } from 'zod';
import type { ReaderAnalysis, ReaderCorrelation, ReaderSummaryStats } from '../../../common/contract/reader';
import { icc, krippendorffAlpha, weightedKappa } from './agreement';
import { spearman, type Correlation } from './correlation';
import { distribution, mean, meanWithCi, summarise } from './descriptive';

export type Analysis = z.output<typeof ReaderAnalysis>;

export interface Observation {
  reader: string;
  /** 0-based case index */
  caseIdx: number;
  arm: string;
  score: number;
  activeMs: number;
}

export interface PairMetrics {
  cnr: number | null;
  miou: number | null;
}

export interface AnalysisInput {
  study: Analysis['study'];
  question: Analysis['question'];
  questions: Analysis['questions'];
  readers: string[];
  arms: string[];
  cases: number;
  observations: Observation[];
  /** keyed by pairKey(caseIdx, arm) */
  metrics: Map<string, PairMetrics>;
  metricsSource: Analysis['metricsSource'];
  warnings: string[];
}

export const pairKey = (caseIdx: number, arm: string) => `${caseIdx}\u0000${arm}`;

/** NaN and infinities -> null: JSON has no NaN. */
const fin = (x: number): number | null => (Number.isFinite(x) ? x : null);

function stats(xs: number[]): z.output<typeof ReaderSummaryStats> {
  const s = summarise(xs);
  return { n: s.n, mean: fin(s.mean), sd: fin(s.sd), median: fin(s.median), q1: fin(s.q1), q3: fin(s.q3), min: fin(s.min), max: fin(s.max) };
}

function corr(c: Correlation): z.output<typeof ReaderCorrelation> {
  return { n: c.n, rho: fin(c.rho), p: fin(c.p), ciLow: fin(c.ciLow), ciHigh: fin(c.ciHigh) };
}

const metricOf = (m: PairMetrics | undefined, which: 'cnr' | 'miou') => m?.[which] ?? NaN;

export function analyse(input: AnalysisInput): Analysis {
  const { readers, arms, observations: obs, metrics, question } = input;
  const isScale = question.kind === 'scale';
  const groups = [null, ...readers];
  const scores: Analysis['scores'] = [];
  for (const arm of arms)
    for (const reader of groups) {
      const xs = obs.filter((o) => o.arm === arm && (reader === null || o.reader === reader)).map((o) => o.score);
      scores.push({ reader, arm, ...stats(xs), distribution: isScale ? distribution(xs, question.min, question.max) : [] });
    }

  // mean score per case x arm over readers
  const byPair = new Map<string, number[]>();
  for (const o of obs) {
    const k = pairKey(o.caseIdx, o.arm);
    byPair.set(k, [...(byPair.get(k) ?? []), o.score]);
  }
  const scoreOf = new Map(obs.map((o) => [`${o.reader}\u0000${pairKey(o.caseIdx, o.arm)}`, o.score]));

  const correlations: Analysis['correlations'] = [];
  for (const metric of ['cnr', 'miou'] as const) {
    for (const arm of [null, ...arms]) {
      for (const reader of groups) {
        let xs: number[];
        let ys: number[];
        if (reader === null) {
          const keys = [...byPair.keys()].filter((k) => arm === null || k.endsWith(`\u0000${arm}`));
          xs = keys.map((k) => mean(byPair.get(k)!));
          ys = keys.map((k) => metricOf(metrics.get(k), metric));
        } else {
          const mine = obs.filter((o) => o.reader === reader && (arm === null || o.arm === arm));
          xs = mine.map((o) => o.score);
          ys = mine.map((o) => metricOf(metrics.get(pairKey(o.caseIdx, o.arm)), metric));
        }
        correlations.push({ reader, arm, metric, ...corr(spearman(xs, ys)) });
      }
    }
  }

  const deltas: Analysis['deltas'] = [];
  for (let a = 0; a < arms.length; a++)
    for (let b = a + 1; b < arms.length; b++) {
      const [armA, armB] = [arms[a], arms[b]];
      const d: number[] = [];
      const dCnr: number[] = [];
      const dMiou: number[] = [];
      for (let c = 0; c < input.cases; c++) {
        // readers who scored both arms of the case
        const paired = readers
          .map((r) => (scoreOf.get(`${r}\u0000${pairKey(c, armB)}`) ?? NaN) - (scoreOf.get(`${r}\u0000${pairKey(c, armA)}`) ?? NaN))
          .filter((x) => !Number.isNaN(x));
        if (!paired.length) continue;
        d.push(mean(paired));
        const mA = metrics.get(pairKey(c, armA));
        const mB = metrics.get(pairKey(c, armB));
        dCnr.push(metricOf(mB, 'cnr') - metricOf(mA, 'cnr'));
        dMiou.push(metricOf(mB, 'miou') - metricOf(mA, 'miou'));
      }
      const m = meanWithCi(d);
      deltas.push({ armA, armB, n: m.n, mean: fin(m.mean), sd: fin(m.sd), ciLow: fin(m.ciLow), ciHigh: fin(m.ciHigh), vsCnr: corr(spearman(d, dCnr)), vsMiou: corr(spearman(d, dMiou)) });
    }

  const agreement: Analysis['agreement'] = [null, ...arms].map((arm) => agreementOf(input, arm));

  const times: Analysis['times'] = [];
  for (const arm of [null, ...arms])
    for (const reader of groups) {
      const xs = obs.filter((o) => (arm === null || o.arm === arm) && (reader === null || o.reader === reader)).map((o) => o.activeMs);
      times.push({ reader, arm, ...stats(xs), totalMs: xs.reduce((s, x) => s + x, 0) });
    }

  const points = obs.map((o) => {
    const m = metrics.get(pairKey(o.caseIdx, o.arm));
    return { reader: o.reader, arm: o.arm, case: o.caseIdx + 1, score: o.score, cnr: fin(metricOf(m, 'cnr')), miou: fin(metricOf(m, 'miou')), activeMs: o.activeMs };
  });
  const pairs: Analysis['pairs'] = [];
  for (let c = 0; c < input.cases; c++)
    for (const arm of arms) {
      const m = metrics.get(pairKey(c, arm));
      pairs.push({ case: c + 1, arm, cnr: m?.cnr ?? null, miou: m?.miou ?? null });
    }
  return { study: input.study, question, questions: input.questions, metricsSource: input.metricsSource, readers, arms, cases: input.cases, scores, correlations, deltas, agreement, times, points, pairs, warnings: input.warnings };
}

function agreementOf(input: AnalysisInput, arm: string | null): Analysis['agreement'][number] {
  const { readers, arms, observations: obs, question } = input;
  const unitArms = arm === null ? arms : [arm];
  const score = new Map(obs.map((o) => [`${o.reader}\u0000${pairKey(o.caseIdx, o.arm)}`, o.score]));
  const table: (number | null)[][] = [];
  for (let c = 0; c < input.cases; c++) for (const a of unitArms) table.push(readers.map((r) => score.get(`${r}\u0000${pairKey(c, a)}`) ?? null));
  const units = table.filter((row) => row.filter((v) => v !== null).length >= 2).length;
  const complete = table.filter((row) => row.every((v) => v !== null)) as number[][];
  const i = readers.length >= 2 && complete.length >= 2 ? icc(complete) : null;
  const kappas: Analysis['agreement'][number]['kappas'] = [];
  for (let p = 0; p < readers.length; p++)
    for (let q = p + 1; q < readers.length; q++) {
      const both = table.filter((row) => row[p] !== null && row[q] !== null);
      const a = both.map((row) => row[p]!);
      const b = both.map((row) => row[q]!);
      // kappa needs the scale's categories; a numeric question has none
      const integral = question.kind === 'scale' && [...a, ...b].every((v) => Number.isInteger(v) && v >= question.min && v <= question.max);
      kappas.push({
        readerA: readers[p],
        readerB: readers[q],
        n: both.length,
        linear: integral ? fin(weightedKappa(a, b, question.min, question.max, 'linear')) : null,
        quadratic: integral ? fin(weightedKappa(a, b, question.min, question.max, 'quadratic')) : null,
      });
    }
  return {
    arm,
    units,
    alphaOrdinal: fin(krippendorffAlpha(table, 'ordinal')),
    alphaInterval: fin(krippendorffAlpha(table, 'interval')),
    alphaNominal: fin(krippendorffAlpha(table, 'nominal')),
    icc: i && { targets: i.targets, judges: i.judges, icc21: fin(i.icc21), icc31: fin(i.icc31), icc2k: fin(i.icc2k), icc3k: fin(i.icc3k) },
    kappas,
  };
}
