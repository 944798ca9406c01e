// `sightline heatmaps`: another method's heatmaps imported from a folder (the `heatmap-import` durable job, as in the
// app), and the heatmaps stored for an image. Exit status of `import`: 0 when a map was imported (or replaced), 1 when
// none was (every row refused, the job failed or was cancelled first), 2 usage.
import { parseArgs } from 'node:util';
import { procedures } from '../../common/contract';
import { getImageRow } from '../db';
import type { HeatmapImportResult } from '../grounding/heatmap-import';
import type { AppContext } from '../services/app-context';
import { followJob, withContext, type Command, type Out } from './shared';

export const heatmapsCommand: Command = {
  name: 'heatmaps',
  usage: `  heatmaps import <folder> --source NAME [--data-dir D] [--json]
                              import another method's heatmaps (<folder>/index.csv: dicom_id,label_text,file;
                              .npy float or 16-bit .png maps at the original size); exit 0 something imported,
                              1 nothing, 2 usage
  heatmaps list --image ID [--data-dir D] [--json]
                              the heatmaps stored for an image (computed and imported)`,
  run: heatmaps,
};

async function heatmaps(args: string[], out: Out): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: { source: { type: 'string' }, image: { type: 'string' }, 'data-dir': { type: 'string' }, json: { type: 'boolean', default: false } },
    });
  } catch (error) {
    out.error(`sightline heatmaps: ${(error as Error).message}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [sub, ...rest] = positionals;
  if (sub === 'import') {
    if (rest.length !== 1 || values.source === undefined) {
      out.error('sightline heatmaps import: give one folder and --source NAME (the method the maps come from)');
      return 2;
    }
    const input = procedures['heatmaps.import'].input.safeParse({ folder: rest[0], source: values.source });
    if (!input.success) {
      out.error(`sightline heatmaps import: ${input.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('; ')}`);
      return 2;
    }
    return withContext(values['data-dir'], out, async (context) => {
      const { jobId } = await context.handlers['heatmaps.import'](input.data);
      return finishHeatmapImport(context, jobId, values.json, out);
    });
  }
  if (sub === 'list') {
    if (rest.length || !values.image || !/^\d+$/.test(values.image) || Number(values.image) < 1) {
      out.error('sightline heatmaps list: give --image ID (an image id, see `sightline studies --json`)');
      return 2;
    }
    const imageId = Number(values.image);
    return withContext(values['data-dir'], out, async (context) => {
      if (!getImageRow(context.db, imageId)) {
        out.error(`sightline heatmaps list: no image ${imageId} in ${context.dataDir} (see \`sightline studies --json\`)`);
        return 2;
      }
      const list = await context.handlers['heatmaps.list']({ imageId });
      if (values.json) out.log(JSON.stringify({ heatmaps: list }, null, 2));
      else {
        for (const h of list) out.log(`${h.id}\t${h.source}\t${h.model}${h.modelVersion ? ` ${h.modelVersion}` : ''}\t${h.variant}\t${h.phrase}\t${h.createdAt}`);
        out.log(`${list.length} heatmap${list.length === 1 ? '' : 's'} of image ${imageId}`);
      }
      return 0;
    });
  }
  out.error(sub === undefined ? 'sightline heatmaps: give a subcommand (import <folder> --source NAME, list --image ID)' : `sightline heatmaps: unknown subcommand "${sub}" (import, list)`);
  return 2;
}

/** Follows the job and prints its summary: imported N, replaced M, rejected K, and one line per rejected row. */
export async function finishHeatmapImport(context: AppContext, jobId: string, json: boolean, out: Out): Promise<number> {
  const progress = await followJob(context, jobId, json);
  const record = context.jobs.record<HeatmapImportResult>(jobId);
  const result = record?.result ?? { imported: 0, replaced: 0, rejected: [] };
  const written = result.imported + result.replaced;
  if (json) {
    out.log(JSON.stringify({ jobId, state: progress.state, problem: progress.state === 'failed' ? progress.message : null, ...result }, null, 2));
    return written > 0 ? 0 : 1;
  }
  if (progress.state === 'failed') {
    out.error(`sightline heatmaps import: the import failed: ${progress.message}`);
    return 1;
  }
  if (progress.state !== 'done') out.log(`${progress.state} after ${progress.done} of ${progress.total ?? '?'} rows (import the folder again to finish: a map imported again replaces itself)`);
  out.log(`imported ${result.imported}, replaced ${result.replaced}, rejected ${result.rejected.length}`);
  for (const r of result.rejected) out.log(`  rejected row ${r.row} (${r.file}): ${r.reason}`);
  return written > 0 ? 0 : 1;
}
