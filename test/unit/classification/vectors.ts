// Reading test/vectors/classify-demo.json (written by `python -m sightline_eval.classify --write-vectors`): the
// Python reference's classifier on the demo bundle. Missing: null, unless CI is set (then the test fails).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

export const root = path.resolve(__dirname, '../../..');
export const vectorsFile = path.join(root, 'test/vectors/classify-demo.json');

type Targets<T> = { epsilon: T; v: T };

export interface ClassifyVectors {
  bundle: string;
  seed: number;
  samples: number;
  timestep_range: [number, number];
  latent_shape: [number, number, number];
  image_size: number;
  variant: string;
  normal_prompt: string;
  bundle_manifest_sha256: string;
  generator: {
    seed: number;
    sha256: string;
    image_seed: number;
    /** u(0, n) and u(1, j), n, j = 0 .. 7 */
    u0: number[];
    u1: number[];
    samples: number;
    timestep_range: [number, number];
    latent_shape: [number, number, number];
    timesteps: number[];
    /** draw 0's first 8 noise values and draw (samples - 1)'s last 4 */
    eps_first8: number[];
    eps_draw7_last4: number[];
  };
  images: {
    name: string;
    file: string;
    sha256: string;
    z0: number[];
    draws: { timesteps: number[]; eps: number[] };
    prompts: {
      prompt: string;
      threshold: number | null;
      /** the frozen heatmap (Otsu applied) pooled to the latent grid */
      weights: number[];
      error_maps: Targets<number[]>;
      weighted_error: Targets<{ uniform: number; heatmap: number }>;
    }[];
    /** per pathology prompt: weighted error of the normal prompt - the pathology prompt's, each with its own weights */
    scores: Record<string, Targets<{ uniform: number; heatmap: number }>>;
  }[];
}

export function classifyVectors(): ClassifyVectors | null {
  if (!existsSync(vectorsFile)) {
    if (process.env.CI) throw new Error(`${vectorsFile} is missing (write it with: cd training && python -m sightline_eval.classify --write-vectors ../test/vectors/classify-demo.json)`);
    return null;
  }
  return JSON.parse(readFileSync(vectorsFile, 'utf8')) as ClassifyVectors;
}
