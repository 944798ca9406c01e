// MIMIC-CXR's CheXpert labels (`mimic-cxr-2.0.0-chexpert.csv`, `.csv.gz`, PhysioNet mimic-cxr-jpg 2.0.0): one row
// per study (subject_id, study_id, then 14 label columns). A value is 1.0 (positive), 0.0 (negative), -1.0
// (uncertain) or empty (not mentioned: no label stored). Stored as study-level labels (source 'chexpert').
import path from 'node:path';
import { readCsvFile } from '../csv';
import type { DatasetProblem } from './ms-cxr';

export const CHEXPERT_RE = /^mimic-cxr-2\.0\.0-chexpert\.csv(\.gz)?$/i;
export const CHEXPERT_ORIGIN = 'chexpert';

export function isChexpertFile(file: string): boolean {
  return CHEXPERT_RE.test(path.basename(file));
}

export interface ChexpertLabel {
  /** MIMIC study_id, without the 's' */
  studyId: string;
  name: string;
  value: number;
  line: number;
}

const ALLOWED = new Map([
  ['1.0', 1],
  ['1', 1],
  ['0.0', 0],
  ['0', 0],
  ['-1.0', -1],
  ['-1', -1],
]);

export async function readChexpert(file: string, signal?: AbortSignal): Promise<{ labels: ChexpertLabel[]; problems: DatasetProblem[] }> {
  const labels: ChexpertLabel[] = [];
  const problems: DatasetProblem[] = [];
  let names: string[] = [];
  await readCsvFile(
    file,
    (row, _header, line) => {
      const studyId = row.study_id.trim().replace(/^s/i, '');
      if (!/^\d+$/.test(studyId)) return void problems.push({ file, line, column: 'study_id', message: `"${row.study_id}" is not a MIMIC study id` });
      const values: ChexpertLabel[] = [];
      for (const name of names) {
        const t = row[name].trim();
        if (t === '') continue;
        const v = ALLOWED.get(t);
        if (v === undefined) return void problems.push({ file, line, column: name, message: `"${t}" is not one of 1.0, 0.0, -1.0 or empty` });
        values.push({ studyId, name, value: v, line });
      }
      labels.push(...values);
    },
    signal,
    (header) => {
      const missing = ['subject_id', 'study_id'].filter((c) => !header.includes(c));
      if (missing.length) throw new Error(`${file}: not a MIMIC-CXR CheXpert file: missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (header: ${header.join(',')})`);
      names = header.filter((h) => h !== 'subject_id' && h !== 'study_id' && h !== '');
      if (!names.length) throw new Error(`${file}: not a MIMIC-CXR CheXpert file: no label columns after study_id`);
    },
  );
  return { labels, problems };
}
