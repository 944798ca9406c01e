// `sightline tune`: anatomy-grounded prompt tuning (issue 13) from the command line, as the Training page runs it: a
// durable `tune` job in the data directory (Ctrl+C cancels it, resumable with `sightline jobs resume <job-id>`),
// the progress on stderr, the validation before/after and the registered variant at the end. `--check` shows what
// the interpreter has (torch, CUDA, GPUs); `--emit-slurm` prints the batch script for a cluster; `list` the runs;
// `variants` the tuned variant files with the reason a refused one is refused.
// Exit status: 0 done (or the listing / check / script), 1 the run failed or was cancelled, the check found a
// problem, or an input is bad (the message names the file); 2 usage.
import type { z } from 'zod';
import { procedures } from '../../common/contract';
import { TuneConfig, TuneStartRequest, type TuneMetrics } from '../../common/contract/training';
import { trainingDirectory } from '../services/paths';
import { checkEnvironment } from '../training/environment';
import { readJsonFile } from './json-error';
import { followJob, parseCommandArgs, withContext, withRefusals, type Command, type Out } from './shared';

export const tuneCommand: Command = {
  name: 'tune',
  usage: `  tune --model BUNDLE --data DATASET [--config settings.json] [--device cpu|cuda] [--gpus N] [--lut NAME]
       [--name V] [--benchmark KEY] [--python PATH] [--data-dir D] [--json]
                              tune the location tokens of BUNDLE on the dataset's kept training pairs (a durable
                              job; --config: TuneConfig JSON, training/sightline_tune/README.md); prints the
                              progress, then the validation before/after and the registered variant; --benchmark
                              then starts a frozen and a tuned run of that benchmark; Ctrl+C cancels (resume:
                              sightline jobs resume <job-id>)
  tune --check [--python PATH] [--json]
                              what the interpreter has for tuning: Python, torch, CUDA, GPUs and their memory
  tune --emit-slurm --model BUNDLE --data DATASET [--gpus N] [--config settings.json] [--device cpu|cuda] [--data-dir D]
                              print a Slurm batch script for these settings (nothing is run)
  tune list [--data-dir D] [--json]
                              the tuning runs, newest first
  tune variants [--model BUNDLE] [--data-dir D] [--json]
                              the tuned variant files of each model, usable or with the reason they are refused`,
  run: tune,
};

type Metrics = z.output<typeof TuneMetrics>;

/** The --config file as a TuneConfig; a string is the problem, naming the file. */
function readConfig(file: string): z.output<typeof TuneConfig> | string {
  const read = readJsonFile(file);
  if (typeof read === 'string') return read;
  const parsed = TuneConfig.safeParse(read.json);
  if (!parsed.success) return `${file}: ${parsed.error.issues.map((i) => `${i.path.length ? `"${i.path.join('.')}"` : '(file)'}: ${i.message}`).join('; ')}`;
  return parsed.data;
}

const fmt = (m: Metrics | null) => {
  if (!m) return '–';
  const one = (name: string, v: Metrics['cnr'], scale = 1, digits = 2) =>
    `${name} ${v.mean == null ? '–' : (v.mean * scale).toFixed(digits)}${v.ci95 && v.ci95[0] != null && v.ci95[1] != null ? ` [${(v.ci95[0] * scale).toFixed(digits)}, ${(v.ci95[1] * scale).toFixed(digits)}]` : ''}`;
  return `${one('CNR', m.cnr)}, ${one('mIoU %', m.miou, 100, 1)}, ${one('AUC', m.auc, 1, 3)}`;
};

