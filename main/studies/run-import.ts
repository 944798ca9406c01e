// Imports studies from files and folders into the database, referencing the files in place:
// plan (import-plan.ts) -> prepare, in parallel (import-prepare.ts) -> write, one unit per transaction, in plan
// order (import-write.ts).
//
// Idempotent: files are identified by SHA-256 (a file already imported under the same path, size and mtime is
// skipped without reading it); re-importing counts them as duplicates; a known file found at a new path, whose
// old path no longer exists, is re-pointed there. Crash-safe: each unit is written with its rejections and the
// running counts in one transaction. Every import is a durable job (main/jobs): run by the job runner (the app,
// the CLI), or, called directly, it records a job row of its own. A resumed job starts from the counts it
// saved, so its summary covers both attempts.
// Dataset: `dataset` if given, else 'mimic-cxr-jpg' / 'mimic-cxr' (MIMIC layout), 'dicom', or the imported
// folder's name (other PNG/JPEG).
import path from 'node:path';
import type { Types } from '../../common/contract';
import type { Db } from '../db/database';
import { addJobRejection, clearJobRejections, finishJob, insertJob, listJobRejections, markInterruptedJobs, saveJobCheckpoint } from '../db/jobs-repo';
import { planImport, unitFileCount, abortError } from './import-plan';
import { prepareUnit, rejectionReason, type PreparedUnit, type VerifyImage } from './import-prepare';
import { writeUnit, type ImportCounts, type ImportLog } from './import-write';
import { readMimicMetadata, type MimicImageMeta } from './mimic-metadata';

export type { ImportCounts } from './import-write';

export interface ImportProgress {
  phase: 'scanning' | 'importing' | 'done';
  /** files handled (imported, duplicate, rejected; reports included) */
  done: number;
  /** files to handle; null while scanning */
  total: number | null;
  message: string;
}

/** The durable job an import runs as, when the job runner runs it. */
export interface ImportJobLink {
  id: string;
  checkpoint(counts: ImportCounts): void;
  /** the counts an earlier attempt saved (a resume), else null */
  previous: ImportCounts | null;
}

export interface RunImportOptions {
  db: Db;
  /** files and/or folders */
  paths: string[];
  dataset?: string;
  signal?: AbortSignal;
  onProgress?: (p: ImportProgress) => void;
  verify?: VerifyImage;
  /** units prepared in parallel (default 4) */
  concurrency?: number;
  /** absent: the import records a job row of its own */
  job?: ImportJobLink;
}

type ImportSummary = Types['ImportSummary'];

export interface ImportResult extends ImportSummary {
  jobId: string;
  /** true when stopped by the signal; the counts cover what was written before */
  cancelled: boolean;
  /** companion files skipped silently (.txt, .csv, ...) */
  ignored: number;
}

export const NO_COUNTS: ImportCounts = { imported: 0, duplicates: 0, reports: 0, rejected: 0 };

