// The ruler's measurements as an 'element' layer (order 40, above the boxes): SVG drawn in screen pixels each
// frame (imageToScreen per end point), so the length labels stay upright and readable under zoom, rotation and
// flips, while the lines follow the image.
import { imageToScreen } from '../lib/view-transform';
import { formatLength, measureLength, measuresOf, type Measure, type RulerState } from './ruler';
import { svgElement } from './svg-layer';
import type { FrameContext, LayerHost, ViewportLayer } from './viewport';

export interface RulerLayerSource {
  state: RulerState;
  imageId(): number | null;
  /** [row, column] mm, null: lengths in pixels */
  spacing(): readonly [number, number] | null;
}

export function createRulerLayer(src: RulerLayerSource): ViewportLayer {
  let svg: SVGSVGElement | null = null;
  let unmount: (() => void) | null = null;

  function drawOne(m: Omit<Measure, 'id'>, frame: FrameContext, draft: boolean): SVGGElement {
    const [x1, y1] = imageToScreen(frame.transform, m.x1, m.y1);
    const [x2, y2] = imageToScreen(frame.transform, m.x2, m.y2);
    const length = measureLength(m, src.spacing());
    const g = svgElement('g', { 'data-testid': draft ? 'ruler-draft' : 'ruler-measure', 'data-length': length.value.toFixed(2), 'data-unit': length.unit });
    const line = { x1, y1, x2, y2 };
    g.append(svgElement('line', { ...line, stroke: '#000', 'stroke-width': 3, 'stroke-opacity': 0.6 }));
    g.append(svgElement('line', { ...line, stroke: '#ffd24a', 'stroke-width': 1.5, 'stroke-dasharray': draft ? '4 3' : '' }));
    for (const [x, y] of [
      [x1, y1],
      [x2, y2],
    ]) {
      g.append(svgElement('circle', { cx: x!, cy: y!, r: 3, fill: '#ffd24a', stroke: '#000', 'stroke-width': 1 }));
    }
    // the label beside the end point, away from the line's direction
    const label = svgElement('text', { x: x2 + (x2 >= x1 ? 8 : -8), y: y2 + (y2 >= y1 ? 14 : -6), 'text-anchor': x2 >= x1 ? 'start' : 'end', fill: '#ffd24a', 'font-size': 12, 'font-family': 'ui-monospace, monospace', 'paint-order': 'stroke', stroke: '#000', 'stroke-width': 3 });
    label.textContent = formatLength(length);
    g.append(label);
    return g;
  }

  return {
    id: 'ruler',
    order: 40,
    surface: 'element',
    inputs: () => [src.state.version, src.imageId(), src.spacing()],
    attach(host: LayerHost) {
      if (svg) return;
      svg = svgElement('svg', { width: '100%', height: '100%', 'data-testid': 'ruler-layer', 'aria-hidden': 'true' });
      svg.style.overflow = 'hidden';
      unmount = host.mount(svg, 40);
    },
    draw(frame: FrameContext) {
      if (!svg) return;
      const measures = measuresOf(src.state, src.imageId());
      const draft = src.state.draft;
      svg.replaceChildren(...measures.map((m) => drawOne(m, frame, false)), ...(draft ? [drawOne(draft, frame, true)] : []));
      svg.setAttribute('data-count', String(measures.length));
      svg.setAttribute('data-unit', src.spacing() ? 'mm' : 'px');
    },
    detach() {
      /* no GL resources */
    },
    dispose() {
      unmount?.();
      unmount = null;
      svg = null;
    },
  };
}