async function tune(args: string[], out: Out): Promise<number> {
  const parsed = parseCommandArgs('tune', args, {
    model: { type: 'string' },
    data: { type: 'string' },
    config: { type: 'string' },
    device: { type: 'string' },
    gpus: { type: 'string' },
    lut: { type: 'string' },
    name: { type: 'string' },
    benchmark: { type: 'string' },
    python: { type: 'string' },
    check: { type: 'boolean', default: false },
    'emit-slurm': { type: 'boolean', default: false },
    'data-dir': { type: 'string' },
    json: { type: 'boolean', default: false },
  }, out);
  if (!parsed) return 2;
  const { values: v, positionals } = parsed;
  const [sub, ...rest] = positionals;
  if (rest.length || (sub !== undefined && sub !== 'list' && sub !== 'variants')) {
    out.error(`sightline tune: unknown subcommand "${positionals.join(' ')}" (list, variants, or flags: sightline tune --help)`);
    return 2;
  }
  if (v.check) {
    const env = await checkEnvironment(trainingDirectory(), v.python);
    if (v.json) out.log(JSON.stringify(env, null, 2));
    else {
      out.log(`Python ${env.python} ${env.pythonVersion ?? '(not run)'}, torch ${env.torch ?? '–'}, CUDA ${env.cuda ?? '–'}`);
      for (const d of env.devices) out.log(`  GPU ${d.index}: ${d.name}, ${d.memoryMiB} MiB`);
      if (env.problem) out.error(`problem: ${env.problem}`);
    }
    return env.problem ? 1 : 0;
  }
  if (sub === 'list') {
    return withContext(v['data-dir'], out, async (context) => {
      const runs = await context.handlers['training.runs.list']({});
      if (v.json) out.log(JSON.stringify(runs, null, 2));
      else for (const r of runs) out.log(`${r.id}\t${r.state}\t${r.step}/${r.steps}\t${r.model}\t${r.dataset}\t${r.variant ?? r.name}\t${r.error ?? ''}`);
      return 0;
    });
  }
  if (sub === 'variants') {
    return withContext(v['data-dir'], out, async (context) => {
      const list = await context.handlers['training.variants.list'](v.model ? { model: v.model } : {});
      if (v.json) out.log(JSON.stringify(list, null, 2));
      else for (const t of list) out.log(`${t.model}\t${t.name}\t${t.source}\t${t.problem ? `refused: ${t.problem}` : `usable (${t.tokens.length} tuned rows; validation after: ${fmt(t.metrics.after)})`}`);
      return 0;
    });
  }
  if (!v.data) {
    out.error('sightline tune: give --data DATASET (a dataset name, see `sightline studies --json`), or --check, list, variants');
    return 2;
  }
  let config: z.output<typeof TuneConfig> = {};
  if (v.config !== undefined) {
    const read = readConfig(v.config);
    if (typeof read === 'string') {
      out.error(`sightline tune: ${read}`);
      return 1;
    }
    config = read;
  }
  const request = TuneStartRequest.safeParse({
    model: v.model,
    dataset: v.data,
    lut: v.lut,
    config,
    device: v.device,
    gpus: v.gpus === undefined ? undefined : /^\d+$/.test(v.gpus) ? Number(v.gpus) : v.gpus,
    python: v.python,
    name: v.name,
    benchmark: v.benchmark,
  });
  if (!request.success) {
    out.error(`sightline tune: ${request.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('; ')}`);
    return 2;
  }
  const refused = (message: string) => (out.error(`sightline tune: ${message}`), 1);
  return withRefusals(v['data-dir'], out, refused, async (context) => {
    if (v['emit-slurm']) {
      out.log((await context.handlers['training.runs.slurm'](request.data)).script.trimEnd());
      return 0;
    }
    const { runId, jobId } = await context.handlers['training.runs.start'](request.data);
    if (!v.json) out.error(`tuning run ${runId} (job ${jobId}); Ctrl+C cancels, \`sightline jobs resume ${jobId}\` continues`);
    const stop = context.bus.subscribe((event, payload) => {
      if (v.json || event !== 'training.event') return;
      const e = (payload as { runId: number; event: { event: string; step?: number; metrics?: Metrics } }).event;
      if (e.event === 'validation') out.error(`validation at step ${e.step}: ${fmt(e.metrics ?? null)}`);
    });
    const progress = await followJob(context, jobId, v.json).finally(stop);
    const run = procedures['training.runs.get'].output.parse(await context.handlers['training.runs.get']({ id: runId }));
    const { events, ...summary } = run;
    if (v.json) out.log(JSON.stringify(summary, null, 2));
    else {
      out.log(`run ${runId}: ${progress.state} at step ${run.step}/${run.steps}${run.error ? `: ${run.error}` : ''}`);
      // the trainer says why it had no validation split (e.g. no image whose pairs all have boxes)
      const note = events.map((e) => (e.event === 'start' ? e.val_note : null)).find((n) => typeof n === 'string');
      if (note) out.log(`validation: ${note}`);
      out.log(`validation before: ${fmt(run.before)}`);
      out.log(`validation after:  ${fmt(run.after)}`);
      if (run.variant) out.log(`variant "${run.variant}" of ${run.model} registered${run.benchmarkRuns.tuned ? `; benchmark runs ${run.benchmarkRuns.frozen} (frozen) and ${run.benchmarkRuns.tuned} (tuned) started` : ''}`);
    }
    // the before/after benchmark runs belong to this process: they finish before it closes the data directory
    for (const id of [run.benchmarkRuns.frozen, run.benchmarkRuns.tuned]) {
      const benchmarkJob = id === null ? null : (await context.handlers['evaluation.runs.get']({ id })).jobId;
      if (benchmarkJob) {
        const done = await followJob(context, benchmarkJob, v.json);
        if (!v.json) out.log(`benchmark run ${id}: ${done.state} (sightline evaluate, or the results page, shows it)`);
      }
    }
    return progress.state === 'done' ? 0 : 1;
  });
}
