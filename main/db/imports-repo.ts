// The import log: one row per import run, plus the files it rejected and why.
import type { Db } from './database';
import { prepared } from './statements';

export type ImportJobState = 'running' | 'done' | 'failed' | 'cancelled' | 'interrupted';

export interface ImportJobRow {
  id: number;
  jobId: string | null;
  state: ImportJobState;
  paths: string[];
  dataset: string | null;
  imported: number;
  duplicates: number;
  rejected: number;
  reports: number;
  error: string | null;
  startedAt: string;
  finishedAt: string | null;
}

export function createImportJob(db: Db, j: { jobId?: string | null; paths: string[]; dataset?: string | null }): number {
  return Number(
    prepared(db, "INSERT INTO import_jobs (job_id, pid, state, paths, dataset) VALUES (?, ?, 'running', ?, ?)").run(
      j.jobId ?? null,
      process.pid,
      JSON.stringify(j.paths),
      j.dataset ?? null,
    ).lastInsertRowid,
  );
}

export function updateImportCounts(
  db: Db,
  id: number,
  c: { imported: number; duplicates: number; rejected: number; reports: number },
): void {
  prepared(db, 'UPDATE import_jobs SET imported = ?, duplicates = ?, rejected = ?, reports = ? WHERE id = ?').run(
    c.imported,
    c.duplicates,
    c.rejected,
    c.reports,
    id,
  );
}

export function finishImportJob(db: Db, id: number, state: Exclude<ImportJobState, 'running'>, error?: string): void {
  prepared(
    db,
    "UPDATE import_jobs SET state = ?, error = ?, finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?",
  ).run(state, error ?? null, id);
}

export function addRejection(db: Db, importJobId: number, path: string, reason: string): void {
  prepared(db, 'INSERT INTO import_rejections (import_job_id, path, reason) VALUES (?, ?, ?)').run(importJobId, path, reason);
}

export function listRejections(db: Db, importJobId: number): { path: string; reason: string }[] {
  return prepared(db, 'SELECT path, reason FROM import_rejections WHERE import_job_id = ? ORDER BY id').all(importJobId) as {
    path: string;
    reason: string;
  }[];
}

export function getImportJob(db: Db, id: number): ImportJobRow | null {
  const r = prepared(
    db,
    `SELECT id, job_id AS jobId, state, paths, dataset, imported, duplicates, rejected, reports, error,
            started_at AS startedAt, finished_at AS finishedAt FROM import_jobs WHERE id = ?`,
  ).get(id) as (Omit<ImportJobRow, 'paths'> & { paths: string }) | undefined;
  return r ? { ...r, paths: JSON.parse(r.paths) as string[] } : null;
}

export function listImportJobs(db: Db, limit = 50): ImportJobRow[] {
  return (
    prepared(
      db,
      `SELECT id, job_id AS jobId, state, paths, dataset, imported, duplicates, rejected, reports, error,
              started_at AS startedAt, finished_at AS finishedAt FROM import_jobs ORDER BY id DESC LIMIT ?`,
    ).all(limit) as (Omit<ImportJobRow, 'paths'> & { paths: string })[]
  ).map((r) => ({ ...r, paths: JSON.parse(r.paths) as string[] }));
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Marks 'running' imports whose process is gone (killed, crashed) as 'interrupted'. Returns how many. */
export function reconcileInterruptedImports(db: Db): number {
  const rows = prepared(db, "SELECT id, pid FROM import_jobs WHERE state = 'running'").all() as { id: number; pid: number }[];
  let n = 0;
  for (const r of rows) {
    if (!processAlive(r.pid)) {
      finishImportJob(db, r.id, 'interrupted', 'the importing process ended before the import finished');
      n++;
    }
  }
  return n;
}
