// Linked views (Compare): two viewports show the same image at the same zoom, centred on the same image point,
// whatever their sizes. A transform maps image -> screen as screen = image * scale + (tx, ty), in CSS pixels.

import { sameOrient, type ViewTransform } from './view-transform';

export interface ViewSize {
  width: number;
  height: number;
}

/** The transform of a `to`-sized viewport (the centre is taken in screen space, so a rotated or flipped view follows as it is) with the same scale and the same image point at its centre as `t` has in `from`. */
export function followTransform(t: ViewTransform, from: ViewSize, to: ViewSize): ViewTransform {
  const cx = (from.width / 2 - t.tx) / t.scale;
  const cy = (from.height / 2 - t.ty) / t.scale;
  return { ...t, tx: to.width / 2 - cx * t.scale, ty: to.height / 2 - cy * t.scale };
}

/** Equal up to rounding (what following and following back gives). */
export function sameTransform(a: ViewTransform, b: ViewTransform, eps = 1e-6): boolean {
  const near = (x: number, y: number) => Math.abs(x - y) <= eps * Math.max(1, Math.abs(x), Math.abs(y));
  return near(a.scale, b.scale) && near(a.tx, b.tx) && near(a.ty, b.ty) && sameOrient(a.orient, b.orient);
}
