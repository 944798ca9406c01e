// `sightline classify`: the grounded disease classification experiment (issue 14, docs/method.md section 7) in the
// data directory, as the app runs it: a durable `classification` job (Ctrl+C cancels it, resumable with `sightline
// jobs resume <job-id>`), then per condition the AUROC with its 95% CI and the low/high-mIoU halves; --out writes
// the report, every sample, the settings and the cost as JSON. --plan shows what would run.
// Exit status: 0 done (or a plan that can run), 1 the run failed or was cancelled, or the experiment cannot run (no
// positives, no normal images, unknown benchmark / model / variant); 2 usage (unknown class, bad numbers).
import fs from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { procedures } from '../../common/contract';
import type { ClassifyPlan, ClassifyRequest, ClassifyRunRecord, ConditionResult } from '../../common/contract/classification';
import { PATHOLOGIES } from '../../common/contract/evaluation';
import { benchmarkKeys } from '../evaluation/benchmarks/definitions';
import type { AppContext } from '../services/app-context';
import { followJob, parseCommandArgs, withContext, type Command, type Out } from './shared';

export const classifyCommand: Command = {
  name: 'classify',
  usage: `  classify --dataset NAME | --benchmark KEY --positive CLASS [--model M] [--variant V]... [--lut] [--condition H:P[:NAME]]...
           [--samples 32] [--timesteps LO,HI] [--target epsilon|v] [--normal-weights own|pathology]
           [--locations "left apical,right apical,left,right"] [--limit N] [--no-balance] [--seed 0]
           [--bootstrap 10000] [--permutations 10000] [--plan] [--out results.json] [--data-dir D] [--json]
                              the zero-shot diffusion classifier of CLASS pairs (positives) against the dataset's
                              normal images (negatives), plain (uniform weights) and weighted by each variant's
                              heatmaps (generic and located prompts); --dataset NAME means MS-CXR-loc/NAME, else
                              VinDr-CXR/NAME; --lut adds the LUT-weighted located row; --condition HEATMAP:PROMPT
                              gives the rows instead (HEATMAP uniform, lut or a variant; PROMPT generic or located;
                              e.g. --condition uniform:located --condition tuned-loc:located); --plan shows the counts and
                              stops; prints AUROC [95% CI] and the low/high-mIoU halves per row; --out writes them
                              with every sample; Ctrl+C cancels (resume: sightline jobs resume <job-id>)`,
  run: classify,
};

type Request = z.input<typeof ClassifyRequest>;
type RunRecord = z.output<typeof ClassifyRunRecord>;

function integer(value: string | undefined, flag: string, min: number, max: number): number | undefined | string {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) return `--${flag} ${value}: an integer from ${min} to ${max}`;
  return Number(value);
}

/** The class as given, case and spaces forgiven ("pleural effusion"), or null. */
function pathologyOf(text: string): string | null {
  const norm = (s: string) => s.toLowerCase().replace(/[\s_-]+/g, ' ').trim();
  return PATHOLOGIES.find((p) => norm(p) === norm(text)) ?? null;
}

