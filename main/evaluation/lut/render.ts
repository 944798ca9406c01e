// Targets from a LUT (method.md 4.2) and the nearest region of a box (5.2), as training/sightline_eval/lut.py and
// vindr.py compute them: the "location-only LUT Gaussian" reference row and VinDr's synthetic prompts use these.
import type { Lut } from './build';
import { boxGaussian, boxToModelFrame, type Box, type Gaussian } from './geometry';
import { locationRegions, REGION_TO_LOCATION, REGIONS, type Region } from './regions';

export function regionParams(lut: Lut, region: string): Gaussian {
  const g = lut.regions[region];
  if (!g) throw new Error(`the LUT has no region "${region}"`);
  return [g.mu_x, g.mu_y, g.sigma_x, g.sigma_y];
}

/**
 * Pixel-wise max of peak-1 Gaussians exp(-dx^2 / 2 sx^2 - dy^2 / 2 sy^2) (mu, sigma in a frame of frameH x frameW)
 * sampled at the pixel centres of a rows x cols grid covering the frame; row-major, zeros without Gaussians.
 */
export function renderGaussians(params: readonly Gaussian[], rows: number, cols: number, frameH: number, frameW: number): Float64Array {
  const out = new Float64Array(rows * cols);
  const gx = new Float64Array(cols);
  const gy = new Float64Array(rows);
  for (const [mx, my, sx0, sy0] of params) {
    const sx = Math.max(sx0, 1e-6);
    const sy = Math.max(sy0, 1e-6);
    for (let c = 0; c < cols; c++) gx[c] = Math.exp(-0.5 * ((((c + 0.5) * frameW) / cols - mx) / sx) ** 2);
    for (let r = 0; r < rows; r++) gy[r] = Math.exp(-0.5 * ((((r + 0.5) * frameH) / rows - my) / sy) ** 2);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const v = gy[r] * gx[c];
        if (v > out[r * cols + c]) out[r * cols + c] = v;
      }
    }
  }
  return out;
}

/** The target G of a location on a grid x grid map of the model frame (16 x 16 = the attention grid). */
export function renderTarget(lut: Lut, location: string, grid = 16): Float64Array {
  return renderGaussians(
    locationRegions(location).map((r) => regionParams(lut, r)),
    grid,
    grid,
    lut.frame,
    lut.frame,
  );
}

/** Squared 2-Wasserstein distance of two axis-aligned Gaussians [mu_x, mu_y, sigma_x, sigma_y]. */
export function w2Squared(a: Gaussian, b: Gaussian): number {
  let s = 0;
  for (let i = 0; i < 4; i++) s += (a[i] - b[i]) ** 2;
  return s;
}

/** The LUT region nearest (squared W2) to a Gaussian; ties go to the first in REGIONS order. */
export function nearestRegion(lut: Lut, g: Gaussian, regions: readonly Region[] = REGIONS): Region {
  let best: Region | null = null;
  let bestD = Infinity;
  for (const r of regions) {
    if (!lut.regions[r]) continue;
    const d = w2Squared(g, regionParams(lut, r));
    if (best === null || d < bestD) {
      best = r;
      bestD = d;
    }
  }
  if (best === null) throw new Error('empty LUT');
  return best;
}

/** The location term of a box (corner coordinates in original pixels of a height x width image), as vindr.py. */
export function boxLocation(lut: Lut, box: Box, height: number, width: number): string {
  return REGION_TO_LOCATION[nearestRegion(lut, boxGaussian(boxToModelFrame(box, height, width, lut.frame)))];
}
