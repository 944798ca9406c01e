// Reading the LUT's inputs: the Chest ImaGenome gold CSV, MIMIC-CXR metadata (Rows, Columns) and MS-CXR CSVs
// (image_width, image_height), plain or .gz, streamed. The checks are lut.py's: a missing column refuses the file
// naming it and the columns; a coordinate of a LUT region's row, or a size, that is not a finite decimal number is
// an error naming the file, line and column (1-based, and the column's name); rows of other regions are not read.
import fs from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import zlib from 'node:zlib';
import { CsvParser } from '../../studies/csv';
import type { GoldRows } from './build';
import type { Box } from './geometry';
import { isRegion } from './regions';

export class LutInputError extends Error {}

export const IMAGENOME_COLUMNS = ['image_id', 'bbox_name', 'x1', 'y1', 'x2', 'y2', 'original_x1', 'original_y1', 'original_x2', 'original_y2'] as const;
const C224 = ['x1', 'y1', 'x2', 'y2'] as const;
const ORIGINAL = ['original_x1', 'original_y1', 'original_x2', 'original_y2'] as const;

// a decimal number as these CSVs write it (lut.py's NUMBER_RE; no "nan", "inf", hex or "1_0")
const NUMBER_RE = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;

/** A finite number, else LutInputError `<where>: '<text>' is not a number` (the wording of lut.py). */
export function parseNumber(text: string | undefined, where: string): number {
  if (text === undefined || !text.trim()) throw new LutInputError(`${where}: empty is not a number`);
  if (!NUMBER_RE.test(text)) throw new LutInputError(`${where}: '${text}' is not a number`);
  const v = Number(text);
  if (!Number.isFinite(v)) throw new LutInputError(`${where}: '${text}' is not a finite number`);
  return v;
}

/**
 * Streams a CSV (or .csv.gz): `onHeader` with the trimmed column names (it may throw to refuse the file before any
 * row is read), then `onRecord` with each record and the line it ends on (as Python's csv reader counts: physical
 * lines, a quoted line break included).
 */
export async function readCsvLines(
  file: string,
  on: { onHeader(header: string[]): void; onRecord(fields: string[], line: number): void },
  signal?: AbortSignal,
): Promise<void> {
  let headerSeen = false;
  let line = 0;
  const parser = new CsvParser((fields) => {
    if (headerSeen) return on.onRecord(fields, line);
    headerSeen = true;
    on.onHeader(fields.map((h) => h.trim()));
  });
  const input = fs.createReadStream(file, { highWaterMark: 1 << 20 });
  const stream = file.toLowerCase().endsWith('.gz') ? input.pipe(zlib.createGunzip()) : input;
  const decoder = new StringDecoder('utf8');
  let rest = '';
  // whole lines only, so that the line count is right when a record ends
  const feed = (text: string, last: boolean) => {
    const parts = (rest + text).split('\n');
    rest = last ? '' : parts.pop()!;
    for (let i = 0; i < parts.length; i++) {
      const final = last && i === parts.length - 1;
      if (final && !parts[i]) break;
      line++;
      parser.push(final ? parts[i] : `${parts[i]}\n`);
    }
  };
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (signal?.aborted) throw signal.reason ?? new Error('aborted');
      feed(decoder.write(chunk), false);
    }
    feed(decoder.end(), true);
    parser.end();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new LutInputError(`${file}: no such file`);
    if (code === 'EISDIR') throw new LutInputError(`${file}: a folder, not a CSV file`);
    if (code === 'Z_DATA_ERROR' || code === 'Z_BUF_ERROR') throw new LutInputError(`${file}: not a readable gzip file (${(error as Error).message})`);
    throw error;
  } finally {
    input.destroy();
  }
  if (!headerSeen) on.onHeader([]);
}

function checkHeader(file: string, header: string[], needed: readonly string[], what: string): Record<string, number> {
  const missing = needed.filter((c) => !header.includes(c));
  if (missing.length) {
    const found = header.length ? `its header is ${header.join(',')}` : 'it is empty';
    throw new LutInputError(`${file}: not ${what}: missing column(s) ${missing.join(', ')} (${found})`);
  }
  return Object.fromEntries(needed.map((c) => [c, header.indexOf(c)]));
}

const at = (file: string, line: number, header: string[], column: string) => `${file}: line ${line}, column ${header.indexOf(column) + 1} (${column})`;

/** The gold CSV's rows of LUT regions, numbers checked; rows of other regions only counted. */
export async function readImagenome(file: string, signal?: AbortSignal): Promise<GoldRows> {
  const out: GoldRows = { rows: [], read: 0, unknownRegion: 0 };
  let header: string[] = [];
  let index: Record<string, number> = {};
  await readCsvLines(
    file,
    {
      onHeader(h) {
        index = checkHeader(file, h, IMAGENOME_COLUMNS, 'a Chest ImaGenome gold bbox CSV');
        header = h;
      },
      onRecord(fields, line) {
        out.read++;
        const region = (fields[index.bbox_name] ?? '').trim();
        if (!isRegion(region)) {
          out.unknownRegion++;
          return;
        }
        const num = (c: string) => parseNumber(fields[index[c]], at(file, line, header, c));
        const c224 = C224.map(num) as Box;
        out.rows.push({ imageId: fields[index.image_id] ?? '', region, c224, original: ORIGINAL.map(num) as Box });
      },
    },
    signal,
  );
  return out;
}

/** id -> [height, width] from the columns (id, height, width); rows with an empty size are skipped; sizes truncate. */
async function readSizes(file: string, [key, hcol, wcol]: readonly [string, string, string], what: string, signal?: AbortSignal): Promise<Map<string, [number, number]>> {
  const out = new Map<string, [number, number]>();
  let header: string[] = [];
  let index: Record<string, number> = {};
  await readCsvLines(
    file,
    {
      onHeader(h) {
        index = checkHeader(file, h, [key, hcol, wcol], what);
        header = h;
      },
      onRecord(fields, line) {
        const cell = (c: string) => fields[index[c]] ?? '';
        if (!cell(hcol).trim() || !cell(wcol).trim()) return;
        const [h, w] = [hcol, wcol].map((c) => {
          const place = at(file, line, header, c);
          const v = Math.trunc(parseNumber(cell(c), place));
          if (v < 1) throw new LutInputError(`${place}: '${cell(c)}' is not a positive image size`);
          return v;
        });
        out.set(cell(key), [h, w]);
      },
    },
    signal,
  );
  return out;
}

/** dicom_id -> [height, width] from mimic-cxr-2.0.0-metadata.csv(.gz) (Rows, Columns). */
export function readMimicMetadataSizes(file: string, signal?: AbortSignal): Promise<Map<string, [number, number]>> {
  return readSizes(file, ['dicom_id', 'Rows', 'Columns'], 'a MIMIC-CXR metadata CSV', signal);
}

/** dicom_id -> [height, width] from an MS-CXR CSV with image_width / image_height. */
export function readMscxrSizes(file: string, signal?: AbortSignal): Promise<Map<string, [number, number]>> {
  return readSizes(file, ['dicom_id', 'image_height', 'image_width'], 'an MS-CXR CSV with image sizes', signal);
}
