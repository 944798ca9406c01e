import { defineStore } from 'pinia';
import { computed, markRaw, ref, shallowRef } from 'vue';
import type { Types } from '../../../common/contract';
import { api } from '../api';
import { createLatest } from '../lib/latest';
import { displayKey, loadDisplaySettings, saveDisplaySettings, type DisplaySettings, type KeyValueStorage } from '../lib/display-settings';
import { decodeSamples, dragSensitivity, effectiveInvert, modalityRange, sameWindow, sampleStats, type SampleStats, type Samples, type WindowLevel } from '../lib/window-level';
import { resolvePreset, resolvePresets, type PresetImage, type ResolvedPreset } from '../lib/window-presets';
import { useToastStore } from './toasts';
import { useViewerPrefsStore } from './viewer-prefs';

export interface LoadedImage {
  imageId: number;
  pixel: Omit<Types['PixelData'], 'data'>;
  samples: Samples;
  stats: SampleStats;
  /** the window it opens at: its own first window (PACS behaviour) */
  defaultWindow: WindowLevel;
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

function presetImage(img: Pick<LoadedImage, 'pixel' | 'stats'>): PresetImage {
  const { windows, rescaleSlope, rescaleIntercept, photometric } = img.pixel;
  return { windows, stats: img.stats, rescaleSlope, rescaleIntercept, photometric };
}

/** Turn a `images.pixels` answer into what the viewer draws: typed samples, statistics, its default window. */
export function prepareImage(p: Types['PixelData']): LoadedImage {
  const { data, ...pixel } = p;
  const samples = decodeSamples(data, p.encoding, p.rows * p.columns);
  const stats = sampleStats(samples);
  return markRaw({
    imageId: p.imageId,
    pixel,
    samples,
    stats,
    defaultWindow: resolvePreset({ name: 'Default', kind: 'file', center: 0, width: 0 }, presetImage({ pixel, stats })),
    range: modalityRange(stats.min, stats.max, p.rescaleSlope, p.rescaleIntercept),
  });
}

/**
 * The viewer's image and display state. Each study opens at its images' default window, not inverted (PACS
 * behaviour); moving between the images of one study keeps what the reader set. With the "carry" preference on,
 * window/level and invert are remembered per dataset and pixel format instead (in memory and localStorage) and
 * follow the reader to the next study.
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
  const prefs = useViewerPrefsStore();
  /** the study whose images are shown: a new one starts at the default display unless carry is on */
  let studyId: number | null = null;

  const invert = computed(() => (image.value ? effectiveInvert(image.value.pixel.photometric, userInvert.value) : false));
  const presets = computed<ResolvedPreset[]>(() => (image.value ? resolvePresets(prefs.presets, presetImage(image.value)) : []));
  /** a window other than the image's default, or invert, is in effect (the viewer shows an indicator) */
  const modified = computed(() => {
    const img = image.value;
    if (!img) return { window: false, invert: false };
    return { window: !sameWindow({ center: center.value, width: width.value }, img.defaultWindow), invert: userInvert.value };
  });
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
    const s = key && prefs.carryDisplay ? saved.value[key] : undefined;
    center.value = s ? s.center : img.defaultWindow.center;
    width.value = s ? s.width : img.defaultWindow.width;
    userInvert.value = s ? s.invert : false;
  }

  /**
   * Open an image of `study` (null: no study context, e.g. tests). Another image of the study shown, in the same
   * pixel format, keeps the display; anything else starts from the default (or the dataset's, with carry on).
   */
  async function open(imageId: number, dataset: string | null, study: number | null = null): Promise<void> {
    loading.value = true;
    failed.value = null;
    const r = await opening.run(() => fetchImage(imageId));
    if (!r) return; // a newer open() or close() took over
    if (r.ok) {
      const img = r.value;
      const key = dataset === null ? null : displayKey(dataset, img.pixel.encoding, img.pixel.bitsStored);
      const sameStudy = study !== null && study === studyId && key === datasetKey.value && image.value !== null;
      datasetKey.value = key;
      studyId = study;
      if (!sameStudy) applyDisplayFor(img, key);
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

  /** Remember the display for the dataset (carry on only: off, each study starts afresh). */
  function persist(): void {
    if (!datasetKey.value || !prefs.carryDisplay) return;
    saved.value = { ...saved.value, [datasetKey.value]: { center: center.value, width: width.value, invert: userInvert.value } };
    saveDisplaySettings(storage(), saved.value);
  }

  /** Set window/level; `commit` saves it for the dataset (at the end of a drag, on presets). */
  function setWindow(c: number, w: number, commit = true): void {
    center.value = c;
    width.value = Math.max(1, w);
    if (commit) persist();
  }

  function applyPreset(n: number): ResolvedPreset | null {
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
    center.value = img.defaultWindow.center;
    width.value = img.defaultWindow.width;
    userInvert.value = false;
    if (datasetKey.value && saved.value[datasetKey.value]) {
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
    modified,
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
