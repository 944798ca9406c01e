// The Cluster page's state (issue 16): what to export from (datasets, benchmarks with their subsets, models), the
// export form and its result, the job folder in use, the Slurm form (remembered: the cluster's paths rarely change)
// and the script written, the folder's status (latest answer wins), and the import as a durable `batch-import` job
// (progress by job id, cancel, its result). Another folder clears everything that described the previous one.
import { defineStore } from 'pinia';
import { computed, ref, shallowRef, watch } from 'vue';
import type { Types } from '../../../common/contract';
import type { BatchExportResult, BatchSlurmResult } from '../../../common/contract/batch';
import type { BenchmarkSummary, Subset } from '../../../common/contract/evaluation';
import type { z } from 'zod';
import { api } from '../api';
import { attempt } from '../lib/attempt';
import { errorMessage } from '../lib/format';
import { createLatest } from '../lib/latest';
import { useFollowedJob } from '../stores/followed-job';
import { defaultExportForm, defaultSlurmForm, exportRequest, slurmRequest, type ExportForm, type ImportResult, type SlurmForm, type Status } from './logic';

type Progress = Types['JobProgress'];
export const IMPORT_KIND = 'batch-import';
export const SLURM_STORAGE = 'sightline.batch.v1';

export interface ImportJob {
  jobId: string;
  /** the folder it imports (null: a job found running when the page opened) */
  folder: string | null;
  progress: Progress;
}

function storedSlurmForm(): SlurmForm {
  try {
    const saved = JSON.parse(localStorage.getItem(SLURM_STORAGE) ?? 'null') as Partial<SlurmForm> | null;
    const form = defaultSlurmForm();
    if (saved && typeof saved === 'object') for (const k of Object.keys(form) as (keyof SlurmForm)[]) if (typeof saved[k] === 'string') form[k] = saved[k];
    return form;
  } catch {
    return defaultSlurmForm();
  }
}

