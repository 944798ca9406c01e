// test/vectors/eval-metrics.json (written by the Python reference, training/sightline_eval/metrics_vectors.py) and
// the comparisons the metrics tests make against it: numbers within 1e-9, NaN where the reference wrote null.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import type { Summary } from '../../../../main/evaluation/metrics/summary';

export interface VectorPair {
  name: string;
  width: number;
  height: number;
  dtype: 'float32' | 'float64';
  heatmap: (number | null)[];
  boxes: [number, number, number, number][];
  cnr: number;
  cnr_boxes: number[];
  miou: number;
  auc: number;
  mask_pixels: number;
}

export interface VectorSummary {
  mean: number | null;
  ci_low: number | null;
  ci_high: number | null;
  n: number;
  per_class: Record<string, { mean: number | null; ci_low: number | null; ci_high: number | null; n: number }>;
}

export const VECTORS_FILE = path.resolve(__dirname, '../../../vectors/eval-metrics.json');
export const TOL = 1e-9;
/** The parsed file (reading fails, and so the tests, when it is missing). */
export const V = JSON.parse(readFileSync(VECTORS_FILE, 'utf8'));

export function heatmapOf(p: VectorPair): Float32Array | Float64Array {
  const values = p.heatmap.map((v) => (v === null ? NaN : v));
  return p.dtype === 'float32' ? Float32Array.from(values) : Float64Array.from(values);
}

/** NaN where the reference wrote null; otherwise within tol. */
export function expectClose(actual: number, expected: number | null, tol = TOL, what = ''): void {
  if (expected === null) expect(actual, what).toBeNaN();
  else expect(Math.abs(actual - expected), `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(tol);
}

export function expectSummary(actual: Summary, expected: VectorSummary, what: string): void {
  expectClose(actual.mean, expected.mean, TOL, `${what} mean`);
  expectClose(actual.ciLow, expected.ci_low, TOL, `${what} ci_low`);
  expectClose(actual.ciHigh, expected.ci_high, TOL, `${what} ci_high`);
  expect(actual.n).toBe(expected.n);
  expect(Object.keys(actual.perClass), what).toEqual(Object.keys(expected.per_class));
  for (const [name, c] of Object.entries(expected.per_class)) {
    const mine = actual.perClass[name];
    expect(mine.n, `${what} ${name} n`).toBe(c.n);
    expectClose(mine.mean, c.mean, TOL, `${what} ${name} mean`);
    expectClose(mine.ciLow, c.ci_low, TOL, `${what} ${name} ci_low`);
    expectClose(mine.ciHigh, c.ci_high, TOL, `${what} ${name} ci_high`);
  }
}