export async function runImport(opts: RunImportOptions): Promise<ImportResult> {
  if (opts.job) return importAs(opts, opts.job);
  // Called directly (tests, benchmarks, scripts): the same durable record the runner keeps.
  const { db } = opts;
  markInterruptedJobs(db);
  const id = `import-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  insertJob(db, { id, kind: 'import', params: { paths: opts.paths.map((p) => path.resolve(p)), dataset: opts.dataset } });
  let last: ImportProgress = { phase: 'scanning', done: 0, total: null, message: '' };
  const onProgress = (p: ImportProgress) => {
    last = p;
    opts.onProgress?.(p);
  };
  const progressOf = () => ({ done: last.done, total: last.total, message: last.message });
  try {
    const checkpoint = (counts: ImportCounts) => saveJobCheckpoint(db, id, counts, progressOf());
    const result = await importAs({ ...opts, onProgress }, { id, previous: null, checkpoint });
    finishJob(db, id, { state: result.cancelled ? 'cancelled' : 'done', progress: progressOf() });
    return result;
  } catch (err) {
    try {
      finishJob(db, id, { state: 'failed', progress: progressOf(), error: err instanceof Error ? err.message : String(err) });
    } catch {
      /* the database itself may be the problem */
    }
    throw err;
  }
}

async function importAs(opts: RunImportOptions, job: ImportJobLink): Promise<ImportResult> {
  const { db, signal } = opts;
  const t0 = Date.now();
  const previous = job.previous ?? NO_COUNTS;
  // A resume finds the earlier attempt's rejections again (so they are logged afresh); what it had imported it
  // now sees as duplicates (merged() below).
  clearJobRejections(db, job.id);
  const counts: ImportCounts = { ...NO_COUNTS };
  const log: ImportLog = {
    reject: (file, reason) => addJobRejection(db, job.id, file, reason),
    checkpoint: (c) => job.checkpoint(merged(previous, c)),
  };
  let done = 0;
  let total: number | null = null;
  const report = (phase: ImportProgress['phase'], message: string) => opts.onProgress?.({ phase, done, total, message });
  const result = (cancelled: boolean, ignored: number): ImportResult => ({
    ...merged(previous, counts),
    rejected: listJobRejections(db, job.id),
    jobId: job.id,
    cancelled,
    ignored,
  });

  let ignored = 0;
  try {
    report('scanning', 'scanning files');
    const plan = await planImport(opts.paths, signal, (found) => {
      if (found % 1000 === 0) report('scanning', `scanning: ${found} files found`);
    });
    ignored = plan.ignored;
    if (plan.unreadable.length) {
      db.transaction(() => {
        for (const r of plan.unreadable) log.reject(r.path, r.reason);
        counts.rejected += plan.unreadable.length;
        log.checkpoint({ ...counts });
      })();
    }
    const meta = new Map<string, MimicImageMeta>();
    for (const f of plan.metadataFiles) {
      try {
        for (const [k, v] of await readMimicMetadata(f, signal)) meta.set(k, v);
      } catch (err) {
        if (signal?.aborted) throw err;
        log.reject(f, rejectionReason(err));
        counts.rejected++;
      }
    }

    const { units } = plan;
    total = units.reduce((n, u) => n + unitFileCount(u), 0);
    report('importing', `importing ${total} files`);
    const writeContext = { db, log, counts, dataset: opts.dataset, meta };
    // Units are prepared in parallel but written in plan order (a small reorder buffer), so that study ids
    // follow the sorted paths whatever the timing.
    let next = 0;
    let nextWrite = 0;
    const ready = new Map<number, PreparedUnit>();
    const flush = () => {
      for (let p = ready.get(nextWrite); p; p = ready.get(nextWrite)) {
        if (signal?.aborted) return; // prepared but unwritten units are dropped; a re-run redoes them
        ready.delete(nextWrite++);
        // progress first: the unit's transaction saves it with the counts (the job's checkpoint)
        done += unitFileCount(p.unit);
        report('importing', `${done} of ${total} files`);
        writeUnit(writeContext, p);
      }
    };
    const worker = async () => {
      while (next < units.length && !signal?.aborted) {
        const index = next++;
        const before = unitFileCount(units[index]);
        const prepared = await prepareUnit(db, units[index], opts.verify, signal);
        total! += unitFileCount(prepared.unit) - before; // a report found beside the study folder
        if (signal?.aborted) return;
        ready.set(index, prepared);
        flush();
      }
    };
    const concurrency = Math.max(1, Math.min(16, opts.concurrency ?? 4));
    await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(1, units.length)) }, worker));
    if (signal?.aborted) throw abortError(signal);
    const r = result(false, ignored);
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    report('done', `${r.imported} imported, ${r.duplicates} duplicates, ${r.rejected.length} rejected, ${r.reports} reports in ${secs} s`);
    return r;
  } catch (err) {
    if (!signal?.aborted) throw err;
    report('done', 'cancelled');
    return result(true, ignored);
  }
}

/** An earlier attempt's counts and this one's: what this attempt imported earlier, it now counts as duplicates. */
function merged(previous: ImportCounts, now: ImportCounts): ImportCounts {
  return {
    imported: previous.imported + now.imported,
    duplicates: Math.max(0, now.duplicates - previous.imported),
    reports: previous.reports + now.reports,
    rejected: now.rejected,
  };
}
