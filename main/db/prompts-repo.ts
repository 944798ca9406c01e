// Prompt corrections and benchmark subsets (migration 0009). Corrections are appended, never edited: the newest row
// of a phrase that is not reverted is in force; a revert stamps that row. What a correction is checked against (the
// vocabulary, the pathologies) is the evaluation domain's business; this stores what it is given.
import type { z } from 'zod';
import type { PromptCorrection } from '../../common/contract/evaluation';
import type { Db } from './database';
import { prepared } from './statements';

export type CorrectionRow = z.output<typeof PromptCorrection>;
export type NewCorrection = Pick<CorrectionRow, 'phraseId' | 'prompt' | 'locations' | 'pathology' | 'user' | 'rulesVersion' | 'overridden'>;

const SELECT = `SELECT id, phrase_id AS phraseId, prompt, locations, pathology, user, rules_version AS rulesVersion, overridden,
  created_at AS createdAt, reverted_at AS revertedAt, reverted_by AS revertedBy FROM prompt_corrections`;
/** the correction in force of each phrase: its newest row not reverted */
const ACTIVE = `${SELECT} c WHERE c.reverted_at IS NULL AND c.id = (SELECT max(id) FROM prompt_corrections d WHERE d.phrase_id = c.phrase_id AND d.reverted_at IS NULL)`;

type Raw = Omit<CorrectionRow, 'locations'> & { locations: string };
const toRow = (r: Raw): CorrectionRow => ({ ...r, locations: JSON.parse(r.locations) });

export function insertCorrection(db: Db, c: NewCorrection): CorrectionRow {
  const info = prepared(
    db,
    'INSERT INTO prompt_corrections (phrase_id, prompt, locations, pathology, user, rules_version, overridden) VALUES (?, ?, ?, ?, ?, ?, ?)',
  ).run(c.phraseId, c.prompt, JSON.stringify(c.locations), c.pathology, c.user, c.rulesVersion, c.overridden);
  return getCorrection(db, Number(info.lastInsertRowid))!;
}

export function getCorrection(db: Db, id: number): CorrectionRow | null {
  const r = prepared(db, `${SELECT} WHERE id = ?`).get(id) as Raw | undefined;
  return r ? toRow(r) : null;
}

/** The corrections in force, by phrase id (all phrases, or those given). */
export function activeCorrections(db: Db, phraseIds?: readonly number[]): Map<number, CorrectionRow> {
  const rows = (prepared(db, `${ACTIVE} ORDER BY c.phrase_id`).all() as Raw[]).map(toRow);
  const wanted = phraseIds ? new Set(phraseIds) : null;
  return new Map(rows.filter((r) => !wanted || wanted.has(r.phraseId)).map((r) => [r.phraseId, r]));
}

/** Corrections by id (a run's fixed set), keyed by phrase id; ids no longer stored are left out. */
export function correctionsById(db: Db, ids: readonly number[]): Map<number, CorrectionRow> {
  const out = new Map<number, CorrectionRow>();
  for (const id of ids) {
    const c = getCorrection(db, id);
    if (c) out.set(c.phraseId, c);
  }
  return out;
}

/** Marks the phrase's correction in force reverted; the reverted row, or null when none was in force. */
export function revertCorrection(db: Db, phraseId: number, user: string): CorrectionRow | null {
  const active = activeCorrections(db, [phraseId]).get(phraseId);
  if (!active) return null;
  prepared(db, "UPDATE prompt_corrections SET reverted_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), reverted_by = ? WHERE id = ?").run(user, active.id);
  return getCorrection(db, active.id);
}

// ------------------------------------------------------------------------------------------------ subsets

export interface SubsetRule {
  classes?: string[];
  splits?: string[];
  pairs?: string[];
}

export interface SubsetRow {
  id: number;
  name: string;
  benchmark: string;
  rule: SubsetRule;
  user: string;
  createdAt: string;
}

const SUBSET = 'SELECT id, name, benchmark, rule, user, created_at AS createdAt FROM benchmark_subsets';
type RawSubset = Omit<SubsetRow, 'rule'> & { rule: string };
const toSubset = (r: RawSubset): SubsetRow => ({ ...r, rule: JSON.parse(r.rule) });

/** Stores a subset, replacing one of the same name on the same benchmark. */
export function saveSubset(db: Db, s: Omit<SubsetRow, 'id' | 'createdAt'>): SubsetRow {
  prepared(
    db,
    `INSERT INTO benchmark_subsets (name, benchmark, rule, user) VALUES (?, ?, ?, ?)
     ON CONFLICT (benchmark, name) DO UPDATE SET rule = excluded.rule, user = excluded.user, created_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`,
  ).run(s.name, s.benchmark, JSON.stringify(s.rule), s.user);
  return toSubset(prepared(db, `${SUBSET} WHERE benchmark = ? AND name = ?`).get(s.benchmark, s.name) as RawSubset);
}

export function listSubsets(db: Db, benchmark?: string): SubsetRow[] {
  const rows = benchmark ? prepared(db, `${SUBSET} WHERE benchmark = ? ORDER BY name`).all(benchmark) : prepared(db, `${SUBSET} ORDER BY benchmark, name`).all();
  return (rows as RawSubset[]).map(toSubset);
}

export function deleteSubset(db: Db, id: number): boolean {
  return prepared(db, 'DELETE FROM benchmark_subsets WHERE id = ?').run(id).changes > 0;
}
