// Viewer tools (Cornerstone3D/OHIF style): each tool turns pointer input into changes of the view transform or
// the display (window/level), through a small ToolContext, and knows nothing of buttons, the DOM or Vue.
// Which button drives which tool is the mouse-binding table in lib/keymap.ts; the viewport's input
// (viewer/use-tool-input.ts) resolves a press through it and feeds the chosen tool until release.
// A drag tool keeps its state between onPointerDown and onPointerUp; a new tool (box draw/edit) is one more
// object here and one more ToolId, nothing else.

import type { ToolId } from '../lib/keymap';
import { wheelZoomFactor, panBy, zoomAt, type OrientOp, type ViewTransform } from '../lib/view-transform';
import { dragWindowLevel, type WindowLevel } from '../lib/window-level';

/** What a tool may read and change. */
export interface ToolContext {
  /** image -> screen mapping, CSS pixels */
  readonly transform: ViewTransform;
  /** a user change of the view: the image stops following viewport resizes (fit) */
  setTransform(t: ViewTransform): void;
  /** whole image visible, following resizes again */
  fit(): void;
  readonly window: WindowLevel;
  /** `commit` remembers it for the dataset (end of a drag); false while dragging */
  setWindow(w: WindowLevel, commit: boolean): void;
  /** window/level drag sensitivity, modality units per CSS pixel */
  readonly sensitivity: number;
  /** show the study's next (+1) or previous (-1) image; nothing past either end */
  scrollImage(step: 1 | -1): void;
}

/** A pointer position in CSS pixels from the viewport's top-left corner. */
export interface ToolPoint {
  x: number;
  y: number;
}

export interface ToolWheel extends ToolPoint {
  deltaY: number;
  /** WheelEvent.deltaMode: 0 pixels, 1 lines, 2 pages */
  deltaMode: number;
}

export interface Tool {
  readonly id: ToolId;
  /** CSS cursor while the tool drags (null: the viewport's default) */
  readonly cursor: string | null;
  onPointerDown?(ctx: ToolContext, p: ToolPoint): void;
  onPointerMove?(ctx: ToolContext, p: ToolPoint): void;
  /** release or cancel */
  onPointerUp?(ctx: ToolContext, p: ToolPoint): void;
  onWheel?(ctx: ToolContext, w: ToolWheel): void;
  onDoubleClick?(ctx: ToolContext, p: ToolPoint): void;
}

/** Left-drag by default (OHIF): ↔ width, ↕ level, through lib/window-level's dragWindowLevel; saved on release. */
export function createWindowLevelTool(): Tool {
  let start: { x: number; y: number; window: WindowLevel } | null = null;
  return {
    id: 'windowLevel',
    cursor: 'ns-resize',
    onPointerDown(ctx, p) {
      start = { x: p.x, y: p.y, window: { ...ctx.window } };
    },
    onPointerMove(ctx, p) {
      if (!start) return;
      ctx.setWindow(dragWindowLevel(start.window, p.x - start.x, p.y - start.y, ctx.sensitivity), false);
    },
    onPointerUp(ctx) {
      if (!start) return;
      start = null;
      ctx.setWindow(ctx.window, true);
    },
  };
}

/** The image follows the pointer. */
export function createPanTool(): Tool {
  let last: ToolPoint | null = null;
  return {
    id: 'pan',
    cursor: 'grabbing',
    onPointerDown(_ctx, p) {
      last = { x: p.x, y: p.y };
    },
    onPointerMove(ctx, p) {
      if (!last) return;
      ctx.setTransform(panBy(ctx.transform, p.x - last.x, p.y - last.y));
      last = { x: p.x, y: p.y };
    },
    onPointerUp() {
      last = null;
    },
  };
}

/** Drag zoom: per CSS pixel of vertical motion (down = in, as Cornerstone3D's ZoomTool). */
export const DRAG_ZOOM_PER_PIXEL = 0.005;

