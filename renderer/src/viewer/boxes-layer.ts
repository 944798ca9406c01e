// The boxes layer: the active phrase's ground-truth boxes on the current image (from the study detail), as SVG
// rectangles in original-image pixels, drawn above the heatmap and its isolines (order 30). Dataset boxes are
// solid, boxes a user drew are dashed.

import type { Types } from '../../../common/contract';
import { BOX_COLOUR } from '../lib/grounding';
import { createSvgLayer, svgElement } from './svg-layer';
import type { ViewportLayer } from './viewport';

export type Box = Types['Box'];

export interface BoxesLayerState {
  boxes: readonly Box[];
  visible: boolean;
}

export { BOX_COLOUR };

export function createBoxesLayer(state: () => BoxesLayerState): ViewportLayer {
  return createSvgLayer<readonly Box[]>({
    id: 'boxes',
    order: 30,
    testId: 'boxes-layer',
    inputs() {
      const s = state();
      return [s.boxes, s.visible];
    },
    key() {
      const s = state();
      return s.visible && s.boxes.length ? s.boxes : null;
    },
    build(g, boxes) {
      for (const b of boxes) {
        const common = { fill: 'none', 'vector-effect': 'non-scaling-stroke', 'data-box-id': b.id, 'data-source': b.source };
        // a dark halo under the coloured outline keeps it visible on bright and dark regions alike
        g.append(svgElement('rect', { ...common, x: b.x, y: b.y, width: b.w, height: b.h, stroke: 'rgba(0,0,0,0.55)', 'stroke-width': 3.5 }));
        const rect = svgElement('rect', { ...common, x: b.x, y: b.y, width: b.w, height: b.h, stroke: BOX_COLOUR, 'stroke-width': 1.75, 'data-testid': 'gt-box' });
        if (b.source === 'user') rect.setAttribute('stroke-dasharray', '6 4');
        g.append(rect);
      }
      return { 'data-box-count': String(boxes.length) };
    },
  });
}
