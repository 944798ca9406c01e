// The analysis page's pure helpers (renderer/src/reader/analysis.ts): formatting, the pooled correlation rows, and
// the scatter series of Figure 6 with their stable jitter.
import { describe, expect, it } from 'vitest';
import { fmt, fmtCi, fmtP, jitter, pooledCorrelations, scatterSeries, seconds, type Analysis } from '../../../renderer/src/reader/analysis';

const corr = (reader: string | null, arm: string | null, metric: 'cnr' | 'miou', rho: number) => ({ reader, arm, metric, n: 5, rho, p: 0.5, ciLow: -0.5, ciHigh: 0.9 });
const analysis = {
  question: { key: 'score', kind: 'scale', min: 1, max: 5 },
  questions: [{ key: 'score', prompt: 'How well does the heatmap localise the finding?', kind: 'scale' }],
  arms: ['A', 'B'],
  correlations: [corr(null, null, 'cnr', 0.1), corr(null, 'A', 'cnr', 0.2), corr('R1', 'A', 'cnr', 0.3), corr(null, 'B', 'cnr', 0.4), corr(null, 'A', 'miou', 0.5)],
  points: [
    { reader: 'R1', arm: 'A', case: 1, score: 3, cnr: 1.5, miou: 0.2, activeMs: 1 },
    { reader: 'R2', arm: 'A', case: 1, score: 4, cnr: 1.5, miou: null, activeMs: 1 },
    { reader: 'R1', arm: 'B', case: 2, score: 2, cnr: null, miou: 0.4, activeMs: 1 },
  ],
} as unknown as Analysis;

describe('analysis page helpers', () => {
  it('formats numbers, p-values, intervals and seconds, with a dash for undefined', () => {
    expect(fmt(null)).toBe('–');
    expect(fmt(0.12345)).toBe('0.123');
    expect(fmtP(0.0004)).toBe('< 0.001');
    expect(fmtP(0.0412)).toBe('0.041');
    expect(fmtCi(-0.1, 0.52, 2)).toBe('-0.10 … 0.52');
    expect(fmtCi(null, 1)).toBe('–');
    expect(seconds(2500)).toBe('2.5');
  });
  it('shows the pooled rows of a metric, per arm first, all arms last', () => {
    expect(pooledCorrelations(analysis, 'cnr').map((c) => [c.arm, c.rho])).toEqual([
      ['A', 0.2],
      ['B', 0.4],
      [null, 0.1],
    ]);
  });
  it('builds one series per arm, leaving out (and counting) answers without the metric', () => {
    const { series, missing } = scatterSeries(analysis, 'cnr');
    expect(missing).toBe(1);
    expect(series.map((s) => [s.arm, s.points.length])).toEqual([
      ['A', 2],
      ['B', 0],
    ]);
    const [x, y, score, reader, c] = series[0].points[0];
    expect([x, score, reader, c]).toEqual([1.5, 3, 'R1', 1]);
    expect(Math.abs(y - 3)).toBeLessThanOrEqual(0.15);
    expect(scatterSeries(analysis, 'miou').missing).toBe(1);
    // a numeric question's answers are not nudged
    const numeric = { ...analysis, question: { key: 'size', kind: 'numeric', min: 0, max: 10 } } as Analysis;
    expect(scatterSeries(numeric, 'cnr').series[0].points[0][1]).toBe(3);
  });
  it('jitters each point the same way every time, within +-0.15, and differently across points', () => {
    expect(jitter('R1|1|A')).toBe(jitter('R1|1|A'));
    const values = Array.from({ length: 200 }, (_, i) => jitter(`R${i}|${i}|A`));
    expect(Math.max(...values.map(Math.abs))).toBeLessThanOrEqual(0.15);
    expect(new Set(values.map((v) => v.toFixed(4))).size).toBeGreaterThan(100);
  });
});
