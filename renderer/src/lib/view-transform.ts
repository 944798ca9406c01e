// Image <-> screen mapping for the viewer: screen = scale * M * image + (tx, ty), all in CSS pixels, image
// coordinates in original pixels with (0, 0) at the top-left corner of the first pixel. M is the display
// orientation (rotate 90° steps, flips: the 8 symmetries of the square), a linear map about the origin, so zoom and
// pan (screen-space operations) need not know it; without `orient` it is the identity. Every layer (the image and
// heatmap shaders, the SVG layers, hit-testing, the pixel readout) maps through these functions or orientMatrix.

/** M = R^rotation * F^flip: the image mirrored left-right first when `flip`, then turned `rotation` quarter turns clockwise. */
export interface ViewOrient {
  rotation: 0 | 1 | 2 | 3;
  flip: boolean;
}

export interface ViewTransform {
  scale: number;
  tx: number;
  ty: number;
  /** display orientation; absent: as stored */
  orient?: ViewOrient;
}

export const IDENTITY_ORIENT: ViewOrient = { rotation: 0, flip: false };

/** M as [m00, m01, m10, m11]: screen direction = (m00 x + m01 y, m10 x + m11 y). */
export function orientMatrix(o: ViewOrient | undefined): [number, number, number, number] {
  // R (clockwise on a y-down screen): (x, y) -> (-y, x)
  const R: [number, number, number, number][] = [
    [1, 0, 0, 1],
    [0, -1, 1, 0],
    [-1, 0, 0, -1],
    [0, 1, -1, 0],
  ];
  const [a, b, c, d] = R[o?.rotation ?? 0]!;
  // * F = diag(-1, 1): negates the first column
  return o?.flip ? [0 - a, b, 0 - c, d] : [a, b, c, d]; // 0 - x: no -0
}

/** The inverse of M (M is orthogonal: its transpose). */
export function inverseOrientMatrix(o: ViewOrient | undefined): [number, number, number, number] {
  const [a, b, c, d] = orientMatrix(o);
  return [a, c, b, d];
}

export type OrientOp = 'rotateRight' | 'rotateLeft' | 'flipHorizontal' | 'flipVertical';

/** Compose a screen-space operation onto an orientation (F R^k = R^-k F; a vertical flip is R^2 F). */
export function applyOrientOp(o: ViewOrient | undefined, op: OrientOp): ViewOrient {
  const k = o?.rotation ?? 0;
  const f = o?.flip ?? false;
  const r = (n: number) => (((n % 4) + 4) % 4) as 0 | 1 | 2 | 3;
  switch (op) {
    case 'rotateRight':
      return { rotation: r(k + 1), flip: f };
    case 'rotateLeft':
      return { rotation: r(k - 1), flip: f };
    case 'flipHorizontal':
      return { rotation: r(-k), flip: !f };
    case 'flipVertical':
      return { rotation: r(2 - k), flip: !f };
  }
}

export function sameOrient(a: ViewOrient | undefined, b: ViewOrient | undefined): boolean {
  return (a?.rotation ?? 0) === (b?.rotation ?? 0) && (a?.flip ?? false) === (b?.flip ?? false);
}

/** True when the displayed image is mirrored (an odd number of flips): the patient's sides swap on screen. */
export function isMirrored(o: ViewOrient | undefined): boolean {
  return o?.flip ?? false;
}

/** Change the orientation keeping the image point at screen point (cx, cy) (the viewport centre) where it is. */
export function reorientAt(t: ViewTransform, op: OrientOp, cx: number, cy: number): ViewTransform {
  const [ix, iy] = screenToImage(t, cx, cy);
  const orient = applyOrientOp(t.orient, op);
  const [a, b, c, d] = orientMatrix(orient);
  return { scale: t.scale, tx: cx - t.scale * (a * ix + b * iy), ty: cy - t.scale * (c * ix + d * iy), orient };
}

export const MIN_SCALE = 0.02;
export const MAX_SCALE = 64;

export function clampScale(scale: number): number {
  return Math.min(MAX_SCALE, Math.max(MIN_SCALE, scale));
}

/** Whole image visible and centred, with an optional margin in CSS pixels. */
export function fitTransform(columns: number, rows: number, viewWidth: number, viewHeight: number, margin = 0, orient?: ViewOrient): ViewTransform {
  const keep = orient && (orient.rotation !== 0 || orient.flip) ? { orient } : {};
  if (columns <= 0 || rows <= 0 || viewWidth <= 0 || viewHeight <= 0) return { scale: 1, tx: 0, ty: 0, ...keep };
  const [a, b, c, d] = orientMatrix(orient);
  // the displayed extent: the image's corners through M (a quarter turn swaps width and height)
  const xs = [0, a * columns, b * rows, a * columns + b * rows];
  const ys = [0, c * columns, d * rows, c * columns + d * rows];
  const w = Math.max(...xs) - Math.min(...xs);
  const h = Math.max(...ys) - Math.min(...ys);
  const scale = clampScale(Math.min((viewWidth - 2 * margin) / w, (viewHeight - 2 * margin) / h));
  return { scale, tx: (viewWidth - w * scale) / 2 - Math.min(...xs) * scale, ty: (viewHeight - h * scale) / 2 - Math.min(...ys) * scale, ...keep };
}

/** Zoom by `factor` keeping the image point under (px, py) fixed on screen. */
export function zoomAt(t: ViewTransform, factor: number, px: number, py: number): ViewTransform {
  const scale = clampScale(t.scale * factor);
  const f = scale / t.scale;
  return { ...t, scale, tx: px - (px - t.tx) * f, ty: py - (py - t.ty) * f };
}

export function panBy(t: ViewTransform, dx: number, dy: number): ViewTransform {
  return { ...t, tx: t.tx + dx, ty: t.ty + dy };
}

export function screenToImage(t: ViewTransform, sx: number, sy: number): [number, number] {
  const [a, b, c, d] = inverseOrientMatrix(t.orient);
  const ox = (sx - t.tx) / t.scale;
  const oy = (sy - t.ty) / t.scale;
  return [a * ox + b * oy, c * ox + d * oy];
}

export function imageToScreen(t: ViewTransform, ix: number, iy: number): [number, number] {
  const [a, b, c, d] = orientMatrix(t.orient);
  return [(a * ix + b * iy) * t.scale + t.tx, (c * ix + d * iy) * t.scale + t.ty];
}

/** The SVG `matrix(a b c d e f)` of the transform (image pixels -> CSS pixels). */
export function svgMatrix(t: ViewTransform): string {
  const [a, b, c, d] = orientMatrix(t.orient);
  const s = t.scale;
  return `matrix(${s * a} ${s * c} ${s * b} ${s * d} ${t.tx} ${t.ty})`;
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
