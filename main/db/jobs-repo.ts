// Durable job records (migration 0002): what each job was asked, how far it got, how it ended. The job runner
// (main/jobs) owns the state transitions; a job may save a partial result inside its own transactions
// (`saveJobResult`), so that what it reports done and what it wrote can never disagree after a crash.
import type { Types } from '../../common/contract';
import type { Db } from './database';
import { prepared } from './statements';

export type JobState = Types['JobState'];

export type StoredProgress = Pick<Types['JobProgress'], 'done' | 'total' | 'message'>;

export interface JobRow {
  id: string;
  kind: string;
  state: JobState;
  params: unknown;
  progress: StoredProgress;
  result: unknown;
  error: string | null;
  pid: number;
  createdAt: string;
  startedAt: string;
  finishedAt: string | null;
}

const NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";
const SELECT = `SELECT id, kind, state, params, progress, result, error, pid, created_at AS createdAt,
  started_at AS startedAt, finished_at AS finishedAt FROM jobs`;

type RawJobRow = Omit<JobRow, 'params' | 'progress' | 'result'> & { params: string; progress: string; result: string | null };

function toRow(r: RawJobRow): JobRow {
  const progress = JSON.parse(r.progress) as Partial<StoredProgress>;
  return {
    ...r,
    params: JSON.parse(r.params) as unknown,
    progress: { done: progress.done ?? 0, total: progress.total ?? null, message: progress.message ?? '' },
    result: r.result === null ? null : (JSON.parse(r.result) as unknown),
  };
}

export function insertJob(db: Db, job: { id: string; kind: string; params: unknown }): void {
  prepared(db, "INSERT INTO jobs (id, kind, state, params, pid) VALUES (?, ?, 'running', ?, ?)").run(
    job.id,
    job.kind,
    JSON.stringify(job.params ?? {}),
    process.pid,
  );
}

/**
 * A new attempt at a stopped (interrupted or cancelled) job, by this process; its partial result stays for the job
 * to continue from. False when the job is no longer stopped (another process resumed it first).
 */
export function restartJob(db: Db, id: string): boolean {
  return (
    prepared(
      db,
      `UPDATE jobs SET state = 'running', error = NULL, finished_at = NULL, pid = ?, started_at = ${NOW}
        WHERE id = ? AND state IN ('interrupted', 'cancelled')`,
    ).run(process.pid, id).changes === 1
  );
}

// Writes about a running attempt name its process: a row another process has since taken over (it found this one
// dead and resumed the job) is left alone.
const OWN_RUNNING = "id = ? AND pid = ? AND state = 'running'";

export function saveJobProgress(db: Db, id: string, progress: StoredProgress): void {
  prepared(db, `UPDATE jobs SET progress = ? WHERE ${OWN_RUNNING}`).run(JSON.stringify(progress), id, process.pid);
}

/** The row is no longer this process's running attempt. */
export class JobTakenOverError extends Error {
  constructor(id: string) {
    super(`job ${id} is no longer run by this process (it was found interrupted and resumed elsewhere)`);
    this.name = 'JobTakenOverError';
  }
}

/** A partial result with the progress it corresponds to, in one statement (inside the job's own transaction). */
/** Throws JobTakenOverError when the attempt is no longer this process's, which rolls back the caller's transaction. */
export function saveJobCheckpoint(db: Db, id: string, result: unknown, progress: StoredProgress): void {
  const changes = prepared(db, `UPDATE jobs SET result = ?, progress = ? WHERE ${OWN_RUNNING}`).run(
    result === undefined ? null : JSON.stringify(result),
    JSON.stringify(progress),
    id,
    process.pid,
  ).changes;
  if (changes !== 1) throw new JobTakenOverError(id);
}

export function finishJob(
  db: Db,
  id: string,
  end: { state: Exclude<JobState, 'running'>; progress: StoredProgress; result?: unknown; error?: string | null },
): void {
  prepared(
    db,
    `UPDATE jobs SET state = ?, progress = ?, result = coalesce(?, result), error = ?, finished_at = ${NOW} WHERE ${OWN_RUNNING}`,
  ).run(end.state, JSON.stringify(end.progress), end.result === undefined ? null : JSON.stringify(end.result), end.error ?? null, id, process.pid);
}

export function getJob(db: Db, id: string): JobRow | null {
  const r = prepared(db, `${SELECT} WHERE id = ?`).get(id) as RawJobRow | undefined;
  return r ? toRow(r) : null;
}

/** The newest jobs first. */
export function listJobs(db: Db, limit = 50): JobRow[] {
  return (prepared(db, `${SELECT} ORDER BY created_at DESC, rowid DESC LIMIT ?`).all(limit) as RawJobRow[]).map(toRow);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Marks 'running' jobs whose process is gone (killed, crashed, power cut) as 'interrupted'. Returns their ids.
 * `runningHere`: the jobs this process runs, when the caller knows them; a row with this process's pid that is not
 * among them is stale (a pid reused after a crash: a container's CLI is pid 1 every time).
 */
export function markInterruptedJobs(db: Db, runningHere?: ReadonlySet<string>): string[] {
  const rows = prepared(db, "SELECT id, pid FROM jobs WHERE state = 'running'").all() as { id: string; pid: number }[];
  const gone = rows
    .filter((r) => (r.pid === process.pid ? runningHere !== undefined && !runningHere.has(r.id) : !processAlive(r.pid)))
    .map((r) => r.id);
  for (const id of gone) {
    prepared(
      db,
      `UPDATE jobs SET state = 'interrupted', error = 'the process running it ended before it finished', finished_at = ${NOW}
        WHERE id = ? AND state = 'running'`,
    ).run(id);
  }
  return gone;
}

export function addJobRejection(db: Db, jobId: string, path: string, reason: string): void {
  prepared(db, 'INSERT INTO job_rejections (job_id, path, reason) VALUES (?, ?, ?)').run(jobId, path, reason);
}

export function listJobRejections(db: Db, jobId: string): Types['ImportSummary']['rejected'] {
  return prepared(db, 'SELECT path, reason FROM job_rejections WHERE job_id = ? ORDER BY id').all(jobId) as Types['ImportSummary']['rejected'];
}

export function clearJobRejections(db: Db, jobId: string): void {
  prepared(db, 'DELETE FROM job_rejections WHERE job_id = ?').run(jobId);
}
