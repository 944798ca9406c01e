import type { Types } from '../../common/contract';
import type { Db } from './database';
import { prepared } from './statements';

export type DatasetKind = 'mimic-cxr-jpg' | 'dicom' | 'images' | 'vindr-cxr';

/** The contract's Dataset and the kind of source it was imported from. */
export type DatasetRow = Types['Dataset'] & { kind: string };

/** Returns the id of the dataset called `name`, creating it with `kind` if absent. */
export function ensureDataset(db: Db, name: string, kind: DatasetKind): number {
  const row = prepared(db, 'SELECT id FROM datasets WHERE name = ?').get(name) as { id: number } | undefined;
  if (row) return row.id;
  return Number(prepared(db, 'INSERT INTO datasets (name, kind) VALUES (?, ?)').run(name, kind).lastInsertRowid);
}

export function listDatasetRows(db: Db): DatasetRow[] {
  return prepared(
    db,
    'SELECT id, name, kind, study_count AS studyCount, image_count AS imageCount FROM datasets ORDER BY name',
  ).all() as DatasetRow[];
}
