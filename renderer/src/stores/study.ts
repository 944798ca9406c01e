import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import type { Types } from '../../../common/contract';
import { api } from '../api';
import { useStudyListStore } from './studies';
import { useToastStore } from './toasts';

export type StudyDetail = Types['StudyDetail'];

/** The open study (detail + report) and which of its images is shown. */
export const useStudyStore = defineStore('study', () => {
  const detail = shallowRef<StudyDetail | null>(null);
  const loading = ref(false);
  const imageIndex = ref(0);
  let token = 0;
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
    const my = ++token;
    loading.value = true;
    try {
      const d = await api.studies.get({ id });
      if (my !== token) return;
      detail.value = d;
      imageIndex.value = position === 'last' ? Math.max(0, d.images.length - 1) : 0;
    } catch (e) {
      if (my === token) {
        detail.value = null;
        useToastStore().error(e, 'Opening study');
      }
    } finally {
      if (my === token) loading.value = false;
    }
  }

  function close(): void {
    token++;
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
    const item = await useStudyListStore().move(1);
    if (!item) pendingPosition = 'first';
  }

  /** Left arrow: previous image of the study, else the last image of the previous study. */
  async function prevImage(): Promise<void> {
    if (imageIndex.value > 0) {
      imageIndex.value--;
      return;
    }
    pendingPosition = 'last';
    const item = await useStudyListStore().move(-1);
    if (!item) pendingPosition = 'first';
  }

  return { detail, loading, imageIndex, images, currentImage, load, close, selectImage, nextImage, prevImage, takePendingPosition };
});
