// VinDr-CXR (PhysioNet `vindr-cxr` 1.0.0) sidecars: `annotations/annotations_{train,test}.csv` (one row per
// reader and box, corners in original pixels; "No finding" rows without coordinates) and
// `annotations/image_labels_{train,test}.csv` (image_id, rad_id in train, then 28 label columns). `rad_id` is
// optional: the test files are a 5-reader consensus (the synthetic world writes it empty, PhysioNet leaves it
// out).
import path from 'node:path';
import { readCsvFile } from '../csv';
import type { DatasetProblem } from './ms-cxr';

export const NO_FINDING = 'No finding';

export interface VindrBox {
  /** rad_id (R1..R17), null for the test consensus */
  reader: string | null;
  /** x, y, w, h in original pixels (from x_min, y_min, x_max, y_max) */
  box: [number, number, number, number];
  /** the CSV line it was read from */
  line: number;
}

/** One finding class on one image, with the boxes of every reader in row order. */
export interface VindrFinding {
  imageId: string;
  className: string;
  boxes: VindrBox[];
}

export interface VindrLabel {
  imageId: string;
  /** '' for the consensus */
  reader: string;
  name: string;
  value: number;
  line: number;
}

export interface VindrAnnotations {
  findings: VindrFinding[];
  /** "No finding" rows: the image's label per reader */
  labels: VindrLabel[];
  problems: DatasetProblem[];
}

export type VindrSidecar = { part: 'annotations' | 'labels'; split: 'train' | 'test'; root: string; file: string };

const SIDECAR_RE = /^(annotations|image_labels)_(train|test)\.csv(\.gz)?$/i;

/** `<root>/annotations/{annotations,image_labels}_{train,test}.csv`: the file's kind, split and VinDr root. */
export function vindrSidecar(file: string): VindrSidecar | null {
  const m = SIDECAR_RE.exec(path.basename(file));
  const dir = path.dirname(file);
  if (!m || path.basename(dir).toLowerCase() !== 'annotations') return null;
  return { part: m[1].toLowerCase() === 'annotations' ? 'annotations' : 'labels', split: m[2].toLowerCase() as 'train' | 'test', root: path.dirname(dir), file };
}

function requireColumns(file: string, header: string[], required: readonly string[], what: string): void {
  const missing = required.filter((c) => !header.includes(c));
  if (missing.length) {
    throw new Error(`${file}: not a VinDr-CXR ${what} file: missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (header: ${header.join(',')})`);
  }
}

const CORNERS = ['x_min', 'y_min', 'x_max', 'y_max'] as const;

/** Reads an annotations CSV: boxes grouped per (image, class_name) in order of first appearance. */
export async function readVindrAnnotations(file: string, signal?: AbortSignal): Promise<VindrAnnotations> {
  const findings: VindrFinding[] = [];
  const byKey = new Map<string, VindrFinding>();
  const labels: VindrLabel[] = [];
  const problems: DatasetProblem[] = [];
  await readCsvFile(
    file,
    (row, _header, line) => {
      const problem = (column: string, message: string) => problems.push({ file, line, column, message });
      const imageId = row.image_id.trim();
      const className = row.class_name.trim();
      const reader = row.rad_id?.trim() || null;
      if (!imageId) return void problem('image_id', 'empty image_id');
      if (!className) return void problem('class_name', 'empty class_name');
      if (className === NO_FINDING && CORNERS.every((c) => !row[c].trim())) {
        labels.push({ imageId, reader: reader ?? '', name: NO_FINDING, value: 1, line });
        return;
      }
      const v: number[] = [];
      for (const c of CORNERS) {
        const t = row[c].trim();
        const n = Number(t);
        if (t === '') return void problem(c, 'empty, a number is required');
        if (!Number.isFinite(n)) return void problem(c, `"${t}" is not a number`);
        v.push(n);
      }
      const [x0, y0, x1, y1] = v;
      if (x1 <= x0) return void problem('x_max', `x_max ${x1} is not greater than x_min ${x0}`);
      if (y1 <= y0) return void problem('y_max', `y_max ${y1} is not greater than y_min ${y0}`);
      const key = `${imageId}\u0000${className}`;
      let f = byKey.get(key);
      if (!f) {
        byKey.set(key, (f = { imageId, className, boxes: [] }));
        findings.push(f);
      }
      f.boxes.push({ reader, box: [x0, y0, x1 - x0, y1 - y0], line });
    },
    signal,
    (header) => requireColumns(file, header, ['image_id', 'class_name', ...CORNERS], 'annotations'),
  );
  return { findings, labels, problems };
}

/** Reads an image_labels CSV: one label per (image, reader, column); values are 0/1 (any number is kept). */
export async function readVindrLabels(file: string, signal?: AbortSignal): Promise<{ labels: VindrLabel[]; problems: DatasetProblem[] }> {
  const labels: VindrLabel[] = [];
  const problems: DatasetProblem[] = [];
  let names: string[] = [];
  await readCsvFile(
    file,
    (row, _header, line) => {
      const imageId = row.image_id.trim();
      if (!imageId) return void problems.push({ file, line, column: 'image_id', message: 'empty image_id' });
      const reader = row.rad_id?.trim() ?? '';
      const values: VindrLabel[] = [];
      for (const name of names) {
        const t = row[name].trim();
        const n = Number(t);
        if (t === '' || !Number.isFinite(n)) {
          problems.push({ file, line, column: name, message: t === '' ? 'empty, a number is required' : `"${t}" is not a number` });
          return;
        }
        values.push({ imageId, reader, name, value: n, line });
      }
      labels.push(...values);
    },
    signal,
    (header) => {
      requireColumns(file, header, ['image_id'], 'image labels');
      names = header.filter((h) => h !== 'image_id' && h !== 'rad_id' && h !== '');
      if (!names.length) throw new Error(`${file}: not a VinDr-CXR image labels file: no label columns after image_id`);
    },
  );
  return { labels, problems };
}
