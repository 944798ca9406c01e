// Tuning runs and training-pair exclusions (migration 0010). The run's settings are the start request as JSON (the
// training domain validates it); the step and total are written as the run reports them, so that a run list after a
// crash shows where it stopped.
import type { Db } from './database';
import { prepared } from './statements';

export interface NewTuneRun {
  name: string;
  model: string;
  bundleHash: string;
  dataset: string;
  settings: Record<string, unknown>;
}

export interface TuneRunRow extends NewTuneRun {
  id: number;
  jobId: string | null;
  runDir: string;
  step: number;
  steps: number;
  error: string | null;
  createdAt: string;
  finishedAt: string | null;
  variant: string | null;
  frozenRunId: number | null;
  tunedRunId: number | null;
}

const SELECT = `SELECT id, job_id AS jobId, name, model, bundle_hash AS bundleHash, dataset, settings, run_dir AS runDir, step, steps,
  error, created_at AS createdAt, finished_at AS finishedAt, variant, frozen_run_id AS frozenRunId, tuned_run_id AS tunedRunId FROM tune_runs`;

type Raw = Omit<TuneRunRow, 'settings'> & { settings: string };
const toRow = (r: Raw): TuneRunRow => ({ ...r, settings: JSON.parse(r.settings) });

/** Inserts the run; `runDirOf(id)` gives its folder (the id is only known once the row exists). */
export function insertTuneRun(db: Db, run: NewTuneRun, runDirOf: (id: number) => string): TuneRunRow {
  return db.transaction(() => {
    const info = prepared(db, "INSERT INTO tune_runs (name, model, bundle_hash, dataset, settings, run_dir) VALUES (?, ?, ?, ?, ?, '')").run(
      run.name,
      run.model,
      run.bundleHash,
      run.dataset,
      JSON.stringify(run.settings),
    );
    const id = Number(info.lastInsertRowid);
    prepared(db, 'UPDATE tune_runs SET run_dir = ? WHERE id = ?').run(runDirOf(id), id);
    return getTuneRun(db, id)!;
  })();
}

export function getTuneRun(db: Db, id: number): TuneRunRow | null {
  const r = prepared(db, `${SELECT} WHERE id = ?`).get(id) as Raw | undefined;
  return r ? toRow(r) : null;
}

export function listTuneRuns(db: Db): TuneRunRow[] {
  return (prepared(db, `${SELECT} ORDER BY id DESC`).all() as Raw[]).map(toRow);
}

export function setTuneRunJob(db: Db, id: number, jobId: string): void {
  prepared(db, 'UPDATE tune_runs SET job_id = ? WHERE id = ?').run(jobId, id);
}

export function setTuneRunName(db: Db, id: number, name: string): void {
  prepared(db, 'UPDATE tune_runs SET name = ? WHERE id = ?').run(name, id);
}

export function setTuneRunStep(db: Db, id: number, step: number, steps: number | null): void {
  if (steps === null) prepared(db, 'UPDATE tune_runs SET step = ? WHERE id = ?').run(step, id);
  else prepared(db, 'UPDATE tune_runs SET step = ?, steps = ? WHERE id = ?').run(step, steps, id);
}

/** The run's end: an error (failed), or null with the variant it registered (done). A resume clears both first. */
export function finishTuneRun(db: Db, id: number, end: { error: string | null; variant: string | null }): void {
  prepared(db, "UPDATE tune_runs SET error = ?, variant = ?, finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?").run(end.error, end.variant, id);
}

export function reopenTuneRun(db: Db, id: number): void {
  prepared(db, 'UPDATE tune_runs SET error = NULL, finished_at = NULL WHERE id = ?').run(id);
}

export function setTuneBenchmarkRuns(db: Db, id: number, frozen: number | null, tuned: number | null): void {
  prepared(db, 'UPDATE tune_runs SET frozen_run_id = ?, tuned_run_id = ? WHERE id = ?').run(frozen, tuned, id);
}

// ------------------------------------------------------------------------------------------------ exclusions

/** The excluded pair keys (all of them: a key names one phrase or sentence of the whole database). */
export function excludedKeys(db: Db): Set<string> {
  return new Set((prepared(db, 'SELECT pair_key AS k FROM training_exclusions').all() as { k: string }[]).map((r) => r.k));
}

/** Excludes (or returns) the keys; how many changed. */
export function setExcluded(db: Db, keys: readonly string[], excluded: boolean, user: string): number {
  return db.transaction(() => {
    let changed = 0;
    for (const key of keys) {
      const r = excluded
        ? prepared(db, 'INSERT INTO training_exclusions (pair_key, user) VALUES (?, ?) ON CONFLICT (pair_key) DO NOTHING').run(key, user)
        : prepared(db, 'DELETE FROM training_exclusions WHERE pair_key = ?').run(key);
      changed += r.changes;
    }
    return changed;
  })();
}

/** A pair whose key changes (a sentence edited into a phrase, and back) keeps its exclusion. */
export function renameExcluded(db: Db, from: string, to: string): void {
  prepared(db, 'UPDATE OR REPLACE training_exclusions SET pair_key = ? WHERE pair_key = ?').run(to, from);
}

/** A run whose inputs could not be written (it never started). */
export function deleteTuneRun(db: Db, id: number): void {
  prepared(db, 'DELETE FROM tune_runs WHERE id = ?').run(id);
}
