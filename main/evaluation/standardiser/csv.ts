// `sightline standardize --csv`: one column of a CSV file standardised, the input rows written back with the
// standardiser's columns appended. RFC 4180 quoting; a malformed file is refused naming its line and column.
import { PATHOLOGIES } from './rules';
import { standardise } from './engine';

export const OUTPUT_COLUMNS = ['prompt', 'pathology', 'locations', 'negated', 'resolved', 'uncertain'] as const;
const TEXT_COLUMNS = ['sentence', 'text', 'label_text'];
const CATEGORY_COLUMNS = ['category_name', 'category'];

export class CsvError extends Error {}

/** Rows of a CSV text (fields unquoted); throws CsvError "<file>: line L, column C: problem". */
export function parseCsv(text: string, file: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let col = 1;
  let fieldStart = { line, col };
  const fail = (at: { line: number; col: number }, problem: string): never => {
    throw new CsvError(`${file}: line ${at.line}, column ${at.col}: ${problem}`);
  };
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (quoted) {
      if (c === '"' && body[i + 1] === '"') { field += '"'; i++; col++; }
      else if (c === '"') {
        quoted = false;
        const n = body[i + 1];
        if (n !== undefined && n !== ',' && n !== '\n' && n !== '\r') fail({ line, col: col + 1 }, 'text after a closing quote (a quote inside a field is written "")');
      } else field += c;
    } else if (c === '"') {
      if (field !== '') fail({ line, col }, 'a quote inside an unquoted field (quote the whole field and write the quote as "")');
      quoted = true;
      fieldStart = { line, col };
    } else if (c === ',') { row.push(field); field = ''; }
    else if (c === '\r' && body[i + 1] === '\n') continue;
    else if (c === '\n' || c === '\r') { row.push(field); rows.push(row); row = []; field = ''; }
    else field += c;
    if (c === '\n' || (c === '\r' && body[i + 1] !== '\n')) { line++; col = 1; } else col++;
  }
  if (quoted) fail(fieldStart, 'a quoted field is never closed');
  if (field !== '' || row.length) { row.push(field); rows.push(row); }
  return rows.filter((r) => !(r.length === 1 && r[0] === ''));
}

function quote(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

export interface CsvOptions { file: string; column?: string; categoryColumn?: string | null }

/** The CSV with the standardiser's columns appended. The text column is `column`, else the first named sentence,
 * text or label_text; the category column is `categoryColumn` (null: none), else category_name or category if
 * present (MS-CXR rows), whose values must be one of the 8 categories or empty. */
export function standardiseCsv(text: string, opts: CsvOptions): { csv: string; rows: number } {
  const rows = parseCsv(text, opts.file);
  if (!rows.length) throw new CsvError(`${opts.file}: line 1: the file is empty (a header line is needed)`);
  const header = rows[0];
  const pick = (name: string) => {
    const i = header.indexOf(name);
    if (i < 0) throw new CsvError(`${opts.file}: line 1: no column "${name}" (columns: ${header.join(', ')})`);
    return i;
  };
  const ti = opts.column !== undefined ? pick(opts.column) : header.findIndex((h) => TEXT_COLUMNS.includes(h.trim().toLowerCase()));
  if (ti < 0) throw new CsvError(`${opts.file}: line 1: no column named ${TEXT_COLUMNS.join(', ')} (name it with --column; columns: ${header.join(', ')})`);
  const ci = opts.categoryColumn === null ? -1 : opts.categoryColumn !== undefined ? pick(opts.categoryColumn) : header.findIndex((h) => CATEGORY_COLUMNS.includes(h.trim().toLowerCase()));
  const out = [[...header, ...OUTPUT_COLUMNS].map(quote).join(',')];
  rows.slice(1).forEach((r, k) => {
    const line = k + 2;
    if (ti >= r.length) throw new CsvError(`${opts.file}: line ${line}: ${r.length} fields, the text column is field ${ti + 1}`);
    const category = ci >= 0 && r[ci]?.trim() ? r[ci].trim() : null;
    if (category !== null && !PATHOLOGIES.includes(category)) {
      throw new CsvError(`${opts.file}: line ${line}, column "${header[ci]}": unknown category "${category}" (one of ${PATHOLOGIES.join(', ')})`);
    }
    const s = standardise(r[ti], category);
    const add = [s.prompt ?? '', s.pathology ?? '', s.locations.join(' and '), String(s.negated), String(s.resolved), String(s.uncertain)];
    out.push([...r, ...add].map(quote).join(','));
  });
  return { csv: out.join('\n') + '\n', rows: rows.length - 1 };
}
