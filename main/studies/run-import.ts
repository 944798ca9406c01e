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
// folder's name (other PNG/JPEG); a VinDr-CXR tree's images go to 'VinDr-CXR' ('<dataset> · VinDr-CXR').
// Dataset ground truth (MS-CXR, VinDr-CXR sidecars; datasets/import-datasets.ts) is read before the images are
// written and stored after them, one image per transaction.
import path from 'node:path';
import type { Types } from '../../common/contract';
import type { Db } from '../db/database';
import {
  addJobRejection,
  clearJobRejections,
  finishJob,
  insertJob,
  listJobRejections,
  markInterruptedJobs,
  saveJobCheckpoint,
  type StoredProgress,
} from '../db/jobs-repo';
import { planImport, unitFileCount, abortError } from './import-plan';
import { prepareUnit, rejectionReason, type PreparedUnit, type VerifyImage } from './import-prepare';
import { writeUnit, type ImportCounts, type ImportLog } from './import-write';
import { readMimicMetadata, type MimicImageMeta } from './mimic-metadata';
import { addProblem, emptyDatasetCounts, readDatasetTruth, writeImageTruth, type DatasetCounts } from './datasets/import-datasets';

export type { ImportCounts } from './import-write';

/** `done`: files handled (imported, duplicate, rejected; reports included); `total`: null while scanning. */
export type ImportProgress = StoredProgress & { phase: 'scanning' | 'importing' | 'done' };

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

/** The run's own result: every stored rejection in `rejected` (the summary of imports.result splits off notImages). */
type ImportSummary = Omit<Types['ImportSummary'], 'notImages'>;

export interface ImportResult extends ImportSummary, Pick<ImportCounts, 'ignored'> {
  jobId: string;
  /** true when stopped by the signal; the counts cover what was written before */
  cancelled: boolean;
}

