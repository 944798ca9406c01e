// The fast preset (issue 10): fewer inversion steps with the kept steps on the same timestep range, against the
// default, on the demo's MS-CXR-loc pairs. A probe copy of the demo bundle (renamed, in a temporary data directory's
// models folder) gets a variant "fast" = the default variant with num_inference_steps 50 and step_indices 20..29
// (trailing timesteps 419..599 every 20, inside the default's 409..599 every 10; the engine computes the timesteps
// from these two, nothing else changes). Both run as benchmark-run jobs from nothing cached, the fast one first so
// that loading the ONNX sessions counts against it (the time saved is a lower bound). The per-pair differences
// (fast - default) are summarised like a metric: class means, their average and 95% paired bootstrap CIs (the
// same pairs in each resample, 10,000 resamples, seed 0).
// Run: npx tsx bench/fast-preset.bench.ts [--variant frozen] [--steps 50] (writes bench/results/fast-preset.json)
// On a larger synthetic set: [--world DIR --dataset NAME] imports a sightline_world folder (mimic,mscxr formats) as
// dataset NAME and runs MS-CXR-loc/NAME instead (writes bench/results/fast-preset-NAME.json); main/evaluation/README.md.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { summariseResults } from '../main/evaluation/metrics/evaluate-files';
import { createAppContext } from '../main/services/app-context';
import { IMPORT_JOB } from '../main/studies/import-job';

const { values } = parseArgs({ options: { variant: { type: 'string', default: 'frozen' }, steps: { type: 'string', default: '50' }, world: { type: 'string' }, dataset: { type: 'string' } } });
const repo = path.join(__dirname, '..');
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'sightline-fast-preset-'));
const probe = path.join(dataDir, 'models', 'demo-preset-probe');
mkdirSync(path.dirname(probe), { recursive: true });
cpSync(path.join(repo, 'models', 'demo'), probe, { recursive: true });
const manifestFile = path.join(probe, 'manifest.json');
const manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
manifest.name = 'sightline-demo-ldm-preset-probe';
const base = manifest.grounding[values.variant!];
const steps = Number(values.steps);
const stride = 1000 / steps;
// the kept steps whose trailing timestep (t_i = stride * (i + 1) - 1) lies in the default's kept range
const [lo, hi] = [Math.min(...base.timesteps), Math.max(...base.timesteps)];
const kept = [...Array(steps).keys()].filter((i) => stride * (i + 1) - 1 >= lo && stride * (i + 1) - 1 <= hi);
manifest.grounding.fast = { ...base, num_inference_steps: steps, step_indices: kept, timesteps: kept.map((i) => stride * (i + 1) - 1) };
writeFileSync(manifestFile, JSON.stringify(manifest, null, 1));

async function main() {
  const context = await createAppContext({ dataDir, mode: 'cli', importDemo: true });
  for (const job of context.jobs.list()) await context.jobs.wait(job.jobId);
  if (values.world !== undefined !== (values.dataset !== undefined)) throw new Error('--world and --dataset go together');
  if (values.world) {
    const imported = await context.jobs.wait(context.jobs.start(IMPORT_JOB, { paths: [path.resolve(values.world)], dataset: values.dataset }));
    if (imported.progress.state !== 'done') throw new Error(`importing ${values.world}: ${imported.error}`);
  }
  const benchmark = values.dataset ? `MS-CXR-loc/${values.dataset}` : 'MS-CXR-loc';
  const runs: Record<string, { seconds: number; pairs: { key: string; category: string; dicom_id: string; label_text: string; cnr: number; miou: number; auc: number }[]; report: unknown }> = {};
  for (const variant of ['fast', values.variant!]) {
    const t0 = performance.now();
    const { runId, jobId } = await context.handlers['evaluation.runs.start']({ benchmark, model: manifest.name, variant, sideSwap: false, bootstrap: 10000, seed: 0 });
    const end = await context.jobs.wait(jobId);
    if (end.progress.state !== 'done') throw new Error(`${variant}: ${end.error}`);
    const seconds = (performance.now() - t0) / 1000;
    const run = await context.handlers['evaluation.runs.get']({ id: runId });
    runs[variant] = { seconds, pairs: run.pairs.map((p) => ({ key: p.key, category: p.category, dicom_id: p.dicom_id, label_text: p.label_text, cnr: p.cnr!, miou: p.miou!, auc: p.auc! })), report: run.report };
    console.error(`${variant}: ${run.pairs.length} pairs in ${seconds.toFixed(1)} s`);
  }
  const def = new Map(runs[values.variant!].pairs.map((p) => [p.key, p]));
  const diffs = runs.fast.pairs.map((p) => {
    const d = def.get(p.key)!;
    return { dicom_id: p.dicom_id, label_text: p.label_text, category: p.category, cnr: p.cnr - d.cnr, miou: p.miou - d.miou, auc: p.auc - d.auc };
  });
  const difference = summariseResults(diffs, 10000, 0);
  const avg = (v: string) => (runs[v].report as { average: Record<string, { mean: number; ci_low: number; ci_high: number }> }).average;
  const within = (m: string) => difference.average[m as 'cnr'].ci_low! <= 0 && 0 <= difference.average[m as 'cnr'].ci_high!;
  const result = {
    note: 'fast - default per pair, class-mean average with 95% paired bootstrap CI; within = the CI of the difference contains 0',
    benchmark,
    default_variant: values.variant,
    fast: manifest.grounding.fast,
    seconds: { fast: runs.fast.seconds, default: runs[values.variant!].seconds, saved_fraction: 1 - runs.fast.seconds / runs[values.variant!].seconds },
    average: { default: avg(values.variant!), fast: avg('fast') },
    difference: difference.average,
    per_class_difference: difference.classes,
    within_ci: { cnr: within('cnr'), miou: within('miou') },
    machine: `${os.cpus().length} CPUs, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`,
  };
  mkdirSync(path.join(repo, 'bench', 'results'), { recursive: true });
  writeFileSync(path.join(repo, 'bench', 'results', values.dataset ? `fast-preset-${values.dataset}.json` : 'fast-preset.json'), `${JSON.stringify(result, null, 1)}\n`);
  console.log(JSON.stringify({ seconds: result.seconds, average: result.average, difference: result.difference, within_ci: result.within_ci }, null, 1));
  await context.close();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
