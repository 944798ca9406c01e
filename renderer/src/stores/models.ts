import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import type { Types } from '../../../common/contract';
import { api, events } from '../api';
import { useToastStore } from './toasts';

type ModelInfo = Types['ModelInfo'];
type RuntimeInfo = Types['RuntimeInfo'];
type JobProgress = Types['JobProgress'];
export type ExecutionProvider = Types['ExecutionProvider'];
export type ProviderSetting = Types['Settings']['executionProvider'];

export const PROVIDER_LABELS: Readonly<Record<ExecutionProvider, string>> = {
  cpu: 'CPU',
  cuda: 'CUDA',
  dml: 'DirectML',
  coreml: 'CoreML',
  webgpu: 'WebGPU',
};

const TERMINAL = new Set<JobProgress['state']>(['done', 'failed', 'cancelled', 'interrupted']);
const POLL_MS = 1500;
/**
 * The model registry and the grounding runtime as the settings dialog shows them: the bundles with their checks,
 * verification and add jobs followed by `job.progress` events (polling `jobs.list` as a fallback), and the
 * execution provider and thread settings with the provider actually active.
 */
export const useModelsStore = defineStore('models', () => {
  const models = shallowRef<ModelInfo[]>([]);
  const runtime = shallowRef<RuntimeInfo | null>(null);
  const executionProvider = ref<ProviderSetting>('auto');
  const threads = ref(0);
  const loading = ref(false);
  /** verification jobs by model name (the latest progress) */
  const verifying = ref<Record<string, JobProgress>>({});
  /** the add job, while it runs and after it ended (until the next add) */
  const adding = shallowRef<JobProgress | null>(null);
  const tracked = new Map<string, { kind: 'verify' | 'add'; name: string }>();
  let unsubscribe: (() => void) | null = null;
  let pollTimer: ReturnType<typeof setInterval> | null = null;

  const addRunning = computed(() => !!adding.value && !TERMINAL.has(adding.value.state));

  function listen(): void {
    if (unsubscribe) return;
    unsubscribe = events.on('job.progress', (p) => onProgress(p));
  }

  function onProgress(p: JobProgress): void {
    const t = tracked.get(p.jobId);
    if (!t) return;
    if (t.kind === 'verify') {
      const prev = verifying.value[t.name];
      if (prev && prev.jobId === p.jobId && TERMINAL.has(prev.state) && !TERMINAL.has(p.state)) return;
      verifying.value = { ...verifying.value, [t.name]: p };
    } else {
      if (adding.value && adding.value.jobId === p.jobId && TERMINAL.has(adding.value.state) && !TERMINAL.has(p.state)) return;
      adding.value = p;
    }
    if (TERMINAL.has(p.state)) void finished(p, t);
  }

  async function finished(p: JobProgress, t: { kind: 'verify' | 'add'; name: string }): Promise<void> {
    tracked.delete(p.jobId);
    if (!tracked.size) stopPolling();
    if (t.kind === 'verify') {
      const rest = { ...verifying.value };
      delete rest[t.name];
      verifying.value = rest;
    }
    if (p.state === 'failed' && t.kind === 'add') useToastStore().push('error', `Adding the model failed: ${p.message}`);
    await refreshList();
  }

  function startPolling(): void {
    if (pollTimer) return;
    pollTimer = setInterval(() => void poll(), POLL_MS);
  }

  function stopPolling(): void {
    if (pollTimer) clearInterval(pollTimer);
    pollTimer = null;
  }

  async function poll(): Promise<void> {
    if (!tracked.size) return stopPolling();
    try {
      for (const p of await api.jobs.list({})) if (tracked.has(p.jobId)) onProgress(p);
    } catch {
      /* transient; events may still arrive */
    }
  }

  async function refreshList(): Promise<void> {
    try {
      models.value = await api.models.list({});
    } catch (e) {
      useToastStore().error(e, 'Listing models');
    }
  }

  async function refreshRuntime(): Promise<void> {
    try {
      runtime.value = await api.models.runtime({});
    } catch (e) {
      useToastStore().error(e, 'Asking the grounding runtime');
    }
  }

  /** Everything the dialog shows; also picks up verification and add jobs already running. */
  async function load(): Promise<void> {
    listen();
    loading.value = true;
    try {
      const [, settings, jobs] = await Promise.all([refreshList(), api.settings.get({}), api.jobs.list({}).catch(() => [])]);
      executionProvider.value = settings.executionProvider;
      threads.value = settings.threads;
      for (const j of jobs) {
        if (TERMINAL.has(j.state) || tracked.has(j.jobId)) continue;
        if (j.kind === 'model-add' && !addRunning.value) {
          tracked.set(j.jobId, { kind: 'add', name: '' });
          adding.value = j;
          startPolling();
        }
      }
    } catch (e) {
      useToastStore().error(e, 'Loading the model settings');
    } finally {
      loading.value = false;
    }
    await refreshRuntime();
  }

  async function verify(name: string): Promise<void> {
    listen();
    if (verifying.value[name] && !TERMINAL.has(verifying.value[name].state)) return;
    try {
      const { jobId } = await api.models.verify({ name });
      tracked.set(jobId, { kind: 'verify', name });
      verifying.value = {
        ...verifying.value,
        [name]: { jobId, kind: 'model-verify', state: 'running', done: 0, total: null, etaSeconds: null, message: 'starting', resumable: false },
      };
      startPolling();
      void poll();
    } catch (e) {
      useToastStore().error(e, `Verifying ${name}`);
    }
  }

  async function add(dir: string): Promise<boolean> {
    listen();
    const folder = dir.trim();
    if (!folder || addRunning.value) return false;
    try {
      const { jobId } = await api.models.add({ dir: folder });
      tracked.set(jobId, { kind: 'add', name: '' });
      adding.value = { jobId, kind: 'model-add', state: 'running', done: 0, total: null, etaSeconds: null, message: 'starting', resumable: false };
      startPolling();
      void poll();
      return true;
    } catch (e) {
      useToastStore().error(e, 'Adding a model');
      return false;
    }
  }

  async function cancel(jobId: string): Promise<void> {
    try {
      await api.jobs.cancel({ jobId });
    } catch (e) {
      useToastStore().error(e, 'Cancelling');
    }
  }

  async function saveSettings(patch: { executionProvider?: ProviderSetting; threads?: number }, what: string): Promise<void> {
    const before = { executionProvider: executionProvider.value, threads: threads.value };
    if (patch.executionProvider !== undefined) executionProvider.value = patch.executionProvider;
    if (patch.threads !== undefined) threads.value = patch.threads;
    try {
      const s = await api.settings.set(patch);
      executionProvider.value = s.executionProvider;
      threads.value = s.threads;
    } catch (e) {
      executionProvider.value = before.executionProvider;
      threads.value = before.threads;
      useToastStore().error(e, what);
      return;
    }
    await refreshRuntime();
  }

  const setProvider = (p: ProviderSetting) => saveSettings({ executionProvider: p }, 'Saving the execution provider');

  function setThreads(n: number): Promise<void> {
    const value = Number.isFinite(n) ? Math.max(0, Math.min(256, Math.round(n))) : 0;
    return saveSettings({ threads: value }, 'Saving the thread count');
  }

  return {
    models,
    runtime,
    executionProvider,
    threads,
    loading,
    verifying,
    adding,
    addRunning,
    load,
    refreshList,
    refreshRuntime,
    verify,
    add,
    cancel,
    setProvider,
    setThreads,
    onProgress,
  };
});
