// The Training page's run half: the settings (model, LUT, hyperparameters, device, GPUs, interpreter; the
// interpreter and device kept in localStorage), the environment check, the runs (`training.runs.list`), the shown
// run's events (`training.runs.get`, then live `training.event`s) and its job's progress (`job.progress`), start,
// cancel and resume (`jobs.resume` with the run's job id).
import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import type { z } from 'zod';
import type { LutSummary, BenchmarkSummary } from '../../../common/contract/evaluation';
import type { TuneRunRecord, TuneRunSummary, TuneStartRequest } from '../../../common/contract/training';
import type { Types } from '../../../common/contract';
import { api, events } from '../api';
import { controlRunJob, followProgress, startingProgress, startRun } from '../stores/run-jobs';
import { useToastStore } from '../stores/toasts';
import { configFromForm, curvesFromEvents, EMPTY_FORM, startBlocker, type Environment, type Event, type HyperForm } from './logic';

type Summary = z.output<typeof TuneRunSummary>;
type Record_ = z.output<typeof TuneRunRecord>;
type StartRequest = z.input<typeof TuneStartRequest>;
const PREFS_KEY = 'sightline.training.v1';

function readPrefs(): { python: string; device: 'cpu' | 'cuda' } {
  try {
    const v = JSON.parse(localStorage.getItem(PREFS_KEY) ?? '{}') as { python?: unknown; device?: unknown };
    return { python: typeof v.python === 'string' ? v.python : '', device: v.device === 'cuda' ? 'cuda' : 'cpu' };
  } catch {
    return { python: '', device: 'cpu' };
  }
}

