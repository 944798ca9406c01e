// `sightline evaluate`: grounding metrics (docs/method.md 5.1) of a folder of heatmaps against an MS-CXR CSV's
// boxes, without a database: per pair CNR, mIoU and AUC, per class and the class-mean average with 95% bootstrap
// CIs, the same numbers as the Python reference (training/sightline_eval/metrics.py). With --benchmark, a stored
// benchmark (MS-CXR-loc, VinDr-CXR of an imported dataset) run in the data directory as the app runs it (a
// `benchmark-run` job: a model, imported heatmaps or a reference row), the report in the same shape.
// Exit status: 0 when a pair was scored, 1 when none was, an input is bad (the message names the file) or the run
// failed or was cancelled, 2 usage.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { THRESHOLDS } from '../evaluation/metrics/score';
import { evaluateFiles, EvaluationInputError, METRICS, type EvaluationReport, type Interval, type Metric } from '../evaluation/metrics/evaluate-files';
import type { z } from 'zod';
import { procedures } from '../../common/contract';
import type { RunRecord } from '../../common/contract/evaluation';
import { followJob, withContext, type Command, type Out } from './shared';

export const evaluateCommand: Command = {
  name: 'evaluate',
  usage: `  evaluate --boxes CSV --heatmaps FOLDER [--out r.json] [--bootstrap 10000] [--seed 0] [--json]
                              score heatmaps against MS-CXR boxes (no database): FOLDER/index.csv
                              (dicom_id,label_text,file; .npy or 16-bit .png maps at the original image size)
                              paired by (dicom_id, label_text) with the CSV's pairs; prints CNR, mIoU and AUC per
                              class with 95% bootstrap CIs; --out writes every pair and summary as JSON;
                              exit 0 something scored, 1 nothing or a bad input, 2 usage
  evaluate --benchmark NAME [--model BUNDLE] [--variant V] [--reference oracle|lut|random]
           [--imported SOURCE] [--subset NAME] [--limit N] [--side-swap] [--out r.json] [--bootstrap 10000] [--seed 0] [--data-dir D] [--json]
                              run a stored benchmark (MS-CXR-loc or VinDr-CXR, or NAME/DATASET) in the data
                              directory: ground every pair with the model (stored maps reused), or score the
                              heatmaps imported as SOURCE, or a reference row (no model); --subset runs a saved
                              subset of the pairs; --limit scores the first N pairs; --side-swap also scores each prompt naming a side with left <-> right
                              swapped and reports the drop (text dependence); the run is kept (evaluation
                              results page); Ctrl+C cancels (resumable)
  evaluate --benchmark NAME --save-subset NAME [--classes C,C] [--splits train,test] [--pairs KEY,KEY] [--data-dir D]
                              save a named subset of the benchmark's pairs (every part given must hold; a subset of
                              that name is replaced); the results page saves the pairs its table shows the same way`,
  run: evaluate,
};

function integerFlag(value: string | undefined, name: string, fallback: number, max: number): number | string {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) > max) return `--${name} ${value}: an integer from 0 to ${max}`;
  return Number(value);
}

