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
  source: Types['HeatmapSummary']['source'];
  model: string;
  modelVersion: string;
  settings: Record<string, unknown>;
  width: number;
  height: number;
  threshold: number | null;
  file: string;
  geometry: Types['HeatmapGeometry'];
  provenance: Record<string, unknown>;
  createdAt: string;
}

export type NewHeatmap = Omit<HeatmapRow, 'id' | 'createdAt'>;

const SELECT = `SELECT id, image_id AS imageId, phrase, source, model, model_version AS modelVersion, bundle_hash AS bundleHash,
  variant, settings_key AS settingsKey, settings, width, height, threshold, file, geometry, provenance, created_at AS createdAt FROM heatmaps`;

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

const INSERT = `INSERT INTO heatmaps (image_id, phrase, source, model, model_version, bundle_hash, variant, settings_key, settings, width, height,
  threshold, file, geometry, provenance) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

function values(h: NewHeatmap): unknown[] {
  return [
    h.imageId,
    h.phrase,
    h.source,
    h.model,
    h.modelVersion,
    h.bundleHash,
    h.variant,
    h.settingsKey,
    JSON.stringify(h.settings),
    h.width,
    h.height,
    h.threshold,
    h.file,
    JSON.stringify(h.geometry),
    JSON.stringify(h.provenance),
  ];
}

/** Inserts, or returns the id of the same request stored meanwhile (another process grounded it too). */
export function insertHeatmap(db: Db, h: NewHeatmap): number {
  const r = prepared(db, `${INSERT} ON CONFLICT DO NOTHING`).run(...values(h));
  return r.changes ? Number(r.lastInsertRowid) : findHeatmap(db, h)!.id;
}

/** Inserts, or replaces the map and its details under the same key (an imported method's file imported again). */
export function upsertHeatmap(db: Db, h: NewHeatmap): number {
  prepared(
    db,
    `${INSERT} ON CONFLICT (image_id, phrase, bundle_hash, variant, settings_key) DO UPDATE SET source = excluded.source,
       model = excluded.model, model_version = excluded.model_version, settings = excluded.settings, width = excluded.width,
       height = excluded.height, threshold = excluded.threshold, file = excluded.file, geometry = excluded.geometry,
       provenance = excluded.provenance, created_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`,
  ).run(...values(h));
  return findHeatmap(db, h)!.id;
}

/** Every map file a row points at (to sweep files whose rows went with their images). */
export function listHeatmapFiles(db: Db): Set<string> {
  return new Set(prepared(db, 'SELECT file FROM heatmaps').pluck().all() as string[]);
}
