// Tuning runs: starting one (everything that can be checked is checked before a job starts: the bundle and its torch
// weights, the variant name, the LUT, the dataset's kept pairs, the interpreter), listing them, one run with its
// events and log, and the Slurm script for the same settings. A run's folder is `<data-dir>/training/runs/<id>/`:
// pairs.jsonl (the kept pairs, absolute image paths), config.json (the TuneConfig), lut.json (a stored LUT, when
// named), then what the trainer writes (checkpoint.pt, latents/, variant.json) and events.jsonl / stderr.log.
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { RpcError } from '../../common/contract';
import type { TuneMetrics, TuneRunRecord, TuneRunSummary, TuneStartRequest } from '../../common/contract/training';
import { getLutByName } from '../db/luts-repo';
import { getSettings } from '../db/settings-repo';
import { deleteTuneRun, getTuneRun, insertTuneRun, listTuneRuns, setTuneRunJob, setTuneRunName, type TuneRunRow } from '../db/training-repo';
import { DEMO_MODEL_NAME, type BundleEntry } from '../models/registry';
import { bundleFilesHash, tunedVariantsOf } from '../models/tuned-variants';
import { curatePairs, pairLine } from './curation';
import { checkEnvironment, resolvePython, runPython, tail } from './environment';
import { trainArgs, type TrainFiles, type TuneSettings } from './launcher';
import { readEvents, readLog, runsRoot, TUNE_JOB, variantsRoot, type TrainingDeps } from './tune-job';

type Metrics = z.output<typeof TuneMetrics>;

function bundleWithWeights(deps: TrainingDeps, model: string): BundleEntry & { manifest: NonNullable<BundleEntry['manifest']> } {
  const entry = deps.registry.entry(model);
  if (!entry.manifest) throw new RpcError('bad_file', `model "${model}" (${entry.dir}): ${entry.problem ?? 'the bundle cannot be read'}`);
  const reference = path.join(entry.dir, 'reference');
  const weights = existsSync(reference) ? readdirSync(reference).filter((f) => f.endsWith('.safetensors')) : [];
  if (!weights.length) {
    throw new RpcError('invalid_input', `model "${model}" has no torch weights in ${reference} (tuning needs the bundle's reference/ folder of .safetensors, not only the ONNX graphs)`);
  }
  return { ...entry, manifest: entry.manifest };
}

/** The dataset's kept pairs and the stored LUT named; a clear error when there is none. */
function inputsOf(deps: TrainingDeps, settings: TuneSettings) {
  const pairs = curatePairs(deps.db, settings.dataset).filter((p) => !p.dropped);
  if (!pairs.length) throw new RpcError('invalid_input', `dataset "${settings.dataset}" has no training pair to keep (see training.pairs.list: every pair is dropped)`);
  const stored = settings.lut ? getLutByName(deps.db, settings.lut) : null;
  if (settings.lut && !stored) throw new RpcError('not_found', `no LUT named "${settings.lut}" (sightline lut list)`);
  return { pairs, stored };
}

/** The kept pairs written as pairs.jsonl and the settings as config.json (and lut.json) into `dir`. */
function writeInputs(dir: string, settings: TuneSettings, bundleDir: string, { pairs, stored }: ReturnType<typeof inputsOf>): TrainFiles {
  mkdirSync(dir, { recursive: true });
  const files: TrainFiles = { bundleDir, pairs: path.join(dir, 'pairs.jsonl'), out: dir, config: path.join(dir, 'config.json'), lut: null };
  writeFileSync(files.pairs, `${pairs.map(pairLine).join('\n')}\n`);
  writeFileSync(files.config, `${JSON.stringify(settings.config, null, 2)}\n`);
  if (stored) writeFileSync((files.lut = path.join(dir, 'lut.json')), `${JSON.stringify(stored.lut)}\n`);
  return files;
}

function resolveSettings(deps: TrainingDeps, request: TuneSettings): TuneSettings {
  return { ...request, model: request.model ?? getSettings(deps.db).model ?? DEMO_MODEL_NAME };
}

/** What the trainer would only find out with a traceback: layers the model lacks, steps outside the schedule. */
function checkConfig(config: TuneSettings['config'], manifest: BundleEntry['manifest'] & object, model: string): void {
  const layers = manifest.cross_attention.layers.map((l) => l.index);
  const bad = (config.layers ?? []).filter((l) => !layers.includes(l));
  if (bad.length) throw new RpcError('invalid_input', `config.layers: ${bad.join(', ')} ${bad.length === 1 ? 'is not a' : 'are not'} cross-attention layer${bad.length === 1 ? '' : 's'} of "${model}" (it has ${layers.join(', ')})`);
  const n = config.num_inference_steps;
  for (const key of ['tune_steps', 'eval_steps'] as const) {
    const out = n === undefined ? [] : (config[key] ?? []).filter((i) => i >= n);
    if (out.length) throw new RpcError('invalid_input', `config.${key}: ${out.join(', ')} not below num_inference_steps ${n} (step indices count from 0)`);
  }
}

