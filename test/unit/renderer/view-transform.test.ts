import { describe, expect, it } from 'vitest';
import { fitTransform, imageToScreen, pixelAt, screenToImage, wheelZoomFactor, zoomAt, MAX_SCALE } from '../../../renderer/src/lib/view-transform';

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
});
