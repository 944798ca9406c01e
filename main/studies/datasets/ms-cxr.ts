// MS-CXR local alignment (PhysioNet `ms-cxr` v1.0.0 / v1.1.0): the CSV, one row per box, and v1.1.0's COCO-style
// JSON with the same content. Rows with the same (path, label_text) are one phrase-image pair with several boxes
// in row order, pairs in order of first appearance: exactly training/sightline_eval/mscxr.py's group_pairs (the
// shared vectors in test/vectors/ms-cxr-pairs.json hold both to it).
import fs from 'node:fs/promises';
import type { Types } from '../../../common/contract';
import { readCsvFile } from '../csv';

export type DatasetProblem = Types['DatasetProblem'];

export interface MsCxrPair {
  dicomId: string;
  /** relative to the MIMIC-CXR-JPG root: files/p1x/p{subject}/s{study}/{dicom_id}.jpg */
  path: string;
  category: string;
  labelText: string;
  /** [x, y, w, h] in original pixels, in row order */
  boxes: [number, number, number, number][];
  width: number | null;
  height: number | null;
  split: string | null;
}

export interface MsCxrRead {
  pairs: MsCxrPair[];
  problems: DatasetProblem[];
}

/** MS-CXR sidecars by file name, anywhere in an imported tree. */
export const MS_CXR_CSV_RE = /(^|[/\\])MS_CXR_Local_Alignment_v[\d.]+\.csv(\.gz)?$/i;
export const MS_CXR_JSON_RE = /(^|[/\\])MS_CXR_Local_Alignment_v[\d.]+\.json$/i;

/** Columns every release has; dicom_id (else from path), image_width, image_height and split are optional. */
const REQUIRED = ['category_name', 'label_text', 'path', 'x', 'y', 'w', 'h'] as const;
const BOX = ['x', 'y', 'w', 'h'] as const;

/** dicom_id from `files/.../{dicom_id}.jpg` (what mscxr.py falls back to without the column). */
export function dicomIdOfPath(p: string): string {
  return (p.split('/').pop() ?? p).replace(/\.[^.]*$/, '');
}

/** A number in a cell, or the words of what is wrong with it. */
function parseNumber(text: string, positive: boolean): number | string {
  const t = text.trim();
  if (t === '') return 'empty, a number is required';
  const v = Number(t);
  if (!Number.isFinite(v)) return `"${t}" is not a number`;
  if (positive && v <= 0) return `${t} is not positive`;
  return v;
}

class PairGrouper {
  readonly pairs: MsCxrPair[] = [];
  /** per pair, the line of each box (0 for JSON) */
  readonly lines: number[][] = [];
  private readonly byKey = new Map<string, number>();

  add(pair: Omit<MsCxrPair, 'boxes'>, box: [number, number, number, number], line: number): void {
    const key = `${pair.path}\u0000${pair.labelText}`;
    let i = this.byKey.get(key);
    if (i === undefined) {
      i = this.pairs.length;
      this.byKey.set(key, i);
      this.pairs.push({ ...pair, boxes: [] });
      this.lines.push([]);
    }
    this.pairs[i].boxes.push(box);
    this.lines[i].push(line);
  }
}

/** What the import needs beyond the pairs: the line of every box, to report a row it skips. */
export interface MsCxrReadWithLines extends MsCxrRead {
  lines: number[][];
}

/**
 * Reads an MS-CXR CSV (.csv or .csv.gz). A header without a required column throws (naming the file and the
 * missing columns) before any row is read; a row with a bad value is left out and reported (file, line, column).
 */
export async function readMsCxrCsv(file: string, signal?: AbortSignal): Promise<MsCxrRead> {
  const { pairs, problems } = await readMsCxrCsvWithLines(file, signal);
  return { pairs, problems };
}

