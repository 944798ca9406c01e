import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import type { Types } from '../../../common/contract';
import { api, events } from '../api';
import { useDatasetStore } from './datasets';
import { useStudyListStore } from './studies';
import { useToastStore } from './toasts';
import { DEMO_MIMIC_DATASET } from '../../../common/demo-datasets';

type JobProgress = Types['JobProgress'];
type ImportSummary = Types['ImportSummary'];

const TERMINAL = new Set<JobProgress['state']>(['done', 'failed', 'cancelled', 'interrupted']);
const POLL_MS = 1500;
const IMPORT_KIND = 'import';

/** Parse the paths text area: one path per line, blanks and surrounding quotes dropped, duplicates removed. */
export function parsePaths(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const p = line.trim().replace(/^(['"])(.*)\1$/, '$2').trim();
    if (p && !out.includes(p)) out.push(p);
  }
  return out;
}

/** The import job: start (paths or demo), progress via `job.progress` events (polling as a fallback), cancel, summary. */
export const useImportStore = defineStore('imports', () => {
  const dialogOpen = ref(false);
  const jobId = ref<string | null>(null);
  const progress = shallowRef<JobProgress | null>(null);
  const summary = shallowRef<ImportSummary | null>(null);
  const starting = ref(false);
  /** the newest import, when it stopped part-way (the app closed, a crash, a cancel) and can be resumed */
  const resumable = shallowRef<JobProgress | null>(null);
  let unsubscribe: (() => void) | null = null;
  let pollTimer: ReturnType<typeof setInterval> | null = null;
  let finishing = false;
  /** a resume reuses its job's id: answers about an earlier attempt are told apart by this */
  let attempt = 0;

  const running = computed(() => starting.value || (jobId.value !== null && !!progress.value && !TERMINAL.has(progress.value.state)) || (jobId.value !== null && !progress.value));
  const finished = computed(() => !!progress.value && TERMINAL.has(progress.value.state));
  /** the job runner's estimate (common/progress.ts), from the rate since the total became known */
  const eta = computed(() => progress.value?.etaSeconds ?? null);

  function listen(): void {
    if (unsubscribe) return;
    unsubscribe = events.on('job.progress', (p) => {
      if (p.jobId === jobId.value) onProgress(p);
      else if (p.kind === IMPORT_KIND && !running.value && !TERMINAL.has(p.state)) adopt(p);
    });
  }

  /** Follow an import started elsewhere (the first-run demo import, another window, the CLI's server). */
  function adopt(p: JobProgress): void {
    jobId.value = p.jobId;
    summary.value = null;
    progress.value = p;
    attempt++;
    startPolling();
  }

  /** At start: listen for imports and pick up one that is already running. */
  async function init(): Promise<void> {
    listen();
    try {
      const jobs = await api.jobs.list({});
      const active = jobs.find((j) => j.kind === IMPORT_KIND && !TERMINAL.has(j.state));
      if (active && !running.value) adopt(active);
      const newest = jobs.find((j) => j.kind === IMPORT_KIND);
      if (!active && newest?.resumable) {
        resumable.value = newest;
        if (newest.state === 'interrupted') useToastStore().push('info', 'An import was interrupted before it finished. Open Import to resume it.');
      }
    } catch {
      /* not fatal: progress events still arrive */
    }
  }

  function onProgress(p: JobProgress): void {
    // Events can arrive out of order with polling answers; never go back from a terminal state.
    if (progress.value && TERMINAL.has(progress.value.state) && !TERMINAL.has(p.state)) return;
    progress.value = p;
    if (TERMINAL.has(p.state)) void finish();
  }

  async function poll(): Promise<void> {
    const id = jobId.value;
    const asked = attempt;
    if (!id) return;
    try {
      const r = await api.imports.result({ jobId: id });
      if (id !== jobId.value || asked !== attempt) return;
      onProgress(r.progress);
      if (r.summary) summary.value = r.summary;
    } catch {
      /* transient; events may still arrive */
    }
  }

  function startPolling(): void {
    stopPolling();
    pollTimer = setInterval(() => void poll(), POLL_MS);
  }

  function stopPolling(): void {
    if (pollTimer) clearInterval(pollTimer);
    pollTimer = null;
  }

  async function finish(): Promise<void> {
    if (finishing) return;
    finishing = true;
    stopPolling();
    const id = jobId.value;
    const asked = attempt;
    try {
      if (id && !summary.value) {
        const r = await api.imports.result({ jobId: id });
        if (id === jobId.value && asked === attempt) {
          summary.value = r.summary;
          progress.value = r.progress;
        }
      }
    } catch (e) {
      useToastStore().error(e, 'Import result');
    } finally {
      finishing = false;
    }
    if (progress.value?.state === 'failed') useToastStore().push('error', `Import failed: ${progress.value.message}`);
    await Promise.all([useDatasetStore().load(), useStudyListStore().refresh()]);
  }

  async function start(paths: string[], dataset?: string): Promise<boolean> {
    if (paths.length === 0) return false;
    return launch('Import', async () => (await api.imports.start({ paths, dataset: dataset?.trim() || undefined })).jobId);
  }

  /** Starts (or resumes) a job through `request`, which answers its id, then follows it. */
  async function launch(what: string, request: () => Promise<string>): Promise<boolean> {
    if (running.value) return false;
    listen();
    starting.value = true;
    summary.value = null;
    progress.value = null;
    attempt++;
    try {
      jobId.value = await request();
      resumable.value = null;
      startPolling();
      void poll();
      return true;
    } catch (e) {
      useToastStore().error(e, what);
      return false;
    } finally {
      starting.value = false;
    }
  }

  async function startDemo(): Promise<boolean> {
    try {
      const info = await api.app.info({});
      return await start([info.demoDir], DEMO_MIMIC_DATASET);
    } catch (e) {
      useToastStore().error(e, 'Import demo data');
      return false;
    }
  }

  /** Continues a stopped import where it left off (the given job, else the one found at start). */
  async function resume(id: string | null = resumable.value?.jobId ?? jobId.value): Promise<boolean> {
    if (!id) return false;
    return launch('Resume import', async () => (await api.jobs.resume({ jobId: id })).jobId);
  }

  async function cancel(): Promise<void> {
    const id = jobId.value;
    if (!id) return;
    try {
      await api.jobs.cancel({ jobId: id });
      void poll();
    } catch (e) {
      useToastStore().error(e, 'Cancel import');
    }
  }

  /** Forget a finished job so the dialog shows the form again. */
  function clearFinished(): void {
    if (running.value) return;
    jobId.value = null;
    progress.value = null;
    summary.value = null;
  }

  function openDialog(): void {
    dialogOpen.value = true;
  }

  function closeDialog(): void {
    dialogOpen.value = false;
  }

  return {
    init,
    dialogOpen,
    jobId,
    progress,
    summary,
    starting,
    running,
    finished,
    eta,
    resumable,
    start,
    startDemo,
    resume,
    cancel,
    clearFinished,
    openDialog,
    closeDialog,
    onProgress,
  };
});
