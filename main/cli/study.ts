// `sightline study`: reader studies from the command line (the same reader.* handlers as the app). A design file is
// JSON (contract ReaderDesign); a bad one is refused naming the file, the line and column, or the field. Exit status:
// 0 done, 1 refused by the study (a case x arm without a map, no such study), 2 usage or unreadable file.
import { writeFileSync } from 'node:fs';
import type { z } from 'zod';
import { ExportFormat, ReaderDesign, ReaderPairMetric } from '../../common/contract/reader';
import { analysisTables } from '../reader/analysis/tables';
import type { AppContext } from '../services/app-context';
import { readJsonFile } from './json-error';
import { followJob, parseCommandArgs, withRefusals, type Command, type Out } from './shared';
import { remoteSubcommands, remoteUsage, studyRemote } from './study-remote';

export const studyCommand: Command = {
  name: 'study',
  usage: `  study create --design FILE [--revises ID] [--data-dir D] [--json]
                              create a reader study from a JSON design (cases, arms, readers, questions,
                              schedule); --revises makes it the next version of study ID
  study list [--data-dir D] [--json]
                              the reader studies, with their state
  study status --study ID [--data-dir D] [--json]
                              each reader's progress (answered / total, sitting, washout, active time)
  study export --study ID --format long|imrmc|mrmcaov|events --out FILE [--question KEY] [--data-dir D]
                              the answers as CSV (long: one row per reader x item x question; events: the
                              event log)
  study analyse --study ID [--question KEY] [--metrics FILE] [--out FILE] [--json] [--data-dir D]
                              the statistics: scores per reader x arm, Spearman vs CNR / mIoU, paired arm deltas,
                              Krippendorff's alpha, weighted kappa, ICC, reading time. --metrics: a JSON array of
                              {case, arm, cnr, miou} (a benchmark run's); without it CNR / mIoU are computed from the
                              study's frozen maps and the cases' dataset boxes. --out writes the tables (or JSON) there
${remoteUsage}`,
  run: study,
};

