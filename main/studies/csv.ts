// RFC 4180 CSV reading: quoted fields with commas, doubled quotes and line breaks; CRLF or LF; a UTF-8 BOM;
// `.gz` files are gunzipped on the fly. Streaming, so a 377,000-row metadata file is not held as text.
import fs from 'node:fs';
import zlib from 'node:zlib';
import { StringDecoder } from 'node:string_decoder';

/** Incremental parser: feed text chunks, get complete records (with the 1-based line each record starts on). */
export class CsvParser {
  private field = '';
  private line = 1; // physical line being read (a quoted field may span lines)
  private recordLine = 1;
  private record: string[] = [];
  private inQuotes = false;
  private quoteSeen = false; // a quote inside a quoted field: either the closing one or the first of a pair
  private started = false;

  constructor(private readonly onRecord: (fields: string[], line: number) => void) {}

  push(chunk: string): void {
    let i = 0;
    if (!this.started) {
      this.started = true;
      if (chunk.charCodeAt(0) === 0xfeff) i = 1;
    }
    for (; i < chunk.length; i++) {
      const c = chunk[i];
      if (c === '\n') this.line++;
      if (this.inQuotes) {
        if (this.quoteSeen) {
          this.quoteSeen = false;
          if (c === '"') {
            this.field += '"';
            continue;
          }
          this.inQuotes = false; // that quote closed the field; handle c below
        } else if (c === '"') {
          this.quoteSeen = true;
          continue;
        } else {
          this.field += c;
          continue;
        }
      }
      if (c === '"' && this.field === '') this.inQuotes = true;
      else if (c === ',') this.endField();
      else if (c === '\n') this.endRecord();
      else if (c === '\r') {
        /* CR of CRLF (a bare CR inside an unquoted field is dropped) */
      } else this.field += c;
    }
  }

  end(): void {
    if (this.quoteSeen) {
      this.quoteSeen = false;
      this.inQuotes = false;
    }
    if (this.field !== '' || this.record.length > 0) this.endRecord();
  }

  private endField(): void {
    this.record.push(this.field);
    this.field = '';
  }

  private endRecord(): void {
    this.endField();
    const rec = this.record;
    const line = this.recordLine;
    this.record = [];
    this.recordLine = this.line;
    if (rec.length === 1 && rec[0] === '') return; // blank line
    this.onRecord(rec, line);
  }
}

export function parseCsvText(text: string): string[][] {
  const out: string[][] = [];
  const p = new CsvParser((r) => out.push(r));
  p.push(text);
  p.end();
  return out;
}

/**
 * Streams a CSV (or .csv.gz) file, calling `onRow` with an object keyed by the header for each data row and the
 * 1-based line the row starts on (the header is line 1). Missing trailing fields are ''. `onHeader` sees the
 * header before any row (a throw there stops the read: a wrong file is refused before anything is used).
 */
export async function readCsvFile(
  file: string,
  onRow: (row: Record<string, string>, header: string[], line: number) => void,
  signal?: AbortSignal,
  onHeader?: (header: string[]) => void,
): Promise<{ header: string[]; rows: number }> {
  let header: string[] | null = null;
  let rows = 0;
  const parser = new CsvParser((rec, line) => {
    if (!header) {
      header = rec.map((h) => h.trim());
      onHeader?.(header);
      return;
    }
    const obj: Record<string, string> = {};
    for (let i = 0; i < header.length; i++) obj[header[i]] = rec[i] ?? '';
    rows++;
    onRow(obj, header, line);
  });
  const decoder = new StringDecoder('utf8');
  const input = fs.createReadStream(file, { highWaterMark: 1 << 20 });
  const stream = file.toLowerCase().endsWith('.gz') ? input.pipe(zlib.createGunzip()) : input;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (signal?.aborted) throw signal.reason ?? new Error('aborted');
      parser.push(decoder.write(chunk));
    }
    parser.push(decoder.end());
    parser.end();
  } finally {
    input.destroy();
  }
  return { header: header ?? [], rows };
}
