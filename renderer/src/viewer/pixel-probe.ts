// The pixel under the cursor, for the status line's readout.

import { pixelAt, screenToImage, type ViewTransform } from '../lib/view-transform';
import { modalityValue } from '../lib/window-level';
import type { LoadedImage } from '../stores/viewer';

export interface PixelProbe {
  /** column and row */
  x: number;
  y: number;
  /** stored sample value */
  stored: number;
  /** modality value (rescale slope/intercept applied) */
  value: number;
}

/** The pixel at viewport point (sx, sy) in CSS pixels, or null outside the image. */
export function probePixel(img: LoadedImage | null, t: ViewTransform, sx: number, sy: number): PixelProbe | null {
  if (!img) return null;
  const [ix, iy] = screenToImage(t, sx, sy);
  const p = pixelAt(ix, iy, img.pixel.columns, img.pixel.rows);
  if (!p) return null;
  const stored = img.samples[p[1] * img.pixel.columns + p[0]];
  return { x: p[0], y: p[1], stored, value: modalityValue(stored, img.pixel.rescaleSlope, img.pixel.rescaleIntercept) };
}
