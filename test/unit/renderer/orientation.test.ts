import { describe, expect, it } from 'vitest';
import { formatSpacing, orientationOf } from '../../../renderer/src/lib/orientation';

describe('orientation markers', () => {
  it('take Patient Orientation first: its row direction is the right edge', () => {
    expect(orientationOf('PA', ['L', 'F'])).toEqual({ left: 'R', right: 'L', source: 'from Patient Orientation' });
    expect(orientationOf('PA', ['R', 'F'])).toMatchObject({ left: 'L', right: 'R' }); // a flipped image says so
    expect(orientationOf(null, ['lp', 'F'])).toMatchObject({ left: 'RA', right: 'LP' });
  });

  it('assume the standard display for PA and AP views, and say it is an assumption', () => {
    expect(orientationOf('PA')).toEqual({ left: 'R', right: 'L', source: 'assumed from the PA view (standard display)' });
    expect(orientationOf(' ap ')).toMatchObject({ left: 'R', right: 'L' });
    expect(orientationOf('PA', ['X', 'F'])).toMatchObject({ source: 'assumed from the PA view (standard display)' });
  });

  it('are unknown for lateral views and images without metadata', () => {
    expect(orientationOf('LL')).toBeNull();
    expect(orientationOf('LATERAL')).toBeNull();
    expect(orientationOf(null)).toBeNull();
    expect(orientationOf(undefined, [])).toBeNull();
  });

  it('format the pixel spacing', () => {
    expect(formatSpacing([0.139, 0.139])).toBe('0.139 mm/px');
    expect(formatSpacing([0.15, 0.1234])).toBe('0.123 x 0.15 mm/px');
    expect(formatSpacing(null)).toBeNull();
  });
});
