// One ETA and one throttle for the runner, the CLI and the UI (common/progress.ts), on fake time.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EtaEstimator, createThrottle, estimateEta } from '../../../common/progress';

describe('estimateEta', () => {
  it('extrapolates the rate so far and says nothing without one', () => {
    expect(estimateEta(25, 100, 10)).toBe(30);
    expect(estimateEta(100, 100, 10)).toBe(0);
    expect(estimateEta(0, 100, 10)).toBeNull();
    expect(estimateEta(5, null, 10)).toBeNull();
    expect(estimateEta(5, 100, 0)).toBeNull();
  });
});

describe('EtaEstimator', () => {
  it('measures from when the total became known, not from the start of a long scan', () => {
    let now = 0;
    const eta = new EtaEstimator(() => now);
    expect(eta.update(0, null)).toBeNull();
    now = 60_000; // a minute of scanning
    expect(eta.update(0, 100)).toBeNull();
    now = 70_000;
    expect(eta.update(50, 100)).toBeCloseTo(10); // 50 in 10 s, not 50 in 70 s
    now = 71_000;
    expect(eta.update(50, 200)).toBeNull(); // a new total re-anchors
  });
});

describe('createThrottle', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('delivers the first value at once, then at most one per interval, always the latest', () => {
    const got: number[] = [];
    const t = createThrottle<number>(100, (v) => got.push(v));
    for (let i = 1; i <= 1000; i++) t.push(i);
    expect(got).toEqual([1]);
    vi.advanceTimersByTime(99);
    expect(got).toEqual([1]);
    vi.advanceTimersByTime(1);
    expect(got).toEqual([1, 1000]);
    vi.advanceTimersByTime(500);
    expect(got).toEqual([1, 1000]);
    t.push(1001);
    expect(got).toEqual([1, 1000, 1001]);
  });

  it('flush delivers a pending value now; cancel drops it', () => {
    const got: string[] = [];
    const t = createThrottle<string>(100, (v) => got.push(v));
    t.push('a');
    t.push('b');
    t.flush();
    expect(got).toEqual(['a', 'b']);
    t.push('c');
    t.cancel();
    vi.advanceTimersByTime(1000);
    expect(got).toEqual(['a', 'b']);
  });
});
