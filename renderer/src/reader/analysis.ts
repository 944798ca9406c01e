// The analysis page's pure parts: number formatting, which correlation rows to show, and the scatter points of the
// paper's Figure 6 (score vs CNR / mIoU per arm). Integer scores pile up on five lines, so each point is nudged
// vertically by a deterministic jitter (the same on every draw, derived from reader and case); numeric answers are
// drawn as they are.
import type { z } from 'zod';
import type { ReaderAnalysis } from '../../../common/contract/reader';

export type Analysis = z.output<typeof ReaderAnalysis>;
export type Metric = 'cnr' | 'miou';
export const METRIC_TITLE: Record<Metric, string> = { cnr: 'CNR', miou: 'mIoU' };

export const fmt = (x: number | null, digits = 3): string => (x === null ? '–' : x.toFixed(digits));
export const fmtP = (x: number | null): string => (x === null ? '–' : x < 0.001 ? '< 0.001' : x.toFixed(3));
export const fmtCi = (lo: number | null, hi: number | null, digits = 3): string => (lo === null || hi === null ? '–' : `${lo.toFixed(digits)} … ${hi.toFixed(digits)}`);
export const seconds = (ms: number | null): string => (ms === null ? '–' : (ms / 1000).toFixed(1));

/** The pooled rows (readers' mean per case x arm), per arm then all arms, for one metric. */
export function pooledCorrelations(a: Analysis, metric: Metric): Analysis['correlations'] {
  const rows = a.correlations.filter((c) => c.metric === metric && c.reader === null);
  return [...rows.filter((c) => c.arm !== null), ...rows.filter((c) => c.arm === null)];
}

/** A small, stable offset in [-0.15, 0.15] for a point (FNV-1a of its key). */
export function jitter(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (((h >>> 0) % 1000) / 999 - 0.5) * 0.3;
}

export interface ScatterSeries {
  arm: string;
  /** [metric, jittered score, score, reader, case] */
  points: [number, number, number, string, number][];
}

/** One series per arm; answers whose pair has no value of the metric are left out (and counted). */
export function scatterSeries(a: Analysis, metric: Metric): { series: ScatterSeries[]; missing: number } {
  let missing = 0;
  const series = a.arms.map((arm) => ({ arm, points: [] as ScatterSeries['points'] }));
  const byArm = new Map(series.map((s) => [s.arm, s]));
  for (const p of a.points) {
    const x = p[metric];
    if (x === null) {
      missing++;
      continue;
    }
    const y = a.question.kind === 'scale' ? p.score + jitter(`${p.reader}|${p.case}|${p.arm}`) : p.score;
    byArm.get(p.arm)?.points.push([x, y, p.score, p.reader, p.case]);
  }
  return { series, missing };
}
