// The coordinator's side of reader studies in the renderer (issue 11): the studies with their readers' progress,
// what a design can pick from (reader.designOptions), and creating a study or a new version of one. The service
// validates again and refuses a design with missing maps as a whole; its message is kept for the view to show.
import { defineStore } from 'pinia';
import { ref, shallowRef } from 'vue';
import type { z } from 'zod';
import type { readerProcedures, ReaderStudyStatus } from '../../../common/contract/reader';
import { api } from '../api';
import type { Design } from './design-form';

type Options = z.output<(typeof readerProcedures)['reader.designOptions']['output']>;
export type StudyStatus = z.output<typeof ReaderStudyStatus>;

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

export const useStudyDesignStore = defineStore('reader-design', () => {
  const studies = shallowRef<StudyStatus[]>([]);
  const options = shallowRef<Options | null>(null);
  const error = ref<string | null>(null);
  const loading = ref(false);

  async function loadStudies(): Promise<void> {
    loading.value = true;
    error.value = null;
    try {
      const list = await api.reader.listStudies({});
      studies.value = await Promise.all(list.map((s) => api.reader.studyStatus({ id: s.id })));
    } catch (e) {
      error.value = message(e);
    } finally {
      loading.value = false;
    }
  }

  async function loadOptions(): Promise<void> {
    try {
      options.value = await api.reader.designOptions({ limit: 5000 });
    } catch (e) {
      error.value = message(e);
    }
  }

  const designOf = (id: number): Promise<Design> => api.reader.studyDesign({ id });

  /** The new study's id, or null with `error` set (the service's message, e.g. every case x arm lacking its map). */
  async function create(design: Design, revises?: number): Promise<number | null> {
    error.value = null;
    try {
      const s = await api.reader.createStudy({ design, ...(revises === undefined ? {} : { revises }) });
      return s.id;
    } catch (e) {
      error.value = message(e);
      return null;
    }
  }

  return { studies, options, error, loading, loadStudies, loadOptions, designOf, create };
});
