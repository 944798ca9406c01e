// The isolines layer: contour lines of the shown heatmap (lib/heatmap.ts isolinePaths, d3-contour) as SVG in
// original-image pixels (order 20: above the heatmap, below the boxes). Computed once per map and levels.

import { isolinePaths, type LoadedHeatmap } from '../lib/heatmap';
import { createSvgLayer, svgElement } from './svg-layer';
import type { ViewportLayer } from './viewport';

export interface IsolinesLayerState {
  heatmap: LoadedHeatmap | null;
  /** null or empty: no isolines */
  levels: readonly number[] | null;
}

export function createIsolinesLayer(state: () => IsolinesLayerState): ViewportLayer {
  let cacheKey = '';
  let cached: { heatmap: LoadedHeatmap; levels: readonly number[] } | null = null;
  return createSvgLayer({
    id: 'isolines',
    order: 20,
    testId: 'isolines-layer',
    inputs() {
      const s = state();
      return [s.heatmap?.id, s.levels?.join(',')];
    },
    key() {
      const { heatmap, levels } = state();
      if (!heatmap || !levels?.length) return null;
      const k = `${heatmap.id}|${levels.join(',')}`;
      if (k !== cacheKey) {
        cacheKey = k;
        cached = { heatmap, levels };
      }
      return cached;
    },
    build(g, { heatmap, levels }) {
      const lines = isolinePaths(heatmap, [...levels]);
      lines.forEach((line, i) => {
        const common = { d: line.d, fill: 'none', 'vector-effect': 'non-scaling-stroke', 'stroke-linejoin': 'round', 'data-level': line.level.toFixed(3) };
        g.append(svgElement('path', { ...common, stroke: 'rgba(0,0,0,0.5)', 'stroke-width': 2.5 }));
        // higher levels are brighter and thicker
        const w = 1 + (i / Math.max(1, lines.length - 1)) * 0.75;
        g.append(svgElement('path', { ...common, stroke: `rgba(255,255,255,${0.55 + (0.4 * i) / Math.max(1, lines.length - 1)})`, 'stroke-width': w.toFixed(2), 'data-testid': 'isoline' }));
      });
      return { 'data-isoline-count': String(lines.filter((l) => l.d).length), 'data-heatmap-id': String(heatmap.id) };
    },
  });
}
