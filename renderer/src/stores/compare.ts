import { defineStore } from 'pinia';
import { computed, ref, watch } from 'vue';
import type { GroundingItem, ModelChoice } from '../lib/grounding-requests';
import { normalisePhrase } from '../lib/grounding';
import { COMPARE_CHOICE_KEY, loadChoice, makerLabel, sameChoice, saveChoice } from '../lib/model-choice';
import { useHeatmapStore } from './heatmaps';
import { browserStorage, useModelChoiceStore } from './model-choice';

/** single: the main viewer alone; compare: the main heatmap beside a second one; multiples: every grounded phrase */
export type ViewMode = 'single' | 'compare' | 'multiples';

/** What the second viewer shows: a model variant (requested like the first), or a stored heatmap (an imported one). */
export type CompareChoice = ({ kind: 'model' } & ModelChoice) | { kind: 'heatmap'; heatmapId: number };

export interface CompareOption {
  id: string;
  label: string;
  choice: CompareChoice;
}

export const optionId = (c: CompareChoice) => (c.kind === 'model' ? `m:${c.model}:${c.variant}` : `h:${c.heatmapId}`);

/**
 * The choices to compare with: every usable model variant, then the heatmaps imported for the same phrase on the
 * same image (another method's; they are never computed here), but the one the main viewer shows.
 */
export function compareOptions(models: readonly { name: string; variants: string[] }[], items: readonly GroundingItem[], primary: GroundingItem | undefined): CompareOption[] {
  const out: CompareOption[] = [];
  for (const m of models)
    for (const v of m.variants) {
      const choice: CompareChoice = { kind: 'model', model: m.name, variant: v };
      out.push({ id: optionId(choice), label: `${m.name} · ${v}`, choice });
    }
  if (primary) {
    const phrase = normalisePhrase(primary.phrase).toLowerCase();
    for (const i of items) {
      if (i.source !== 'imported' || i.heatmapId === null || i.key === primary.key || i.imageId !== primary.imageId || normalisePhrase(i.phrase).toLowerCase() !== phrase) continue;
      const choice: CompareChoice = { kind: 'heatmap', heatmapId: i.heatmapId };
      out.push({ id: optionId(choice), label: makerLabel(i), choice });
    }
  }
  return out;
}

/**
 * The view mode, and Compare's second heatmap: the main viewer's phrase on the same image under a second model
 * variant (a request like the first, through the heatmaps store's queue) or an imported heatmap of that phrase.
 * The second choice is remembered (localStorage); by default it is an imported heatmap of the phrase when there is
 * one, else the first variant that differs from the first. It shows the second request's provisional map while it
 * computes, as the main viewer does (the heatmaps store's `follow`). A request Compare queued itself is cancelled
 * once Compare no longer shows it, unless it has finished or the main viewer shows it.
 */
export const useCompareStore = defineStore('compare', () => {
  const heatmaps = useHeatmapStore();
  const picker = useModelChoiceStore();
  const mode = ref<ViewMode>('single');
  const remembered = ref<ModelChoice | null>(loadChoice(browserStorage(), COMPARE_CHOICE_KEY));
  /** an imported heatmap chosen (for this session) */
  const picked = ref<number | null>(null);
  /** the second request's item key */
  const key = ref<string | null>(null);
  /**
   * keys of the requests Compare queued itself (not the main viewer's, nor "Ground all findings"'s): the only ones
   * it may cancel
   */
  const started = new Set<string>();

  const primary = computed(() => heatmaps.current);
  const options = computed(() => compareOptions(picker.models, heatmaps.items, primary.value));
  const choice = computed<CompareChoice | null>(() => {
    const ids = new Set(options.value.map((o) => o.id));
    if (picked.value !== null && ids.has(`h:${picked.value}`)) return { kind: 'heatmap', heatmapId: picked.value };
    const r = remembered.value;
    if (r && ids.has(optionId({ kind: 'model', ...r }))) return { kind: 'model', ...r };
    // No remembered choice: a heatmap imported for this phrase comes first. It is ready at once and costs nothing,
    // whereas a model variant is a new request queued behind the main viewer's (on a full-size model a 100-second
    // inversion), and comparing with another method is what a map is imported for. Picking a variant remembers it.
    const imported = options.value.find((o) => o.choice.kind === 'heatmap');
    if (imported) return imported.choice;
    const first = primary.value?.model ? { model: primary.value.model, variant: primary.value.variant ?? '' } : picker.choice;
    return options.value.find((o) => o.choice.kind === 'model' && !sameChoice(o.choice, first))?.choice ?? options.value[0]?.choice ?? null;
  });
  const item = computed(() => (key.value === null ? undefined : heatmaps.items.find((i) => i.key === key.value)));
  // the second item's final map once loaded, its provisional map before
  const { heatmap, status } = heatmaps.follow(() => item.value);

  /** Ask for the second heatmap of the main viewer's phrase (nothing while not comparing); let go of the previous one. */
  function request(): void {
    const previous = key.value;
    key.value = secondKey();
    if (previous !== null && previous !== key.value) abandon(previous);
  }
  // again when what it asks for changes (a string: not on every progress event of the items it depends on)
  watch(() => [mode.value, primary.value?.imageId, primary.value?.phrase, choice.value && optionId(choice.value)].join('\u0000'), request);

  function secondKey(): string | null {
    const p = primary.value;
    const c = choice.value;
    if (mode.value !== 'compare' || !p || !c) return null;
    if (c.kind === 'heatmap') return heatmaps.items.find((i) => i.heatmapId === c.heatmapId)?.key ?? null;
    return heatmaps.ground(p.imageId, p.phrase, false, { model: c.model, variant: c.variant }, (queued) => started.add(queued.key))?.key ?? null;
  }

  /**
   * Compare no longer shows this request (another choice, phrase or image, or Compare closed): cancel it when
   * Compare queued it and it is still queued or computing, unless the main viewer shows it (then it is the main
   * viewer's too). One request computes at a time per image, so a forgotten one would hold up the main viewer's
   * next request, on a full-size model for minutes.
   */
  function abandon(previous: string): void {
    if (!started.delete(previous)) return;
    const i = heatmaps.items.find((x) => x.key === previous);
    if (!i || (i.state !== 'queued' && i.state !== 'computing')) return;
    if (heatmaps.selected[i.imageId] === previous) return;
    void heatmaps.cancel(previous);
  }

  function setMode(next: ViewMode): void {
    mode.value = mode.value === next ? 'single' : next;
  }

  /** Compare with an option (by its id, compareOptions). */
  function choose(id: string): void {
    const o = options.value.find((x) => x.id === id);
    if (!o) return;
    if (o.choice.kind === 'heatmap') picked.value = o.choice.heatmapId;
    else {
      picked.value = null;
      remembered.value = { model: o.choice.model, variant: o.choice.variant };
      saveChoice(browserStorage(), COMPARE_CHOICE_KEY, remembered.value);
    }
  }

  return { mode, choice, options, item, heatmap, status, primary, setMode, choose, request };
});
