// Which files of an imported tree are dataset ground truth the import reads (instead of skipping them quietly):
// MS-CXR and MIMIC-CXR's CheXpert labels by file name anywhere, VinDr-CXR by `annotations/{annotations,image_labels}_{train,test}.csv`; and which
// images belong to a VinDr tree (`<root>/{train,test}/{image_id}.dicom` beside those annotations).
import path from 'node:path';
import { DEMO_MIMIC_DATASET, DEMO_VINDR_DATASET } from '../../../common/demo-datasets';
import { isChexpertFile } from './chexpert';
import { MS_CXR_CSV_RE, MS_CXR_JSON_RE } from './ms-cxr';
import { vindrSidecar, type VindrSidecar } from './vindr';

export type DatasetSidecar = { kind: 'ms-cxr-csv' | 'ms-cxr-json' | 'chexpert'; file: string } | ({ kind: 'vindr' } & VindrSidecar);

export function datasetSidecar(file: string): DatasetSidecar | null {
  if (MS_CXR_CSV_RE.test(file)) return { kind: 'ms-cxr-csv', file };
  if (MS_CXR_JSON_RE.test(file)) return { kind: 'ms-cxr-json', file };
  if (isChexpertFile(file)) return { kind: 'chexpert', file };
  const v = vindrSidecar(file);
  return v ? { kind: 'vindr', ...v } : null;
}

/**
 * The sidecars to read. MS-CXR v1.1.0 ships the same content as CSV and COCO JSON: when a CSV of the same release
 * lies in the same folder, the JSON is not read (returned as `skipped`). The CSV is the file every release has and
 * the one the Python benchmark (training/sightline_eval/mscxr.py) reads, so the app's pairs are the benchmark's
 * pairs; reading both would only add a second source of the same boxes to reconcile. A JSON alone is read.
 */
export function sidecarsToRead(found: DatasetSidecar[]): { read: DatasetSidecar[]; skipped: string[] } {
  const csvStems = new Set(found.filter((s) => s.kind === 'ms-cxr-csv').map((s) => s.file.replace(/\.csv(\.gz)?$/i, '').toLowerCase()));
  // CheXpert: PhysioNet ships the .csv.gz; one unpacked beside it is the same table, read once (the .csv)
  const chexpertCsv = new Set(found.filter((s) => s.kind === 'chexpert' && !/\.gz$/i.test(s.file)).map((s) => s.file.toLowerCase()));
  const read: DatasetSidecar[] = [];
  const skipped: string[] = [];
  for (const s of found) {
    if (s.kind === 'ms-cxr-json' && csvStems.has(s.file.replace(/\.json$/i, '').toLowerCase())) skipped.push(s.file);
    else if (s.kind === 'chexpert' && chexpertCsv.has(s.file.replace(/\.gz$/i, '').toLowerCase()) && /\.gz$/i.test(s.file)) skipped.push(s.file);
    else read.push(s);
  }
  return { read, skipped };
}

export interface VindrImagePlace {
  /** the VinDr tree: the folder holding annotations/, train/, test/ */
  root: string;
  split: 'train' | 'test';
}

/** An image at `<root>/{train,test}/<name>` of a VinDr tree whose annotations were found, else null. */
export function vindrImagePlace(file: string, roots: ReadonlySet<string>): VindrImagePlace | null {
  const splitDir = path.dirname(file);
  const split = path.basename(splitDir).toLowerCase();
  if (split !== 'train' && split !== 'test') return null;
  const root = path.dirname(splitDir);
  return roots.has(root) ? { root, split } : null;
}

/** The dataset a VinDr tree's images go to: its own, so users can tell it from the rest of an import (the demo's
 * "MIMIC-CXR (synthetic demo)" import puts its VinDr cases in "VinDr-CXR (synthetic demo)"). */
export function vindrDatasetName(given: string | undefined): string {
  if (given === DEMO_MIMIC_DATASET) return DEMO_VINDR_DATASET;
  return given ? `${given} · VinDr-CXR` : 'VinDr-CXR';
}
