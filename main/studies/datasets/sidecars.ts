// Which files of an imported tree are dataset ground truth the import reads (instead of skipping them quietly):
// MS-CXR by file name anywhere, VinDr-CXR by `annotations/{annotations,image_labels}_{train,test}.csv`; and which
// images belong to a VinDr tree (`<root>/{train,test}/{image_id}.dicom` beside those annotations).
import path from 'node:path';
import { MS_CXR_CSV_RE, MS_CXR_JSON_RE } from './ms-cxr';
import { vindrSidecar, type VindrSidecar } from './vindr';

export type DatasetSidecar = { kind: 'ms-cxr-csv' | 'ms-cxr-json'; file: string } | ({ kind: 'vindr' } & VindrSidecar);

export function datasetSidecar(file: string): DatasetSidecar | null {
  if (MS_CXR_CSV_RE.test(file)) return { kind: 'ms-cxr-csv', file };
  if (MS_CXR_JSON_RE.test(file)) return { kind: 'ms-cxr-json', file };
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
  const read: DatasetSidecar[] = [];
  const skipped: string[] = [];
  for (const s of found) {
    if (s.kind === 'ms-cxr-json' && csvStems.has(s.file.replace(/\.json$/i, '').toLowerCase())) skipped.push(s.file);
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

/** The dataset a VinDr tree's images go to: its own, so users can tell it from the rest of an import. */
export function vindrDatasetName(given: string | undefined): string {
  return given ? `${given} · VinDr-CXR` : 'VinDr-CXR';
}
