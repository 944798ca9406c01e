// The box tool (box mode, `n`): the left mouse draws a box for the active phrase on empty image, selects a box by a
// click, moves it by its body and resizes it by its handles. Geometry is in original-image pixels, whole pixels,
// clamped to the image. The tool keeps only the drag; what is selected and stored is the boxes store's (through a
// BoxToolTarget, so the tool is tested without Pinia). Esc during a drag drops it (the store's generation moves on).

import { screenToImage } from '../lib/view-transform';
import { useBoxesStore } from '../stores/boxes';
import { useViewerStore } from '../stores/viewer';
import { boxHandles, type Box, type BoxDraft, type BoxGeometry, type HandleName } from './boxes-layer';
import type { Tool } from './tools';

/** Handle and edge grab distance, CSS pixels (converted to image pixels at the current zoom). */
export const GRAB_PIXELS = 7;
/** A press that moves less than this (image pixels) draws nothing / changes nothing: a click. */
export const MIN_BOX_PIXELS = 2;

export type BoxPart = HandleName | 'body';

export interface BoxHit {
  id: number;
  part: BoxPart;
}

/** What is under an image point: the selected box's handles first, then the smallest box containing it. */
export function hitBox(boxes: readonly Box[], selectedId: number | null, ix: number, iy: number, grab: number): BoxHit | null {
  const sel = boxes.find((b) => b.id === selectedId);
  if (sel) {
    for (const [name, hx, hy] of boxHandles(sel)) {
      if (Math.abs(ix - hx) <= grab && Math.abs(iy - hy) <= grab) return { id: sel.id, part: name };
    }
  }
  const inside = boxes.filter((b) => ix >= b.x - grab && ix <= b.x + b.w + grab && iy >= b.y - grab && iy <= b.y + b.h + grab);
  if (!inside.length) return null;
  // the selected one keeps the press; else the smallest (a box inside another stays reachable)
  const best = inside.find((b) => b.id === selectedId) ?? inside.reduce((a, b) => (b.w * b.h < a.w * a.h ? b : a));
  return { id: best.id, part: 'body' };
}

const clamp = (v: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, v));

/** The rectangle between two points, whole pixels, clamped to a columns x rows image. */
export function rectBetween(ax: number, ay: number, bx: number, by: number, columns: number, rows: number): BoxGeometry {
  const x0 = clamp(Math.round(Math.min(ax, bx)), 0, columns);
  const x1 = clamp(Math.round(Math.max(ax, bx)), 0, columns);
  const y0 = clamp(Math.round(Math.min(ay, by)), 0, rows);
  const y1 = clamp(Math.round(Math.max(ay, by)), 0, rows);
  return { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
}

/** A box dragged by `part` through (dx, dy) image pixels: moved whole inside the image, or an edge/corner moved. */
export function dragBox(b: BoxGeometry, part: BoxPart, dx: number, dy: number, columns: number, rows: number): BoxGeometry {
  if (part === 'body') {
    const x = clamp(Math.round(b.x + dx), 0, Math.max(0, columns - b.w));
    const y = clamp(Math.round(b.y + dy), 0, Math.max(0, rows - b.h));
    return { x, y, w: b.w, h: b.h };
  }
  let [left, top, right, bottom] = [b.x, b.y, b.x + b.w, b.y + b.h];
  if (part.includes('w')) left += dx;
  if (part.includes('e')) right += dx;
  if (part.includes('n')) top += dy;
  if (part.includes('s')) bottom += dy;
  // dragged past the opposite edge: the box flips, as in every drawing program
  return rectBetween(left, top, right, bottom, columns, rows);
}

const sameGeometry = (a: BoxGeometry, b: BoxGeometry) => a.x === b.x && a.y === b.y && a.w === b.w && a.h === b.h;

export interface BoxToolTarget {
  image(): { columns: number; rows: number } | null;
  boxes(): readonly Box[];
  selectedId(): number | null;
  select(id: number | null): void;
  setDraft(d: BoxDraft | null): void;
  /** moves on when Esc drops a drag */
  generation(): number;
  create(g: BoxGeometry): void;
  change(id: number, g: BoxGeometry): void;
}

/** The boxes store and the viewer's image (looked up when used: the tools are made before Pinia is needed). */
export function storeTarget(): BoxToolTarget {
  const store = () => useBoxesStore();
  return {
    image: () => {
      const img = useViewerStore().image;
      return img ? { columns: img.pixel.columns, rows: img.pixel.rows } : null;
    },
    boxes: () => store().boxes,
    selectedId: () => store().selectedId,
    select: (id) => store().select(id),
    setDraft: (d) => (store().draft = d),
    generation: () => store().generation,
    create: (g) => void store().create(g),
    change: (id, g) => void store().change(id, g),
  };
}

type Drag =
  | { kind: 'draw'; ix: number; iy: number; generation: number; geometry: BoxGeometry | null }
  | { kind: 'edit'; id: number; part: BoxPart; from: BoxGeometry; ix: number; iy: number; generation: number; geometry: BoxGeometry };

export function createBoxTool(target: BoxToolTarget = storeTarget()): Tool {
  let drag: Drag | null = null;
  const live = () => drag !== null && drag.generation === target.generation();
  return {
    id: 'box',
    cursor: 'crosshair',
    onPointerDown(ctx, p) {
      const size = target.image();
      if (!size) return;
      const [ix, iy] = screenToImage(ctx.transform, p.x, p.y);
      const hit = hitBox(target.boxes(), target.selectedId(), ix, iy, GRAB_PIXELS / ctx.transform.scale);
      const generation = target.generation();
      if (hit) {
        const b = target.boxes().find((x) => x.id === hit.id)!;
        const from = { x: b.x, y: b.y, w: b.w, h: b.h };
        target.select(hit.id);
        drag = { kind: 'edit', id: hit.id, part: hit.part, from, ix, iy, generation, geometry: from };
      } else {
        target.select(null);
        drag = { kind: 'draw', ix: clamp(ix, 0, size.columns), iy: clamp(iy, 0, size.rows), generation, geometry: null };
      }
    },
    onPointerMove(ctx, p) {
      const size = target.image();
      if (!drag || !live() || !size) return;
      const [ix, iy] = screenToImage(ctx.transform, p.x, p.y);
      if (drag.kind === 'draw') {
        drag.geometry = rectBetween(drag.ix, drag.iy, ix, iy, size.columns, size.rows);
        target.setDraft({ id: null, ...drag.geometry });
      } else {
        drag.geometry = dragBox(drag.from, drag.part, ix - drag.ix, iy - drag.iy, size.columns, size.rows);
        target.setDraft({ id: drag.id, ...drag.geometry });
      }
    },
    onPointerUp() {
      const d = drag;
      drag = null;
      if (!d || d.generation !== target.generation()) return;
      if (d.kind === 'draw') {
        if (d.geometry && d.geometry.w >= MIN_BOX_PIXELS && d.geometry.h >= MIN_BOX_PIXELS) target.create(d.geometry);
        else target.setDraft(null);
      } else if (!sameGeometry(d.geometry, d.from) && d.geometry.w >= 1 && d.geometry.h >= 1) {
        target.change(d.id, d.geometry);
      } else {
        target.setDraft(null);
      }
    },
  };
}
