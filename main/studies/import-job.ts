// Imports as durable jobs (main/jobs): one at a time (group 'import'), resumable after a crash, a restart or a
// cancel (a resume re-plans the same paths, skips what is stored, and keeps the earlier attempt's counts).
import fs from 'node:fs/promises';
import { ImportParams, RpcError, type Types } from '../../common/contract';
import type { Db } from '../db/database';
import { listJobRejections } from '../db/jobs-repo';
import type { JobKind, JobRunner } from '../jobs/job-runner';
import { splitNotImages } from './import-plan';
import type { VerifyImage } from './import-prepare';
import { runImport, NO_COUNTS, type ImportCounts } from './run-import';

export const IMPORT_JOB = 'import';

type ImportParams = Types['ImportParams'];

export function importJobKind(db: Db, verify: VerifyImage | undefined): JobKind<ImportParams, ImportCounts> {
  return {
    kind: IMPORT_JOB,
    params: ImportParams,
    resumable: true,
    exclusive: 'import',
    async run(ctx) {
      const result = await runImport({
        db,
        paths: ctx.params.paths,
        dataset: ctx.params.dataset,
        signal: ctx.signal,
        verify,
        job: { id: ctx.jobId, checkpoint: ctx.checkpoint, previous: ctx.previous },
        onProgress: (p) => ctx.report({ done: p.done, total: p.total, message: p.message }),
      });
      const { imported, duplicates, reports, ignored, datasets } = result;
      return { imported, duplicates, reports, ignored, rejected: result.rejected.length, ...(datasets ? { datasets } : {}) };
    },
  };
}

/**
 * Refuses an import of paths that do not exist, before a job starts: a typo is an error to fix, not an import that
 * "finished" with nothing in it. (Paths that vanish later are rejections of the running job.)
 */
export async function checkImportPaths(paths: string[]): Promise<void> {
  const missing: string[] = [];
  for (const p of paths) {
    try {
      await fs.stat(p);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      missing.push(code === 'ENOENT' || code === 'ENOTDIR' ? `${p}: no such file or folder` : `${p}: ${(err as Error).message}`);
    }
  }
  if (missing.length) throw new RpcError('invalid_input', `cannot import: ${missing.join('; ')}`);
}

/** `imports.result`: the job's progress and, once it has stopped (done, or cancelled part-way), its summary. */
export function importResult(
  db: Db,
  jobs: JobRunner,
  jobId: string,
): { progress: Types['JobProgress']; summary: Types['ImportSummary'] | null } {
  const rec = jobs.record<ImportCounts>(jobId);
  if (!rec || rec.progress.kind !== IMPORT_JOB) throw new RpcError('not_found', `no import job ${jobId}`);
  if (rec.progress.state === 'running') return { progress: rec.progress, summary: null };
  const { imported, duplicates, reports, datasets } = rec.result ?? NO_COUNTS;
  const summary = { imported, duplicates, reports, ...splitNotImages(listJobRejections(db, jobId)), ...(datasets ? { datasets } : {}) };
  return { progress: rec.progress, summary };
}