async function evaluate(args: string[], out: Out): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        boxes: { type: 'string' },
        heatmaps: { type: 'string' },
        benchmark: { type: 'string' },
        model: { type: 'string' },
        variant: { type: 'string' },
        reference: { type: 'string' },
        imported: { type: 'string' },
        limit: { type: 'string' },
        subset: { type: 'string' },
        'save-subset': { type: 'string' },
        classes: { type: 'string' },
        splits: { type: 'string' },
        pairs: { type: 'string' },
        'side-swap': { type: 'boolean', default: false },
        'data-dir': { type: 'string' },
        out: { type: 'string' },
        bootstrap: { type: 'string' },
        seed: { type: 'string' },
        json: { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    out.error(`sightline evaluate: ${(error as Error).message}`);
    return 2;
  }
  const { values } = parsed;
  if (values.benchmark !== undefined) {
    if (values.boxes || values.heatmaps) {
      out.error('sightline evaluate: --benchmark runs a stored benchmark; --boxes and --heatmaps score files; give one or the other');
      return 2;
    }
    if (values['save-subset'] !== undefined) return saveSubset(values, out);
    const loose = (['classes', 'splits', 'pairs'] as const).find((k) => values[k] !== undefined);
    if (loose) {
      out.error(`sightline evaluate: --${loose} goes with --save-subset`);
      return 2;
    }
    return runBenchmark(values, out);
  }
  const stray = (['model', 'variant', 'reference', 'imported', 'limit', 'subset', 'save-subset', 'classes', 'splits', 'pairs', 'data-dir'] as const).find((k) => values[k] !== undefined) ?? (values['side-swap'] ? 'side-swap' : undefined);
  if (stray) {
    out.error(`sightline evaluate: --${stray} goes with --benchmark`);
    return 2;
  }
  if (!values.boxes || !values.heatmaps) {
    out.error('sightline evaluate: give --boxes (an MS-CXR local alignment CSV) and --heatmaps (a folder with index.csv)');
    return 2;
  }
  const nBoot = integerFlag(values.bootstrap, 'bootstrap', 10000, 1_000_000);
  const seed = integerFlag(values.seed, 'seed', 0, 2 ** 32 - 1);
  for (const v of [nBoot, seed]) {
    if (typeof v === 'string') {
      out.error(`sightline evaluate: ${v}`);
      return 2;
    }
  }
  if (values.out && !fs.existsSync(path.dirname(path.resolve(values.out)))) {
    out.error(`sightline evaluate: --out ${values.out}: its folder does not exist`);
    return 2;
  }

  const controller = new AbortController();
  const onSigint = () => controller.abort(new Error('cancelled (Ctrl+C)'));
  process.once('SIGINT', onSigint);
  let report: EvaluationReport;
  try {
    report = await evaluateFiles({
      boxes: values.boxes,
      heatmaps: values.heatmaps,
      nBoot: nBoot as number,
      seed: seed as number,
      signal: controller.signal,
      onProgress: (done, total) => {
        if (process.stderr.isTTY && !values.json) process.stderr.write(`\rscoring ${done}/${total}   ${done === total ? '\n' : ''}`);
      },
    });
  } catch (error) {
    // input problems name their file (EvaluationInputError, and the CSV readers' errors); anything else is a bug
    const known = error instanceof EvaluationInputError || (error instanceof Error && error.message.includes(path.sep));
    out.error(`sightline evaluate: ${known ? (error as Error).message : ((error as Error).stack ?? String(error))}`);
    return 1;
  } finally {
    process.removeListener('SIGINT', onSigint);
  }

  writeReport(report, values.out, values.json, out);
  return report.pairs.length > 0 ? 0 : 1;
}

