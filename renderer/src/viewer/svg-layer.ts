// An 'element' layer drawn as SVG in image coordinates: one <svg> stacked by the viewport, one <g> whose
// transform is the view transform (image -> CSS pixels), so its content is built once in original-image pixels
// and only the transform changes when the user zooms or pans. Strokes use vector-effect: non-scaling-stroke.

import { svgMatrix } from '../lib/view-transform';
import type { FrameContext, LayerHost, ViewportLayer } from './viewport';

export const SVG_NS = 'http://www.w3.org/2000/svg';

export interface SvgLayerOptions<K> {
  id: string;
  order: number;
  testId: string;
  /** what the content depends on: the content is rebuilt when it changes (compared with ===), null hides the layer */
  key(): K | null;
  /** Vue watch source for the viewport */
  inputs(): unknown;
  /** (Re)build the content of `g` for `key`; returns the test attributes to set on the <svg> */
  build(g: SVGGElement, key: K): Record<string, string>;
}

export function svgElement<T extends keyof SVGElementTagNameMap>(tag: T, attrs: Record<string, string | number>): SVGElementTagNameMap[T] {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

export function createSvgLayer<K>(options: SvgLayerOptions<K>): ViewportLayer {
  let svg: SVGSVGElement | null = null;
  let g: SVGGElement | null = null;
  let unmount: (() => void) | null = null;
  let builtKey: K | null = null;
  let built = false;

  return {
    id: options.id,
    order: options.order,
    surface: 'element',
    inputs: options.inputs,
    attach(host: LayerHost) {
      if (svg) return;
      svg = svgElement('svg', { width: '100%', height: '100%', 'data-testid': options.testId, 'aria-hidden': 'true' });
      svg.style.overflow = 'hidden';
      svg.style.display = 'none';
      g = svgElement('g', {});
      svg.append(g);
      unmount = host.mount(svg, options.order);
    },
    draw(frame: FrameContext) {
      if (!svg || !g) return;
      const key = options.key();
      if (key === null) {
        svg.style.display = 'none';
        svg.setAttribute('data-state', 'hidden');
        return;
      }
      if (!built || key !== builtKey) {
        g.replaceChildren();
        for (const [k, v] of Object.entries(options.build(g, key))) svg.setAttribute(k, v);
        builtKey = key;
        built = true;
      }
      g.setAttribute('transform', svgMatrix(frame.transform));
      svg.style.display = '';
      svg.setAttribute('data-state', 'shown');
    },
    detach() {
      /* no GL resources */
    },
    dispose() {
      unmount?.();
      unmount = null;
      svg = null;
      g = null;
      built = false;
      builtKey = null;
    },
  };
}
