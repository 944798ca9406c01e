// The boxes layer: the active phrase's ground-truth boxes on the current image (from the study detail), as SVG
// rectangles in original-image pixels, drawn above the heatmap and its isolines (order 30). Every source is shown,
// each in a colour of its own (boxSources: the legend's entries): dataset boxes solid (MS-CXR's green; each VinDr
// reader a colour), boxes a user drew dashed. The box tool's selection gets handles; its draft (a box being drawn,
// moved or resized) is drawn in place of the box it changes.

import type { Types } from '../../../common/contract';
import { boxSourceKey, boxSources, USER_COLOURS } from '../lib/box-sources';
import { createSvgLayer, svgElement } from './svg-layer';
import type { ViewportLayer } from './viewport';

export type Box = Types['Box'];
export type BoxGeometry = Pick<Box, 'x' | 'y' | 'w' | 'h'>;

/** A box being drawn (id null) or changed (the id of the box it replaces until stored). */
export interface BoxDraft extends BoxGeometry {
  id: number | null;
}

export interface BoxesLayerState {
  boxes: readonly Box[];
  visible: boolean;
  /** the box tool's selected box (handles drawn) */
  selectedId?: number | null;
  draft?: BoxDraft | null;
}

export { BOX_COLOUR } from '../lib/grounding';
export { boxSourceKey, boxSources, type BoxSource } from '../lib/box-sources';

/** The eight resize handles of a box, in image pixels: [name, x, y]. */
export type HandleName = 'nw' | 'n' | 'ne' | 'e' | 'se' | 's' | 'sw' | 'w';
export function boxHandles(b: BoxGeometry): [HandleName, number, number][] {
  const { x, y, w, h } = b;
  return [
    ['nw', x, y],
    ['n', x + w / 2, y],
    ['ne', x + w, y],
    ['e', x + w, y + h / 2],
    ['se', x + w, y + h],
    ['s', x + w / 2, y + h],
    ['sw', x, y + h],
    ['w', x, y + h / 2],
  ];
}

function rect(g: SVGGElement, b: BoxGeometry, attrs: Record<string, string | number>, colour: string, dashed: boolean, testId: string): void {
  const common = { fill: 'none', 'vector-effect': 'non-scaling-stroke', x: b.x, y: b.y, width: b.w, height: b.h, ...attrs };
  // a dark halo under the coloured outline keeps it visible on bright and dark regions alike
  g.append(svgElement('rect', { ...common, stroke: 'rgba(0,0,0,0.55)', 'stroke-width': 3.5 }));
  const r = svgElement('rect', { ...common, stroke: colour, 'stroke-width': 1.75, 'data-testid': testId });
  if (dashed) r.setAttribute('stroke-dasharray', '6 4');
  g.append(r);
}

export function createBoxesLayer(state: () => BoxesLayerState): ViewportLayer {
  // the content is rebuilt when the key changes (===): the same inputs give the same key object
  let last: BoxesLayerState | null = null;
  const current = (): BoxesLayerState => {
    const s = state();
    const same = last && last.boxes === s.boxes && last.visible === s.visible && (last.selectedId ?? null) === (s.selectedId ?? null) && (last.draft ?? null) === (s.draft ?? null);
    return same ? last! : (last = s);
  };
  return createSvgLayer<BoxesLayerState>({
    id: 'boxes',
    order: 30,
    testId: 'boxes-layer',
    inputs() {
      const s = state();
      return [s.boxes, s.visible, s.selectedId, s.draft];
    },
    key() {
      const s = current();
      return s.visible && (s.boxes.length || s.draft) ? s : null;
    },
    build(g, s) {
      const colours = new Map(boxSources(s.boxes).map((src) => [src.key, src]));
      for (const b of s.boxes) {
        const src = colours.get(boxSourceKey(b))!;
        const shown = s.draft && s.draft.id === b.id ? s.draft : b;
        const selected = s.selectedId === b.id;
        rect(g, shown, { 'data-box-id': b.id, 'data-source': b.source, 'data-reader': b.reader ?? '', 'data-selected': String(selected) }, src.colour, src.dashed, 'gt-box');
        if (selected) {
          for (const [name, hx, hy] of boxHandles(shown)) {
            // a circle of fixed screen size: r in image pixels would scale with zoom, so a marker path is used
            g.append(svgElement('path', { d: `M ${hx} ${hy} l 0.0001 0`, stroke: src.colour, 'stroke-width': 9, 'stroke-linecap': 'square', 'vector-effect': 'non-scaling-stroke', 'data-testid': 'box-handle', 'data-handle': name }));
          }
        }
      }
      if (s.draft && s.draft.id === null) {
        rect(g, s.draft, { 'data-box-id': 'draft' }, USER_COLOURS[0], true, 'box-draft');
      }
      return { 'data-box-count': String(s.boxes.length), 'data-selected-box': s.selectedId != null ? String(s.selectedId) : '' };
    },
  });
}
