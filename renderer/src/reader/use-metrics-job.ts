// The analysis page's first step: reader.analysisPrepare says how many case x arm maps still lack CNR / mIoU and
// starts (or finds) the `reader-metrics` job computing them (main/reader/metrics-job.ts, ~1 s per full-size map).
// This follows that job through `job.progress` events (a jobs.list poll as a fallback: an event can be missed
// between the prepare's answer and the subscription), offers cancel and resume, and calls `ready` once every map
// is computed, so the page then asks for the analysis itself.
import { computed, onUnmounted, ref, type Ref } from 'vue';
import type { Types } from '../../../common/contract';
import { api, events } from '../api';
import { startingProgress } from '../stores/run-jobs';

type JobProgress = Types['JobProgress'];
const KIND = 'reader-metrics';
const POLL_MS = 2000;

export function useMetricsJob(studyId: Ref<number>, ready: () => void) {
  const progress = ref<JobProgress | null>(null);
  /** maps the job had to compute when it was started or resumed here */
  const missing = ref(0);
  let off: (() => void) | null = null;
  let timer: ReturnType<typeof setInterval> | null = null;

  function stop(): void {
    off?.();
    off = null;
    if (timer) clearInterval(timer);
    timer = null;
  }

  function onProgress(p: JobProgress): void {
    if (p.jobId !== progress.value?.jobId) return;
    progress.value = p;
    if (p.state === 'running') return;
    stop();
    if (p.state === 'done') {
      progress.value = null;
      ready();
    }
  }

  function follow(jobId: string, n: number): void {
    stop();
    missing.value = n;
    progress.value = startingProgress(jobId, KIND);
    off = events.on('job.progress', onProgress);
    timer = setInterval(() => {
      api.jobs
        .list({})
        .then((list) => {
          const p = list.find((j) => j.jobId === jobId);
          if (p) onProgress(p);
        })
        .catch(() => {
          /* the events still come; the next poll retries */
        });
    }, POLL_MS);
  }

  /** Whether every map is computed now (else the job is followed and `ready` comes later). Throws the refusal. */
  async function prepare(): Promise<boolean> {
    stop();
    progress.value = null;
    const { missing: n, jobId } = await api.reader.analysisPrepare({ id: studyId.value });
    if (!jobId) return true;
    follow(jobId, n);
    return false;
  }

  async function cancel(): Promise<void> {
    if (progress.value) await api.jobs.cancel({ jobId: progress.value.jobId });
  }

  async function resume(): Promise<void> {
    const p = progress.value;
    if (!p) return;
    await api.jobs.resume({ jobId: p.jobId });
    follow(p.jobId, p.total === null ? missing.value : p.total - p.done);
  }

  const running = computed(() => progress.value?.state === 'running');
  onUnmounted(stop);
  return { progress, missing, running, prepare, cancel, resume };
}
