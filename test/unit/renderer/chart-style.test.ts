import { describe, expect, it } from 'vitest';
import { errorBar } from '../../../renderer/src/lib/chart-style';

describe('errorBar', () => {
  it('draws the stem from low to high and a cap of the given reach at each end', () => {
    const bar = errorBar(50, 80, 20, 4, '#ddd');
    expect(bar.type).toBe('group');
    expect(bar.children.map((c) => c.shape)).toEqual([
      { x1: 50, y1: 80, x2: 50, y2: 20 },
      { x1: 46, y1: 80, x2: 54, y2: 80 },
      { x1: 46, y1: 20, x2: 54, y2: 20 },
    ]);
    expect(bar.children.every((c) => c.type === 'line' && c.style.stroke === '#ddd' && c.style.lineWidth === 1.2)).toBe(true);
  });
});