export const useTrainingRunStore = defineStore('training-run', () => {
  const prefs = readPrefs();
  const models = shallowRef<Types['ModelInfo'][]>([]);
  const luts = shallowRef<z.output<typeof LutSummary>[]>([]);
  const benchmarks = shallowRef<z.output<typeof BenchmarkSummary>[]>([]);
  const model = ref('');
  const lut = ref('');
  const benchmark = ref('');
  const name = ref('');
  const form = ref<HyperForm>({ ...EMPTY_FORM });
  const device = ref<'cpu' | 'cuda'>(prefs.device);
  const gpus = ref(1);
  const python = ref(prefs.python);
  const env = shallowRef<Environment | null>(null);
  const checking = ref(false);
  const starting = ref(false);
  const runs = shallowRef<Summary[]>([]);
  /** the run whose curves are shown */
  const shown = shallowRef<Record_ | null>(null);
  const liveEvents = shallowRef<Event[]>([]);
  const progress = shallowRef<Types['JobProgress'] | null>(null);
  const slurm = ref<string | null>(null);
  let offs: (() => void)[] = [];

  const config = computed(() => configFromForm(form.value));
  const running = computed(() => runs.value.some((r) => r.state === 'running'));
  const curves = computed(() => curvesFromEvents(liveEvents.value));

  function blocker(dataset: string | null, kept: number | null): string | null {
    return startBlocker({ dataset, kept, checking: checking.value, env: env.value, device: device.value, gpus: gpus.value, configError: config.value.error, running: running.value, starting: starting.value });
  }

  function savePrefs(): void {
    try {
      localStorage.setItem(PREFS_KEY, JSON.stringify({ python: python.value, device: device.value }));
    } catch {
      /* kept for this session only */
    }
  }

  async function load(): Promise<void> {
    const toasts = useToastStore();
    const [m, l, b] = await Promise.all([
      api.models.list({}).catch((e) => (toasts.error(e, 'Listing models'), [])),
      api.evaluation['luts.list']({}).catch((e) => (toasts.error(e, 'Listing LUTs'), [])),
      api.evaluation['benchmarks.list']({}).catch((e) => (toasts.error(e, 'Listing benchmarks'), [])),
    ]);
    models.value = m;
    luts.value = l;
    benchmarks.value = b;
    await refreshRuns();
  }

  async function check(): Promise<void> {
    checking.value = true;
    savePrefs();
    try {
      env.value = await api.training.environment(python.value.trim() ? { python: python.value.trim() } : {});
    } catch (e) {
      env.value = null;
      useToastStore().error(e, 'Checking the Python environment');
    } finally {
      checking.value = false;
    }
  }

  async function refreshRuns(): Promise<void> {
    try {
      runs.value = await api.training['runs.list']({});
    } catch (e) {
      useToastStore().error(e, 'Listing tuning runs');
    }
  }

  /** the run being opened, and the live events that arrived for it meanwhile (they may miss from its record) */
  let opening: { id: number; events: Event[] } | null = null;

  async function show(id: number): Promise<void> {
    opening = { id, events: [] };
    const mine = opening;
    try {
      const record = await api.training['runs.get']({ id });
      if (opening !== mine) return;
      const stored = new Set(record.events.map((e) => JSON.stringify(e)));
      shown.value = record;
      liveEvents.value = [...record.events, ...mine.events.filter((e) => !stored.has(JSON.stringify(e)))];
      progress.value = null;
    } catch (e) {
      useToastStore().error(e, `Opening tuning run ${id}`);
    } finally {
      if (opening === mine) opening = null;
    }
  }

  /** Live events and job progress of the shown run; a finished job refreshes the list and the run. */
  function listen(): void {
    if (offs.length) return;
    offs = [
      events.on('training.event', ({ runId, event }) => {
        if (opening?.id === runId) opening.events.push(event);
        else if (shown.value?.id === runId) liveEvents.value = [...liveEvents.value, event];
        if (event.event === 'start' || event.event === 'done' || event.event === 'error') void refreshRuns();
      }),
      events.on('job.progress', (p) => {
        if (p.kind !== 'tune') return;
        if (shown.value?.jobId === p.jobId) progress.value = p;
        if (followProgress(runs, p)) void finished(p.jobId);
      }),
    ];
  }

  async function finished(jobId: string): Promise<void> {
    await refreshRuns();
    const run = runs.value.find((r) => r.jobId === jobId);
    if (run?.state === 'failed') useToastStore().push('error', `Tuning run ${run.id} failed: ${run.error ?? 'see its log'}`);
    // the stored record: its log, and every event (the live ones may have missed some)
    if (run && shown.value?.id === run.id) {
      const keep = progress.value;
      await show(run.id);
      progress.value = keep;
    }
  }

  function stop(): void {
    for (const off of offs) off();
    offs = [];
  }

  function request(dataset: string): StartRequest | null {
    const c = config.value;
    if (c.error !== null) return null;
    return {
      dataset,
      config: c.config,
      device: device.value,
      gpus: gpus.value,
      ...(model.value ? { model: model.value } : {}),
      ...(lut.value ? { lut: lut.value } : {}),
      ...(python.value.trim() ? { python: python.value.trim() } : {}),
      ...(name.value.trim() ? { name: name.value.trim() } : {}),
      ...(benchmark.value ? { benchmark: benchmark.value } : {}),
    };
  }

  async function start(dataset: string): Promise<number | null> {
    const req = request(dataset);
    if (!req) return null;
    savePrefs();
    return startRun(starting, 'the tuning run', async () => {
      const { runId, jobId } = await api.training['runs.start'](req as z.output<typeof TuneStartRequest>);
      await refreshRuns();
      await show(runId);
      // after show(), which clears the shown run's progress
      progress.value = startingProgress(jobId, 'tune');
      return runId;
    });
  }

  async function control(run: Summary, action: 'cancel' | 'resume'): Promise<void> {
    if (!run.jobId) return;
    const ok = await controlRunJob(run.jobId, action, `tuning run ${run.id}`);
    // a resumed run's curves continue in view (show() reports its own errors)
    if (ok && action === 'resume' && shown.value?.id !== run.id) await show(run.id);
    await refreshRuns();
  }

  async function slurmScript(dataset: string): Promise<void> {
    const req = request(dataset);
    if (!req) return void useToastStore().push('error', `Slurm script: ${config.value.error}`);
    try {
      slurm.value = (await api.training['runs.slurm'](req as z.output<typeof TuneStartRequest>)).script;
    } catch (e) {
      useToastStore().error(e, 'Writing the Slurm script');
    }
  }

  return {
    models,
    luts,
    benchmarks,
    model,
    lut,
    benchmark,
    name,
    form,
    device,
    gpus,
    python,
    env,
    checking,
    starting,
    runs,
    shown,
    liveEvents,
    progress,
    slurm,
    config,
    running,
    curves,
    blocker,
    load,
    check,
    refreshRuns,
    show,
    listen,
    stop,
    start,
    control,
    slurmScript,
  };
});
