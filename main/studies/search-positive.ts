// "Positive mentions only" for report search: a report found by FTS5 counts when one of its sentences mentions the
// searched words and the prompt standardiser (main/evaluation/standardiser, the rules the benchmarks use) does not
// call the finding they name absent there. "effusion" then skips "No pleural effusion." and "The effusion has
// resolved." but keeps "Small right effusion, no pneumothorax." and "Possible small effusion." (hedged is a mention).
// The filter applies when the search names one of the standardiser's findings (its 8 categories and their
// synonyms); a search that names none ("catheter"), or one that is itself negated ("no effusion"), is not filtered.
// Judged at query time over the FTS hits (no stored flags), so a rules change needs no re-import; the filtered id
// list is kept for a short while per query because the study list asks for it a page at a time.
import { searchTerms, termRanges, type SearchTerm } from '../../common/search-terms';
import type { Db } from '../db/database';
import { prepared } from '../db/statements';
import { standardise } from '../evaluation/standardiser/engine';

/** What the filter looks for: the findings the search names, and its words. */
export interface PositiveQuery {
  pathologies: string[];
  terms: SearchTerm[];
}

/** The findings a search names (e.g. ["Pleural Effusion"] for "effusions"), or null when it is not filtered. */
export function positiveQuery(input: string): PositiveQuery | null {
  const terms = searchTerms(input);
  if (!terms.length) return null;
  const s = standardise(terms.map((t) => t.words.join(' ')).join(' '));
  if (!s.findings.length || s.findings.some((f) => f.negated)) return null;
  return { pathologies: s.findings.map((f) => f.pathology), terms };
}

const ASCII_RE = /^[\t\n\r\x20-\x7e]*$/; // printable ASCII: what report sentences are

export interface SentenceRow {
  index: number;
  text: string;
  /** the report section's name (FINDINGS, INDICATION, ...) */
  section: string;
}

/** Sections that ask or give context rather than report: "INDICATION: Evaluate for pneumonia." states no finding. */
const CONTEXT_SECTION_RE = /INDICATION|HISTORY|REASON|COMPARISON|EXAMINATION|TECHNIQUE|PREAMBLE/;

// Report sentences repeat a lot ("No pleural effusion or pneumothorax."): the standardiser's findings per text are
// remembered (bounded; dropped oldest first).
const MEMO_ENTRIES = 50_000;
const absentMemo = new Map<string, { present: string[]; absent: string[] }>();

function findingsOf(text: string): { present: string[]; absent: string[] } {
  let f = absentMemo.get(text);
  if (!f) {
    const all = standardise(text).findings;
    f = { present: all.filter((x) => !x.negated).map((x) => x.pathology), absent: all.filter((x) => x.negated).map((x) => x.pathology) };
    absentMemo.set(text, f);
    if (absentMemo.size > MEMO_ENTRIES) absentMemo.delete(absentMemo.keys().next().value!);
  }
  return f;
}

/** Whether a sentence that contains the searched words mentions the searched finding as present (or hedged). */
export function sentenceIsPositive(text: string, q: PositiveQuery): boolean {
  const f = findingsOf(text);
  if (q.pathologies.some((p) => f.present.includes(p))) return true;
  // the words are there but the standardiser names none of the findings ("pleural thickening"): a plain mention
  return !q.pathologies.some((p) => f.absent.includes(p));
}

/**
 * The sentence to show for a report: the first one holding the most of the searched terms, among the positive
 * ones when `q` is given. Null when no sentence holds a term (or, with `q`, none is positive).
 */
export function matchingSentence(sentences: readonly SentenceRow[], terms: readonly SearchTerm[], q: PositiveQuery | null): SentenceRow | null {
  let best: SentenceRow | null = null;
  let bestCount = 0;
  for (const s of sentences) {
    // cheap reject first: an ASCII sentence without a term's first word as a substring cannot hold the term
    const lower = ASCII_RE.test(s.text) ? s.text.toLowerCase() : null;
    const count = terms.filter((t) => (lower === null || lower.includes(t.words[0])) && termRanges(s.text, [t]).length > 0).length;
    if (count <= bestCount) continue;
    if (q && (CONTEXT_SECTION_RE.test(s.section) || !sentenceIsPositive(s.text, q))) continue;
    best = s;
    bestCount = count;
    if (count === terms.length) break;
  }
  return best;
}

function sentencesOf(db: Db, studyId: number): SentenceRow[] {
  return prepared(
    db,
    'SELECT s.idx AS "index", s.text, r.name AS section FROM sentences s JOIN report_sections r ON r.id = s.section_id WHERE s.report_id = ? ORDER BY s.idx',
  ).all(studyId) as SentenceRow[];
}

/** The matching sentence of each listed study (by its report's sentences). */
export function matchesOf(db: Db, studyIds: readonly number[], terms: readonly SearchTerm[], q: PositiveQuery | null): Map<number, SentenceRow> {
  const out = new Map<number, SentenceRow>();
  if (!terms.length) return out;
  for (const id of studyIds) {
    const m = matchingSentence(sentencesOf(db, id), terms, q);
    if (m) out.set(id, m);
  }
  return out;
}

const CACHE_MS = 300_000;
const CACHE_ENTRIES = 8;
const cache = new Map<string, { at: number; ids: number[] }>();

/**
 * The FTS hits (study ids, in order) whose reports mention the finding positively. Kept per (query, report set)
 * for CACHE_MS: the list pages through it, and an import changes the sentences' count or last id.
 */
export function positiveHits(db: Db, candidateIds: () => number[], key: string, q: PositiveQuery): number[] {
  const sig = prepared(db, 'SELECT count(*) AS n, ifnull(max(id), 0) AS m FROM sentences').get() as { n: number; m: number };
  const k = `${key}\u0000${q.pathologies.join('|')}\u0000${sig.n}:${sig.m}`;
  const now = Date.now();
  const hit = cache.get(k);
  if (hit && now - hit.at < CACHE_MS) return hit.ids;
  const ids: number[] = [];
  // one pass over the candidates' sentences (report_id = study id, in order) instead of a query per report
  const rows = prepared(
    db,
    `SELECT s.report_id AS id, s.idx AS "index", s.text, r.name AS section FROM sentences s JOIN report_sections r ON r.id = s.section_id
      WHERE s.report_id IN (SELECT value FROM json_each(?)) ORDER BY s.report_id, s.idx`,
  ).iterate(JSON.stringify(candidateIds())) as IterableIterator<SentenceRow & { id: number }>;
  let cur = -1;
  let group: SentenceRow[] = [];
  const flush = () => {
    if (cur >= 0 && matchingSentence(group, q.terms, q)) ids.push(cur);
  };
  for (const r of rows) {
    if (r.id !== cur) {
      flush();
      cur = r.id;
      group = [];
    }
    group.push(r);
  }
  flush();
  cache.set(k, { at: now, ids });
  for (const old of cache.keys()) if (cache.size > CACHE_ENTRIES) cache.delete(old);
  return ids;
}
