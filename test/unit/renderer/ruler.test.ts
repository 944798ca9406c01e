// The ruler (lengths in mm from the pixel spacing, px without one; drag adds, click deletes; per image, in memory)
// and the magnifier's source rectangle.
import { describe, expect, it } from 'vitest';
import type { ViewTransform } from '../../../renderer/src/lib/view-transform';
import { loupeSource, createMagnifierState, createMagnifyTool } from '../../../renderer/src/viewer/magnifier';
import { clearMeasures, createRulerState, createRulerTool, distanceToSegment, formatLength, measureLength, measuresOf } from '../../../renderer/src/viewer/ruler';
import type { ToolContext } from '../../../renderer/src/viewer/tools';

function context(transform: ViewTransform): ToolContext {
  return {
    transform,
    setTransform: () => undefined,
    fit: () => undefined,
    window: { center: 0, width: 1 },
    setWindow: () => undefined,
    sensitivity: 1,
    scrollImage: () => undefined,
  };
}

describe('ruler', () => {
  it('measures in mm with [row, column] spacing, in px without', () => {
    // 30 columns x 0.2 mm and 40 rows x 0.1 mm: 6 mm by 4 mm
    expect(measureLength({ x1: 0, y1: 0, x2: 30, y2: 40 }, [0.1, 0.2])).toEqual({ value: Math.hypot(6, 4), unit: 'mm' });
    expect(measureLength({ x1: 0, y1: 0, x2: 30, y2: 40 }, null)).toEqual({ value: 50, unit: 'px' });
    expect(formatLength({ value: 12.345, unit: 'mm' })).toBe('12.3 mm');
    expect(formatLength({ value: 50.4, unit: 'px' })).toBe('50 px');
    expect(distanceToSegment({ x1: 0, y1: 0, x2: 10, y2: 0 }, 5, 3)).toBe(3);
    expect(distanceToSegment({ x1: 0, y1: 0, x2: 10, y2: 0 }, 13, 4)).toBe(5);
  });

  it('a drag adds a measurement in image pixels (rotated view too), a click on it deletes it, per image', () => {
    const state = createRulerState();
    let image = 7;
    const tool = createRulerTool(state, () => image);
    // scale 2, rotated 90° clockwise: screen (sx, sy) = 2 * (-y, x) + (100, 0)
    const ctx = context({ scale: 2, tx: 100, ty: 0, orient: { rotation: 1, flip: false } });
    tool.onPointerDown!(ctx, { x: 100, y: 0 });
    tool.onPointerMove!(ctx, { x: 100, y: 40 });
    expect(state.draft).toEqual({ x1: 0, y1: 0, x2: 20, y2: 0 });
    tool.onPointerUp!(ctx, { x: 100, y: 40 });
    expect(state.draft).toBeNull();
    expect(measuresOf(state, 7)).toEqual([expect.objectContaining({ x1: 0, y1: 0, x2: 20, y2: 0 })]);
    expect(measuresOf(state, 8)).toEqual([]);
    // a click far from it: nothing; a click on it: deleted
    tool.onPointerDown!(ctx, { x: 60, y: 20 });
    tool.onPointerUp!(ctx, { x: 60, y: 20 });
    expect(measuresOf(state, 7)).toHaveLength(1);
    tool.onPointerDown!(ctx, { x: 102, y: 20 });
    tool.onPointerUp!(ctx, { x: 102, y: 20 });
    expect(measuresOf(state, 7)).toEqual([]);
    // another image keeps its own; clearing says how many went
    image = 8;
    tool.onPointerDown!(ctx, { x: 100, y: 0 });
    tool.onPointerMove!(ctx, { x: 100, y: 40 });
    tool.onPointerUp!(ctx, { x: 100, y: 40 });
    expect(clearMeasures(state, 8)).toBe(1);
    expect(measuresOf(state, 8)).toEqual([]);
  });
});

describe('magnifier', () => {
  it('magnifies a square around the cursor, in device pixels, while held', () => {
    expect(loupeSource({ x: 100, y: 50 }, 2, 4, 200)).toEqual({ sx: 150, sy: 50, sw: 100, sh: 100 });
    const state = createMagnifierState();
    const tool = createMagnifyTool(state);
    const ctx = context({ scale: 1, tx: 0, ty: 0 });
    tool.onPointerDown!(ctx, { x: 5, y: 6 });
    tool.onPointerMove!(ctx, { x: 7, y: 8 });
    expect(state.at).toEqual({ x: 7, y: 8 });
    tool.onPointerUp!(ctx, { x: 7, y: 8 });
    expect(state.at).toBeNull();
  });

  it('the wheel while held sets the power: up more, down less, one step per notch, 2x to 8x', () => {
    const state = createMagnifierState();
    expect(state.magnification).toBe(3);
    const tool = createMagnifyTool(state);
    const ctx = context({ scale: 1, tx: 0, ty: 0 });
    const wheel = (deltaY: number, deltaMode = 0) => tool.onWheel!(ctx, { x: 0, y: 0, deltaY, deltaMode });
    wheel(-100);
    expect(state.magnification).toBe(4);
    wheel(-40);
    wheel(-40);
    expect(state.magnification).toBe(4); // a trackpad's small deltas add up
    wheel(-40);
    expect(state.magnification).toBe(5);
    for (let i = 0; i < 10; i++) wheel(-3, 1); // line mode: a notch per event
    expect(state.magnification).toBe(8);
    for (let i = 0; i < 10; i++) wheel(100);
    expect(state.magnification).toBe(2);
    expect(loupeSource({ x: 100, y: 50 }, 1, state.magnification, 200)).toEqual({ sx: 50, sy: 0, sw: 100, sh: 100 });
  });
});
