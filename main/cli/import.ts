// `sightline import`: files and folders into the study database, as a durable import job.
import { parseArgs } from 'node:util';
import path from 'node:path';
import type { AppContext } from '../services/app-context';
import { checkImportPaths, IMPORT_JOB, importResult } from '../studies/import-job';
import type { ImportCounts } from '../studies/run-import';
import { followJob, withContext, type Command, type Out } from './shared';

export const importCommand: Command = {
  name: 'import',
  usage: `  import <path...> [--data-dir D] [--dataset NAME] [--json]
                              import DICOM, PNG/JPEG and MIMIC-CXR-JPG trees with their MS-CXR and VinDr-CXR
                              ground truth (phrases, boxes, labels); prints a summary`,
  run: importFiles,
};

/** Prints an import's summary; exit status 1 when nothing at all could be read, 2 when the import failed. */
export async function finishImport(context: AppContext, jobId: string, json: boolean, out: Out): Promise<number> {
  const progress = await followJob(context, jobId, json);
  const { summary } = importResult(context.db, context.jobs, jobId);
  if (progress.state === 'failed' || !summary) {
    out.error(`sightline: the import failed: ${progress.message}`);
    return 2;
  }
  if (json) {
    const ignored = context.jobs.record<ImportCounts>(jobId)?.result?.ignored ?? 0;
    out.log(JSON.stringify({ jobId, state: progress.state, cancelled: progress.state !== 'done', ...summary, ignored }, null, 2));
  }
  else {
    if (progress.state !== 'done') out.log(`${progress.state}: resume with \`sightline jobs resume ${jobId}\``);
    // files given by name that the import does not read are listed apart from damaged ones
    const { rejected, notImages = [] } = summary;
    out.log(
      `imported ${summary.imported}, skipped as duplicate ${summary.duplicates}, rejected ${rejected.length}, reports ${summary.reports}` +
        (notImages.length ? `, ignored ${notImages.length}` : ''),
    );
    for (const r of rejected) out.log(`  rejected ${r.path}: ${r.reason}`);
    for (const r of notImages) out.log(`  ignored ${r.path}: ${r.reason}`);
    const d = summary.datasets;
    if (d) {
      out.log(`dataset phrases ${d.phrases}, boxes ${d.boxes}, labels ${d.labels}, rows skipped ${d.skipped}`);
      for (const p of d.problems) out.log(`  skipped ${p.file}:${p.line}${p.column ? ` column ${p.column}` : ''}: ${p.message}`);
      if (d.skipped > d.problems.length) out.log(`  … and ${d.skipped - d.problems.length} more rows skipped`);
    }
  }
  const storedTruth = summary.datasets ? summary.datasets.phrases + summary.datasets.boxes + summary.datasets.labels : 0;
  const nothingRead = summary.imported === 0 && summary.duplicates === 0 && summary.reports === 0 && storedTruth === 0;
  return nothingRead ? 1 : 0;
}

async function importFiles(args: string[], out: Out): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { 'data-dir': { type: 'string' }, dataset: { type: 'string' }, json: { type: 'boolean', default: false } },
  });
  if (positionals.length === 0) {
    out.error('sightline import: give at least one file or folder');
    return 2;
  }
  const paths = positionals.map((p) => path.resolve(p));
  try {
    await checkImportPaths(paths);
  } catch (err) {
    out.error(`sightline import: ${(err as Error).message}`);
    return 2;
  }
  return withContext(values['data-dir'], out, async (context) => {
    const jobId = context.jobs.start(IMPORT_JOB, { paths, dataset: values.dataset });
    return finishImport(context, jobId, values.json, out);
  });
}
