// The classifier's (t, eps) draws (docs/method.md section 7; main/classification/README.md "The generator"): a
// portable counter-based generator that the Python reference (training/sightline_eval/classify.py) implements too,
// so that both languages noise an image with exactly the same timesteps and noise. It reuses the bootstrap hash of
// the evaluation metrics (murmur3_x86_32 of <b uint32 LE><i uint32 LE> with a seed):
//   imageSeed = h(seed, first 8 hex digits of the image file's sha256, 0)
//   u(s, j)   = (h(imageSeed, s, j) + 0.5) / 2^32, in (0, 1): never 0, so log(u) is finite
//   t_n       = min(hi, lo + floor((n + u(0, n)) (hi - lo + 1) / N))      one draw per stratum of [lo, hi]
//   eps_n     = Box-Muller on the pairs (u(1 + n, 2q), u(1 + n, 2q + 1)), C-major like the ONNX latent
// Keyed by the image's content (not its id), every prompt of an image and every run with the same seed sees the
// same draws, whatever order the images are scored in.
import { bootstrapHash } from '../evaluation/metrics/summary';

const TWO_32 = 4294967296;

/** The image's generator seed from the run's seed and the image file's sha256 (hex). */
export function imageSeedOf(seed: number, sha256: string): number {
  if (!/^[0-9a-fA-F]{8}/.test(sha256)) throw new Error(`image sha256 "${sha256}": expected a hex digest`);
  return bootstrapHash(seed, parseInt(sha256.slice(0, 8), 16), 0);
}

/** u(s, j): the j-th uniform of stream s of an image, in (0, 1). Stream 0: timesteps; stream 1 + n: draw n's noise. */
export function uniformDraw(imageSeed: number, s: number, j: number): number {
  return (bootstrapHash(imageSeed, s, j) + 0.5) / TWO_32;
}

/**
 * `samples` draws for one image: timesteps stratified over [lo, hi] (inclusive) and standard normal noise, draw n's
 * `latentLength` values at [n * latentLength, (n + 1) * latentLength) (computed in float64, stored as float32).
 */
export function drawsFor(
  seed: number,
  sha256: string,
  samples: number,
  range: readonly [number, number],
  latentLength: number,
): { timesteps: number[]; noise: Float32Array } {
  const [lo, hi] = range;
  if (!Number.isInteger(samples) || samples < 1) throw new RangeError(`samples ${samples}: a positive integer`);
  if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 0 || lo > hi) throw new RangeError(`timestep range [${lo}, ${hi}]: integers with 0 <= low <= high`);
  if (!Number.isInteger(latentLength) || latentLength < 1) throw new RangeError(`latent length ${latentLength}: a positive integer`);
  const imageSeed = imageSeedOf(seed, sha256);
  const span = hi - lo + 1;
  const timesteps = Array.from({ length: samples }, (_, n) => Math.min(hi, lo + Math.floor(((n + uniformDraw(imageSeed, 0, n)) * span) / samples)));
  const noise = new Float32Array(samples * latentLength);
  for (let n = 0; n < samples; n++) {
    const at = n * latentLength;
    for (let q = 0; 2 * q < latentLength; q++) {
      const r = Math.sqrt(-2 * Math.log(uniformDraw(imageSeed, 1 + n, 2 * q)));
      const angle = 2 * Math.PI * uniformDraw(imageSeed, 1 + n, 2 * q + 1);
      noise[at + 2 * q] = r * Math.cos(angle);
      if (2 * q + 1 < latentLength) noise[at + 2 * q + 1] = r * Math.sin(angle);
    }
  }
  return { timesteps, noise };
}