/** Wheel: zoom around the cursor. Drag (when bound to a button): zoom around the press point. */
export function createZoomTool(): Tool {
  let start: { x: number; y: number; transform: ViewTransform } | null = null;
  return {
    id: 'zoom',
    cursor: 'zoom-in',
    onWheel(ctx, w) {
      ctx.setTransform(zoomAt(ctx.transform, wheelZoomFactor(w.deltaY, w.deltaMode), w.x, w.y));
    },
    onPointerDown(ctx, p) {
      start = { x: p.x, y: p.y, transform: ctx.transform };
    },
    onPointerMove(ctx, p) {
      if (!start) return;
      ctx.setTransform(zoomAt(start.transform, Math.exp((p.y - start.y) * DRAG_ZOOM_PER_PIXEL), start.x, start.y));
    },
    onPointerUp() {
      start = null;
    },
  };
}

/** Fit the whole image (double-click by default; as a drag binding it fits on press). */
export function createFitTool(): Tool {
  return {
    id: 'fit',
    cursor: null,
    onDoubleClick: (ctx) => ctx.fit(),
    onPointerDown: (ctx) => ctx.fit(),
  };
}

/** Wheel travel, in pixels, that moves one image (a mouse notch is about 100 px; a trackpad sends many small deltas). */
export const SCROLL_PIXELS_PER_IMAGE = 100;

/**
 * Wheel: the study's next image (down) or previous one (up), OHIF's stack scroll. Deltas add up, so a trackpad's
 * stream of small deltas moves one image per SCROLL_PIXELS_PER_IMAGE, and a notch moves exactly one.
 */
export function createScrollTool(): Tool {
  let travel = 0;
  return {
    id: 'scroll',
    cursor: null,
    onWheel(ctx, w) {
      // line mode (Firefox): a notch is 3 lines; page mode: a page is an image
      const pixels = w.deltaMode === 1 ? (w.deltaY * SCROLL_PIXELS_PER_IMAGE) / 3 : w.deltaMode === 2 ? w.deltaY * SCROLL_PIXELS_PER_IMAGE : w.deltaY;
      // a change of direction starts afresh
      travel = Math.sign(travel) === -Math.sign(pixels) ? pixels : travel + pixels;
      while (Math.abs(travel) >= SCROLL_PIXELS_PER_IMAGE) {
        const step = travel > 0 ? 1 : -1;
        travel -= step * SCROLL_PIXELS_PER_IMAGE;
        ctx.scrollImage(step);
      }
    },
  };
}

/** Until a viewer gives it the real one (viewer/box-tool.ts, which needs the stores): a box tool that does nothing. */
const NO_BOX_TOOL: Tool = { id: 'box', cursor: null };

/** One instance of every tool, by id; the box tool is passed in by the viewer that edits boxes; the ruler and the
 * magnifier need the pane's state (viewer/use-image-pane.ts passes them), so they do nothing here. */
export function createTools(box: Tool = NO_BOX_TOOL): Record<ToolId, Tool> {
  return {
    box,
    ruler: { id: 'ruler', cursor: null },
    magnify: { id: 'magnify', cursor: null },
    windowLevel: createWindowLevelTool(),
    pan: createPanTool(),
    zoom: createZoomTool(),
    fit: createFitTool(),
    scroll: createScrollTool(),
  };
}

/** What the viewer component offers the keyboard (view.fit, view.zoomIn, preset.N, ...). */
export interface ViewerControls {
  fit(): void;
  zoomBy(factor: number): void;
  resetView(): void;
  /** rotate 90° or flip, about the viewport centre (every layer follows; reset restores) */
  reorient(op: OrientOp): void;
  /** `M`: ruler mode on/off (the left button measures) */
  toggleRuler(): void;
  /** the shown image's measurements deleted */
  clearMeasures(): void;
  applyPreset(n: number): void;
  toggleInvert(): void;
}
