import { describe, expect, it } from 'vitest';
import {
  applyOrientOp,
  fitTransform,
  imageToScreen,
  isMirrored,
  orientMatrix,
  panBy,
  pixelAt,
  reorientAt,
  sameOrient,
  screenToImage,
  svgMatrix,
  wheelZoomFactor,
  zoomAt,
  MAX_SCALE,
  type OrientOp,
  type ViewOrient,
} from '../../../renderer/src/lib/view-transform';
import { followTransform, sameTransform } from '../../../renderer/src/lib/view-sync';

const ALL: ViewOrient[] = [0, 1, 2, 3].flatMap((rotation) => [false, true].map((flip) => ({ rotation: rotation as ViewOrient['rotation'], flip })));
const mul = (m: number[], n: number[]) => [m[0]! * n[0]! + m[1]! * n[2]!, m[0]! * n[1]! + m[1]! * n[3]!, m[2]! * n[0]! + m[3]! * n[2]!, m[2]! * n[1]! + m[3]! * n[3]!].map((v) => v + 0);
const SCREEN_OP: Record<OrientOp, number[]> = {
  rotateRight: [0, -1, 1, 0],
  rotateLeft: [0, 1, -1, 0],
  flipHorizontal: [-1, 0, 0, 1],
  flipVertical: [1, 0, 0, -1],
};

describe('view transform', () => {
  it('fits and centres the image', () => {
    const t = fitTransform(2000, 2500, 1000, 800);
    expect(t.scale).toBeCloseTo(0.32);
    expect(t.ty).toBeCloseTo(0);
    expect(t.tx).toBeCloseTo((1000 - 640) / 2);
    const m = fitTransform(100, 100, 200, 200, 10);
    expect(m).toEqual({ scale: 1.8, tx: 10, ty: 10 });
  });

  it('zooms around the cursor: the image point under it stays put', () => {
    const t = { scale: 0.5, tx: 30, ty: -20 };
    const [ix, iy] = screenToImage(t, 400, 300);
    const z = zoomAt(t, 2.7, 400, 300);
    const [sx, sy] = imageToScreen(z, ix, iy);
    expect(sx).toBeCloseTo(400, 9);
    expect(sy).toBeCloseTo(300, 9);
    expect(zoomAt(t, 1e9, 0, 0).scale).toBe(MAX_SCALE);
  });

  it('finds the pixel under a point', () => {
    expect(pixelAt(0, 0, 10, 10)).toEqual([0, 0]);
    expect(pixelAt(9.99, 3.2, 10, 10)).toEqual([9, 3]);
    expect(pixelAt(10, 3, 10, 10)).toBeNull();
    expect(pixelAt(-0.01, 3, 10, 10)).toBeNull();
  });

  it('wheel down zooms out, up zooms in', () => {
    expect(wheelZoomFactor(100)).toBeLessThan(1);
    expect(wheelZoomFactor(-100)).toBeGreaterThan(1);
    expect(wheelZoomFactor(1, 1)).toBeCloseTo(wheelZoomFactor(16, 0));
  });

  it('rotations and flips compose as screen operations (the 8 symmetries of the square)', () => {
    for (const o of ALL) {
      for (const op of Object.keys(SCREEN_OP) as OrientOp[]) {
        expect(orientMatrix(applyOrientOp(o, op))).toEqual(mul(SCREEN_OP[op]!, orientMatrix(o)));
      }
      expect(sameOrient(applyOrientOp(applyOrientOp(o, 'rotateRight'), 'rotateLeft'), o)).toBe(true);
      expect(sameOrient(applyOrientOp(applyOrientOp(o, 'flipHorizontal'), 'flipHorizontal'), o)).toBe(true);
      expect(isMirrored(applyOrientOp(o, 'flipVertical'))).toBe(!isMirrored(o));
    }
    let o: ViewOrient | undefined;
    for (let i = 0; i < 4; i++) o = applyOrientOp(o, 'rotateRight');
    expect(sameOrient(o, undefined)).toBe(true);
  });

  it('maps image <-> screen both ways in every orientation, as the SVG matrix does', () => {
    for (const orient of ALL) {
      const t = { scale: 0.7, tx: 31, ty: -12, orient };
      const [sx, sy] = imageToScreen(t, 123.5, 45.25);
      const [ix, iy] = screenToImage(t, sx, sy);
      expect([ix, iy]).toEqual([expect.closeTo(123.5, 9), expect.closeTo(45.25, 9)]);
      const [a, b, c, d, e, f] = svgMatrix(t).slice(7, -1).split(' ').map(Number);
      expect(a! * 123.5 + c! * 45.25 + e!).toBeCloseTo(sx, 9);
      expect(b! * 123.5 + d! * 45.25 + f!).toBeCloseTo(sy, 9);
      // zoom and pan keep the orientation
      expect(zoomAt(t, 2, 5, 5).orient).toBe(orient);
      expect(panBy(t, 5, 5).orient).toBe(orient);
    }
  });

  it('fits a rotated image by its displayed extent, centred', () => {
    for (const orient of ALL) {
      const t = fitTransform(200, 100, 400, 400, 0, orient);
      const corners = [imageToScreen(t, 0, 0), imageToScreen(t, 200, 0), imageToScreen(t, 0, 100), imageToScreen(t, 200, 100)];
      const xs = corners.map((p) => p[0]);
      const ys = corners.map((p) => p[1]);
      const quarter = orient.rotation % 2 === 1;
      // 200 x 100 in a 400 x 400 view: scale 2; a quarter turn shows it 100 wide and 200 high, still scale 2
      expect(t.scale).toBeCloseTo(2);
      expect([Math.min(...xs), Math.max(...xs)]).toEqual(quarter ? [100, 300].map((v) => expect.closeTo(v, 9)) : [0, 400].map((v) => expect.closeTo(v, 9)));
      expect([Math.min(...ys), Math.max(...ys)]).toEqual(quarter ? [0, 400].map((v) => expect.closeTo(v, 9)) : [100, 300].map((v) => expect.closeTo(v, 9)));
    }
    // identity stays a plain transform (reset restores exactly the unrotated view)
    expect(fitTransform(100, 100, 200, 200, 10, { rotation: 0, flip: false })).toEqual({ scale: 1.8, tx: 10, ty: 10 });
  });

  it('rotates and flips about the viewport centre: the image point there stays', () => {
    const t = { scale: 1.5, tx: -40, ty: 25 };
    const before = screenToImage(t, 300, 200);
    for (const op of Object.keys(SCREEN_OP) as OrientOp[]) {
      const r = reorientAt(t, op, 300, 200);
      expect(screenToImage(r, 300, 200)).toEqual(before.map((v) => expect.closeTo(v, 9)));
      expect(r.scale).toBe(1.5);
    }
    // a pixel right of the centre ends up below it after rotating right
    const r = reorientAt(t, 'rotateRight', 300, 200);
    const [x, y] = imageToScreen(r, before[0] + 10, before[1]);
    expect([x, y]).toEqual([expect.closeTo(300, 9), expect.closeTo(215, 9)]);
  });

  it('linked views carry the orientation', () => {
    const t = { scale: 2, tx: 10, ty: 20, orient: { rotation: 1, flip: true } as ViewOrient };
    const f = followTransform(t, { width: 400, height: 300 }, { width: 200, height: 300 });
    expect(f.orient).toEqual(t.orient);
    expect(sameTransform(f, { ...f, orient: undefined })).toBe(false);
    expect(sameTransform(followTransform(f, { width: 200, height: 300 }, { width: 400, height: 300 }), t)).toBe(true);
  });
});
