// The results page's state: the stored datasets' benchmarks, every run (refreshed while one of them runs, from its
// `job.progress` events), which runs are compared, and the run whose pairs are shown (loaded on demand).
import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import type { z } from 'zod';
import type { BenchmarkSummary, RunStartRequest, Subset, SubsetSaveRequest } from '../../../common/contract/evaluation';
import { api, events } from '../api';
import type { Run, RunDetail } from './results';

export type Benchmark = z.output<typeof BenchmarkSummary>;
export type StartRequest = z.input<typeof RunStartRequest>;
export type SubsetItem = z.output<typeof Subset>;

export const useEvaluationStore = defineStore('evaluation', () => {
  const benchmarks = ref<Benchmark[]>([]);
  const runs = ref<Run[]>([]);
  const compared = ref<number[]>([]);
  const detail = shallowRef<RunDetail | null>(null);
  const error = ref<string | null>(null);
  const starting = ref(false);
  /** the saved subsets of every benchmark */
  const subsets = ref<SubsetItem[]>([]);
  /** what the last subset save said (its name and size) */
  const notice = ref<string | null>(null);
  let off: (() => void) | null = null;
  let refreshTimer: ReturnType<typeof setTimeout> | null = null;

  const comparedRuns = computed(() => runs.value.filter((r) => compared.value.includes(r.id)));
  const running = computed(() => runs.value.filter((r) => r.state === 'running'));

  async function load(): Promise<void> {
    try {
      [benchmarks.value, runs.value, subsets.value] = await Promise.all([
        api.evaluation['benchmarks.list']({}),
        api.evaluation['runs.list']({}),
        api.evaluation['subsets.list']({}),
      ]);
      error.value = null;
      // a run is compared by default the first time it is seen finished
      for (const r of runs.value) {
        if (!r.report || seen.has(r.id)) continue;
        seen.add(r.id);
        if (!compared.value.includes(r.id)) compared.value = [...compared.value, r.id];
      }
      if (detail.value) {
        const current = runs.value.find((r) => r.id === detail.value!.id);
        if (current && (current.scored !== detail.value.scored || current.state !== detail.value.state)) await show(current.id);
      }
    } catch (e) {
      error.value = (e as Error).message;
    }
  }
  /** runs seen finished */
  const seen = new Set<number>();

  /** Follows job progress: a benchmark-run job's progress refreshes the runs (at most every 500 ms). */
  function listen(): void {
    if (off) return;
    off = events.on('job.progress', (p) => {
      if (p.kind !== 'benchmark-run' || refreshTimer) return;
      refreshTimer = setTimeout(() => {
        refreshTimer = null;
        void load();
      }, 500);
    });
  }

  function stop(): void {
    off?.();
    off = null;
  }

  async function start(request: StartRequest): Promise<boolean> {
    starting.value = true;
    try {
      await api.evaluation['runs.start'](request as z.output<typeof RunStartRequest>);
      error.value = null;
      await load();
      return true;
    } catch (e) {
      error.value = (e as Error).message;
      return false;
    } finally {
      starting.value = false;
    }
  }

  async function show(id: number): Promise<void> {
    try {
      detail.value = await api.evaluation['runs.get']({ id });
    } catch (e) {
      error.value = (e as Error).message;
    }
  }

  /** Cancels a running run's job, or resumes a cancelled / interrupted one (its scored pairs are kept). */
  async function control(run: Run, action: 'cancel' | 'resume'): Promise<void> {
    if (!run.jobId) return;
    try {
      if (action === 'cancel') await api.jobs.cancel({ jobId: run.jobId });
      else await api.jobs.resume({ jobId: run.jobId });
      error.value = null;
    } catch (e) {
      error.value = (e as Error).message;
    }
    await load();
  }

  async function saveSubset(request: z.input<typeof SubsetSaveRequest>): Promise<boolean> {
    try {
      const saved = await api.evaluation['subsets.save'](request as z.output<typeof SubsetSaveRequest>);
      notice.value = `subset "${saved.name}" saved: ${saved.size} pairs of ${saved.benchmark}`;
      error.value = null;
      subsets.value = await api.evaluation['subsets.list']({});
      return true;
    } catch (e) {
      error.value = (e as Error).message;
      return false;
    }
  }

  function toggle(id: number): void {
    compared.value = compared.value.includes(id) ? compared.value.filter((x) => x !== id) : [...compared.value, id];
  }

  return { benchmarks, runs, subsets, notice, compared, comparedRuns, running, detail, error, starting, load, listen, stop, start, show, toggle, control, saveSubset };
});
