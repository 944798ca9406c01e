// Heatmaps on disk: each map a float32 file under <data-dir>/heatmaps, written to a temporary name and renamed
// before its row is inserted (a row always has its file); files whose rows went with their images are swept.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Db } from '../db/database';
import { insertHeatmap, listHeatmapFiles, upsertHeatmap, type HeatmapRow, type NewHeatmap } from '../db/heatmaps-repo';
import { applyThreshold } from './aggregate';

export const HEATMAP_DIR = 'heatmaps';

/**
 * Writes the map and its row; returns the row's id (the existing one when the same request was stored meanwhile,
 * or, with `replace`, the row updated to this map).
 */
export function storeHeatmap(db: Db, dataDir: string, row: Omit<NewHeatmap, 'file'>, map: Float32Array, replace = false): number {
  if (map.length !== row.width * row.height) throw new Error(`a ${row.width} x ${row.height} map cannot hold ${map.length} values`);
  const name = createHash('sha256')
    .update(JSON.stringify([row.imageId, row.phrase, row.bundleHash, row.variant, row.settingsKey, replace ? Date.now() : 0]))
    .digest('hex')
    .slice(0, 32);
  const file = path.posix.join(HEATMAP_DIR, name.slice(0, 2), `${name}.f32`);
  const full = path.join(dataDir, file);
  fs.mkdirSync(path.dirname(full), { recursive: true });
  const tmp = `${full}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, Buffer.from(map.buffer, map.byteOffset, map.byteLength));
  fs.renameSync(tmp, full);
  return replace ? upsertHeatmap(db, { ...row, file }) : insertHeatmap(db, { ...row, file });
}

/** The stored map as little-endian float32 bytes (what the contract carries). */
export function readHeatmapBytes(dataDir: string, file: string, width: number, height: number): Uint8Array<ArrayBuffer> {
  const bytes = fs.readFileSync(path.join(dataDir, file));
  if (bytes.byteLength !== width * height * 4) throw new Error(`${file}: ${bytes.byteLength} bytes, expected ${width * height * 4} for a ${width} x ${height} map`);
  return new Uint8Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
}

/** A stored map as it is shown, scored and used as weights: its frame (width x height), the Otsu threshold applied. */
export function readThresholdedMap(dataDir: string, row: Pick<HeatmapRow, 'file' | 'width' | 'height' | 'threshold'>): Float32Array {
  const bytes = readHeatmapBytes(dataDir, row.file, row.width, row.height);
  return applyThreshold(new Float32Array(bytes.buffer, bytes.byteOffset, row.width * row.height), row.threshold);
}

/** Deletes map files no row points at (their images were deleted) and temporary files of crashed writes. */
export function sweepHeatmapFiles(db: Db, dataDir: string): number {
  const root = path.join(dataDir, HEATMAP_DIR);
  if (!fs.existsSync(root)) return 0;
  const kept = listHeatmapFiles(db);
  let removed = 0;
  for (const sub of fs.readdirSync(root)) {
    const dir = path.join(root, sub);
    if (!fs.statSync(dir).isDirectory()) continue;
    for (const name of fs.readdirSync(dir)) {
      const file = path.posix.join(HEATMAP_DIR, sub, name);
      const full = path.join(dir, name);
      // a minute's grace: another process may be between writing a map and inserting its row
      const stale = Date.now() - fs.statSync(full).mtimeMs > 60_000 && (name.endsWith('.tmp') || !kept.has(file));
      if (stale) {
        fs.rmSync(full, { force: true });
        removed++;
      }
    }
  }
  return removed;
}
