// The length ruler: measurements in original-image pixels, their length in mm from the image's pixel spacing
// (PixelSpacing, else ImagerPixelSpacing: [row spacing, column spacing]), or in pixels when the file has none.
// Measurements live in memory per image for the session (not stored in the database: a ruler is a reading aid,
// not an annotation; a reload clears them). The tool: a drag draws one, a click on one deletes it.
import { reactive } from 'vue';
import { screenToImage } from '../lib/view-transform';
import type { Tool } from './tools';

export interface Measure {
  id: number;
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

export interface Length {
  value: number;
  unit: 'mm' | 'px';
}

/** Euclidean length; with spacing [row, column] mm: a column step (x) is column spacing, a row step (y) row spacing. */
export function measureLength(m: Omit<Measure, 'id'>, spacing: readonly [number, number] | null | undefined): Length {
  const dx = m.x2 - m.x1;
  const dy = m.y2 - m.y1;
  if (!spacing) return { value: Math.hypot(dx, dy), unit: 'px' };
  return { value: Math.hypot(dx * spacing[1], dy * spacing[0]), unit: 'mm' };
}

export function formatLength(l: Length): string {
  return l.unit === 'mm' ? `${l.value.toFixed(1)} mm` : `${l.value.toFixed(0)} px`;
}

/** Distance from (x, y) to the segment, same units as the inputs. */
export function distanceToSegment(m: Omit<Measure, 'id'>, x: number, y: number): number {
  const dx = m.x2 - m.x1;
  const dy = m.y2 - m.y1;
  const len2 = dx * dx + dy * dy;
  const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((x - m.x1) * dx + (y - m.y1) * dy) / len2));
  return Math.hypot(x - (m.x1 + t * dx), y - (m.y1 + t * dy));
}

/** Screen pixels within which a click hits a measurement, and below which a press is a click, not a drag. */
export const HIT_PIXELS = 6;

export interface RulerState {
  /** `M`: the left button (no modifier) measures instead of its binding */
  mode: boolean;
  byImage: Map<number, Measure[]>;
  draft: Omit<Measure, 'id'> | null;
  /** bumped on every change (the layer redraws) */
  version: number;
}

let nextId = 1;

export function createRulerState(): RulerState {
  return reactive({ mode: false, byImage: new Map(), draft: null, version: 0 }) as RulerState;
}

/** The main viewer's rulers (one reading room, one set). */
export const ruler = createRulerState();

export function measuresOf(state: RulerState, imageId: number | null | undefined): Measure[] {
  return imageId == null ? [] : (state.byImage.get(imageId) ?? []);
}

export function clearMeasures(state: RulerState, imageId: number | null | undefined): number {
  const n = measuresOf(state, imageId).length;
  if (imageId != null) state.byImage.delete(imageId);
  state.version++;
  return n;
}

export function createRulerTool(state: RulerState, imageId: () => number | null): Tool {
  let start: { sx: number; sy: number; ix: number; iy: number } | null = null;
  return {
    id: 'ruler',
    cursor: 'crosshair',
    onPointerDown(ctx, p) {
      const [ix, iy] = screenToImage(ctx.transform, p.x, p.y);
      start = { sx: p.x, sy: p.y, ix, iy };
    },
    onPointerMove(ctx, p) {
      if (!start || Math.hypot(p.x - start.sx, p.y - start.sy) < HIT_PIXELS) return;
      const [ix, iy] = screenToImage(ctx.transform, p.x, p.y);
      state.draft = { x1: start.ix, y1: start.iy, x2: ix, y2: iy };
      state.version++;
    },
    onPointerUp(ctx, p) {
      const id = imageId();
      const s = start;
      start = null;
      const draft = state.draft;
      state.draft = null;
      state.version++;
      if (!s || id === null) return;
      const list = [...measuresOf(state, id)];
      if (Math.hypot(p.x - s.sx, p.y - s.sy) < HIT_PIXELS || !draft) {
        // a click: delete the measurement under it (the nearest within reach)
        const reach = HIT_PIXELS / ctx.transform.scale;
        const hit = list.map((m, i) => ({ i, d: distanceToSegment(m, s.ix, s.iy) })).filter((h) => h.d <= reach).sort((a, b) => a.d - b.d)[0];
        if (hit) list.splice(hit.i, 1);
      } else {
        const [ix, iy] = screenToImage(ctx.transform, p.x, p.y);
        list.push({ id: nextId++, x1: draft.x1, y1: draft.y1, x2: ix, y2: iy });
      }
      state.byImage.set(id, list);
    },
  };
}
