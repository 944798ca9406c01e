// Image <-> screen mapping for the viewer: screen = image * scale + (tx, ty), all in CSS pixels,
// image coordinates in original pixels with (0, 0) at the top-left corner of the first pixel.

export interface ViewTransform {
  scale: number;
  tx: number;
  ty: number;
}

export const MIN_SCALE = 0.02;
export const MAX_SCALE = 64;

export function clampScale(scale: number): number {
  return Math.min(MAX_SCALE, Math.max(MIN_SCALE, scale));
}

/** Whole image visible and centred, with an optional margin in CSS pixels. */
export function fitTransform(columns: number, rows: number, viewWidth: number, viewHeight: number, margin = 0): ViewTransform {
  if (columns <= 0 || rows <= 0 || viewWidth <= 0 || viewHeight <= 0) return { scale: 1, tx: 0, ty: 0 };
  const scale = clampScale(Math.min((viewWidth - 2 * margin) / columns, (viewHeight - 2 * margin) / rows));
  return { scale, tx: (viewWidth - columns * scale) / 2, ty: (viewHeight - rows * scale) / 2 };
}

/** Zoom by `factor` keeping the image point under (px, py) fixed on screen. */
export function zoomAt(t: ViewTransform, factor: number, px: number, py: number): ViewTransform {
  const scale = clampScale(t.scale * factor);
  const f = scale / t.scale;
  return { scale, tx: px - (px - t.tx) * f, ty: py - (py - t.ty) * f };
}

export function panBy(t: ViewTransform, dx: number, dy: number): ViewTransform {
  return { scale: t.scale, tx: t.tx + dx, ty: t.ty + dy };
}

export function screenToImage(t: ViewTransform, sx: number, sy: number): [number, number] {
  return [(sx - t.tx) / t.scale, (sy - t.ty) / t.scale];
}

export function imageToScreen(t: ViewTransform, ix: number, iy: number): [number, number] {
  return [ix * t.scale + t.tx, iy * t.scale + t.ty];
}

/** The pixel (column, row) under an image coordinate, or null outside the image. */
export function pixelAt(ix: number, iy: number, columns: number, rows: number): [number, number] | null {
  const x = Math.floor(ix);
  const y = Math.floor(iy);
  if (x < 0 || y < 0 || x >= columns || y >= rows) return null;
  return [x, y];
}

/** Wheel delta -> zoom factor (smooth for trackpads, about 10 % per mouse notch). */
export function wheelZoomFactor(deltaY: number, deltaMode = 0): number {
  const pixels = deltaMode === 1 ? deltaY * 16 : deltaMode === 2 ? deltaY * 400 : deltaY;
  return Math.exp(-pixels * 0.0011);
}
