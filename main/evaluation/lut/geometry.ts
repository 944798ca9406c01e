// Boxes into the model frame and the 224-frame size fit, operation for operation as training/sightline_eval/lut.py
// (same order of floating-point operations, so both builders give the same bits; test/vectors/lut-demo.json).

/** [mu_x, mu_y, sigma_x, sigma_y] */
export type Gaussian = [number, number, number, number];
/** [x1, y1, x2, y2] corner coordinates */
export type Box = [number, number, number, number];

export interface FrameGeometry {
  scaleY: number;
  scaleX: number;
  top: number;
  left: number;
}

/** The preprocess of the model (sightline_ldm.image_ops.preprocess): short side -> size, floor for the long side, centre crop. */
export function modelFrameGeometry(height: number, width: number, size: number): FrameGeometry {
  const [rh, rw] = height <= width ? [size, Math.trunc((width * size) / height)] : [Math.trunc((height * size) / width), size];
  return { scaleY: rh / height, scaleX: rw / width, top: Math.floor((rh - size) / 2), left: Math.floor((rw - size) / 2) };
}

/** A box in original pixels -> the same box in the size x size model frame (continuous coordinates). */
export function boxToModelFrame([x1, y1, x2, y2]: Box, height: number, width: number, size: number): Box {
  const g = modelFrameGeometry(height, width, size);
  return [x1 * g.scaleX - g.left, y1 * g.scaleY - g.top, x2 * g.scaleX - g.left, y2 * g.scaleY - g.top];
}

/** Centre and side / 6 of a corner box (method.md 4.2). */
export function boxGaussian([x1, y1, x2, y2]: Box): Gaussian {
  return [(x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1) / 6, (y2 - y1) / 6];
}

/** Sequential sum / n (lut.py's _mean: not pairwise, not compensated, so that the bits agree). */
export function mean(values: readonly number[]): number {
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}

/** Python's round_half_up in lut.py (not Python's round(), which rounds half to even). */
export function roundHalfUp(v: number): number {
  return Math.floor(v + 0.5);
}

/**
 * [height, width] of an image from its region boxes in both frames: the 224 frame is the image with its long side
 * resized to 224 and centred padding, x224 = r * x + px, y224 = r * y + py; r and the paddings by least squares
 * (closed form: px = mean(x224) - r mean(x), r the pooled slope of the centred coordinates), then W = (224 - 2 px) / r.
 * Null with fewer than two boxes or a degenerate fit.
 */
export function inferSizeFrom224(boxes: readonly { c224: Box; original: Box }[]): [number, number] | null {
  const xsO: number[] = [];
  const ysO: number[] = [];
  const xs: number[] = [];
  const ys: number[] = [];
  for (const { c224, original } of boxes) {
    xsO.push(original[0], original[2]);
    ysO.push(original[1], original[3]);
    xs.push(c224[0], c224[2]);
    ys.push(c224[1], c224[3]);
  }
  if (xsO.length < 4) return null;
  const [mxo, mx, myo, my] = [mean(xsO), mean(xs), mean(ysO), mean(ys)];
  let num = 0;
  let den = 0;
  for (let i = 0; i < xsO.length; i++) {
    num += (xsO[i] - mxo) * (xs[i] - mx);
    den += (xsO[i] - mxo) * (xsO[i] - mxo);
  }
  for (let i = 0; i < ysO.length; i++) {
    num += (ysO[i] - myo) * (ys[i] - my);
    den += (ysO[i] - myo) * (ysO[i] - myo);
  }
  if (!(den > 0)) return null;
  const r = num / den;
  if (!(r > 0)) return null;
  const px = mx - r * mxo;
  const py = my - r * myo;
  const w = (224.0 - 2 * px) / r;
  const h = (224.0 - 2 * py) / r;
  if (!(w > 0 && h > 0)) return null;
  return [roundHalfUp(h), roundHalfUp(w)];
}
