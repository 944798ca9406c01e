import { describe, expect, it } from 'vitest';
import { fitTransform, type ViewTransform } from '../../../renderer/src/lib/view-transform';
import { dragWindowLevel, type WindowLevel } from '../../../renderer/src/lib/window-level';
import {
  createFitTool,
  createPanTool,
  createScrollTool,
  createTools,
  createWindowLevelTool,
  createZoomTool,
  SCROLL_PIXELS_PER_IMAGE,
  type ToolContext,
} from '../../../renderer/src/viewer/tools';

/** A ToolContext over plain state, recording what the tools did. */
function fakeContext(init: Partial<{ transform: ViewTransform; window: WindowLevel; sensitivity: number }> = {}) {
  const state = {
    transform: init.transform ?? { scale: 2, tx: 10, ty: 20 },
    window: init.window ?? { center: 2048, width: 4000 },
    fitted: true,
    commits: [] as WindowLevel[],
    fits: 0,
    scrolls: [] as number[],
  };
  const ctx: ToolContext = {
    get transform() {
      return state.transform;
    },
    setTransform(t) {
      state.transform = t;
      state.fitted = false;
    },
    fit() {
      state.transform = fitTransform(100, 100, 400, 400);
      state.fitted = true;
      state.fits++;
    },
    get window() {
      return state.window;
    },
    setWindow(w, commit) {
      state.window = { center: w.center, width: w.width };
      if (commit) state.commits.push(state.window);
    },
    sensitivity: init.sensitivity ?? 8,
    scrollImage(step) {
      state.scrolls.push(step);
    },
  };
  return { ctx, state };
}

describe('window/level tool', () => {
  it('follows dragWindowLevel from the press point and commits once, on release', () => {
    const { ctx, state } = fakeContext();
    const tool = createWindowLevelTool();
    tool.onPointerDown!(ctx, { x: 100, y: 100 });
    tool.onPointerMove!(ctx, { x: 130, y: 90 });
    expect(state.window).toEqual(dragWindowLevel({ center: 2048, width: 4000 }, 30, -10, 8));
    tool.onPointerMove!(ctx, { x: 250, y: 220 }); // relative to the press, not to the last move
    const expected = dragWindowLevel({ center: 2048, width: 4000 }, 150, 120, 8);
    expect(state.window).toEqual(expected);
    expect(state.commits).toEqual([]);
    tool.onPointerUp!(ctx, { x: 250, y: 220 });
    expect(state.commits).toEqual([expected]);
    expect(state.transform).toEqual({ scale: 2, tx: 10, ty: 20 }); // the view is left alone
  });

  it('keeps the width at least 1 (dragWindowLevel clamps)', () => {
    const { ctx, state } = fakeContext({ window: { center: 100, width: 50 }, sensitivity: 1 });
    const tool = createWindowLevelTool();
    tool.onPointerDown!(ctx, { x: 0, y: 0 });
    tool.onPointerMove!(ctx, { x: -500, y: 0 });
    expect(state.window.width).toBe(1);
  });

  it('ignores moves and releases without a press', () => {
    const { ctx, state } = fakeContext();
    const tool = createWindowLevelTool();
    tool.onPointerMove!(ctx, { x: 50, y: 50 });
    tool.onPointerUp!(ctx, { x: 50, y: 50 });
    expect(state.window).toEqual({ center: 2048, width: 4000 });
    expect(state.commits).toEqual([]);
  });
});

describe('pan tool', () => {
  it('moves the image with the pointer, step by step, and leaves fit', () => {
    const { ctx, state } = fakeContext();
    const tool = createPanTool();
    tool.onPointerDown!(ctx, { x: 5, y: 5 });
    tool.onPointerMove!(ctx, { x: 15, y: 0 });
    tool.onPointerMove!(ctx, { x: 20, y: 10 });
    expect(state.transform).toEqual({ scale: 2, tx: 25, ty: 25 });
    expect(state.fitted).toBe(false);
    tool.onPointerUp!(ctx, { x: 20, y: 10 });
    tool.onPointerMove!(ctx, { x: 90, y: 90 }); // released: no more panning
    expect(state.transform).toEqual({ scale: 2, tx: 25, ty: 25 });
  });
});

