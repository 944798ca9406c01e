// The fast preset (issue 10; main/evaluation/README.md "The fast preset"): the bundle's default variant with half the
// DDIM inversion steps and, of those, the kept steps whose timesteps lie in the default's kept range (the demo:
// 50 steps, kept 20..29 at timesteps 419..599 every 20, instead of 100 steps, kept 40..59 at 409..599 every 10).
// Half the inversion and half the phrase passes. On the 341 pairs of a 300-case synthetic world it scored within
// the default's 95% CIs (bench/results/fast-preset-world300.json), so it ships as a variant named `<default>-fast`,
// derived when a bundle is opened: the bundle's files (and so its hash) stay as they are.
import type { BundleManifest, GroundingVariant } from '../../common/model-bundle';

export const FAST_SUFFIX = '-fast';

/** `base` with `steps` inference steps and the kept steps on the same timestep range; null when that keeps none or
 * is not fewer steps (the trailing timesteps of the grounding engine, main/grounding/schedule.ts). */
export function fastVariant(base: GroundingVariant, numTrainTimesteps: number, steps: number): GroundingVariant | null {
  if (steps >= base.num_inference_steps || steps < 1) return null;
  const stride = Math.floor(numTrainTimesteps / steps);
  const [lo, hi] = [Math.min(...base.timesteps), Math.max(...base.timesteps)];
  const kept = [...Array(steps).keys()].filter((i) => (i + 1) * stride - 1 >= lo && (i + 1) * stride - 1 <= hi);
  if (!kept.length) return null;
  return { ...base, num_inference_steps: steps, step_indices: kept, timesteps: kept.map((i) => (i + 1) * stride - 1) };
}

/** The manifest's default variant: "frozen" where there is one, else the first (as grounding resolves a null variant). */
export function defaultVariantName(manifest: Pick<BundleManifest, 'grounding'>): string | undefined {
  return 'frozen' in manifest.grounding ? 'frozen' : Object.keys(manifest.grounding)[0];
}

/** The derived preset variants of a manifest (name -> settings) whose names are free: `<default>-fast`. */
export function presetVariants(manifest: Pick<BundleManifest, 'grounding' | 'schedule'>): Record<string, GroundingVariant> {
  const name = defaultVariantName(manifest);
  if (name === undefined || `${name}${FAST_SUFFIX}` in manifest.grounding) return {};
  const fast = fastVariant(manifest.grounding[name], manifest.schedule.num_train_timesteps, Math.floor(manifest.grounding[name].num_inference_steps / 2));
  return fast ? { [`${name}${FAST_SUFFIX}`]: fast } : {};
}

/** "a, b-c, d": runs of consecutive integers shortened */
function ranges(values: number[]): string {
  const out: string[] = [];
  const v = [...values].sort((a, b) => a - b);
  for (let i = 0; i < v.length; ) {
    let j = i;
    while (j + 1 < v.length && v[j + 1] === v[j] + 1) j++;
    out.push(j > i + 1 ? `${v[i]}-${v[j]}` : v.slice(i, j + 1).join(', '));
    i = j + 1;
  }
  return out.join(', ');
}

/** What a variant computes, in a line a user reads beside its name (the model picker, `sightline models list`). */
export function variantNote(name: string, v: GroundingVariant, manifest: Pick<BundleManifest, 'grounding'>): string {
  const parts = [
    `layers ${ranges(v.layers)}`,
    `${v.num_inference_steps} inversion steps, kept ${ranges(v.step_indices)}`,
    v.otsu ? 'Otsu threshold' : 'no threshold',
  ];
  const rows = Object.keys(v.token_overrides ?? {}).length;
  if (rows) parts.push(`${rows} tuned token row${rows === 1 ? '' : 's'}`);
  const base = name.endsWith(FAST_SUFFIX) ? name.slice(0, -FAST_SUFFIX.length) : null;
  if (base && base === defaultVariantName(manifest)) parts.push(`fast preset of ${base}: about half the time`);
  return parts.join(' · ');
}
