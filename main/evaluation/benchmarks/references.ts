// Reference rows (method.md 5.3; training/sightline_eval/references.py), original-size maps that need no model:
// - oracle: max of Gaussians from the ground-truth boxes (mu = box centre, sigma = side / 3) at the original pixel
//   centres, NaN outside the centre square the model sees (an upper bound for a model that only sees the crop);
// - lut: the location's LUT Gaussians rendered on the model frame and mapped back like a model map (ignores the image);
// - random: uniform noise on a 512 x 512 frame mapped back the same way. Seeded, but drawn with the portable
//   bootstrap hash (summary.ts), not numpy's generator, so its pairs differ from the Python row's (the row's summary
//   is what it is for: the floor a method must beat).
import { cropBox, mapToOriginal } from '../../grounding/image-ops';
import type { Lut } from '../lut/build';
import { renderGaussians, renderTarget } from '../lut/render';
import type { Box } from '../metrics/score';
import { bootstrapHash } from '../metrics/summary';

export const RANDOM_FRAME = 512;

export function oracleMap(boxes: readonly Box[], height: number, width: number): Float32Array {
  const params = boxes.map(([x, y, w, h]) => [x + w / 2, y + h / 2, w / 3, h / 3] as [number, number, number, number]);
  const full = renderGaussians(params, height, width, height, width);
  const side = Math.min(height, width);
  const [top, left] = cropBox(height, width, side);
  const out = new Float32Array(height * width).fill(NaN);
  for (let y = top; y < top + side; y++) for (let x = left; x < left + side; x++) out[y * width + x] = full[y * width + x];
  return out;
}

export function lutMap(lut: Lut, location: string, height: number, width: number): Float32Array {
  return mapToOriginal(renderTarget(lut, location, lut.frame), lut.frame, height, width);
}

/** Noise for the pair at `index` of a run with `seed`: the same pair gets the same map on a resume. */
export function randomMap(seed: number, index: number, height: number, width: number, frame = RANDOM_FRAME): Float32Array {
  const noise = new Float64Array(frame * frame);
  for (let i = 0; i < noise.length; i++) noise[i] = bootstrapHash(seed, index, i) / 2 ** 32;
  return mapToOriginal(noise, frame, height, width);
}