function writeReport(report: EvaluationReport | BenchmarkReport, file: string | undefined, json: boolean, out: Out): void {
  const text = `${JSON.stringify(report, null, 1)}\n`;
  if (file) {
    const target = path.resolve(file);
    const tmp = `${target}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, target);
  }
  if (json) out.log(text.trimEnd());
  else for (const line of table(report)) out.log(line);
}

/** r.json of a benchmark run: the --boxes mode's shape, each pair with its prompt, the run's settings. */
type BenchmarkReport = Pick<EvaluationReport, 'pairs' | 'classes' | 'average' | 'unmatched' | 'problems'> & {
  side_swap?: EvaluationReport['average'];
  settings: Record<string, unknown> & Pick<EvaluationReport['settings'], 'n_boot' | 'seed'> & { sizes_unchecked?: number };
};

async function runBenchmark(values: Record<string, string | boolean | undefined>, out: Out): Promise<number> {
  const str = (k: string) => values[k] as string | undefined;
  const numbers: Record<string, number | string> = {
    bootstrap: integerFlag(str('bootstrap'), 'bootstrap', 10000, 1_000_000),
    seed: integerFlag(str('seed'), 'seed', 0, 2 ** 32 - 1),
    ...(str('limit') !== undefined ? { limit: integerFlag(str('limit'), 'limit', 0, 1_000_000) } : {}),
  };
  const bad = Object.values(numbers).find((v) => typeof v === 'string');
  if (bad !== undefined) {
    out.error(`sightline evaluate: ${bad}`);
    return 2;
  }
  if (str('out') && !fs.existsSync(path.dirname(path.resolve(str('out')!)))) {
    out.error(`sightline evaluate: --out ${str('out')}: its folder does not exist`);
    return 2;
  }
  const request = procedures['evaluation.runs.start'].input.safeParse({
    benchmark: str('benchmark'),
    model: str('model'),
    variant: str('variant'),
    reference: str('reference'),
    heatmaps: str('imported'),
    subset: str('subset'),
    sideSwap: Boolean(values['side-swap']),
    ...numbers,
  });
  if (!request.success) {
    const flag = (p: PropertyKey[]) => (p[0] === 'heatmaps' ? 'imported' : String(p[0] ?? 'arguments'));
    out.error(`sightline evaluate: ${request.error.issues.map((i) => `--${flag(i.path)}: ${i.message}`).join('; ')}`);
    return 2;
  }
  return withContext(str('data-dir'), out, async (context) => {
    let started;
    try {
      started = await context.handlers['evaluation.runs.start'](request.data);
    } catch (error) {
      out.error(`sightline evaluate: ${(error as Error).message}`);
      return (error as { code?: string }).code === 'internal' ? 1 : 2;
    }
    const end = await followJob(context, started.jobId, Boolean(values.json));
    const run: z.output<typeof RunRecord> = await context.handlers['evaluation.runs.get']({ id: started.runId });
    if (end.state !== 'done' || !run.report) {
      out.error(`sightline evaluate: run ${run.id} ${end.state}: ${context.jobs.record(started.jobId)?.error ?? end.message} (${run.scored} of ${run.pairCount} pairs scored and kept; \`sightline jobs resume ${started.jobId}\` continues it)`);
      return 1;
    }
    const scored = run.pairs.filter((p) => p.cnr !== null);
    const report: BenchmarkReport = {
      pairs: scored.map((p) => ({
        dicom_id: p.dicom_id,
        label_text: p.label_text,
        category: p.category,
        prompt: p.prompt,
        cnr: p.cnr!,
        miou: p.miou!,
        auc: p.auc!,
        ...(run.report!.side_swap ? { swapped_prompt: p.swapped_prompt, swapped_cnr: p.swapped_cnr, swapped_miou: p.swapped_miou, swapped_auc: p.swapped_auc } : {}),
      })),
      classes: run.report.classes,
      average: run.report.average,
      unmatched: { boxes_without_heatmap: run.report.unmatched, heatmaps_without_boxes: [] },
      problems: [],
      ...(run.report.side_swap ? { side_swap: run.report.side_swap } : {}),
      settings: { run: run.id, label: run.label, ...(run.settings as { n_boot: number; seed: number }), thresholds: [...THRESHOLDS] },
    };
    if (!values.json) out.error(`${run.label} on ${run.settings.benchmark}: run ${run.id}, ${scored.length} pair(s) scored`);
    writeReport(report, str('out'), Boolean(values.json), out);
    return scored.length ? 0 : 1;
  });
}

/** --save-subset: stores a named subset of the benchmark (evaluation.subsets.save) and prints it. */
async function saveSubset(values: Record<string, string | boolean | undefined>, out: Out): Promise<number> {
  const list = (k: string) => (values[k] === undefined ? undefined : String(values[k]).split(',').map((x) => x.trim()).filter(Boolean));
  const request = procedures['evaluation.subsets.save'].input.safeParse({
    benchmark: values.benchmark,
    name: values['save-subset'],
    classes: list('classes'),
    splits: list('splits'),
    pairs: list('pairs'),
  });
  if (!request.success) {
    out.error(`sightline evaluate: ${request.error.issues.map((i) => `${i.path.length ? `--${i.path[0] === 'name' ? 'save-subset' : String(i.path[0])}: ` : ''}${i.message}`).join('; ')}`);
    return 2;
  }
  return withContext(values['data-dir'] as string | undefined, out, async (context) => {
    try {
      const saved = await context.handlers['evaluation.subsets.save'](request.data);
      if (values.json) out.log(JSON.stringify(saved, null, 1));
      else out.log(`subset "${saved.name}" of ${saved.benchmark} saved: ${saved.size} pair(s) with a location; run it with --benchmark ${saved.benchmark} --subset "${saved.name}"`);
      return 0;
    } catch (error) {
      out.error(`sightline evaluate: ${(error as Error).message}`);
      return 2;
    }
  });
}

