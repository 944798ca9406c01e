import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { api } from '../api';
import type { KeyValueStorage } from '../lib/display-settings';
import type { ModelChoice } from '../lib/grounding-requests';
import { MODEL_CHOICE_KEY, loadChoice, resolveChoice, saveChoice, usableModels } from '../lib/model-choice';
import { useModelsStore } from './models';

export function browserStorage(): KeyValueStorage | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    return null;
  }
}

/**
 * The grounding panel's model and variant picker: the registry's models (`models.list` through the models store)
 * whose check did not fail, and the choice new requests use, remembered in localStorage (lib/model-choice.ts).
 */
export const useModelChoiceStore = defineStore('modelChoice', () => {
  const registry = useModelsStore();
  const remembered = ref<ModelChoice | null>(loadChoice(browserStorage(), MODEL_CHOICE_KEY));
  /** the settings' model (the service's default when a request names none) */
  const preferred = ref<string | null>(null);
  const loaded = ref(false);

  const models = computed(() => usableModels(registry.models));
  const choice = computed(() => resolveChoice(registry.models, remembered.value, preferred.value));
  const variants = computed(() => models.value.find((m) => m.name === choice.value?.model)?.variants ?? []);

  async function load(): Promise<void> {
    const [settings] = await Promise.all([api.settings.get({}).catch(() => null), registry.refreshList()]);
    preferred.value = settings?.model ?? null;
    loaded.value = true;
  }

  let first: Promise<void> | null = null;
  /** Resolves once the models were listed the first time (they are listed then). */
  function ready(): Promise<void> {
    return (first ??= load());
  }

  function set(next: ModelChoice): void {
    remembered.value = { model: next.model, variant: next.variant };
    saveChoice(browserStorage(), MODEL_CHOICE_KEY, remembered.value);
  }

  /** Another model: its default variant (or the current variant's name when it has one too). */
  function setModel(name: string): void {
    const m = models.value.find((x) => x.name === name);
    if (!m) return;
    const keep = choice.value && m.variants.includes(choice.value.variant) ? choice.value.variant : m.defaultVariant;
    set({ model: m.name, variant: m.variants.includes(keep) ? keep : m.variants[0] });
  }

  function setVariant(variant: string): void {
    if (choice.value && variants.value.includes(variant)) set({ model: choice.value.model, variant });
  }

  return { models, choice, variants, loaded, remembered, load, ready, set, setModel, setVariant };
});
