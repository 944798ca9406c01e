// Another method's heatmaps imported from a folder, stored beside our own (source 'imported') so that they are shown
// and compared the same way. `<folder>/index.csv` has exactly the header `dicom_id,label_text,file`; each row names
// an image (images.dicom_id, else images.image_key), a phrase, and a map file inside the folder: a 2-D float `.npy`
// or a 16-bit grey `.png`, at the image's original size (rows x columns), NaN allowed where the method has no value.
// A durable job (`heatmap-import`): one transaction per row, so that a cancel keeps the rows written; a row's problem
// is collected in the result, a missing folder or index, or a wrong header, fails the job.
import fs from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { HeatmapImportRequest, type HeatmapImportResult as ResultSchema } from '../../common/contract';
import type { Db } from '../db/database';
import { findHeatmap, getHeatmap, type NewHeatmap } from '../db/heatmaps-repo';
import { prepared } from '../db/statements';
import type { JobKind, JobRunner } from '../jobs/job-runner';
import { readCsvFile } from '../studies/csv';
import { storeHeatmap } from './heatmap-store';
import { readMapFile, type ReadMapFile } from './map-read';
import type { GroundingTasks } from './tasks';
import type { WorkerPool } from '../workers/pool';

export const HEATMAP_IMPORT_JOB = 'heatmap-import';
export const INDEX_FILE = 'index.csv';
export const INDEX_HEADER = ['dicom_id', 'label_text', 'file'] as const;
/** The variant every imported heatmap has (its method is the model, `imported:<method>` the bundle hash). */
export const IMPORTED_VARIANT = 'imported';

export type HeatmapImportParams = z.output<typeof HeatmapImportRequest>;
export type HeatmapImportResult = z.output<typeof ResultSchema>;
type Rejection = HeatmapImportResult['rejected'][number];

export interface HeatmapImportDeps {
  db: Db;
  dataDir: string;
  /** the app's pool: each map file is read, parsed and scanned there (a large float64 .npy is tens of MB of work) */
  runtime?: { pool: WorkerPool<GroundingTasks> };
}

type ReadMap = (file: string, format: 'npy' | 'png') => Promise<ReadMapFile | { problem: string }>;

/** `heatmaps.import`: the job, on the folder as an absolute path. */
export function startHeatmapImport(jobs: JobRunner, { folder, source }: HeatmapImportParams): { jobId: string } {
  return { jobId: jobs.start(HEATMAP_IMPORT_JOB, { folder: path.resolve(folder), source }) };
}

/** The index's rows; a missing folder or index, or a header other than `dicom_id,label_text,file`, is an Error. */
export async function readHeatmapIndex(folder: string, signal?: AbortSignal): Promise<Record<string, string>[]> {
  let stat: fs.Stats;
  try {
    stat = await fs.promises.stat(folder);
  } catch {
    throw new Error(`${folder}: no such folder`);
  }
  if (!stat.isDirectory()) throw new Error(`${folder}: not a folder (give the folder that holds ${INDEX_FILE})`);
  const index = path.join(folder, INDEX_FILE);
  const expected = INDEX_HEADER.join(',');
  if (!fs.existsSync(index)) throw new Error(`${index}: no such file (a heatmap folder has an ${INDEX_FILE} with the header "${expected}")`);
  const rows: Record<string, string>[] = [];
  const { header } = await readCsvFile(index, (row) => rows.push(row), signal);
  if (header.length !== INDEX_HEADER.length || header.some((h, i) => h !== INDEX_HEADER[i])) {
    const found = header.length ? `the header is "${header.join(',')}"` : 'the file is empty';
    throw new Error(`${index}: ${found}; expected exactly "${expected}"`);
  }
  return rows;
}

/** The file a row names, inside the folder; null when the path is absolute or leaves the folder. */
export function resolveInside(folder: string, file: string): string | null {
  if (path.isAbsolute(file) || path.win32.isAbsolute(file)) return null;
  const full = path.resolve(folder, ...file.split(/[\\/]+/));
  const relative = path.relative(folder, full);
  if (!relative || relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative)) return null;
  return full;
}

interface ImageSize {
  id: number;
  rows: number;
  columns: number;
}

function imagesByKey(db: Db, key: string): ImageSize[] {
  const byDicomId = prepared(db, 'SELECT id, rows, columns FROM images WHERE dicom_id = ? ORDER BY id').all(key) as ImageSize[];
  return byDicomId.length ? byDicomId : (prepared(db, 'SELECT id, rows, columns FROM images WHERE image_key = ? ORDER BY id').all(key) as ImageSize[]);
}

class RowProblem extends Error {}

interface ReadyRow {
  heatmap: Omit<NewHeatmap, 'file'>;
  map: Float32Array;
}

const FORMATS: Record<string, 'npy' | 'png'> = { '.npy': 'npy', '.png': 'png' };

