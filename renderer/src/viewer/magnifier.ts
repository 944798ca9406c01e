// The magnifier (OHIF's Magnify): while its button is held (Shift+left-drag by default, any drag slot in the
// settings) a loupe follows the cursor showing what is under it 3x larger (the wheel, while it is held, changes
// that from 2x to 8x; remembered). It copies the viewport's rendered WebGL canvas (preserveDrawingBuffer), so it
// shows the image at the current window/level with the heatmap at the device's resolution, and over it a copy of
// the element layers (boxes, isolines, rulers) scaled the same way.
import { reactive } from 'vue';
import type { Tool, ToolPoint } from './tools';

export const MAGNIFICATION = 3;
export const MIN_MAGNIFICATION = 2;
export const MAX_MAGNIFICATION = 8;
/** wheel travel, pixels, per step of magnification (a mouse notch is about 100 px) */
const WHEEL_STEP_PX = 100;
const STORAGE_KEY = 'sightline.magnification';
/** the loupe's diameter, CSS pixels */
export const LOUPE_SIZE = 200;

export interface MagnifierState {
  /** where the loupe is (CSS pixels in the viewport), null when not held */
  at: ToolPoint | null;
  magnification: number;
}

function storedMagnification(): number {
  const v = Number(globalThis.localStorage?.getItem(STORAGE_KEY));
  return Number.isInteger(v) && v >= MIN_MAGNIFICATION && v <= MAX_MAGNIFICATION ? v : MAGNIFICATION;
}

export function createMagnifierState(): MagnifierState {
  return reactive({ at: null, magnification: storedMagnification() });
}

/** The source rectangle (device pixels) the loupe magnifies around (x, y): centred there, LOUPE_SIZE / MAGNIFICATION wide. */
export function loupeSource(at: ToolPoint, dpr: number, magnification = MAGNIFICATION, size = LOUPE_SIZE): { sx: number; sy: number; sw: number; sh: number } {
  const side = (size / magnification) * dpr;
  return { sx: at.x * dpr - side / 2, sy: at.y * dpr - side / 2, sw: side, sh: side };
}

export function createMagnifyTool(state: MagnifierState): Tool {
  let travel = 0;
  return {
    id: 'magnify',
    cursor: 'none',
    onPointerDown(_ctx, p) {
      state.at = { x: p.x, y: p.y };
    },
    onPointerMove(_ctx, p) {
      if (state.at) state.at = { x: p.x, y: p.y };
    },
    onPointerUp() {
      state.at = null;
      travel = 0;
    },
    /** while held (use-tool-input gives the wheel to the dragging tool): wheel up magnifies more, down less */
    onWheel(_ctx, w) {
      travel += w.deltaMode === 0 ? w.deltaY : Math.sign(w.deltaY) * WHEEL_STEP_PX;
      const steps = Math.trunc(travel / WHEEL_STEP_PX);
      if (!steps) return;
      travel -= steps * WHEEL_STEP_PX;
      const next = Math.min(MAX_MAGNIFICATION, Math.max(MIN_MAGNIFICATION, state.magnification - steps));
      if (next === state.magnification) return;
      state.magnification = next;
      globalThis.localStorage?.setItem(STORAGE_KEY, String(next));
    },
  };
}
