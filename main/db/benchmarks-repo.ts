// Benchmark runs and their scored pairs (migration 0008). The run's settings and summary are JSON the evaluation
// domain writes; the pairs are written as they are scored (a resumed run skips the keys already here).
import type { z } from 'zod';
import type { RunMethod, RunPair, RunReport } from '../../common/contract/evaluation';
import type { Db } from './database';
import { prepared } from './statements';

export interface NewRun {
  benchmark: 'MS-CXR-loc' | 'VinDr-CXR';
  dataset: string;
  method: z.output<typeof RunMethod>;
  label: string;
  settings: Record<string, unknown>;
  pairCount: number;
}

export interface RunRow extends NewRun {
  id: number;
  jobId: string | null;
  scored: number;
  report: z.output<typeof RunReport> | null;
  createdAt: string;
  finishedAt: string | null;
}

export type RunPairRow = z.output<typeof RunPair>;

const SELECT = `SELECT r.id, r.job_id AS jobId, r.benchmark, r.dataset, r.method, r.label, r.settings, r.pair_count AS pairCount,
  (SELECT count(*) FROM benchmark_run_pairs p WHERE p.run_id = r.id) AS scored, r.summary AS report, r.created_at AS createdAt,
  r.finished_at AS finishedAt FROM benchmark_runs r`;

type Raw = Omit<RunRow, 'settings' | 'report'> & { settings: string; report: string | null };

const toRow = (r: Raw): RunRow => ({ ...r, settings: JSON.parse(r.settings), report: r.report === null ? null : JSON.parse(r.report) });

export function insertRun(db: Db, run: NewRun): number {
  const info = prepared(db, 'INSERT INTO benchmark_runs (benchmark, dataset, method, label, settings, pair_count) VALUES (?, ?, ?, ?, ?, ?)').run(
    run.benchmark,
    run.dataset,
    run.method,
    run.label,
    JSON.stringify(run.settings),
    run.pairCount,
  );
  return Number(info.lastInsertRowid);
}

export function setRunJob(db: Db, id: number, jobId: string): void {
  prepared(db, 'UPDATE benchmark_runs SET job_id = ? WHERE id = ?').run(jobId, id);
}

export function finishRun(db: Db, id: number, report: z.output<typeof RunReport>): void {
  prepared(db, "UPDATE benchmark_runs SET summary = ?, finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?").run(JSON.stringify(report), id);
}

export function getRun(db: Db, id: number): RunRow | null {
  const r = prepared(db, `${SELECT} WHERE r.id = ?`).get(id) as Raw | undefined;
  return r ? toRow(r) : null;
}

/** Every run, newest first. */
export function listRuns(db: Db): RunRow[] {
  return (prepared(db, `${SELECT} ORDER BY r.id DESC`).all() as Raw[]).map(toRow);
}

export function insertRunPair(db: Db, runId: number, p: RunPairRow): void {
  prepared(
    db,
    `INSERT OR REPLACE INTO benchmark_run_pairs (run_id, pair_key, idx, phrase_id, image_id, study_id, dicom_id, label_text, category, prompt, heatmap_id,
       cnr, miou, auc, swapped_prompt, swapped_cnr, swapped_miou, swapped_auc)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    runId,
    p.key,
    p.index,
    p.phraseId,
    p.imageId,
    p.studyId,
    p.dicom_id,
    p.label_text,
    p.category,
    p.prompt,
    p.heatmapId,
    p.cnr,
    p.miou,
    p.auc,
    p.swapped_prompt,
    p.swapped_cnr,
    p.swapped_miou,
    p.swapped_auc,
  );
}

/** The run's pairs in benchmark order. */
export function listRunPairs(db: Db, runId: number): RunPairRow[] {
  return prepared(
    db,
    `SELECT pair_key AS key, idx AS "index", phrase_id AS phraseId, image_id AS imageId, study_id AS studyId, dicom_id, label_text, category, prompt,
       heatmap_id AS heatmapId, cnr, miou, auc, swapped_prompt, swapped_cnr, swapped_miou, swapped_auc FROM benchmark_run_pairs WHERE run_id = ? ORDER BY idx`,
  ).all(runId) as RunPairRow[];
}
