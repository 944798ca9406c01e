// The magnifier (OHIF's Magnify): while its button is held (Shift+left-drag by default, any drag slot in the
// settings) a loupe follows the cursor showing what is under it 3x larger. It copies the viewport's rendered
// WebGL canvas (preserveDrawingBuffer), so it shows the image at the current window/level with the heatmap, at
// the device's resolution; the SVG layers (boxes, isolines, rulers) are not in it.
import { reactive } from 'vue';
import type { Tool, ToolPoint } from './tools';

export const MAGNIFICATION = 3;
/** the loupe's diameter, CSS pixels */
export const LOUPE_SIZE = 200;

export interface MagnifierState {
  /** where the loupe is (CSS pixels in the viewport), null when not held */
  at: ToolPoint | null;
}

export function createMagnifierState(): MagnifierState {
  return reactive({ at: null });
}

/** The source rectangle (device pixels) the loupe magnifies around (x, y): centred there, LOUPE_SIZE / MAGNIFICATION wide. */
export function loupeSource(at: ToolPoint, dpr: number, magnification = MAGNIFICATION, size = LOUPE_SIZE): { sx: number; sy: number; sw: number; sh: number } {
  const side = (size / magnification) * dpr;
  return { sx: at.x * dpr - side / 2, sy: at.y * dpr - side / 2, sw: side, sh: side };
}

export function createMagnifyTool(state: MagnifierState): Tool {
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
    },
  };
}
