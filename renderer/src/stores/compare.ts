import { defineStore } from 'pinia';
import { computed, ref, shallowRef, watch } from 'vue';
import type { GroundingItem, HeatmapStatus, ModelChoice } from '../lib/grounding-requests';
import { normalisePhrase } from '../lib/grounding';
import type { LoadedHeatmap } from '../lib/heatmap';
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
 * same image (another method's; they are never computed here).
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
      if (i.source !== 'imported' || i.heatmapId === null || i.imageId !== primary.imageId || normalisePhrase(i.phrase).toLowerCase() !== phrase) continue;
      const choice: CompareChoice = { kind: 'heatmap', heatmapId: i.heatmapId };
      out.push({ id: optionId(choice), label: makerLabel(i), choice });
    }
  }
  return out;
}

/**
 * The view mode, and Compare's second heatmap: the main viewer's phrase on the same image under a second model
 * variant (a request like the first, through the heatmaps store's queue) or an imported heatmap of that phrase.
 * The second choice is remembered (localStorage); by default it is the first variant that differs from the first.
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
  const heatmap = shallowRef<LoadedHeatmap | null>(null);

  const primary = computed(() => heatmaps.current);
  const options = computed(() => compareOptions(picker.models, heatmaps.items, primary.value));
  const choice = computed<CompareChoice | null>(() => {
    const ids = new Set(options.value.map((o) => o.id));
    if (picked.value !== null && ids.has(`h:${picked.value}`)) return { kind: 'heatmap', heatmapId: picked.value };
    const r = remembered.value;
    if (r && ids.has(optionId({ kind: 'model', ...r }))) return { kind: 'model', ...r };
    const first = primary.value?.model ? { model: primary.value.model, variant: primary.value.variant ?? '' } : picker.choice;
    return options.value.find((o) => o.choice.kind === 'model' && !sameChoice(o.choice, first))?.choice ?? options.value[0]?.choice ?? null;
  });
  const item = computed(() => (key.value === null ? undefined : heatmaps.items.find((i) => i.key === key.value)));
  const status = computed<HeatmapStatus>(() => {
    const i = item.value;
    if (!i || i.state === 'cancelled') return 'none';
    if (i.state === 'failed') return 'failed';
    return i.state === 'done' && heatmap.value?.id === i.heatmapId ? 'ready' : 'computing';
  });

  /** Ask for the second heatmap of the main viewer's phrase (nothing while not comparing). */
  function request(): void {
    const p = primary.value;
    const c = choice.value;
    if (mode.value !== 'compare' || !p || !c) {
      key.value = null;
      return;
    }
    if (c.kind === 'heatmap') key.value = heatmaps.items.find((i) => i.heatmapId === c.heatmapId)?.key ?? null;
    else key.value = heatmaps.ground(p.imageId, p.phrase, false, { model: c.model, variant: c.variant })?.key ?? null;
  }
  // again when what it asks for changes (a string: not on every progress event of the items it depends on)
  watch(() => [mode.value, primary.value?.imageId, primary.value?.phrase, choice.value && optionId(choice.value)].join('\u0000'), request);

  // the second item, once done, is loaded; the latest answer wins
  let loadSeq = 0;
  watch(
    () => (item.value?.state === 'done' ? item.value.heatmapId : null),
    async (id) => {
      const seq = ++loadSeq;
      if (id === null) return void (heatmap.value = null);
      if (heatmap.value?.id !== id) heatmap.value = null;
      try {
        const h = await heatmaps.fetchHeatmap(id);
        if (seq === loadSeq) heatmap.value = h;
      } catch (e) {
        const i = item.value;
        if (seq === loadSeq && i?.heatmapId === id) Object.assign(i, { state: 'failed', error: `Loading the heatmap: ${e instanceof Error ? e.message : String(e)}` });
      }
    },
  );

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