const DIGITS: Record<Metric, { scale: number; digits: number; title: string }> = {
  cnr: { scale: 1, digits: 2, title: 'CNR' },
  miou: { scale: 100, digits: 1, title: 'mIoU %' },
  auc: { scale: 1, digits: 3, title: 'AUC' },
};

function cell(v: Interval, m: Metric): string {
  const { scale, digits } = DIGITS[m];
  const f = (x: number | null) => (x === null ? '-' : (x * scale).toFixed(digits));
  return v.ci_low === null ? f(v.mean) : `${f(v.mean)} [${f(v.ci_low)}, ${f(v.ci_high)}]`;
}

/** The short table: one line per class and the class-mean average, then what was not scored. */
export function table(report: EvaluationReport | BenchmarkReport): string[] {
  const rows: string[][] = [['class', 'n', ...METRICS.map((m) => `${DIGITS[m].title} [95% CI]`)]];
  for (const [name, c] of Object.entries(report.classes)) rows.push([name, String(c.n), ...METRICS.map((m) => cell(c[m], m))]);
  rows.push(['class-mean average', String(report.average.n), ...METRICS.map((m) => cell(report.average[m], m))]);
  const widths = rows[0].map((_, k) => Math.max(...rows.map((r) => r[k].length)));
  const lines = rows.map((r) => r.map((c, k) => (k === 1 ? c.padStart(widths[k]) : c.padEnd(widths[k]))).join('  ').trimEnd());
  const { boxes_without_heatmap: noMap, heatmaps_without_boxes: noBoxes } = report.unmatched;
  const s = report.settings;
  lines.push(
    `${report.pairs.length} pair${report.pairs.length === 1 ? '' : 's'} scored; ${noMap.length} with boxes but no heatmap; ${noBoxes.length} heatmap${noBoxes.length === 1 ? '' : 's'} without boxes; ${report.problems.length} CSV row${report.problems.length === 1 ? '' : 's'} refused`,
    `class-mean average = unweighted mean of the class means; ${s.n_boot} bootstrap resamples of the pairs, seed ${s.seed}`,
  );
  for (const p of noBoxes.slice(0, 10)) lines.push(`  no boxes for index.csv line ${p.line}: ${p.dicom_id}, "${p.label_text}" (${p.file})`);
  for (const p of noMap.slice(0, 10)) lines.push(`  no heatmap for ${p.dicom_id}, "${p.label_text}" (${p.category})`);
  for (const p of report.problems.slice(0, 10)) lines.push(`  refused ${p.file} line ${p.line}${p.column ? ` (${p.column})` : ''}: ${p.message}`);
  if (noMap.length > 10 || noBoxes.length > 10 || report.problems.length > 10) lines.push('  (the first 10 of each; --out has them all)');
  if ('side_swap' in report && report.side_swap) {
    const d = report.side_swap;
    lines.push(`side-swap check over ${d.n} pair(s) naming a side: drop (as written - swapped) CNR ${cell(d.cnr, 'cnr')}, mIoU % ${cell(d.miou, 'miou')}, AUC ${cell(d.auc, 'auc')}`);
  }
  if (s.sizes_unchecked) lines.push(`warning: ${s.sizes_unchecked} pair(s) have no image_width/image_height in the CSV: their maps' sizes were not checked`);
  return lines;
}