/** Reads and validates a design file; a string is the problem, for the user. */
export function readDesign(file: string): Design | string {
  const read = readJsonFile(file);
  if (typeof read === 'string') return read;
  const parsed = ReaderDesign.safeParse(read.json);
  if (!parsed.success) return `${file}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(design)'}: ${i.message}`).join('; ')}`;
  return parsed.data;
}
type Design = z.output<typeof ReaderDesign>;

/** A metrics file: a JSON array of {case, arm, cnr, miou}; a string is the problem, naming the file and entry. */
export function readMetrics(file: string): z.output<typeof ReaderPairMetric>[] | string {
  const read = readJsonFile(file);
  if (typeof read === 'string') return read;
  const parsed = ReaderPairMetric.array().safeParse(read.json);
  if (!parsed.success) return `${file}: ${parsed.error.issues.map((i) => `${i.path.length ? `entry ${i.path.join('.')}` : '(file)'}: ${i.message}`).join('; ')} (expected [{"case": 1, "arm": "...", "cnr": 0.5, "miou": 0.2}, ...])`;
  return parsed.data;
}

function idOf(value: string | undefined): number | null {
  return value !== undefined && /^\d+$/.test(value) && Number(value) > 0 ? Number(value) : null;
}

async function study(args: string[], out: Out): Promise<number> {
  if (remoteSubcommands.has(args[0])) return studyRemote(args, out);
  const parsed = parseCommandArgs('study', args, {
    design: { type: 'string' },
    revises: { type: 'string' },
    study: { type: 'string' },
    format: { type: 'string' },
    out: { type: 'string' },
    question: { type: 'string' },
    metrics: { type: 'string' },
    'data-dir': { type: 'string' },
    json: { type: 'boolean', default: false },
  }, out);
  if (!parsed) return 2;
  const { values, positionals } = parsed;
  const [sub, ...rest] = positionals;
  const fail = (message: string, code = 2) => (out.error(`sightline study${sub ? ` ${sub}` : ''}: ${message}`), code);
  if (rest.length) return fail(`unexpected argument "${rest[0]}"`);
  const run = (fn: (context: AppContext) => Promise<number>) => withRefusals(values['data-dir'], out, (message) => fail(message, 1), fn);
  const studyId = idOf(values.study);
  switch (sub) {
    case 'create': {
      if (!values.design) return fail('give --design FILE (a JSON design)');
      const revises = values.revises === undefined ? undefined : idOf(values.revises);
      if (revises === null) return fail('--revises takes a study id');
      const design = readDesign(values.design);
      if (typeof design === 'string') return fail(design);
      return run(async (context) => {
        const s = await context.handlers['reader.createStudy']({ design, ...(revises ? { revises } : {}) });
        out.log(values.json ? JSON.stringify(s, null, 2) : `created reader study ${s.id} "${s.name}" version ${s.version}: ${s.cases} cases x ${s.arms} arms, ${s.readers} readers (seed ${s.seed})`);
        return 0;
      });
    }
    case 'list':
      return run(async (context) => {
        const list = await context.handlers['reader.listStudies']({});
        if (values.json) out.log(JSON.stringify({ studies: list }, null, 2));
        else {
          for (const s of list) out.log(`${s.id}\t${s.name}\tv${s.version}\t${s.state}\t${s.cases} cases x ${s.arms} arms\t${s.readers} readers\t${s.createdAt}`);
          out.log(`${list.length} reader stud${list.length === 1 ? 'y' : 'ies'}`);
        }
        return 0;
      });
    case 'status':
      if (studyId === null) return fail('give --study ID (see `sightline study list`)');
      return run(async (context) => {
        const s = await context.handlers['reader.studyStatus']({ id: studyId });
        if (values.json) out.log(JSON.stringify(s, null, 2));
        else {
          out.log(`${s.id} "${s.name}" v${s.version} ${s.state}`);
          for (const p of s.progress) {
            const lock = p.unlocksAt ? `, locked until ${p.unlocksAt}` : '';
            out.log(`  ${p.reader}\t${p.answered} / ${p.total}\tsitting ${p.sitting + 1} of ${p.sittings}${lock}\tactive ${(p.activeMs / 60000).toFixed(1)} min`);
          }
        }
        return 0;
      });
    case 'export': {
      if (studyId === null) return fail('give --study ID (see `sightline study list`)');
      const format = ExportFormat.safeParse(values.format);
      if (!format.success) return fail('give --format long, imrmc or mrmcaov (answers), or events (the event log)');
      if (!values.out) return fail('give --out FILE');
      const file = values.out;
      return run(async (context) => {
        const { text, rows } = await context.handlers['reader.exportStudy']({ id: studyId, format: format.data, ...(values.question ? { question: values.question } : {}) });
        writeFileSync(file, text);
        out.log(`wrote ${rows} row${rows === 1 ? '' : 's'} to ${file}`);
        return 0;
      });
    }
    case 'analyse':
    case 'analyze': {
      if (studyId === null) return fail('give --study ID (see `sightline study list`)');
      const metrics = values.metrics === undefined ? undefined : readMetrics(values.metrics);
      if (typeof metrics === 'string') return fail(metrics);
      const file = values.out;
      return run(async (context) => {
        if (!metrics) {
          // the maps' CNR / mIoU first, as a reader-metrics job of this process (Ctrl+C cancels; what is computed stays cached)
          const { missing, jobId } = await context.handlers['reader.analysisPrepare']({ id: studyId });
          if (jobId) {
            out.error(`computing CNR and mIoU of ${missing} map${missing === 1 ? '' : 's'} (Ctrl+C stops; computed maps are kept for the next run)`);
            const end = await followJob(context, jobId, false);
            if (end.state !== 'done') return fail(`the maps' metrics were not computed (${end.state}${end.state === 'failed' ? `: ${end.message}` : ''}); run the command again to continue`, 1);
          }
        }
        const a = await context.handlers['reader.analysis']({ id: studyId, ...(values.question ? { question: values.question } : {}), ...(metrics ? { metrics } : {}) });
        const text = values.json ? JSON.stringify(a, null, 2) : analysisTables(a);
        if (file) {
          writeFileSync(file, text + '\n');
          out.log(`wrote the analysis of study ${a.study.id} to ${file}`);
        } else out.log(text);
        return 0;
      });
    }
    default:
      return fail(sub === undefined ? 'give a subcommand (create, list, status, export, analyse, package, import-package, export-answers, merge, credentials)' : `unknown subcommand (create, list, status, export, analyse, package, import-package, export-answers, merge, credentials)`);
  }
}
