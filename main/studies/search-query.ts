// Turns what a user types in the study browser into an FTS5 query over report text and id prefixes.
//   effusion               -> "effusion"*                 (prefix, so "effusions" matches)
//   small pleural effusion -> "small"* "pleural"* "effusion"*   (all terms, any order)
//   "pleural effusion"     -> "pleural effusion"          (quoted: the exact phrase)
//   p10000032 / s50414267 / 5041 / 02aa804e-... / 1.2.840.113619...  -> also an id prefix search over
//   subject (patient pseudonym), study key and image key (dicom_id / file stem)

export interface ParsedSearch {
  /** FTS5 MATCH expression, or null when the text has no searchable words */
  fts: string | null;
  /** id prefixes to try (the raw token, and without a MIMIC 'p'/'s' prefix) */
  idPrefixes: string[];
}

const WORD_RE = /[\p{L}\p{N}]+/gu;

function quote(term: string): string {
  return `"${term.replace(/"/g, '""')}"`;
}

export function parseSearch(input: string): ParsedSearch {
  const text = input.trim();
  const parts: string[] = [];
  // quoted phrases first
  const rest = text.replace(/"([^"]*)"/g, (_m, phrase: string) => {
    const words = phrase.match(WORD_RE);
    if (words?.length) parts.push(quote(words.join(' ')));
    return ' ';
  });
  for (const w of rest.match(WORD_RE) ?? []) parts.push(`${quote(w)}*`);
  const idPrefixes: string[] = [];
  if (/^[A-Za-z0-9._-]{2,128}$/.test(text) && /\d/.test(text)) {
    idPrefixes.push(text);
    const m = /^[ps](\d+)$/i.exec(text);
    if (m) idPrefixes.push(m[1]);
    if (text !== text.toLowerCase()) idPrefixes.push(text.toLowerCase());
  }
  return { fts: parts.length ? parts.join(' ') : null, idPrefixes: [...new Set(idPrefixes)] };
}

/** Upper bound for a prefix range scan: every string starting with `p` is in [p, prefixEnd(p)). */
export function prefixEnd(p: string): string {
  return `${p}\uffff`;
}
