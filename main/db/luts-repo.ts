// Stored anatomy LUTs (migration 0005): one row per build, numbered per name. The LUT JSON is stored as given (the
// evaluation domain builds and checks it); summaries are read without parsing it.
import type { z } from 'zod';
import type { LutInputFile, LutRecord, LutSummary } from '../../common/contract/evaluation';
import type { Db } from './database';
import { prepared } from './statements';

export type LutSummaryRow = z.output<typeof LutSummary>;
export type LutRecordRow = z.output<typeof LutRecord>;
export type NewLut = Omit<LutRecordRow, 'id' | 'version' | 'createdAt' | 'regions' | 'images'> & { inputs: z.output<typeof LutInputFile>[] };

const SUMMARY = `SELECT id, name, version, model, bundle_hash AS bundleHash, frame, source_csv AS sourceCsv, source_sha256 AS sourceSha256,
  builder_version AS builderVersion, (SELECT count(*) FROM json_each(lut, '$.regions')) AS regions, json_extract(lut, '$.images') AS images,
  created_at AS createdAt FROM luts`;
const RECORD = SUMMARY.replace(' FROM luts', ', inputs, lut FROM luts');

type RawRecord = LutSummaryRow & { inputs: string; lut: string };

function toRecord(r: RawRecord | undefined): LutRecordRow | null {
  return r ? { ...r, inputs: JSON.parse(r.inputs), lut: JSON.parse(r.lut) } : null;
}

/** Every stored LUT, newest first. */
export function listLuts(db: Db): LutSummaryRow[] {
  return prepared(db, `${SUMMARY} ORDER BY id DESC`).all() as LutSummaryRow[];
}

export function getLut(db: Db, id: number): LutRecordRow | null {
  return toRecord(prepared(db, `${RECORD} WHERE id = ?`).get(id) as RawRecord | undefined);
}

/** The newest version of a name. */
export function getLutByName(db: Db, name: string): LutRecordRow | null {
  return toRecord(prepared(db, `${RECORD} WHERE name = ? ORDER BY version DESC LIMIT 1`).get(name) as RawRecord | undefined);
}

/** The newest LUT built in a model's frame. */
export function getNewestLutOfModel(db: Db, model: string): LutRecordRow | null {
  return toRecord(prepared(db, `${RECORD} WHERE model = ? ORDER BY id DESC LIMIT 1`).get(model) as RawRecord | undefined);
}

/** Stores a build as the next version of its name (1 for a new name); returns its id and version. */
export function insertLut(db: Db, lut: NewLut): { id: number; version: number } {
  return db.transaction(() => {
    const version = ((prepared(db, 'SELECT max(version) FROM luts WHERE name = ?').pluck().get(lut.name) as number | null) ?? 0) + 1;
    const r = prepared(
      db,
      `INSERT INTO luts (name, version, model, bundle_hash, frame, source_csv, source_sha256, inputs, builder_version, lut)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(lut.name, version, lut.model, lut.bundleHash, lut.frame, lut.sourceCsv, lut.sourceSha256, JSON.stringify(lut.inputs), lut.builderVersion, JSON.stringify(lut.lut));
    return { id: Number(r.lastInsertRowid), version };
  }).immediate();
}
