import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import type { Types } from '../../../common/contract';
import { api } from '../api';
import { createLatest } from '../lib/latest';
import { useStudyListStore } from './studies';
import { useToastStore } from './toasts';

export type StudyDetail = Types['StudyDetail'];

/** The open study (detail + report) and which of its images is shown. */
export const useStudyStore = defineStore('study', () => {
  const detail = shallowRef<StudyDetail | null>(null);
  const loading = ref(false);
  const imageIndex = ref(0);
  const loadingStudy = createLatest();
  let pendingPosition: 'first' | 'last' = 'first';

  /** Where to land in the next study opened through the list selection (set by the arrow keys). */
  function takePendingPosition(): 'first' | 'last' {
    const p = pendingPosition;
    pendingPosition = 'first';
    return p;
  }

  const images = computed(() => detail.value?.images ?? []);
  const currentImage = computed(() => images.value[imageIndex.value] ?? null);

  async function load(id: number, position: 'first' | 'last' = 'first'): Promise<void> {
    loading.value = true;
    const r = await loadingStudy.run(() => api.studies.get({ id }));
    if (!r) return; // a newer load() or close() took over
    if (r.ok) {
      detail.value = r.value;
      imageIndex.value = position === 'last' ? Math.max(0, r.value.images.length - 1) : 0;
    } else {
      detail.value = null;
      useToastStore().error(r.error, 'Opening study');
    }
    loading.value = false;
  }

  function close(): void {
    loadingStudy.cancel();
    detail.value = null;
    loading.value = false;
    imageIndex.value = 0;
  }

  function selectImage(i: number): void {
    if (i >= 0 && i < images.value.length) imageIndex.value = i;
  }

  /** Right arrow: next image of the study, else the first image of the next study in list order. */
  async function nextImage(): Promise<void> {
    if (imageIndex.value < images.value.length - 1) {
      imageIndex.value++;
      return;
    }
    pendingPosition = 'first';
    const list = useStudyListStore();
    const item = await list.move(1);
    if (!item) {
      pendingPosition = 'first';
      // say so rather than doing nothing: the reader pressed → on the last image of the last study
      if (list.total !== null && list.selectedIndex === list.total - 1) useToastStore().info('End of the list: this is the last image of the last study.');
    }
  }

  /** Left arrow: previous image of the study, else the last image of the previous study. */
  async function prevImage(): Promise<void> {
    if (imageIndex.value > 0) {
      imageIndex.value--;
      return;
    }
    pendingPosition = 'last';
    const list = useStudyListStore();
    const item = await list.move(-1);
    if (!item) {
      pendingPosition = 'first';
      if (list.selectedIndex === 0) useToastStore().info('Start of the list: this is the first image of the first study.');
    }
  }

  return { detail, loading, imageIndex, images, currentImage, load, close, selectImage, nextImage, prevImage, takePendingPosition };
});
