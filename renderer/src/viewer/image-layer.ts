// The image layer: the loaded image at full bit depth through lib/gl-image-renderer (WebGL2), with the
// window/level, inversion and rescale of the viewer store. Order 0: every other layer draws above it.

import { ref, type Ref } from 'vue';
import { GlImageRenderer } from '../lib/gl-image-renderer';
import { inverseOrientMatrix } from '../lib/view-transform';
import type { LoadedImage } from '../stores/viewer';
import type { FrameContext, LayerHost, ViewportLayer } from './viewport';

export interface ImageLayerState {
  image: LoadedImage | null;
  center: number;
  width: number;
  invert: boolean;
}

export interface ImageLayer extends ViewportLayer {
  /** id of the image in the last frame drawn without error, null when none */
  readonly renderedId: Readonly<Ref<number | null>>;
}

export function createImageLayer(state: () => ImageLayerState): ImageLayer {
  let renderer: GlImageRenderer | null = null;
  let uploadedId: number | null = null;
  const renderedId = ref<number | null>(null);

  return {
    id: 'image',
    order: 0,
    surface: 'webgl',
    renderedId,
    inputs() {
      const s = state();
      return [s.image?.imageId, s.center, s.width, s.invert];
    },
    attach(host: LayerHost) {
      renderer = host.gl ? new GlImageRenderer(host.gl) : null;
      uploadedId = null;
    },
    draw(frame: FrameContext) {
      if (!renderer) return;
      const { image: img, center, width, invert } = state();
      try {
        if (img && uploadedId !== img.imageId) {
          renderer.setImage(img.samples, img.pixel.encoding, img.pixel.columns, img.pixel.rows);
          uploadedId = img.imageId;
        } else if (!img && uploadedId !== null) {
          renderer.clearImage();
          uploadedId = null;
        }
        const { transform: t, dpr } = frame;
        renderer.render({
          scale: t.scale * dpr,
          tx: t.tx * dpr,
          ty: t.ty * dpr,
          unorient: inverseOrientMatrix(t.orient),
          center,
          width,
          invert,
          slope: img?.pixel.rescaleSlope ?? 1,
          intercept: img?.pixel.rescaleIntercept ?? 0,
          background: frame.background,
        });
        renderedId.value = img?.imageId ?? null;
      } catch (e) {
        renderedId.value = null;
        throw e;
      }
    },
    detach() {
      renderer = null;
      uploadedId = null;
      renderedId.value = null;
    },
    dispose() {
      renderer?.dispose();
      renderer = null;
      uploadedId = null;
    },
  };
}
