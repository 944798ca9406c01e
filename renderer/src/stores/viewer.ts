import { defineStore } from 'pinia';
import { computed, markRaw, ref, shallowRef } from 'vue';
import type { Types } from '../../../common/contract';
import { api } from '../api';
import { createLatest } from '../lib/latest';
import { displayKey, loadDisplaySettings, saveDisplaySettings, type DisplaySettings, type KeyValueStorage } from '../lib/display-settings';
import {
  buildPresets,
  decodeSamples,
  defaultWindow,
  dragSensitivity,
  effectiveInvert,
  modalityRange,
  sampleStats,
  type Preset,
  type SampleStats,
  type Samples,
} from '../lib/window-level';
import { useToastStore } from './toasts';

export interface LoadedImage {
  imageId: number;
  pixel: Omit<Types['PixelData'], 'data'>;
  samples: Samples;
  stats: SampleStats;
  presets: Preset[];
  /** modality-value range, for drag sensitivity */
  range: [number, number];
}

const CACHE_SIZE = 4;

function storage(): KeyValueStorage | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    return null;
  }
}

/** Turn a `images.pixels` answer into what the viewer draws: typed samples, statistics and presets. */
export function prepareImage(p: Types['PixelData']): LoadedImage {
  const { data, ...pixel } = p;
  const samples = decodeSamples(data, p.encoding, p.rows * p.columns);
  const stats = sampleStats(samples);
  const presets = buildPresets(p.windows, stats, p.rescaleSlope, p.rescaleIntercept);
  return markRaw({
    imageId: p.imageId,
    pixel,
    samples,
    stats,
    presets,
    range: modalityRange(stats.min, stats.max, p.rescaleSlope, p.rescaleIntercept),
  });
}

/**
 * The viewer's image and display state. Window/level and invert are remembered per dataset (in memory
 * and localStorage), so moving to the next image of the same dataset keeps them.
 */
export const useViewerStore = defineStore('viewer', () => {
  const image = shallowRef<LoadedImage | null>(null);
  const loading = ref(false);
  const failed = ref<string | null>(null);
  const datasetKey = ref<string | null>(null);
  const center = ref(0);
  const width = ref(1);
  const userInvert = ref(false);
  const saved = ref<Record<string, DisplaySettings>>(loadDisplaySettings(storage()));
  const cache = new Map<number, LoadedImage>();
  const pending = new Map<number, Promise<LoadedImage>>();
  const opening = createLatest();

  const invert = computed(() => (image.value ? effectiveInvert(image.value.pixel.photometric, userInvert.value) : false));
  const presets = computed(() => image.value?.presets ?? []);
  const sensitivity = computed(() => (image.value ? dragSensitivity(image.value.range[1] - image.value.range[0]) : 1));

  function fetchImage(imageId: number): Promise<LoadedImage> {
    const hit = cache.get(imageId);
    if (hit) {
      cache.delete(imageId);
      cache.set(imageId, hit);
      return Promise.resolve(hit);
    }
    const inflight = pending.get(imageId);
    if (inflight) return inflight;
    const promise = api.images
      .pixels({ id: imageId })
      .then((p) => {
        const loaded = prepareImage(p);
        cache.set(imageId, loaded);
        while (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value as number);
        return loaded;
      })
      .finally(() => pending.delete(imageId));
    pending.set(imageId, promise);
    return promise;
  }

  /** Warm the cache for the image the user will probably open next. */
  function prefetch(imageId: number | null | undefined): void {
    if (imageId == null || cache.has(imageId) || pending.has(imageId)) return;
    fetchImage(imageId).catch(() => {
      /* shown when actually opened */
    });
  }

  function applyDisplayFor(img: LoadedImage, key: string | null): void {
    const s = key ? saved.value[key] : undefined;
    if (s) {
      center.value = s.center;
      width.value = s.width;
      userInvert.value = s.invert;
    } else {
      const w = defaultWindow(img.presets, img.pixel.windows.length);
      center.value = w.center;
      width.value = w.width;
      userInvert.value = false;
    }
  }

  async function open(imageId: number, dataset: string | null): Promise<void> {
    loading.value = true;
    failed.value = null;
    const r = await opening.run(() => fetchImage(imageId));
    if (!r) return; // a newer open() or close() took over
    if (r.ok) {
      const img = r.value;
      const key = dataset === null ? null : displayKey(dataset, img.pixel.encoding, img.pixel.bitsStored);
      datasetKey.value = key;
      applyDisplayFor(img, key);
      image.value = img;
    } else {
      image.value = null;
      failed.value = r.error instanceof Error ? r.error.message : String(r.error);
      useToastStore().error(r.error, 'Loading image');
    }
    loading.value = false;
  }

  function close(): void {
    opening.cancel();
    image.value = null;
    loading.value = false;
    failed.value = null;
  }

  function persist(): void {
    if (!datasetKey.value) return;
    saved.value = { ...saved.value, [datasetKey.value]: { center: center.value, width: width.value, invert: userInvert.value } };
    saveDisplaySettings(storage(), saved.value);
  }

  /** Set window/level; `commit` saves it for the dataset (at the end of a drag, on presets). */
  function setWindow(c: number, w: number, commit = true): void {
    center.value = c;
    width.value = Math.max(1, w);
    if (commit) persist();
  }

  function applyPreset(n: number): Preset | null {
    const p = presets.value[n - 1];
    if (!p) return null;
    setWindow(p.center, p.width);
    return p;
  }

  function toggleInvert(): void {
    userInvert.value = !userInvert.value;
    persist();
  }

  /** Back to the image's own default display (and forget the dataset's saved one). */
  function resetDisplay(): void {
    const img = image.value;
    if (!img) return;
    const w = defaultWindow(img.presets, img.pixel.windows.length);
    center.value = w.center;
    width.value = w.width;
    userInvert.value = false;
    if (datasetKey.value) {
      const next = { ...saved.value };
      delete next[datasetKey.value];
      saved.value = next;
      saveDisplaySettings(storage(), next);
    }
  }

  /** Forget every dataset's saved display (settings dialog). */
  function forgetAll(): void {
    saved.value = {};
    saveDisplaySettings(storage(), {});
  }

  return {
    forgetAll,
    image,
    loading,
    failed,
    datasetKey,
    center,
    width,
    userInvert,
    invert,
    presets,
    sensitivity,
    saved,
    open,
    close,
    prefetch,
    setWindow,
    applyPreset,
    toggleInvert,
    resetDisplay,
    persist,
  };
});