export const NO_COUNTS: ImportCounts = { imported: 0, duplicates: 0, reports: 0, rejected: 0, ignored: 0 };

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
  const { db } = opts;
  const t0 = Date.now();
  const previous = job.previous ?? NO_COUNTS;
  // One signal for the whole run: the caller's cancel, or this run's own failure (a unit that cannot be
  // written stops the other workers before the error is reported, so nothing is written after it).
  const stop = new AbortController();
  const cancelled = () => !!opts.signal?.aborted;
  const onCancel = () => stop.abort(opts.signal?.reason);
  if (opts.signal?.aborted) onCancel();
  else opts.signal?.addEventListener('abort', onCancel, { once: true });
  const signal = stop.signal;

  // A resume logs the rejections it finds afresh: the earlier attempt's list goes in this attempt's first write,
  // so that a resume stopped before writing anything keeps it. What the earlier attempt imported, this one
  // counts as duplicates (merged() below).
  let logStarted = false;
  const startLog = () => {
    if (!logStarted) clearJobRejections(db, job.id);
    logStarted = true;
  };
  const counts: ImportCounts = { ...NO_COUNTS };
  const log: ImportLog = {
    reject: (file, reason) => {
      startLog();
      addJobRejection(db, job.id, file, reason);
    },
    checkpoint: (c) => {
      startLog();
      job.checkpoint(merged(previous, c));
    },
  };
  let done = 0;
  let total: number | null = null;
  const report = (phase: ImportProgress['phase'], message: string) => opts.onProgress?.({ phase, done, total, message });
  const result = (wasCancelled: boolean): ImportResult => {
    const { rejected: _count, ...merge } = merged(previous, counts);
    return { ...merge, rejected: listJobRejections(db, job.id), jobId: job.id, cancelled: wasCancelled };
  };

  try {
    report('scanning', 'scanning files');
    const plan = await planImport(opts.paths, signal, (found) => {
      if (found % 1000 === 0) report('scanning', `scanning: ${found} files found`);
    });
    counts.ignored = plan.ignored;
    if (plan.unreadable.length) {
      db.transaction(() => {
        for (const r of plan.unreadable) log.reject(r.path, r.reason);
        counts.rejected += plan.unreadable.length;
        log.checkpoint({ ...counts });
      })();
    }
    // dataset sidecars are read (a wrong one rejected) before anything is written; stored after the images
    const truth = plan.datasetFiles.length
      ? await readDatasetTruth(
          plan.datasetFiles,
          (file, reason) => {
            log.reject(file, reason);
            counts.rejected++;
          },
          signal,
        )
      : null;
    if (truth) {
      counts.datasets = emptyDatasetCounts();
      for (const p of truth.problems) addProblem(counts.datasets, p);
    }
    const meta = new Map<string, MimicImageMeta>();
    for (const f of plan.metadataFiles) {
      try {
        for (const [k, v] of await readMimicMetadata(f, signal)) meta.set(k, v);
      } catch (err) {
        if (signal.aborted) throw err;
        log.reject(f, rejectionReason(err));
        counts.rejected++;
      }
    }

    const { units } = plan;
    // paths rejected while scanning count as handled, so that "n of n" and the bar agree with the summary
    done = plan.unreadable.length;
    total = done + units.reduce((n, u) => n + unitFileCount(u), 0);
    report('importing', `importing ${total} files`);
    const writeContext = { db, log, counts, dataset: opts.dataset, meta };
    // Units are prepared in parallel but written in plan order (a small reorder buffer), so that study ids
    // follow the sorted paths whatever the timing.
    let next = 0;
    let nextWrite = 0;
    const ready = new Map<number, PreparedUnit>();
    const flush = () => {
      for (let p = ready.get(nextWrite); p; p = ready.get(nextWrite)) {
        if (signal.aborted) return; // prepared but unwritten units are dropped; a re-run redoes them
        ready.delete(nextWrite++);
        // progress first: the unit's transaction saves it with the counts (the job's checkpoint)
        done += unitFileCount(p.unit);
        report('importing', `${done} of ${total} files`);
        writeUnit(writeContext, p);
      }
    };
    const worker = async () => {
      try {
        while (next < units.length && !signal.aborted) {
          const index = next++;
          const before = unitFileCount(units[index]);
          const prepared = await prepareUnit(db, units[index], opts.verify, signal);
          total! += unitFileCount(prepared.unit) - before; // a report found beside the study folder
          if (signal.aborted) return;
          ready.set(index, prepared);
          flush();
        }
      } catch (err) {
        if (!signal.aborted) stop.abort(err);
        throw err;
      }
    };
    const concurrency = Math.max(1, Math.min(16, opts.concurrency ?? 4));
    const outcomes = await Promise.allSettled(Array.from({ length: Math.min(concurrency, Math.max(1, units.length)) }, worker));
    if (!cancelled() && signal.aborted) throw signal.reason; // the first failure, after every worker stopped
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed && !cancelled()) throw failed.reason;
    if (cancelled()) throw abortError(signal);
    if (truth && counts.datasets) {
      const ds = counts.datasets;
      report('importing', `dataset ground truth of ${truth.images.length} images`);
      for (const t of truth.images) {
        if (signal.aborted) throw abortError(signal);
        db.transaction(() => {
          writeImageTruth(db, t, ds);
          log.checkpoint({ ...counts });
        })();
      }
      db.transaction(() => log.checkpoint({ ...counts }))(); // the reading's problems, when no image had ground truth
    }
    const r = result(false);
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    const ds = r.datasets ? `, ${r.datasets.phrases} dataset phrases, ${r.datasets.boxes} boxes, ${r.datasets.skipped} dataset rows skipped` : '';
    report('done', `${r.imported} imported, ${r.duplicates} duplicates, ${r.rejected.length} rejected, ${r.reports} reports${ds} in ${secs} s`);
    return r;
  } catch (err) {
    if (!cancelled()) throw err;
    report('done', 'cancelled');
    return result(true);
  } finally {
    opts.signal?.removeEventListener('abort', onCancel);
  }
}

/** An earlier attempt's counts and this one's: what this attempt imported earlier, it now counts as duplicates. */
function merged(previous: ImportCounts, now: ImportCounts): ImportCounts {
  const out: ImportCounts = {
    imported: previous.imported + now.imported,
    duplicates: Math.max(0, now.duplicates - previous.imported),
    reports: previous.reports + now.reports,
    rejected: now.rejected,
    ignored: now.ignored,
  };
  if (now.datasets) out.datasets = mergedDatasets(previous.datasets, now.datasets);
  return out;
}

/** What each attempt stored adds up; the rows skipped are found afresh by each attempt. */
function mergedDatasets(previous: DatasetCounts | undefined, now: DatasetCounts): DatasetCounts {
  if (!previous) return { ...now, problems: [...now.problems] };
  return { ...now, phrases: previous.phrases + now.phrases, boxes: previous.boxes + now.boxes, labels: previous.labels + now.labels, problems: [...now.problems] };
}
