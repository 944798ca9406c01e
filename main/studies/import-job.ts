// `imports.start` / `imports.result` on top of the job runner: one import at a time (group 'import').
import type { Types } from '../../common/contract';
import { RpcError } from '../../common/contract';
import type { Db } from '../db/database';
import type { JobRunner } from '../jobs/job-runner';
import { runImport, type ImportResult, type RunImportOptions } from './import-service';

export interface StartImportInput {
  paths: string[];
  dataset?: string;
}

/** Starts an import job and returns its id at once; throws RpcError('busy') while another import runs. */
export function startImportJob(
  runner: JobRunner,
  db: Db,
  input: StartImportInput,
  extra: Pick<RunImportOptions, 'verify' | 'concurrency'> = {},
): { jobId: string } {
  let jobId = '';
  jobId = runner.start(
    'import',
    (signal, report) =>
      runImport({
        db,
        paths: input.paths,
        dataset: input.dataset,
        signal,
        jobId,
        ...extra,
        onProgress: (p) => report({ done: p.done, total: p.total, etaSeconds: p.etaSeconds, message: p.message }),
      }),
    { exclusive: 'import' },
  );
  return { jobId };
}

/** `imports.result`: the job's progress and, once it has ended (done, or cancelled part-way), its summary. */
export function importResult(
  runner: JobRunner,
  jobId: string,
): { progress: Types['JobProgress']; summary: Types['ImportSummary'] | null } {
  const rec = runner.record<ImportResult>(jobId);
  if (!rec || rec.progress.kind !== 'import') throw new RpcError('not_found', `no import job ${jobId}`);
  const r = rec.result;
  return {
    progress: rec.progress,
    summary: r ? { imported: r.imported, duplicates: r.duplicates, rejected: r.rejected, reports: r.reports } : null,
  };
}

/**
 * A `verify` for runImport that fully decodes each new image with main/imaging (slower: every pixel is
 * decompressed), catching damage inside the compressed data that header checks cannot see.
 */
export async function verifyByDecoding(file: string): Promise<void> {
  const { decodeImageFile, ImageDecodeError } = await import('../imaging');
  try {
    await decodeImageFile(file);
  } catch (err) {
    if (err instanceof ImageDecodeError) throw new Error(err.reason);
    throw err;
  }
}
