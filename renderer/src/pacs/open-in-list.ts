// "Open in the study list" after a retrieve: the study list filtered to the dataset the retrieve imported into
// ("PACS <server>", main/pacs/retrieve.ts), so the retrieved studies are what the worklist shows.
import type { Router } from 'vue-router';
import { useDatasetStore } from '../stores/datasets';
import { useStudyListStore } from '../stores/studies';
import { datasetOfServer } from './logic';

/** Filters the study list to the server's dataset and shows it; the reason in words when there is no such dataset. */
export async function openInStudyList(router: Router, server: string): Promise<string | null> {
  const datasets = useDatasetStore();
  await datasets.load();
  const name = datasetOfServer(server);
  const dataset = datasets.datasets.find((d) => d.name === name);
  if (!dataset) return `the study list has no dataset “${name}” (nothing was imported from ${server})`;
  await useStudyListStore().setDataset(dataset.id);
  await router.push('/');
  return null;
}
