// The heatmap layer: the shown grounding heatmap as a WebGL layer (order 10: above the image, below the isolines
// and boxes, which are element layers), through lib/gl-heatmap-renderer. Its state() says what to draw: the map
// (null: nothing), whether it is visible, the colormap table, the threshold, range, opacity and sampling.

import { ref, type Ref } from 'vue';
import { GlHeatmapRenderer } from '../lib/gl-heatmap-renderer';
import { inverseOrientMatrix } from '../lib/view-transform';
import type { ColormapName } from '../lib/colormaps';
import type { LoadedHeatmap, Sampling } from '../lib/heatmap';
import type { FrameContext, LayerHost, ViewportLayer } from './viewport';

export interface HeatmapLayerState {
  heatmap: LoadedHeatmap | null;
  visible: boolean;
  colormap: ColormapName;
  table: Uint8Array;
  opacity: number;
  lower: number;
  range: [number, number];
  sampling: Sampling;
}

export interface HeatmapLayer extends ViewportLayer {
  /** id of the heatmap in the last frame drawn with it visible, null when none was drawn */
  readonly renderedId: Readonly<Ref<number | null>>;
}

export function createHeatmapLayer(state: () => HeatmapLayerState): HeatmapLayer {
  let renderer: GlHeatmapRenderer | null = null;
  let uploadedId: number | null = null;
  let uploadedColormap: ColormapName | null = null;
  const renderedId = ref<number | null>(null);

  return {
    id: 'heatmap',
    order: 10,
    surface: 'webgl',
    renderedId,
    inputs() {
      const s = state();
      return [s.heatmap?.id, s.visible, s.colormap, s.opacity, s.lower, s.range[0], s.range[1], s.sampling];
    },
    attach(host: LayerHost) {
      renderer = host.gl ? new GlHeatmapRenderer(host.gl) : null;
      uploadedId = null;
      uploadedColormap = null;
    },
    draw(frame: FrameContext) {
      const s = state();
      if (!renderer || !s.heatmap || !s.visible) {
        renderedId.value = null;
        return;
      }
      try {
        if (uploadedId !== s.heatmap.id) {
          renderer.setMap(s.heatmap.values, s.heatmap.width, s.heatmap.height);
          uploadedId = s.heatmap.id;
        }
        if (uploadedColormap !== s.colormap) {
          renderer.setColormap(s.table);
          uploadedColormap = s.colormap;
        }
        const { transform: t, dpr } = frame;
        renderer.render({
          scale: t.scale * dpr,
          tx: t.tx * dpr,
          ty: t.ty * dpr,
          unorient: inverseOrientMatrix(t.orient),
          geometry: s.heatmap.geometry,
          lower: s.lower,
          min: s.range[0],
          max: s.range[1],
          opacity: s.opacity,
          sampling: s.sampling,
        });
        renderedId.value = s.heatmap.id;
      } catch (e) {
        renderedId.value = null;
        uploadedId = null;
        throw e;
      }
    },
    detach() {
      renderer = null;
      uploadedId = null;
      uploadedColormap = null;
      renderedId.value = null;
    },
    dispose() {
      renderer?.dispose();
      renderer = null;
      uploadedId = null;
      uploadedColormap = null;
    },
  };
}
