import { describe, expect, it } from 'vitest';
import { computeVirtualWindow, pagesForRange, pagesToEvict, scrollTopToReveal } from '../../../renderer/src/lib/virtual-window';

describe('computeVirtualWindow', () => {
  it('renders only the visible rows plus overscan at 100,000 items', () => {
    const w = computeVirtualWindow({ scrollTop: 46 * 50_000 + 10, viewportHeight: 800, rowHeight: 46, total: 100_000, overscan: 10 });
    expect(w.totalHeight).toBe(4_600_000);
    expect(w.visibleStart).toBe(50_000);
    expect(w.visibleEnd).toBe(50_018); // ceil((2_300_010 + 800) / 46)
    expect(w.start).toBe(49_990);
    expect(w.end).toBe(50_028);
    expect(w.end - w.start).toBeLessThan(60);
    expect(w.offsetTop).toBe(49_990 * 46);
  });

  it('clamps at the top and at the bottom', () => {
    const top = computeVirtualWindow({ scrollTop: -30, viewportHeight: 100, rowHeight: 10, total: 1000, overscan: 5 });
    expect(top.start).toBe(0);
    expect(top.end).toBe(15);
    const bottom = computeVirtualWindow({ scrollTop: 1e9, viewportHeight: 100, rowHeight: 10, total: 1000, overscan: 5 });
    expect(bottom.end).toBe(1000);
    expect(bottom.visibleStart).toBe(990);
    expect(bottom.start).toBe(985);
  });

  it('handles an empty list and a list shorter than the viewport', () => {
    expect(computeVirtualWindow({ scrollTop: 0, viewportHeight: 500, rowHeight: 20, total: 0, overscan: 3 })).toMatchObject({ start: 0, end: 0, totalHeight: 0 });
    const short = computeVirtualWindow({ scrollTop: 0, viewportHeight: 500, rowHeight: 20, total: 4, overscan: 3 });
    expect([short.start, short.end, short.totalHeight]).toEqual([0, 4, 80]);
  });

  it('renders at least one row before the viewport has been measured', () => {
    const w = computeVirtualWindow({ scrollTop: 0, viewportHeight: 0, rowHeight: 20, total: 10, overscan: 0 });
    expect(w.end - w.start).toBe(1);
  });
});

describe('pages and scrolling', () => {
  it('maps row ranges to pages', () => {
    expect(pagesForRange(0, 1, 200)).toEqual([0]);
    expect(pagesForRange(190, 210, 200)).toEqual([0, 1]);
    expect(pagesForRange(200, 400, 200)).toEqual([1]);
    expect(pagesForRange(5, 5, 200)).toEqual([]);
    expect(pagesForRange(99_950, 100_000, 200)).toEqual([499]);
  });

  it('reveals a row by scrolling as little as possible', () => {
    expect(scrollTopToReveal(5, 0, 100, 20)).toBe(20); // row 5 bottom 120 -> scroll to 20
    expect(scrollTopToReveal(2, 100, 100, 20)).toBe(40); // above -> top aligned
    expect(scrollTopToReveal(6, 100, 100, 20)).toBe(100); // already visible
  });

  it('evicts the pages farthest from the current one', () => {
    expect(pagesToEvict([0, 1, 2, 3], 2, 4)).toEqual([]);
    expect(pagesToEvict([0, 1, 2, 3, 10], 2, 3).sort((a, b) => a - b)).toEqual([0, 10]);
  });
});