describe('zoom tool', () => {
  const imageAt = (t: ViewTransform, sx: number, sy: number) => [(sx - t.tx) / t.scale, (sy - t.ty) / t.scale];

  it('zooms in on a wheel notch up, keeping the image point under the cursor fixed', () => {
    const { ctx, state } = fakeContext();
    const before = imageAt(state.transform, 200, 150);
    createZoomTool().onWheel!(ctx, { x: 200, y: 150, deltaY: -100, deltaMode: 0 });
    expect(state.transform.scale).toBeCloseTo(2 * Math.exp(0.11), 10);
    const after = imageAt(state.transform, 200, 150);
    expect(after[0]).toBeCloseTo(before[0], 10);
    expect(after[1]).toBeCloseTo(before[1], 10);
    expect(state.fitted).toBe(false);
  });

  it('zooms out on a wheel notch down (line mode counts 16 px per line)', () => {
    const { ctx, state } = fakeContext();
    createZoomTool().onWheel!(ctx, { x: 0, y: 0, deltaY: 3, deltaMode: 1 });
    expect(state.transform.scale).toBeCloseTo(2 * Math.exp(-48 * 0.0011), 10);
  });

  it('zooms by dragging (down = in) around the press point, when bound to a button', () => {
    const { ctx, state } = fakeContext();
    const tool = createZoomTool();
    const anchor = imageAt(state.transform, 120, 80);
    tool.onPointerDown!(ctx, { x: 120, y: 80 });
    tool.onPointerMove!(ctx, { x: 140, y: 180 });
    expect(state.transform.scale).toBeGreaterThan(2);
    const at = imageAt(state.transform, 120, 80);
    expect(at[0]).toBeCloseTo(anchor[0], 10);
    expect(at[1]).toBeCloseTo(anchor[1], 10);
    tool.onPointerMove!(ctx, { x: 140, y: 80 }); // back to the press height: back to the start scale
    expect(state.transform.scale).toBeCloseTo(2, 10);
    tool.onPointerUp!(ctx, { x: 140, y: 80 });
  });
});

describe('scroll tool (wheel scrolls the study\'s images)', () => {
  const wheel = (deltaY: number, deltaMode = 0) => ({ x: 5, y: 5, deltaY, deltaMode });

  it('moves one image per mouse notch, down = next, up = previous', () => {
    const { ctx, state } = fakeContext();
    const tool = createScrollTool();
    tool.onWheel!(ctx, wheel(100));
    tool.onWheel!(ctx, wheel(100));
    tool.onWheel!(ctx, wheel(-100));
    expect(state.scrolls).toEqual([1, 1, -1]);
    // Firefox's line mode: a notch is 3 lines; page mode: a page is one image
    tool.onWheel!(ctx, wheel(3, 1));
    tool.onWheel!(ctx, wheel(-1, 2));
    expect(state.scrolls).toEqual([1, 1, -1, 1, -1]);
  });

  it('adds up a trackpad\'s small deltas and starts afresh when the direction changes', () => {
    const { ctx, state } = fakeContext();
    const tool = createScrollTool();
    for (let i = 0; i < 9; i++) tool.onWheel!(ctx, wheel(SCROLL_PIXELS_PER_IMAGE / 10));
    expect(state.scrolls).toEqual([]);
    tool.onWheel!(ctx, wheel(SCROLL_PIXELS_PER_IMAGE / 10));
    expect(state.scrolls).toEqual([1]);
    tool.onWheel!(ctx, wheel(60));
    tool.onWheel!(ctx, wheel(-60)); // the 60 down are forgotten
    expect(state.scrolls).toEqual([1]);
    tool.onWheel!(ctx, wheel(-40));
    expect(state.scrolls).toEqual([1, -1]);
    tool.onWheel!(ctx, wheel(250)); // a fast flick: two images
    expect(state.scrolls).toEqual([1, -1, 1, 1]);
  });
});

describe('fit tool and the tool set', () => {
  it('fits on double-click', () => {
    const { ctx, state } = fakeContext();
    ctx.setTransform({ scale: 9, tx: 0, ty: 0 });
    createFitTool().onDoubleClick!(ctx, { x: 1, y: 1 });
    expect(state.fits).toBe(1);
    expect(state.fitted).toBe(true);
  });

  it('has one tool per id, with the cursors the viewer showed before', () => {
    const tools = createTools();
    for (const [id, tool] of Object.entries(tools)) expect(tool.id).toBe(id);
    expect(tools.windowLevel.cursor).toBe('ns-resize');
    expect(tools.pan.cursor).toBe('grabbing');
  });
});
