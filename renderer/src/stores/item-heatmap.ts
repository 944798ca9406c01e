// What one pane shows of one grounding item: its final map once loaded; before that (while the item computes, and
// once done until its final map is loaded) the item's latest provisional map (`heatmap.partial`,
// stores/heatmap-partials.ts); and how the item stands. The main viewer (the heatmaps store's selected item),
// Compare's second pane (stores/compare.ts) and each small multiple (components/viewer/MultipleTile.vue) follow
// their item through this one piece of code, through the heatmaps store's `follow`.

import { computed, onScopeDispose, shallowRef, watch, type ComputedRef } from 'vue';
import { errorMessage } from '../lib/format';
import type { GroundingItem, HeatmapStatus } from '../lib/grounding-requests';
import type { LoadedHeatmap } from '../lib/heatmap';

/** What following an item needs of the heatmaps store. */
export interface ItemHeatmapLoader {
  /** a final map already loaded: shown in the same tick, so that no frame goes without a map */
  cachedHeatmap(id: number): LoadedHeatmap | undefined;
  fetchHeatmap(id: number): Promise<LoadedHeatmap>;
  /** the item's latest provisional map, if it has one */
  provisionalOf(key: string): LoadedHeatmap | null;
  /** a pane follows the item: its provisional map outlives the job until the pane has the final map; returns the release */
  hold(key: string): () => void;
  /** a final map is loaded: the provisional maps of the items it answers can go */
  finalLoaded(heatmapId: number): void;
}

export interface ItemHeatmap {
  /** the final map, else the provisional one, else null */
  heatmap: ComputedRef<LoadedHeatmap | null>;
  status: ComputedRef<HeatmapStatus>;
}

/**
 * Follow `item()` (it may change, or be undefined) for as long as the calling scope lives (a component's or a
 * store's setup). A map that fails to load marks its item failed, as the grounding list then says.
 */
export function followItemHeatmap(loader: ItemHeatmapLoader, item: () => GroundingItem | undefined): ItemHeatmap {
  const loaded = shallowRef<LoadedHeatmap | null>(null);

  // sync: the hold moves with the item at once, before a job of the new item can finish and drop its map
  let release: (() => void) | null = null;
  watch(
    () => item()?.key,
    (key) => {
      release?.();
      release = key === undefined ? null : loader.hold(key);
    },
    { immediate: true, flush: 'sync' },
  );
  onScopeDispose(() => release?.());

  // the item, once done, has its final map loaded; the latest answer wins
  let seq = 0;
  watch(
    () => (item()?.state === 'done' ? (item()?.heatmapId ?? null) : null),
    async (id) => {
      const n = ++seq;
      if (id === null) return void (loaded.value = null);
      const hit = loader.cachedHeatmap(id);
      if (hit) loaded.value = hit;
      else {
        if (loaded.value?.id !== id) loaded.value = null;
        try {
          const h = await loader.fetchHeatmap(id);
          if (n === seq) loaded.value = h;
        } catch (e) {
          const i = item();
          if (n === seq && i?.heatmapId === id) Object.assign(i, { state: 'failed', error: `Loading the heatmap: ${errorMessage(e)}` });
        }
      }
      loader.finalLoaded(id); // the final map replaces the provisional one
    },
    { immediate: true },
  );

  const provisional = computed(() => {
    const i = item();
    return i && (i.state === 'computing' || i.state === 'done') ? loader.provisionalOf(i.key) : null;
  });
  const heatmap = computed(() => loaded.value ?? provisional.value);
  const status = computed<HeatmapStatus>(() => {
    const i = item();
    if (!i || i.state === 'cancelled') return 'none';
    if (i.state === 'failed') return 'failed';
    if (i.state === 'done' && loaded.value?.id === i.heatmapId) return 'ready';
    return provisional.value ? 'provisional' : 'computing';
  });
  return { heatmap, status };
}
