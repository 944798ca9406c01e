// The Training page's data half: the dataset's candidate pairs (`training.pairs.list`), the filters a bar click or
// the table's controls set, the selection, and exclude / include / edit with undo and redo (an exclude is undone by
// the opposite exclude, an edit by `training.pairs.revert`). Each change reloads the list: the server recounts.
import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import type { z } from 'zod';
import type { Pathology } from '../../../common/contract/evaluation';
import type { TrainingPairs } from '../../../common/contract/training';
import { api } from '../api';
import { useToastStore } from '../stores/toasts';
import { createLatest } from '../lib/latest';
import { changingKeys, describe, filterPairs, History, inverse, NO_FILTER, toggleBar, type Command, type PairFilter } from './logic';

type Pairs = z.output<typeof TrainingPairs>;
export const PAGE_SIZE = 100;

export const useTrainingDataStore = defineStore('training-data', () => {
  const dataset = ref<string | null>(null);
  const list = shallowRef<Pairs | null>(null);
  const loading = ref(false);
  const busy = ref(false);
  const filter = ref<PairFilter>({ ...NO_FILTER });
  const page = ref(0);
  const selected = ref<Set<string>>(new Set());
  const history = new History();
  /** bumped on every history change (the class is not reactive) */
  const historyTick = ref(0);
  const guard = createLatest();

  const pairs = computed(() => list.value?.pairs ?? []);
  const shown = computed(() => filterPairs(pairs.value, filter.value));
  const pages = computed(() => Math.max(1, Math.ceil(shown.value.length / PAGE_SIZE)));
  const pageRows = computed(() => shown.value.slice(page.value * PAGE_SIZE, (page.value + 1) * PAGE_SIZE));
  const kept = computed(() => (list.value ? list.value.kept : null));
  const canUndo = computed(() => (historyTick.value, history.canUndo));
  const canRedo = computed(() => (historyTick.value, history.canRedo));
  const undoLabel = computed(() => (historyTick.value, history.peekUndo() ? `Undo ${describe(history.peekUndo()!)}` : 'Nothing to undo'));
  const redoLabel = computed(() => (historyTick.value, history.peekRedo() ? `Redo ${describe(history.peekRedo()!)}` : 'Nothing to redo'));

  async function reload(): Promise<void> {
    const name = dataset.value;
    if (!name) {
      list.value = null;
      return;
    }
    loading.value = true;
    const ticket = guard.begin();
    try {
      const result = await api.training['pairs.list']({ dataset: name });
      if (!ticket.current) return;
      list.value = result;
      if (page.value >= pages.value) page.value = pages.value - 1;
      const keys = new Set(result.pairs.map((p) => p.key));
      selected.value = new Set([...selected.value].filter((k) => keys.has(k)));
    } catch (e) {
      if (ticket.current) useToastStore().error(e, `Listing the training pairs of ${name}`);
    } finally {
      if (ticket.current) loading.value = false;
    }
  }

  /** Another dataset: its pairs, no filter, an empty history (commands belong to the dataset they were made on). */
  async function choose(name: string | null): Promise<void> {
    if (name === dataset.value) return;
    dataset.value = name;
    list.value = null;
    filter.value = { ...NO_FILTER };
    page.value = 0;
    selected.value = new Set();
    history.clear();
    historyTick.value++;
    await reload();
  }

  function setFilter(next: Partial<PairFilter>): void {
    filter.value = { ...filter.value, ...next };
    page.value = 0;
  }

  function clickBar(axis: 'location' | 'pathology', name: string): void {
    filter.value = toggleBar(filter.value, axis, name);
    page.value = 0;
  }

  function toggleSelected(key: string): void {
    const next = new Set(selected.value);
    if (next.has(key)) next.delete(key);
    else next.add(key);
    selected.value = next;
  }

  /** Selects (or, when all are selected, clears) the rows of the page shown. */
  function togglePage(): void {
    const keys = pageRows.value.map((p) => p.key);
    const all = keys.length > 0 && keys.every((k) => selected.value.has(k));
    const next = new Set(selected.value);
    for (const k of keys) if (all) next.delete(k);
    else next.add(k);
    selected.value = next;
  }

  /** Runs a command (or its inverse) on the server; false with a toast when it fails. */
  async function send(c: Command, direction: 'do' | 'undo'): Promise<boolean> {
    busy.value = true;
    try {
      if (direction === 'do') {
        if (c.kind === 'exclude') await api.training['pairs.exclude']({ keys: c.keys, excluded: c.excluded });
        else c.after = (await api.training['pairs.edit']({ key: c.key, locations: c.locations, pathology: c.pathology as z.output<typeof Pathology> })).key;
      } else {
        const inv = inverse(c);
        if (inv.kind === 'exclude') await api.training['pairs.exclude']({ keys: inv.keys, excluded: inv.excluded });
        else await api.training['pairs.revert']({ key: inv.key });
      }
      return true;
    } catch (e) {
      useToastStore().error(e, `${direction === 'undo' ? 'Undoing the ' : ''}${describe(c)}`);
      return false;
    } finally {
      busy.value = false;
    }
  }

  async function perform(c: Command): Promise<boolean> {
    if (!(await send(c, 'do'))) return false;
    history.push(c);
    historyTick.value++;
    await reload();
    return true;
  }

  /** Excludes (or includes) the given keys, the selection by default; only the pairs that change are recorded. */
  async function exclude(excluded: boolean, keys: readonly string[] = [...selected.value]): Promise<boolean> {
    const changing = changingKeys(pairs.value, keys, excluded);
    if (!changing.length) {
      useToastStore().info(excluded ? 'The selected pairs are already excluded' : 'None of the selected pairs is excluded');
      return false;
    }
    return perform({ kind: 'exclude', keys: changing, excluded });
  }

  async function edit(key: string, locations: string[], pathology: string): Promise<boolean> {
    const before = pairs.value.find((p) => p.key === key)?.prompt ?? null;
    return perform({ kind: 'edit', key, after: key, locations, pathology, before });
  }

  async function undo(): Promise<void> {
    if (busy.value) return;
    const c = history.undo();
    historyTick.value++;
    if (!c) return;
    if (!(await send(c, 'undo'))) history.restore(c, 'done');
    historyTick.value++;
    await reload();
  }

  async function redo(): Promise<void> {
    if (busy.value) return;
    const c = history.redo();
    historyTick.value++;
    if (!c) return;
    if (!(await send(c, 'do'))) history.restore(c, 'undone');
    historyTick.value++;
    await reload();
  }

  return {
    dataset,
    list,
    loading,
    busy,
    filter,
    page,
    pages,
    selected,
    pairs,
    shown,
    pageRows,
    kept,
    canUndo,
    canRedo,
    undoLabel,
    redoLabel,
    reload,
    choose,
    setFilter,
    clickBar,
    toggleSelected,
    togglePage,
    exclude,
    edit,
    undo,
    redo,
  };
});
