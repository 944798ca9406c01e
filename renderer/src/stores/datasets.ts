import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { Types } from '../../../common/contract';
import { api } from '../api';
import { useToastStore } from './toasts';

export const useDatasetStore = defineStore('datasets', () => {
  const datasets = ref<Types['Dataset'][]>([]);
  const loading = ref(false);

  async function load(): Promise<void> {
    loading.value = true;
    try {
      datasets.value = await api.datasets.list({});
    } catch (e) {
      useToastStore().error(e, 'Loading datasets');
    } finally {
      loading.value = false;
    }
  }

  return { datasets, loading, load };
});
