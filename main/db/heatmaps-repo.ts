// Stored heatmaps (migration 0004): the row and where its map file is; the file is written by the grounding
// domain before the row (so a row always has its file).
import type { Types } from '../../common/contract';
import type { Db } from './database';
import { prepared } from './statements';

export interface HeatmapKey {
  imageId: number;
  phrase: string;
  bundleHash: string;
  variant: string;
  settingsKey: string;
}

export interface HeatmapRow extends HeatmapKey {
  id: number;
  model: string;
  modelVersion: string;
  settings: Record<string, unknown>;
  size: number;
  threshold: number | null;
  file: string;
  geometry: Types['HeatmapGeometry'];
  provenance: Record<string, unknown>;
  createdAt: string;
}

export type NewHeatmap = Omit<HeatmapRow, 'id' | 'createdAt'>;

const SELECT = `SELECT id, image_id AS imageId, phrase, model, model_version AS modelVersion, bundle_hash AS bundleHash,
  variant, settings_key AS settingsKey, settings, size, threshold, file, geometry, provenance, created_at AS createdAt FROM heatmaps`;

type Raw = Omit<HeatmapRow, 'settings' | 'geometry' | 'provenance'> & { settings: string; geometry: string; provenance: string };

function toRow(r: Raw): HeatmapRow {
  return { ...r, settings: JSON.parse(r.settings), geometry: JSON.parse(r.geometry), provenance: JSON.parse(r.provenance) };
}

export function findHeatmap(db: Db, key: HeatmapKey): HeatmapRow | null {
  const r = prepared(db, `${SELECT} WHERE image_id = ? AND phrase = ? AND bundle_hash = ? AND variant = ? AND settings_key = ?`).get(
    key.imageId,
    key.phrase,
    key.bundleHash,
    key.variant,
    key.settingsKey,
  ) as Raw | undefined;
  return r ? toRow(r) : null;
}

export function getHeatmap(db: Db, id: number): HeatmapRow | null {
  const r = prepared(db, `${SELECT} WHERE id = ?`).get(id) as Raw | undefined;
  return r ? toRow(r) : null;
}

export function listHeatmapsOfImage(db: Db, imageId: number): HeatmapRow[] {
  return (prepared(db, `${SELECT} WHERE image_id = ? ORDER BY id`).all(imageId) as Raw[]).map(toRow);
}

/** Inserts, or returns the id of the same request stored meanwhile (another process grounded it too). */
export function insertHeatmap(db: Db, h: NewHeatmap): number {
  const r = prepared(
    db,
    `INSERT INTO heatmaps (image_id, phrase, model, model_version, bundle_hash, variant, settings_key, settings, size, threshold, file, geometry, provenance)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
  ).run(
    h.imageId,
    h.phrase,
    h.model,
    h.modelVersion,
    h.bundleHash,
    h.variant,
    h.settingsKey,
    JSON.stringify(h.settings),
    h.size,
    h.threshold,
    h.file,
    JSON.stringify(h.geometry),
    JSON.stringify(h.provenance),
  );
  return r.changes ? Number(r.lastInsertRowid) : findHeatmap(db, h)!.id;
}

/** Every map file a row points at (to sweep files whose rows went with their images). */
export function listHeatmapFiles(db: Db): Set<string> {
  return new Set(prepared(db, 'SELECT file FROM heatmaps').pluck().all() as string[]);
}