export const useBatchStore = defineStore('batch', () => {
  const datasets = shallowRef<Types['Dataset'][]>([]);
  const benchmarks = shallowRef<z.output<typeof BenchmarkSummary>[]>([]);
  const subsets = shallowRef<z.output<typeof Subset>[]>([]);
  const models = shallowRef<Types['ModelInfo'][]>([]);
  const loading = ref(false);
  const loadError = ref<string | null>(null);

  const exportForm = ref<ExportForm>(defaultExportForm());
  const exporting = ref(false);
  const exported = shallowRef<z.output<typeof BatchExportResult> | null>(null);
  const exportError = ref<string | null>(null);

  /** the job folder sections 2-4 are about */
  const folder = ref('');
  const slurmForm = ref<SlurmForm>(storedSlurmForm());
  const slurm = shallowRef<z.output<typeof BatchSlurmResult> | null>(null);
  const slurmError = ref<string | null>(null);
  const writing = ref(false);

  const status = shallowRef<Status | null>(null);
  const statusError = ref<string | null>(null);
  const statusLoading = ref(false);
  /** the shown status hashed the sealed shards' files */
  const statusVerified = ref(false);
  const latestStatus = createLatest();

  const imports = useFollowedJob<ImportJob>({ kind: IMPORT_KIND, what: 'the import', ended: importEnded });
  const { job: importJob, error: importError, starting: importStarting, running: importing } = imports;
  const importResult = shallowRef<ImportResult | null>(null);

  const model = computed(() => models.value.find((m) => m.name === exportForm.value.model) ?? null);
  const builtExport = computed(() => exportRequest(exportForm.value));
  const builtSlurm = computed(() => slurmRequest(folder.value, slurmForm.value));

  watch(slurmForm, (f) => localStorage.setItem(SLURM_STORAGE, JSON.stringify(f)), { deep: true });
  watch(
    () => exportForm.value.benchmark,
    (b) => void loadSubsets(b),
  );

  async function load(): Promise<void> {
    loading.value = true;
    const problems: string[] = [];
    const failed = (what: string) => (e: unknown) => (problems.push(`${what}: ${errorMessage(e)}`), []);
    const [d, b, m, settings, jobs] = await Promise.all([
      api.datasets.list({}).catch(failed('listing datasets')),
      api.evaluation['benchmarks.list']({}).catch(failed('listing benchmarks')),
      api.models.list({}).catch(failed('listing models')),
      api.settings.get({}).catch(() => null),
      api.jobs.list({}).catch(() => [] as Progress[]),
    ]);
    datasets.value = d;
    benchmarks.value = b;
    models.value = m;
    loadError.value = problems.length ? problems.join('; ') : null;
    const f = exportForm.value;
    if (!d.some((x) => x.name === f.dataset)) f.dataset = d[0]?.name ?? '';
    if (!b.some((x) => x.key === f.benchmark)) f.benchmark = b.find((x) => x.name === 'MS-CXR-loc')?.key ?? b[0]?.key ?? '';
    if (!m.some((x) => x.name === f.model)) {
      const pick = m.find((x) => x.name === settings?.model) ?? m.find((x) => x.name === 'sightline-demo-ldm') ?? m[0];
      if (pick) chooseModel(pick.name);
    }
    // back on the page: what the import did meanwhile; or one still running (the window reloaded), with Cancel
    imports.catchUp(jobs);
    const running = jobs.find((j) => j.kind === IMPORT_KIND && j.state === 'running');
    if (running && !importJob.value) imports.adopt({ jobId: running.jobId, folder: null, progress: running });
    loading.value = false;
  }

  async function loadSubsets(benchmark: string): Promise<void> {
    subsets.value = [];
    if (!benchmark) return;
    try {
      const list = await api.evaluation['subsets.list']({ benchmark });
      if (exportForm.value.benchmark === benchmark) subsets.value = list;
    } catch {
      /* no subsets to offer: the whole benchmark still exports */
    }
    if (!subsets.value.some((s) => s.name === exportForm.value.subset)) exportForm.value.subset = '';
  }

  /** Another model: its default variant checked. */
  function chooseModel(name: string): void {
    exportForm.value.model = name;
    const m = models.value.find((x) => x.name === name);
    exportForm.value.variants = m ? [m.defaultVariant] : [];
  }

  async function runExport(): Promise<boolean> {
    const { request, error } = builtExport.value;
    if (!request || exporting.value) {
      exportError.value = error;
      return false;
    }
    exported.value = null;
    return attempt(exporting, exportError, async () => {
      const result = await api.batch.export(request);
      exported.value = result;
      await setFolder(result.folder);
    });
  }

  /** The job folder in use: everything about the previous one goes (an import still running stays, named). */
  async function setFolder(next: string): Promise<void> {
    const f = next.trim();
    if (f !== folder.value) {
      folder.value = f;
      slurm.value = null;
      slurmError.value = null;
      status.value = null;
      statusError.value = null;
      if (!importing.value) {
        imports.forget();
        importResult.value = null;
      }
      if (exported.value && exported.value.folder !== f) exported.value = null;
    }
    await refreshStatus();
  }

  /** `verify`: also hash every file of the sealed shards (as the import does; slow on a big job) */
  async function refreshStatus(verify = false): Promise<void> {
    const f = folder.value;
    if (!f) {
      latestStatus.cancel();
      statusLoading.value = false;
      return;
    }
    statusLoading.value = true;
    const outcome = await latestStatus.run(() => api.batch.status({ folder: f, verify }));
    if (!outcome || f !== folder.value) return;
    statusLoading.value = false;
    if (outcome.ok) {
      status.value = outcome.value;
      statusVerified.value = verify;
      statusError.value = null;
    } else {
      status.value = null;
      statusError.value = errorMessage(outcome.error);
    }
  }

  async function writeSlurm(): Promise<boolean> {
    const { request, error } = builtSlurm.value;
    if (!request || writing.value) {
      slurmError.value = error;
      return false;
    }
    const f = folder.value;
    writing.value = true;
    slurmError.value = null;
    try {
      const result = await api.batch.slurm(request);
      if (f === folder.value) slurm.value = result;
      return true;
    } catch (e) {
      if (f === folder.value) slurmError.value = errorMessage(e);
      return false;
    } finally {
      writing.value = false;
    }
  }

  function stop(): void {
    imports.stop();
    latestStatus.cancel();
  }

  async function startImport(): Promise<boolean> {
    const f = folder.value;
    if (!f || importing.value) return false;
    return imports.start(async () => {
      importResult.value = null;
      return { jobId: (await api.batch.import({ folder: f })).jobId, folder: f };
    });
  }

  /** A failed import's message is its error; a done one's result is read; the folder's status again, if shown. */
  async function importEnded({ jobId, progress: p }: ImportJob): Promise<void> {
    if (p.state === 'failed') importError.value = p.message;
    else if (p.state === 'done') importResult.value = await readImportResult(jobId);
    if (importJob.value?.jobId === jobId && importJob.value.folder === folder.value) await refreshStatus();
  }

  return {
    datasets, benchmarks, subsets, models, loading, loadError, exportForm, exporting, exported, exportError, folder, slurmForm, slurm, slurmError, writing,
    status, statusError, statusLoading, statusVerified, importJob, importResult, importError, importStarting, model, builtExport, builtSlurm, importing,
    load, chooseModel, runExport, setFolder, refreshStatus, writeSlurm, listen: imports.listen, stop, startImport, cancelImport: imports.cancel,
  };
});

/** The import job's result (batch.importResult); null when it cannot be read (the page shows the job's message). */
async function readImportResult(jobId: string): Promise<ImportResult | null> {
  try {
    return (await api.batch.importResult({ jobId })).result;
  } catch {
    return null;
  }
}
