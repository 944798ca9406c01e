// Classification runs and their stored U-Net error maps (migration 0013). The run's request, what was resolved when
// it started, its report and samples are JSON the classification domain writes; the error maps are written per image
// in one transaction as the run goes (a resumed run skips the images already here).
import type { Db } from './database';
import { prepared } from './statements';

export interface NewClassificationRun {
  label: string;
  benchmark: string;
  positive: string;
  model: string;
  request: Record<string, unknown>;
  resolved: Record<string, unknown>;
}

export interface ClassificationRunRow extends NewClassificationRun {
  id: number;
  jobId: string | null;
  report: Record<string, unknown> | null;
  samples: Record<string, unknown[]> | null;
  createdAt: string;
  finishedAt: string | null;
}

export interface ErrorMapRow {
  imageId: number;
  prompt: string;
  width: number;
  height: number;
  map: Float32Array;
  passes: number;
  ms: number;
}

const SELECT = `SELECT id, job_id AS jobId, label, benchmark, positive, model, request, resolved, report, samples, created_at AS createdAt,
  finished_at AS finishedAt FROM classification_runs`;

type Raw = Omit<ClassificationRunRow, 'request' | 'resolved' | 'report' | 'samples'> & { request: string; resolved: string; report: string | null; samples: string | null };

const toRow = (r: Raw): ClassificationRunRow => ({
  ...r,
  request: JSON.parse(r.request),
  resolved: JSON.parse(r.resolved),
  report: r.report === null ? null : JSON.parse(r.report),
  samples: r.samples === null ? null : JSON.parse(r.samples),
});

export function insertClassificationRun(db: Db, run: NewClassificationRun): number {
  const info = prepared(db, 'INSERT INTO classification_runs (label, benchmark, positive, model, request, resolved) VALUES (?, ?, ?, ?, ?, ?)').run(
    run.label,
    run.benchmark,
    run.positive,
    run.model,
    JSON.stringify(run.request),
    JSON.stringify(run.resolved),
  );
  return Number(info.lastInsertRowid);
}

export function setClassificationRunJob(db: Db, id: number, jobId: string): void {
  prepared(db, 'UPDATE classification_runs SET job_id = ? WHERE id = ?').run(jobId, id);
}

export function finishClassificationRun(db: Db, id: number, report: unknown, samples: unknown): void {
  prepared(db, "UPDATE classification_runs SET report = ?, samples = ?, finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?").run(
    JSON.stringify(report),
    JSON.stringify(samples),
    id,
  );
}

export function getClassificationRun(db: Db, id: number): ClassificationRunRow | null {
  const r = prepared(db, `${SELECT} WHERE id = ?`).get(id) as Raw | undefined;
  return r ? toRow(r) : null;
}

/** Every run, newest first. */
export function listClassificationRuns(db: Db): ClassificationRunRow[] {
  return (prepared(db, `${SELECT} ORDER BY id DESC`).all() as Raw[]).map(toRow);
}

/** Deletes the run and (cascade) its error maps; false when there was none. */
export function deleteClassificationRun(db: Db, id: number): boolean {
  return prepared(db, 'DELETE FROM classification_runs WHERE id = ?').run(id).changes > 0;
}

/** One image's error maps, all prompts at once (the caller's transaction makes them one write). */
export function insertErrorMaps(db: Db, runId: number, rows: readonly ErrorMapRow[]): void {
  const insert = prepared(db, 'INSERT OR REPLACE INTO classification_errors (run_id, image_id, prompt, width, height, map, passes, ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  db.transaction(() => {
    for (const r of rows) {
      if (r.map.length !== r.width * r.height) throw new Error(`error map of image ${r.imageId}, "${r.prompt}": ${r.map.length} values for ${r.width} x ${r.height}`);
      insert.run(runId, r.imageId, r.prompt, r.width, r.height, Buffer.from(r.map.buffer, r.map.byteOffset, r.map.byteLength), r.passes, r.ms);
    }
  })();
}

/** The images whose error maps are stored (done: a resume skips them). */
export function imagesWithErrorMaps(db: Db, runId: number): Set<number> {
  return new Set((prepared(db, 'SELECT DISTINCT image_id AS imageId FROM classification_errors WHERE run_id = ?').all(runId) as { imageId: number }[]).map((r) => r.imageId));
}

/** Every stored error map of the run, by image then prompt. */
export function listErrorMaps(db: Db, runId: number): ErrorMapRow[] {
  const rows = prepared(db, 'SELECT image_id AS imageId, prompt, width, height, map, passes, ms FROM classification_errors WHERE run_id = ? ORDER BY image_id, prompt').all(runId) as (Omit<ErrorMapRow, 'map'> & { map: Buffer })[];
  // copy out of the row's buffer: a Float32Array needs 4-byte alignment
  return rows.map((r) => ({ ...r, map: new Float32Array(new Uint8Array(r.map).buffer) }));
}

export function countErrorMaps(db: Db, runId: number): number {
  return (prepared(db, 'SELECT count(*) AS n FROM classification_errors WHERE run_id = ?').get(runId) as { n: number }).n;
}