async function classify(args: string[], out: Out): Promise<number> {
  const parsed = parseCommandArgs(
    'classify',
    args,
    {
      dataset: { type: 'string' },
      benchmark: { type: 'string' },
      positive: { type: 'string' },
      model: { type: 'string' },
      variant: { type: 'string', multiple: true },
      condition: { type: 'string', multiple: true },
      lut: { type: 'boolean', default: false },
      samples: { type: 'string' },
      timesteps: { type: 'string' },
      target: { type: 'string' },
      'normal-weights': { type: 'string' },
      locations: { type: 'string' },
      limit: { type: 'string' },
      'no-balance': { type: 'boolean', default: false },
      seed: { type: 'string' },
      bootstrap: { type: 'string' },
      permutations: { type: 'string' },
      plan: { type: 'boolean', default: false },
      out: { type: 'string' },
      'data-dir': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    out,
  );
  if (!parsed) return 2;
  const { values: v, positionals } = parsed;
  const usage = (message: string) => {
    out.error(`sightline classify: ${message}`);
    return 2;
  };
  if (positionals.length) return usage(`unexpected argument "${positionals[0]}"`);
  if ((v.dataset === undefined) === (v.benchmark === undefined)) return usage('give --dataset NAME or --benchmark KEY (one of them)');
  if (v.positive === undefined) return usage(`give --positive CLASS, one of: ${PATHOLOGIES.join(', ')}`);
  const positive = pathologyOf(v.positive);
  if (!positive) return usage(`--positive ${v.positive}: not one of the 8 classes: ${PATHOLOGIES.join(', ')}`);
  const numbers = {
    samples: integer(v.samples, 'samples', 1, 1024),
    limit: integer(v.limit, 'limit', 1, 1_000_000),
    seed: integer(v.seed, 'seed', 0, 2 ** 32 - 1),
    bootstrap: integer(v.bootstrap, 'bootstrap', 0, 100_000),
    permutations: integer(v.permutations, 'permutations', 0, 100_000),
  };
  const bad = Object.values(numbers).find((x) => typeof x === 'string');
  if (bad !== undefined) return usage(bad as string);
  let timesteps: [number, number] | undefined;
  if (v.timesteps !== undefined) {
    const m = /^(\d+),(\d+)$/.exec(v.timesteps.replace(/\s+/g, ''));
    if (!m) return usage(`--timesteps ${v.timesteps}: LO,HI (integers from 0 to 999)`);
    timesteps = [Number(m[1]), Number(m[2])];
  }
  if (v.out && !fs.existsSync(path.dirname(path.resolve(v.out)))) return usage(`--out ${v.out}: its folder does not exist`);
  // --condition HEATMAP:PROMPT[:NAME] rows replace the default ones (then --variant and --lut make no sense)
  const conditions = (v.condition ?? []).map((c) => {
    const [heatmap, prompt, ...name] = c.split(':');
    return { heatmap: heatmap.trim(), prompt: prompt?.trim(), ...(name.length ? { name: name.join(':').trim() } : {}) };
  });
  const badCondition = conditions.find((c) => !c.heatmap || (c.prompt !== 'generic' && c.prompt !== 'located'));
  if (badCondition) return usage(`--condition ${v.condition![conditions.indexOf(badCondition)]}: HEATMAP:PROMPT[:NAME], HEATMAP uniform, lut or a variant, PROMPT generic or located`);
  if (conditions.length && (v.variant?.length || v.lut)) return usage('--condition gives the rows itself: leave out --variant and --lut');
  const request: Request = {
    benchmark: v.benchmark ?? '',
    positive: positive as Request['positive'],
    ...(v.model !== undefined ? { model: v.model } : {}),
    ...(v.variant?.length ? { variants: v.variant } : {}),
    ...(conditions.length ? { conditions: conditions as NonNullable<Request['conditions']> } : {}),
    ...(v.target !== undefined ? { target: v.target as Request['target'] } : {}),
    ...(v['normal-weights'] !== undefined ? { normalWeights: v['normal-weights'] as Request['normalWeights'] } : {}),
    ...(v.locations !== undefined ? { locations: v.locations.split(',').map((l) => l.trim()).filter(Boolean) } : {}),
    ...(timesteps ? { timesteps } : {}),
    ...(v['no-balance'] ? { balance: false } : {}),
    ...Object.fromEntries(Object.entries(numbers).filter(([, x]) => x !== undefined)),
  };
  const flagOf: Record<string, string> = { variants: 'variant', normalWeights: 'normal-weights', balance: 'no-balance' };
  const checked = procedures['classification.plan'].input.safeParse(request);
  if (!checked.success && !(v.dataset !== undefined && checked.error.issues.every((i) => i.path[0] === 'benchmark'))) {
    return usage(checked.error.issues.map((i) => `--${flagOf[String(i.path[0])] ?? String(i.path[0] ?? 'arguments')}${i.path.length > 1 ? ` (${i.path.slice(1).join('.')})` : ''}: ${i.message}`).join('; '));
  }
  return withContext(v['data-dir'], out, async (context) => {
    if (v.dataset !== undefined) request.benchmark = datasetBenchmark(context, v.dataset);
    const input = procedures['classification.plan'].input.parse(request);
    let plan = await context.handlers['classification.plan'](input);
    if (v.lut && !plan.problem) {
      // the LUT row after the plain one, then the variants' rows
      const conditions = [...plan.conditions];
      const at = conditions.findIndex((c) => c.heatmap !== 'uniform');
      conditions.splice(at < 0 ? conditions.length : at, 0, { name: 'lut · located', prompt: 'located', heatmap: 'lut' });
      input.conditions = conditions;
      plan = await context.handlers['classification.plan'](input);
    }
    if (plan.problem) {
      out.error(`sightline classify: ${plan.problem}`);
      return 1;
    }
    if (v.plan) {
      if (v.json) out.log(JSON.stringify(plan, null, 1));
      else for (const line of planLines(plan)) out.log(line);
      return 0;
    }
    const started = await context.handlers['classification.runs.start'](input);
    if (!v.json) out.error(`run ${started.runId} (job ${started.jobId}): ${plan.positives} positive pair(s), ${plan.negatives} negative image(s), ${plan.unetPasses} U-Net passes`);
    const end = await followJob(context, started.jobId, v.json);
    const run = await context.handlers['classification.runs.get']({ id: started.runId });
    if (end.state !== 'done' || !run.report) {
      out.error(`sightline classify: run ${run.id} ${end.state}: ${context.jobs.record(started.jobId)?.error ?? end.message} (the images done are kept; \`sightline jobs resume ${started.jobId}\` continues it)`);
      return 1;
    }
    const json = resultsJson(run);
    if (v.out) {
      const target = path.resolve(v.out);
      const tmp = `${target}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, `${JSON.stringify(json, null, 1)}\n`);
      fs.renameSync(tmp, target);
    }
    if (v.json) out.log(JSON.stringify(json, null, 1));
    else for (const line of table(run)) out.log(line);
    return 0;
  });
}

/** --dataset NAME: MS-CXR-loc/NAME when the dataset has it, else VinDr-CXR/NAME (the plan names what is missing). */
function datasetBenchmark(context: AppContext, name: string): string {
  const keys = benchmarkKeys(context.db).map((b) => b.key);
  return keys.includes(`MS-CXR-loc/${name}`) || !keys.includes(`VinDr-CXR/${name}`) ? `MS-CXR-loc/${name}` : `VinDr-CXR/${name}`;
}

function planLines(p: z.output<typeof ClassifyPlan>): string[] {
  return [
    `${p.benchmark} with ${p.model}`,
    `positives: ${p.positives} pair(s); normal images: ${p.normalImages}, taken as negatives: ${p.negatives}; images: ${p.images}; U-Net passes: ${p.unetPasses}; heatmaps to ground first: ${p.heatmapsToGround}`,
    `conditions: ${p.conditions.map((c) => c.name).join(', ')}`,
  ];
}

const half = (h: z.output<typeof ConditionResult>['low_miou']) => (h ? { auroc: h.auroc, miou_range: h.miou_range, p_value: h.p_value, positives: h.positives } : null);

/** The --out JSON. */
export function resultsJson(run: RunRecord) {
  const report = run.report!;
  return {
    conditions: Object.fromEntries(
      report.conditions.map((c) => [
        c.condition.name,
        { prompt: c.condition.prompt, heatmap: c.condition.heatmap, auroc: c.auroc, ci_low: c.ci_low, ci_high: c.ci_high, positives: c.positives, negatives: c.negatives, low_miou: half(c.low_miou), high_miou: half(c.high_miou), difference: c.difference },
      ]),
    ),
    samples: run.samples,
    settings: report.settings,
    cost: report.cost,
    run_id: run.id,
  };
}

const f3 = (x: number | null | undefined) => (x === null || x === undefined ? '-' : x.toFixed(3));

export function table(run: RunRecord): string[] {
  const report = run.report!;
  const rows = [['condition', 'AUROC [95% CI]', 'n+ / n-', 'low / high mIoU AUROC', 'difference', 'p']];
  for (const c of report.conditions) {
    rows.push([
      c.condition.name,
      c.ci_low === null ? f3(c.auroc) : `${f3(c.auroc)} [${f3(c.ci_low)}, ${f3(c.ci_high)}]`,
      `${c.positives} / ${c.negatives}`,
      c.low_miou ? `${f3(c.low_miou.auroc)} / ${f3(c.high_miou?.auroc)}` : '-',
      f3(c.difference),
      f3(c.low_miou?.p_value),
    ]);
  }
  const widths = rows[0].map((_, k) => Math.max(...rows.map((r) => r[k].length)));
  const lines = rows.map((r) => r.map((x, k) => x.padEnd(widths[k])).join('  ').trimEnd());
  const s = run.settings;
  const { cost } = report;
  lines.push(
    `run ${run.id}: ${run.positive} on ${run.benchmark} with ${run.model}; ${s.samples} draws per image, timesteps ${s.timesteps.join('-')}, target ${s.target}, normal prompt "${s.normalPrompt}"`,
    `CI: ${s.bootstrap} stratified bootstrap resamples; p: two-sided permutation test of high - low (${s.permutations} permutations), seed ${s.seed}`,
    `cost: ${cost.images} image(s), ${cost.seconds.toFixed(1)} s of U-Net work${cost.perImage === null ? '' : `, ${cost.perImage.toFixed(2)} s per image`}${cost.perPass === null ? '' : `, ${(cost.perPass * 1000).toFixed(1)} ms per pass`}`,
  );
  return lines;
}
