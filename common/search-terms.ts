// The words of a study-list search, as FTS5 reads them (main/studies/search-query.ts builds the MATCH from the
// same terms), and where they occur in a text. Shared so that the server's "which sentence matched" and the
// renderer's highlighting in the list snippet and the report agree word for word.
//   effusion           -> one term, prefix: "effusion", "effusions"
//   "pleural effusion" -> one term of two words, exact and consecutive (an FTS5 phrase)

export interface SearchTerm {
  /** lower-case words */
  words: string[];
  /** the last word matches as a prefix (an unquoted word) */
  prefix: boolean;
}

const WORD_RE = /[\p{L}\p{N}]+/gu;

/** Lower case without diacritics, as FTS5's `unicode61 remove_diacritics 2` folds a token. */
export function foldWord(w: string): string {
  return w.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

export function searchTerms(input: string): SearchTerm[] {
  const terms: SearchTerm[] = [];
  const rest = input.replace(/"([^"]*)"/g, (_m, phrase: string) => {
    const words = phrase.match(WORD_RE);
    if (words?.length) terms.push({ words: words.map(foldWord), prefix: false });
    return ' ';
  });
  for (const w of rest.match(WORD_RE) ?? []) terms.push({ words: [foldWord(w)], prefix: true });
  return terms;
}

/** [start, end) character ranges (UTF-16) of every occurrence of any term in `text`, sorted, not overlapping. */
export function termRanges(text: string, terms: readonly SearchTerm[]): [number, number][] {
  if (!terms.length) return [];
  const tokens: { w: string; a: number; b: number }[] = [];
  for (const m of text.matchAll(WORD_RE)) tokens.push({ w: foldWord(m[0]), a: m.index, b: m.index + m[0].length });
  const out: [number, number][] = [];
  for (let i = 0; i < tokens.length; i++) {
    for (const t of terms) {
      const n = t.words.length;
      if (i + n > tokens.length) continue;
      let ok = true;
      for (let k = 0; k < n && ok; k++) {
        const tok = tokens[i + k].w;
        const want = t.words[k];
        ok = k === n - 1 && t.prefix ? tok.startsWith(want) : tok === want;
      }
      if (ok) out.push([tokens[i].a, tokens[i + n - 1].b]);
    }
  }
  out.sort((x, y) => x[0] - y[0] || y[1] - x[1]);
  const merged: [number, number][] = [];
  for (const r of out) {
    const last = merged[merged.length - 1];
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  return merged;
}

/** `text` cut into plain and matched pieces, for rendering with <mark>. */
export function highlightPieces(text: string, terms: readonly SearchTerm[]): { text: string; hit: boolean }[] {
  const pieces: { text: string; hit: boolean }[] = [];
  let at = 0;
  for (const [a, b] of termRanges(text, terms)) {
    if (a > at) pieces.push({ text: text.slice(at, a), hit: false });
    pieces.push({ text: text.slice(a, b), hit: true });
    at = b;
  }
  if (at < text.length || !pieces.length) pieces.push({ text: text.slice(at), hit: false });
  return pieces;
}
