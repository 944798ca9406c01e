import { describe, expect, it } from 'vitest';
import { formatSpacing, formatStudyDate, orientationOf } from '../../../renderer/src/lib/orientation';

describe('orientation markers', () => {
  it('take Patient Orientation first: its row direction is the right edge', () => {
    expect(orientationOf('PA', ['L', 'F'])).toEqual({ left: 'R', right: 'L', top: 'H', bottom: 'F', source: 'from Patient Orientation' });
    expect(orientationOf('PA', ['R', 'F'])).toMatchObject({ left: 'L', right: 'R' }); // a flipped image says so
    expect(orientationOf(null, ['lp', 'F'])).toMatchObject({ left: 'RA', right: 'LP' });
  });

  it('assume the standard display for PA and AP views, and say it is an assumption', () => {
    expect(orientationOf('PA')).toEqual({ left: 'R', right: 'L', top: 'H', bottom: 'F', source: 'assumed from the PA view (standard display)' });
    expect(orientationOf(' ap ')).toMatchObject({ left: 'R', right: 'L' });
    expect(orientationOf('PA', ['X', 'F'])).toMatchObject({ source: 'assumed from the PA view (standard display)' });
  });

  it('follow the viewer rotation and flips', () => {
    const po = ['L', 'F'];
    // mirrored left-right: the patient's right is now on the right edge
    expect(orientationOf('PA', po, { rotation: 0, flip: true })).toMatchObject({ left: 'L', right: 'R', top: 'H', bottom: 'F' });
    // a quarter turn clockwise: the head (top) goes to the right edge, the patient's right (left edge) to the top
    expect(orientationOf('PA', po, { rotation: 1, flip: false })).toMatchObject({ left: 'F', right: 'H', top: 'R', bottom: 'L' });
    expect(orientationOf('PA', po, { rotation: 2, flip: false })).toMatchObject({ left: 'L', right: 'R', top: 'F', bottom: 'H' });
    expect(orientationOf('PA', po, { rotation: 3, flip: false })).toMatchObject({ left: 'H', right: 'F', top: 'L', bottom: 'R' });
    // a vertical flip (R^2 F) keeps R/L and swaps head and feet
    expect(orientationOf('AP', null, { rotation: 2, flip: true })).toMatchObject({ left: 'R', right: 'L', top: 'F', bottom: 'H' });
    // a column direction that is not known: unknown once it would be at the sides
    expect(orientationOf(null, ['L', '?'], { rotation: 1, flip: false })).toBeNull();
    expect(orientationOf(null, ['L', '?'])).toEqual({ left: 'R', right: 'L', source: 'from Patient Orientation' });
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
    expect(formatStudyDate('21800506')).toBe('2180-05-06');
    expect(formatStudyDate('2019-01-02')).toBe('2019-01-02');
    expect(formatStudyDate(null)).toBeNull();
  });
});
