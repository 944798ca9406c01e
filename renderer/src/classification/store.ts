// The Classification page's state: the builder's form and its plan (`classification.plan`, debounced, latest answer
// wins), the benchmarks and models to choose from, the runs (`classification.runs.list`) with their jobs' progress
// (`job.progress` of `classification` jobs, by job id), the shown run (`classification.runs.get`), and start,
// cancel (`jobs.cancel`), resume (`jobs.resume`) and delete.
import { defineStore } from 'pinia';
import { computed, ref, shallowRef, watch } from 'vue';
import type { z } from 'zod';
import type { ClassifyRunSummary } from '../../../common/contract/classification';
import type { BenchmarkSummary } from '../../../common/contract/evaluation';
import type { Types } from '../../../common/contract';
import { api, events } from '../api';
import { debounce, errorMessage } from '../lib/format';
import { createLatest } from '../lib/latest';
import { controlRunJob, followProgress, startingProgress, startRun } from '../stores/run-jobs';
import { useToastStore } from '../stores/toasts';
import { defaultForm, requestFromForm, startBlocker, type BuilderForm, type Plan, type RunRecord } from './logic';

export type Summary = z.output<typeof ClassifyRunSummary>;
export type Benchmark = z.output<typeof BenchmarkSummary>;
type Progress = Types['JobProgress'];
export const JOB_KIND = 'classification';
const PLAN_DELAY_MS = 300;

export const useClassificationStore = defineStore('classification', () => {
  const benchmarks = shallowRef<Benchmark[]>([]);
  const models = shallowRef<Types['ModelInfo'][]>([]);
  const form = ref<BuilderForm>(defaultForm());
  const plan = shallowRef<Plan | null>(null);
  const planError = ref<string | null>(null);
  const planning = ref(false);
  const starting = ref(false);
  const runs = shallowRef<Summary[]>([]);
  /** the latest progress of each classification job, by job id */
  const progress = shallowRef<Record<string, Progress>>({});
  const shown = shallowRef<RunRecord | null>(null);
  const loading = ref(false);
  let off: (() => void) | null = null;
  const latestPlan = createLatest();

  const model = computed(() => models.value.find((m) => m.name === form.value.model) ?? null);
  const built = computed(() => requestFromForm(form.value, model.value?.defaultVariant ?? null));
  const benchmark = computed(() => benchmarks.value.find((b) => b.key === form.value.benchmark) ?? null);
  /** the chosen class's pairs in the chosen benchmark (kept ones) */
  const positiveCount = computed(() => benchmark.value?.classes[form.value.positive]?.kept ?? null);
  /** the request the shown plan (or plan error) answers: a form changed since then is planning, not startable */
  const plannedFor = ref<string | null>(null);
  const requestKey = computed(() => (built.value.request ? JSON.stringify(built.value.request) : null));
  const stale = computed(() => requestKey.value !== null && plannedFor.value !== requestKey.value);
  const blocker = computed(() => startBlocker({ formError: built.value.error, planning: planning.value || stale.value, plan: plan.value, planError: planError.value, starting: starting.value }));

  async function load(): Promise<void> {
    const toasts = useToastStore();
    loading.value = true;
    const [b, m, settings] = await Promise.all([
      api.evaluation['benchmarks.list']({}).catch((e) => (toasts.error(e, 'Listing benchmarks'), [] as Benchmark[])),
      api.models.list({}).catch((e) => (toasts.error(e, 'Listing models'), [] as Types['ModelInfo'][])),
      api.settings.get({}).catch(() => null),
    ]);
    benchmarks.value = b;
    models.value = m;
    const f = form.value;
    if (!b.some((x) => x.key === f.benchmark)) f.benchmark = b.find((x) => x.name === 'MS-CXR-loc')?.key ?? b[0]?.key ?? '';
    if (!m.some((x) => x.name === f.model)) {
      // the settings' model, else the demo (the service's own default), else the first
      const pick = m.find((x) => x.name === settings?.model) ?? m.find((x) => x.name === 'sightline-demo-ldm') ?? m.find((x) => x.source === 'shipped') ?? m[0];
      if (pick) chooseModel(pick.name);
    }
    await refreshRuns();
    loading.value = false;
    schedulePlan.cancel();
    void replan();
  }

  /** Another model: its default variant checked. */
  function chooseModel(name: string): void {
    form.value.model = name;
    const m = models.value.find((x) => x.name === name);
    form.value.variants = m ? [m.defaultVariant] : [];
  }

  async function replan(): Promise<void> {
    const { request, error } = built.value;
    if (!request) {
      latestPlan.cancel();
      plan.value = null;
      planError.value = null;
      planning.value = false;
      return void error;
    }
    planning.value = true;
    const key = JSON.stringify(request);
    const outcome = await latestPlan.run(() => api.classification.plan(request));
    if (!outcome) return;
    planning.value = false;
    plannedFor.value = key;
    if (outcome.ok) {
      plan.value = outcome.value;
      planError.value = null;
    } else {
      plan.value = null;
      planError.value = errorMessage(outcome.error);
    }
  }
  const schedulePlan = debounce(() => void replan(), PLAN_DELAY_MS);
  watch(requestKey, () => schedulePlan());

  async function refreshRuns(): Promise<void> {
    try {
      runs.value = await api.classification['runs.list']({});
    } catch (e) {
      useToastStore().error(e, 'Listing classification runs');
    }
  }

  async function show(id: number): Promise<void> {
    try {
      shown.value = await api.classification['runs.get']({ id });
    } catch (e) {
      useToastStore().error(e, `Opening classification run ${id}`);
    }
  }

  function listen(): void {
    if (off) return;
    off = events.on('job.progress', (p) => {
      if (p.kind !== JOB_KIND) return;
      progress.value = { ...progress.value, [p.jobId]: p };
      if (followProgress(runs, p)) void finished(p.jobId);
    });
  }

  async function finished(jobId: string): Promise<void> {
    await refreshRuns();
    const run = runs.value.find((r) => r.jobId === jobId);
    if (!run) return;
    if (run.state === 'failed') useToastStore().push('error', `Classification run ${run.id} failed: ${run.error ?? 'no reason given'}`);
    if (shown.value?.id === run.id) await show(run.id);
  }

  function stop(): void {
    off?.();
    off = null;
    schedulePlan.cancel();
  }

  async function start(): Promise<number | null> {
    const { request } = built.value;
    if (!request || blocker.value) return null;
    return startRun(starting, 'the classification run', async () => {
      const { runId, jobId } = await api.classification['runs.start'](request);
      progress.value = { ...progress.value, [jobId]: startingProgress(jobId, JOB_KIND) };
      await refreshRuns();
      await show(runId);
      return runId;
    });
  }

  async function control(run: Summary, action: 'cancel' | 'resume'): Promise<void> {
    if (!run.jobId) return;
    await controlRunJob(run.jobId, action, `classification run ${run.id}`);
    await refreshRuns();
  }

  async function remove(id: number): Promise<boolean> {
    try {
      await api.classification['runs.delete']({ id });
      if (shown.value?.id === id) shown.value = null;
      await refreshRuns();
      return true;
    } catch (e) {
      useToastStore().error(e, `Deleting classification run ${id}`);
      return false;
    }
  }

  function reset(): void {
    const keep = { benchmark: form.value.benchmark, model: form.value.model, variants: form.value.variants };
    form.value = { ...defaultForm(), ...keep };
  }

  return { benchmarks, models, form, plan, planError, planning, starting, runs, progress, shown, loading, model, built, benchmark, positiveCount, blocker, load, chooseModel, replan, refreshRuns, show, listen, stop, start, control, remove, reset };
});