export async function startTune(deps: TrainingDeps, request: TuneSettings): Promise<{ runId: number; jobId: string }> {
  const settings = resolveSettings(deps, request);
  const entry = bundleWithWeights(deps, settings.model!);
  checkConfig(settings.config, entry.manifest, settings.model!);
  // CPU autocast runs bfloat16 only (sightline_tune/precision.py): refused here rather than by the trainer's error event
  if (settings.config.amp === 'fp16' && settings.device !== 'cuda') throw new RpcError('invalid_input', 'config.amp: fp16 needs a CUDA device; use bf16 or off on the CPU');
  if (settings.name) {
    const owner = tunedVariantsOf(entry, variantsRoot(deps.dataDir)).find((v) => v.name === settings.name && !v.problem);
    if (settings.name in entry.manifest.grounding && !owner) throw new RpcError('invalid_input', `model "${settings.model}" already has a variant "${settings.name}" in its manifest; choose another name`);
    if (owner) throw new RpcError('invalid_input', `a tuned variant "${settings.name}" already exists (${owner.file}); choose another name`);
  }
  const inputs = inputsOf(deps, settings);
  const env = await checkEnvironment(deps.trainingDir, settings.python);
  if (env.problem) throw new RpcError('invalid_input', `Python is not ready for tuning: ${env.problem}`);
  if (settings.device === 'cuda' && env.devices.length < settings.gpus) {
    throw new RpcError('invalid_input', `${env.python} sees ${env.devices.length} CUDA device${env.devices.length === 1 ? '' : 's'} (torch ${env.torch}); the run asks for ${settings.gpus}`);
  }
  const run = insertTuneRun(
    deps.db,
    { name: settings.name ?? 'tuned', model: settings.model!, bundleHash: bundleFilesHash(entry.manifest.files), dataset: settings.dataset, settings },
    (id) => path.join(runsRoot(deps.dataDir), String(id)),
  );
  const name = settings.name ?? `tuned-${run.id}`;
  setTuneRunName(deps.db, run.id, name);
  try {
    writeInputs(run.runDir, settings, entry.dir, inputs);
  } catch (error) {
    deleteTuneRun(deps.db, run.id);
    throw error;
  }
  const jobId = deps.jobs.start(TUNE_JOB, { runId: run.id });
  setTuneRunJob(deps.db, run.id, jobId);
  return { runId: run.id, jobId };
}

/** The Slurm batch script the trainer writes for these settings (its inputs go to `<data-dir>/training/slurm/`); the
 * job runs on the node's GPUs (`--device` is left to the trainer, which picks CUDA for a GPU job). */
export async function slurmScript(deps: TrainingDeps, request: TuneSettings): Promise<{ script: string }> {
  const settings = resolveSettings(deps, request);
  const entry = bundleWithWeights(deps, settings.model!);
  checkConfig(settings.config, entry.manifest, settings.model!);
  // CPU autocast runs bfloat16 only (sightline_tune/precision.py): refused here rather than by the trainer's error event
  if (settings.config.amp === 'fp16' && settings.device !== 'cuda') throw new RpcError('invalid_input', 'config.amp: fp16 needs a CUDA device; use bf16 or off on the CPU');
  const dir = path.join(deps.dataDir, 'training', 'slurm', new Date().toISOString().replace(/[:.]/g, '-'));
  const files = writeInputs(dir, settings, entry.dir, inputsOf(deps, settings));
  const python = resolvePython(settings.python);
  const r = await runPython(python, trainArgs({ device: settings.device === 'cuda' ? 'cuda' : null, gpus: 1 }, files, ['--emit-slurm', '--gpus', String(settings.gpus)]), deps.trainingDir);
  if (r.spawnError) throw new RpcError('invalid_input', r.spawnError);
  if (r.code !== 0 || !r.stdout.trim()) throw new RpcError('invalid_input', `${python} -m sightline_tune.train --emit-slurm failed: ${tail(r.stderr) || `exit status ${r.code ?? r.signal}`}`);
  return { script: r.stdout };
}

function validations(events: ReturnType<typeof readEvents>): { before: Metrics | null; after: Metrics | null } {
  const v = events.filter((e): e is Extract<typeof e, { event: 'validation' }> => e.event === 'validation');
  const before = v.find((e) => e.step === 0) ?? null;
  const later = v.filter((e) => e.step > 0);
  return { before: before?.metrics ?? null, after: later.length ? later[later.length - 1].metrics : null };
}

function summary(deps: TrainingDeps, r: TuneRunRow, events = readEvents(r.runDir)): z.output<typeof TuneRunSummary> {
  const settings = r.settings as TuneSettings;
  const job = r.jobId ? deps.jobs.get(r.jobId) : null;
  const state = r.variant ? 'done' : (job?.state ?? 'interrupted');
  return {
    id: r.id,
    jobId: r.jobId,
    name: r.name,
    model: r.model,
    dataset: r.dataset,
    device: settings.device ?? 'cpu',
    gpus: settings.gpus ?? 1,
    state,
    step: r.step,
    steps: r.steps,
    createdAt: r.createdAt,
    finishedAt: r.finishedAt,
    error: r.error,
    variant: r.variant,
    ...validations(events),
    benchmarkRuns: { frozen: r.frozenRunId, tuned: r.tunedRunId },
  };
}

export function listTunes(deps: TrainingDeps): z.output<typeof TuneRunSummary>[] {
  return listTuneRuns(deps.db).map((r) => summary(deps, r));
}

export function getTune(deps: TrainingDeps, id: number): z.output<typeof TuneRunRecord> {
  const r = getTuneRun(deps.db, id);
  if (!r) throw new RpcError('not_found', `no tuning run ${id}`);
  const events = readEvents(r.runDir);
  return { ...summary(deps, r, events), settings: r.settings as z.output<typeof TuneStartRequest>, events, log: readLog(r.runDir), runDir: r.runDir };
}