/** Reads and checks one row's map; a RowProblem says why the row is refused. */
async function readRow(db: Db, folder: string, source: string, row: Record<string, string>, readMap: ReadMap): Promise<ReadyRow> {
  const dicomId = row.dicom_id.trim();
  const phrase = row.label_text.trim();
  const file = row.file.trim();
  if (!dicomId || !phrase || !file) throw new RowProblem(`empty ${!dicomId ? 'dicom_id' : !phrase ? 'label_text' : 'file'}`);
  if (phrase.length > 1000) throw new RowProblem(`label_text of ${phrase.length} characters (at most 1000)`);
  const full = resolveInside(folder, file);
  if (!full) throw new RowProblem('the path leaves the folder (files are named relative to it, inside it)');
  const images = imagesByKey(db, dicomId);
  if (!images.length) throw new RowProblem(`unknown dicom_id "${dicomId}": no stored image has it as dicom_id or image key (import the image first)`);
  if (images.length > 1) throw new RowProblem(`dicom_id "${dicomId}" matches ${images.length} stored images (${images.map((i) => i.id).join(', ')})`);
  const [image] = images;
  const kind = FORMATS[path.extname(full).toLowerCase()];
  if (!kind) throw new RowProblem('not a .npy or .png file');

  let stat: fs.Stats;
  try {
    stat = await fs.promises.stat(full);
  } catch {
    throw new RowProblem('missing file');
  }
  if (!stat.isFile()) throw new RowProblem('not a file');
  // a float64 map at the image's size, and room for a header: anything larger cannot be this image's map
  const limit = image.rows * image.columns * 8 + (1 << 20);
  if (stat.size > limit) throw new RowProblem(`${stat.size} bytes: too large for a map of the image's ${image.rows} x ${image.columns} pixels`);
  const read = await readMap(full, kind);
  if ('problem' in read) throw new RowProblem(read.problem);
  const { map, sha256, infinite } = read;
  if (map.rows !== image.rows || map.columns !== image.columns) {
    throw new RowProblem(`wrong size: the map is ${map.rows} x ${map.columns} (rows x columns), image ${image.id} is ${image.rows} x ${image.columns}`);
  }
  if (infinite) {
    const why = map.dtype.endsWith('f8') ? ' (or a float64 value beyond the float32 range)' : '';
    throw new RowProblem(`an infinite value${why} at row ${infinite.row}, column ${infinite.column} (NaN marks pixels without a value; Infinity is refused)`);
  }
  return {
    heatmap: {
      imageId: image.id,
      phrase,
      source: 'imported',
      model: source,
      modelVersion: '',
      bundleHash: `imported:${source}`,
      variant: IMPORTED_VARIANT,
      settingsKey: '',
      settings: { file, format: kind },
      width: image.columns,
      height: image.rows,
      threshold: null,
      geometry: { originalRows: image.rows, originalColumns: image.columns, top: 0, left: 0, width: image.columns, height: image.rows },
      provenance: { folder, file, sha256, dtype: map.dtype, importedAt: new Date().toISOString() },
    },
    map: map.values,
  };
}

const CHECKPOINT_MS = 500;

export function heatmapImportJobKind({ db, dataDir, runtime }: HeatmapImportDeps): JobKind<HeatmapImportParams, HeatmapImportResult> {
  const readMap: ReadMap = runtime ? (file, format) => runtime.pool.run('grounding.read-map', { file, format }) : async (file, format) => readMapFile(file, format);
  return {
    kind: HEATMAP_IMPORT_JOB,
    params: HeatmapImportRequest,
    // an import run again replaces what the first one stored: nothing to resume
    resumable: false,
    async run(ctx) {
      const { folder, source } = ctx.params;
      const { signal } = ctx;
      ctx.report({ message: `reading ${path.join(folder, INDEX_FILE)}` });
      const rows = await readHeatmapIndex(folder, signal);
      const result: HeatmapImportResult = { imported: 0, replaced: 0, rejected: [] };
      const snapshot = (): HeatmapImportResult => ({ ...result, rejected: [...result.rejected] });
      let checkpointAt = 0;
      ctx.report({ done: 0, total: rows.length, message: `importing the heatmaps of ${source}` });

      for (let i = 0; i < rows.length; i++) {
        if (signal.aborted) break;
        let ready: ReadyRow;
        try {
          ready = await readRow(db, folder, source, rows[i], readMap);
        } catch (error) {
          if (!(error instanceof RowProblem)) throw error;
          const rejection: Rejection = { row: i + 1, file: rows[i].file, reason: error.message };
          result.rejected.push(rejection);
          ctx.report({ done: i + 1 });
          continue;
        }
        if (signal.aborted) break; // the cancel came while the file was read: this row is not written
        const { heatmap, map } = ready;
        // the row, the counts and the progress together: a cancel or a crash keeps each row whole
        const { previous, id } = db.transaction(() => {
          const previous = findHeatmap(db, heatmap)?.file ?? null;
          const id = storeHeatmap(db, dataDir, heatmap, map, true);
          if (previous) result.replaced++;
          else result.imported++;
          ctx.report({ done: i + 1 });
          if (Date.now() - checkpointAt >= CHECKPOINT_MS) {
            ctx.checkpoint(snapshot());
            checkpointAt = Date.now();
          }
          return { previous, id };
        })();
        // the replaced map's file (the new one has another name); the sweep would take it at the next start
        if (previous && previous !== getHeatmap(db, id)?.file) fs.rmSync(path.join(dataDir, previous), { force: true });
      }
      if (signal.aborted) {
        ctx.checkpoint(snapshot());
        throw signal.reason instanceof Error ? signal.reason : new Error('cancelled');
      }
      return result;
    },
  };
}
