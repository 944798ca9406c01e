// MIMIC-CXR-JPG layout and metadata: `files/p{10..19}/p{subject}/s{study}/{dicom_id}.jpg`, the study's report
// at `files/p1x/p{subject}/s{study}.txt`, and `mimic-cxr-2.0.0-metadata.csv(.gz)` keyed by dicom_id.
import { readCsvFile } from './csv';

export interface MimicImagePath {
  subjectId: string;
  studyId: string;
  dicomId: string;
  /** the study folder: files/p1x/p{subject}/s{study} */
  studyDir: string;
}

export interface MimicReportPath {
  subjectId: string;
  studyId: string;
}

// Separator-agnostic (Windows paths are normalised to '/' before matching).
const IMAGE_RE = /^(.*\/files\/p\d{2}\/p(\d+)\/s(\d+))\/([^/]+)\.(?:jpe?g|png|dcm)$/i;
const REPORT_RE = /\/files\/p\d{2}\/p(\d+)\/s(\d+)\.txt$/i;
export const METADATA_FILE_RE = /(^|\/)mimic-cxr-2\.0\.0-metadata\.csv(\.gz)?$/i;

function slash(p: string): string {
  return p.replace(/\\/g, '/');
}

export function parseMimicImagePath(file: string): MimicImagePath | null {
  const m = IMAGE_RE.exec(slash(file));
  if (!m) return null;
  // the first two digits of the subject must match the p1x folder
  const group = /\/files\/p(\d{2})\/p/.exec(m[1]);
  if (!group || !m[2].startsWith(group[1])) return null;
  return { studyDir: m[1], subjectId: m[2], studyId: m[3], dicomId: m[4] };
}

export function parseMimicReportPath(file: string): MimicReportPath | null {
  const m = REPORT_RE.exec(slash(file));
  return m ? { subjectId: m[1], studyId: m[2] } : null;
}

export interface MimicImageMeta {
  subjectId: string;
  studyId: string;
  viewPosition: string | null;
  rows: number | null;
  columns: number | null;
  /** YYYYMMDD (MIMIC's shifted dates) */
  studyDate: string | null;
}

/** Reads the metadata CSV into a map dicom_id -> metadata. */
export async function readMimicMetadata(file: string, signal?: AbortSignal): Promise<Map<string, MimicImageMeta>> {
  const map = new Map<string, MimicImageMeta>();
  const int = (s: string | undefined): number | null => {
    if (!s) return null;
    const v = Number(s);
    return Number.isFinite(v) && v > 0 ? Math.round(v) : null;
  };
  const { header } = await readCsvFile(
    file,
    (row) => {
      const dicomId = row.dicom_id?.trim();
      if (!dicomId) return;
      const date = row.StudyDate?.trim();
      map.set(dicomId, {
        subjectId: row.subject_id?.trim() ?? '',
        studyId: row.study_id?.trim() ?? '',
        viewPosition: row.ViewPosition?.trim() || null,
        rows: int(row.Rows),
        columns: int(row.Columns),
        studyDate: date ? date.replace(/\.0+$/, '') : null,
      });
    },
    signal,
  );
  if (!header.includes('dicom_id')) throw new Error(`${file}: not a MIMIC-CXR metadata file (no dicom_id column)`);
  return map;
}