export async function readMsCxrCsvWithLines(file: string, signal?: AbortSignal): Promise<MsCxrReadWithLines> {
  const grouper = new PairGrouper();
  const problems: DatasetProblem[] = [];
  await readCsvFile(
    file,
    (row, _header, line) => {
      const problem = (column: string | undefined, message: string) => problems.push({ file, line, ...(column ? { column } : {}), message });
      const path = row.path;
      const labelText = row.label_text;
      if (!path.trim()) return void problem('path', 'empty path');
      if (!labelText.trim()) return void problem('label_text', 'empty label_text');
      const box: number[] = [];
      for (const c of BOX) {
        const v = parseNumber(row[c], c === 'w' || c === 'h');
        if (typeof v === 'string') return void problem(c, v);
        box.push(v);
      }
      const size: (number | null)[] = [];
      for (const c of ['image_width', 'image_height']) {
        if (row[c] === undefined || row[c].trim() === '') {
          size.push(null);
          continue;
        }
        const v = parseNumber(row[c], true);
        if (typeof v === 'string') return void problem(c, v);
        size.push(Math.trunc(v)); // int(float(v)), as mscxr.py
      }
      grouper.add(
        {
          dicomId: row.dicom_id?.trim() || dicomIdOfPath(path),
          path,
          category: row.category_name,
          labelText,
          width: size[0],
          height: size[1],
          split: row.split?.trim() || null,
        },
        box as [number, number, number, number],
        line,
      );
    },
    signal,
    (header) => {
      const missing = REQUIRED.filter((c) => !header.includes(c));
      if (missing.length) {
        throw new Error(`${file}: not an MS-CXR local alignment CSV: missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (header: ${header.join(',')})`);
      }
    },
  );
  return { pairs: grouper.pairs, problems, lines: grouper.lines };
}

interface CocoImage {
  id?: unknown;
  file_name?: unknown;
  width?: unknown;
  height?: unknown;
  dicom_id?: unknown;
  split?: unknown;
}
interface CocoAnnotation {
  image_id?: unknown;
  category_id?: unknown;
  bbox?: unknown;
  label_text?: unknown;
}

/**
 * Reads MS-CXR v1.1.0's COCO-style JSON: `images` (id, file_name = path, width, height, dicom_id, split),
 * `annotations` (image_id, category_id, bbox [x, y, w, h], label_text) and `categories` (id, name), grouped as
 * the CSV. A file that is not such JSON throws; a bad annotation is reported with line 0 and its JSON path as the
 * column (JSON has no rows).
 */
export async function readMsCxrJson(file: string): Promise<MsCxrReadWithLines> {
  let doc: { images?: unknown; annotations?: unknown; categories?: unknown };
  try {
    doc = JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: not valid JSON: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const missing = (['images', 'annotations', 'categories'] as const).filter((k) => !Array.isArray(doc?.[k]));
  if (missing.length) throw new Error(`${file}: not an MS-CXR COCO-style JSON: no ${missing.join(', ')} array`);
  const images = new Map<unknown, CocoImage>((doc.images as CocoImage[]).map((i) => [i.id, i]));
  const categories = new Map<unknown, string>((doc.categories as { id?: unknown; name?: unknown }[]).map((c) => [c.id, String(c.name)]));
  const grouper = new PairGrouper();
  const problems: DatasetProblem[] = [];
  (doc.annotations as CocoAnnotation[]).forEach((a, i) => {
    const problem = (column: string, message: string) => problems.push({ file, line: 0, column: `annotations[${i}].${column}`, message });
    const image = images.get(a.image_id);
    if (!image || typeof image.file_name !== 'string') return void problem('image_id', `no image with id ${String(a.image_id)}`);
    const category = categories.get(a.category_id);
    if (category === undefined) return void problem('category_id', `no category with id ${String(a.category_id)}`);
    if (typeof a.label_text !== 'string' || !a.label_text.trim()) return void problem('label_text', 'empty label_text');
    const bbox = a.bbox;
    if (!Array.isArray(bbox) || bbox.length !== 4 || !bbox.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      return void problem('bbox', 'bbox must be [x, y, w, h] numbers');
    }
    if (bbox[2] <= 0 || bbox[3] <= 0) return void problem('bbox', 'box width and height must be positive');
    const size = (v: unknown) => (typeof v === 'number' && v > 0 ? Math.trunc(v) : null);
    grouper.add(
      {
        dicomId: typeof image.dicom_id === 'string' && image.dicom_id ? image.dicom_id : dicomIdOfPath(image.file_name),
        path: image.file_name,
        category,
        labelText: a.label_text,
        width: size(image.width),
        height: size(image.height),
        split: typeof image.split === 'string' && image.split ? image.split : null,
      },
      bbox as [number, number, number, number],
      0,
    );
  });
  return { pairs: grouper.pairs, problems, lines: grouper.lines };
}
