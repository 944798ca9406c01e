// Which model and variant grounding requests use: the registry's models that may run (a bundle whose check
// failed is left out), the choice remembered in localStorage, and how a remembered choice that no longer exists
// falls back (its model's default variant, then the settings' model, then the first usable model).

import type { Types } from '../../../common/contract';
import type { KeyValueStorage } from './display-settings';
import type { ModelChoice } from './grounding-requests';

export type ModelInfo = Types['ModelInfo'];

export const MODEL_CHOICE_KEY = 'sightline.grounding-model.v1';
export const COMPARE_CHOICE_KEY = 'sightline.compare-model.v1';

/** The models a request may name: every one whose check did not fail ('ok' or 'unverified'). */
export function usableModels(models: readonly ModelInfo[]): ModelInfo[] {
  return models.filter((m) => m.check.state !== 'failed' && m.variants.length > 0);
}

/**
 * The choice in effect: the remembered one when its model is usable (its variant, or the model's default variant
 * when the manifest no longer has it); else the settings' model, else the first usable one, at its default variant;
 * null when no model is usable (requests then leave the choice to the service).
 */
export function resolveChoice(models: readonly ModelInfo[], remembered: ModelChoice | null, preferred: string | null = null): ModelChoice | null {
  const usable = usableModels(models);
  const at = (m: ModelInfo, variant?: string): ModelChoice => ({
    model: m.name,
    variant: variant !== undefined && m.variants.includes(variant) ? variant : m.variants.includes(m.defaultVariant) ? m.defaultVariant : m.variants[0],
  });
  const mine = remembered && usable.find((m) => m.name === remembered.model);
  if (mine) return at(mine, remembered.variant);
  const fallback = usable.find((m) => m.name === preferred) ?? usable[0];
  return fallback ? at(fallback) : null;
}

export const sameChoice = (a: ModelChoice | null | undefined, b: ModelChoice | null | undefined) =>
  !!a && !!b && a.model === b.model && a.variant === b.variant;

export const choiceLabel = (c: { model: string | null; variant: string | null }) => (c.model && c.variant ? `${c.model} · ${c.variant}` : 'default model');

/** How a heatmap's maker reads in lists and captions: 'demo · tuned', or 'gradcam (imported)' (imported ones have
 * the method as their model and, usually, the variant 'imported'). */
export function makerLabel(c: { model: string | null; variant: string | null; source?: 'model' | 'imported' }): string {
  if (c.source !== 'imported') return choiceLabel(c);
  return c.variant && c.variant !== 'imported' ? `${c.model ?? '?'} · ${c.variant} (imported)` : `${c.model ?? '?'} (imported)`;
}

export function loadChoice(storage: KeyValueStorage | null, key: string): ModelChoice | null {
  try {
    const v: unknown = JSON.parse(storage?.getItem(key) ?? 'null');
    if (!v || typeof v !== 'object') return null;
    const { model, variant } = v as Record<string, unknown>;
    return typeof model === 'string' && model && typeof variant === 'string' && variant ? { model, variant } : null;
  } catch {
    return null;
  }
}

export function saveChoice(storage: KeyValueStorage | null, key: string, choice: ModelChoice | null): void {
  try {
    storage?.setItem(key, JSON.stringify(choice ? { model: choice.model, variant: choice.variant } : null));
  } catch {
    /* storage full or unavailable: remembered for this session only */
  }
}
