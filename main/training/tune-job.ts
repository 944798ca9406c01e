// The `tune` job (durable, resumable, one at a time): runs the trainer for a stored run (runs.ts made its folder,
// pairs.jsonl and config.json), keeps every protocol event in `<run dir>/events.jsonl` and sends it as
// `training.event`, turns steps into job progress, and keeps the last stderr lines in `<run dir>/stderr.log`.
// Cancel and app shutdown stop the trainer with SIGTERM (it checkpoints); a resume starts it again with `--resume`
// when `<run dir>/checkpoint.pt` exists. On `done` the variant is registered (copied to
// `<data-dir>/variants/<model>/<name>.json` and checked like any tuned variant file), then the before/after
// benchmark runs start when the run asked for them.
import { appendFileSync, existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { RunStartRequest } from '../../common/contract/evaluation';
import { TuneStartRequest } from '../../common/contract/training';
import type { Db } from '../db/database';
import { finishTuneRun, getTuneRun, reopenTuneRun, setTuneBenchmarkRuns, setTuneRunStep, type TuneRunRow } from '../db/training-repo';
import { JobInterrupted, type JobKind, type JobRunner } from '../jobs/job-runner';
import type { ModelRegistry } from '../models/registry';
import { tunedVariantsOf, userVariantsDirectory } from '../models/tuned-variants';
import type { EventName, EventPayload } from '../../common/contract';
import { resolvePython, tail } from './environment';
import { LOG_LINES, runTrainer, trainArgs } from './launcher';
import { progressOf, type TuneEventOut } from './protocol';

export const TUNE_JOB = 'tune';
export const EVENTS_FILE = 'events.jsonl';
export const LOG_FILE = 'stderr.log';

export type BenchmarkStarter = (request: z.output<typeof RunStartRequest>) => Promise<{ runId: number; jobId: string }> | { runId: number; jobId: string };

export interface TrainingDeps {
  db: Db;
  jobs: JobRunner;
  registry: ModelRegistry;
  dataDir: string;
  /** the folder holding the sightline_tune package (PYTHONPATH) */
  trainingDir: string;
  emit?: <E extends EventName>(event: E, payload: EventPayload<E>) => void;
  /** `evaluation.runs.start` (wired by app-context: domains do not import each other's services) */
  startBenchmark?: BenchmarkStarter;
}

const Params = z.object({ runId: z.number().int().positive() });
type Result = { step: number; variant: string | null };

export const variantsRoot = (dataDir: string) => path.join(dataDir, 'variants');
export const runsRoot = (dataDir: string) => path.join(dataDir, 'training', 'runs');

/** The run's events as written, in order (a line that does not parse, e.g. cut by a crash, is skipped). */
export function readEvents(runDir: string): TuneEventOut[] {
  const file = path.join(runDir, EVENTS_FILE);
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .flatMap((l) => {
      try {
        return l.trim() ? [JSON.parse(l) as TuneEventOut] : [];
      } catch {
        return [];
      }
    });
}

export function readLog(runDir: string): string[] {
  const file = path.join(runDir, LOG_FILE);
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

/** Copies the run's variant file into the user variants of its model under the run's name, and checks it. */
function registerVariant(deps: TrainingDeps, run: TuneRunRow, variantFile: string): string {
  const entry = deps.registry.entry(run.model);
  if (!entry.manifest) throw new Error(`model "${run.model}": ${entry.problem ?? 'the bundle cannot be read'}`);
  const doc = JSON.parse(readFileSync(variantFile, 'utf8')) as Record<string, unknown>;
  const dir = userVariantsDirectory(variantsRoot(deps.dataDir), entry.manifest.name);
  mkdirSync(dir, { recursive: true });
  const target = path.join(dir, `${run.name}.json`);
  writeFileSync(target, `${JSON.stringify({ ...doc, name: run.name, run_id: run.id })}\n`);
  const found = tunedVariantsOf({ dir: entry.dir, manifest: entry.manifest }, variantsRoot(deps.dataDir)).find((v) => v.file === target);
  if (!found || found.problem) throw new Error(`the tuned variant was written to ${target} but cannot be used: ${found?.problem ?? 'not found again'}`);
  return run.name;
}

async function startBenchmarks(deps: TrainingDeps, run: TuneRunRow, benchmark: string, log: (l: string) => void): Promise<void> {
  if (!deps.startBenchmark) return;
  try {
    const frozen = await deps.startBenchmark(RunStartRequest.parse({ benchmark, model: run.model }));
    const tuned = await deps.startBenchmark(RunStartRequest.parse({ benchmark, model: run.model, variant: run.name }));
    setTuneBenchmarkRuns(deps.db, run.id, frozen.runId, tuned.runId);
  } catch (error) {
    log(`sightline: the before/after benchmark runs of ${benchmark} did not start: ${(error as Error).message}`);
  }
}

export function tuneJobKind(deps: TrainingDeps): JobKind<z.output<typeof Params>, Result> {
  return {
    kind: TUNE_JOB,
    params: Params,
    resumable: true,
    exclusive: 'tune',
    async run(ctx) {
      const run = getTuneRun(deps.db, ctx.params.runId);
      if (!run) throw new Error(`no tuning run ${ctx.params.runId}`);
      const settings = TuneStartRequest.parse(run.settings);
      reopenTuneRun(deps.db, run.id);
      const entry = deps.registry.entry(run.model);
      const resume = existsSync(path.join(run.runDir, 'checkpoint.pt'));
      const lut = path.join(run.runDir, 'lut.json');
      const files = { bundleDir: entry.dir, pairs: path.join(run.runDir, 'pairs.jsonl'), out: run.runDir, config: path.join(run.runDir, 'config.json'), lut: existsSync(lut) ? lut : null };
      const args = trainArgs(settings, files, ['--watch-stdin', ...(resume ? ['--resume'] : [])]);
      const logLines = readLog(run.runDir);
      let logDirty = false;
      const flushLog = () => {
        if (logDirty) writeFileSync(path.join(run.runDir, LOG_FILE), `${logLines.slice(-LOG_LINES).join('\n')}\n`);
        logDirty = false;
      };
      const log = (line: string) => {
        logLines.push(line);
        if (logLines.length > 2 * LOG_LINES) logLines.splice(0, logLines.length - LOG_LINES);
        logDirty = true;
      };
      const logTimer = setInterval(flushLog, 2000);
      let step = ctx.previous?.step ?? 0;
      let total: number | null = null;
      let doneEvent: Extract<TuneEventOut, { event: 'done' }> | null = null;
      let errorEvent: string | null = null;
      let checkpointStep: number | null = resume ? (ctx.previous?.step ?? null) : null;
      ctx.report({ message: resume ? 'resuming from the last checkpoint' : 'starting Python (the latent cache fills first)' });
      let exit;
      try {
        exit = await runTrainer({
          python: resolvePython(settings.python),
          args,
          trainingDir: deps.trainingDir,
          signal: ctx.signal,
          onLog: log,
          onEvent: (event, line) => {
            appendFileSync(path.join(run.runDir, EVENTS_FILE), `${line}\n`);
            deps.emit?.('training.event', { runId: run.id, event });
            if (event.event === 'start') total = event.steps;
            if (event.event === 'step' || event.event === 'start' || event.event === 'done') {
              step = event.step;
              setTuneRunStep(deps.db, run.id, step, total);
            }
            if (event.event === 'done') doneEvent = event;
            if (event.event === 'error') errorEvent = event.message;
            const p = progressOf(event);
            if (p) ctx.report(p);
            if (event.event === 'checkpoint') {
              checkpointStep = event.step;
              ctx.checkpoint({ step: event.step, variant: null });
            }
          },
        });
      } finally {
        clearInterval(logTimer);
        logDirty = true;
        flushLog();
      }
      if (ctx.signal.aborted) {
        // the trainer saved its last completed step (exit 143): a resume continues from there
        throw ctx.signal.reason instanceof Error ? ctx.signal.reason : new Error('cancelled');
      }
      const finishedDone = doneEvent as Extract<TuneEventOut, { event: 'done' }> | null;
      if (exit.signal && !exit.spawnError && !finishedDone) {
        // killed from outside (the out-of-memory killer, a user's kill): like a crash, resumable from the checkpoint
        const from = existsSync(path.join(run.runDir, 'checkpoint.pt')) ? `its last checkpoint${checkpointStep === null ? '' : ` (step ${checkpointStep})`}` : 'the start';
        throw new JobInterrupted(`the trainer was stopped from outside (${exit.signal}; out of memory?); resume continues from ${from}`);
      }
      if (exit.code !== 0 || !finishedDone) {
        const why = exit.spawnError ?? errorEvent ?? (tail(logLines.join('\n'), 8) || `the trainer exited with ${exit.code ?? exit.signal} without a done event`);
        finishTuneRun(deps.db, run.id, { error: why, variant: null });
        throw new Error(why);
      }
      const variantFile = path.isAbsolute(finishedDone.variant) ? finishedDone.variant : path.join(run.runDir, finishedDone.variant);
      let variant: string;
      try {
        variant = registerVariant(deps, run, variantFile);
      } catch (error) {
        finishTuneRun(deps.db, run.id, { error: (error as Error).message, variant: null });
        throw error;
      }
      finishTuneRun(deps.db, run.id, { error: null, variant });
      if (settings.benchmark) await startBenchmarks(deps, run, settings.benchmark, (l) => {
        log(l);
        flushLog();
      });
      ctx.report({ done: step, message: `done: variant "${variant}" registered` });
      return { step, variant };
    },
  };
}
