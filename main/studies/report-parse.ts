// Splits a free-text radiology report (MIMIC-CXR style) into sections and sentences, with character offsets
// into the raw text (JavaScript string indices, i.e. UTF-16 code units), so that a sentence can be
// highlighted in the original and used as a grounding phrase.
//
// Sections: a line that starts (after indentation) with upper-case word(s) followed by a colon, e.g.
// `FINDINGS:`, `IMPRESSION:`, `WET READ:`, `PROVISIONAL FINDINGS IMPRESSION (PFI):`, or a bare `FINAL REPORT`
// line. The section's body is the rest of that line plus the following lines up to the next header.
// Text before the first header becomes a `PREAMBLE` section.
//
// Sentences: split inside a section body at `.`, `?`, `!` followed by whitespace and an upper-case letter,
// digit, `_`, quote or bracket (or by the end of the body); at blank lines; and before numbered-list items
// (`1. `, `2) `) at the start of a line or after a sentence end. Not split after common abbreviations
// (Dr., Mr., e.g., vs., approx., single initials), inside decimals (1.5 cm) or when the next word is lower
// case. A sentence's span excludes the list marker and surrounding whitespace; its `text` is that span with
// whitespace runs (line wraps) collapsed to one space. De-identification blanks (`___`) are kept as text.

import type { ReportToStore } from '../db/reports-repo';

export const REPORT_PARSER_VERSION = 1;

/** A section and its sentences, as the study database stores them (main/db/reports-repo.ts documents the fields). */
export type ParsedSection = ReportToStore['sections'][number];
export type ParsedSentence = ParsedSection['sentences'][number];

export interface ParsedReport {
  sections: ParsedSection[];
  sentenceCount: number;
}

// Upper-case words (letters, digits, & / ( ) - ') separated by single spaces, then a colon.
const HEADER_RE = /^([ \t]*)([A-Z][A-Z0-9&/()'-]*(?:[ \t][A-Z0-9&/()'-]+){0,6})[ \t]*:/;
const FINAL_REPORT_RE = /^([ \t]*)(FINAL REPORT|ADDENDUM)[ \t]*$/;

const ABBREVIATIONS = new Set([
  'dr', 'mr', 'mrs', 'ms', 'prof', 'vs', 'e.g', 'i.e', 'eg', 'ie', 'approx', 'appr', 'fig', 'figs', 'st', 'cf',
  'al', 'resp', 'incl', 'y.o',
]);
/** abbreviations only when a number follows ("No. 2", "Fig. 3") */
const NUMBER_ABBREVIATIONS = new Set(['no', 'nos', 'fig', 'figs', 'ref']);

interface Line {
  start: number;
  end: number; // exclusive, without the newline
}

function splitLines(text: string): Line[] {
  const lines: Line[] = [];
  let start = 0;
  for (let i = 0; i <= text.length; i++) {
    if (i === text.length || text[i] === '\n') {
      let end = i;
      if (end > start && text[end - 1] === '\r') end--;
      lines.push({ start, end });
      start = i + 1;
    }
  }
  return lines;
}

function isHeaderName(name: string): boolean {
  // at least two letters and mostly letters: not '1' or 'A' or a time like 'PM'
  const letters = name.replace(/[^A-Z]/g, '');
  if (letters.length < 2) return false;
  if (/^(AM|PM)$/.test(name)) return false;
  return true;
}

export function parseReport(text: string): ParsedReport {
  const lines = splitLines(text);
  type Raw = { name: string; start: number; bodyStart: number };
  const heads: Raw[] = [];
  for (const line of lines) {
    const s = text.slice(line.start, line.end);
    const fr = FINAL_REPORT_RE.exec(s);
    if (fr) {
      heads.push({ name: fr[2], start: line.start + fr[1].length, bodyStart: line.end });
      continue;
    }
    const m = HEADER_RE.exec(s);
    if (m && isHeaderName(m[2])) {
      // a colon followed by digits is a time (10:49), not a header
      const after = s.slice(m[0].length);
      if (/^\d/.test(after)) continue;
      heads.push({ name: m[2].replace(/\s+/g, ' '), start: line.start + m[1].length, bodyStart: line.start + m[0].length });
    }
  }
  const sections: ParsedSection[] = [];
  const firstStart = heads.length ? heads[0].start : text.length;
  const preamble = nonSpaceRange(text, 0, firstStart);
  if (preamble) heads.unshift({ name: 'PREAMBLE', start: preamble[0], bodyStart: preamble[0] });
  let index = 0;
  for (let h = 0; h < heads.length; h++) {
    const head = heads[h];
    const limit = h + 1 < heads.length ? heads[h + 1].start : text.length;
    const body = nonSpaceRange(text, head.bodyStart, limit);
    const end = body ? body[1] : trimEnd(text, head.start, head.bodyStart);
    const sentences = body ? splitSentences(text, body[0], body[1], index) : [];
    index += sentences.length;
    sections.push({ name: head.name, start: head.start, bodyStart: head.bodyStart, end, sentences });
  }
  return { sections, sentenceCount: index };
}

function isSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v' || c === '\u00a0';
}

function nonSpaceRange(text: string, from: number, to: number): [number, number] | null {
  let a = from;
  while (a < to && isSpace(text[a])) a++;
  let b = to;
  while (b > a && isSpace(text[b - 1])) b--;
  return a < b ? [a, b] : null;
}

function trimEnd(text: string, from: number, to: number): number {
  let b = to;
  while (b > from && isSpace(text[b - 1])) b--;
  return b;
}

const LIST_MARKER_RE = /^(\d{1,2})[.)][ \t]+(?=\S)/;

/** Splits text[from, to) into sentences; returns them with report-global indices starting at `firstIndex`. */
export function splitSentences(text: string, from: number, to: number, firstIndex = 0): ParsedSentence[] {
  const out: ParsedSentence[] = [];
  let segStart = from; // start of the current sentence candidate
  const emit = (a: number, b: number) => {
    const r = nonSpaceRange(text, a, b);
    if (!r) return;
    let s = r[0];
    const e = r[1];
    // drop a leading list marker ("1. ", "2) ")
    const lm = LIST_MARKER_RE.exec(text.slice(s, Math.min(e, s + 8)));
    if (lm) {
      s += lm[0].length;
    }
    const slice = text.slice(s, e);
    if (!/[A-Za-z0-9]|___/.test(slice)) return; // punctuation only
    out.push({ index: firstIndex + out.length, text: slice.replace(/\s+/g, ' '), start: s, end: e });
  };
  let i = from;
  let atLineStart = true; // only whitespace since the last newline
  while (i < to) {
    const c = text[i];
    if (c === '\n') {
      // blank line: paragraph break
      let j = i + 1;
      let blank = false;
      while (j < to && isSpace(text[j])) {
        if (text[j] === '\n') blank = true;
        j++;
      }
      if (blank || j >= to) {
        emit(segStart, i);
        segStart = j;
        i = j;
        atLineStart = true;
        continue;
      }
      // a numbered item on the next line starts a new sentence
      if (LIST_MARKER_RE.test(text.slice(j, Math.min(to, j + 8))) && nonSpaceRange(text, segStart, i)) {
        emit(segStart, i);
        segStart = j;
      }
      i = j;
      atLineStart = true;
      continue;
    }
    if (atLineStart && !isSpace(c)) {
      atLineStart = false;
      // skip a list marker at line start so its period is not a sentence end
      const lm = LIST_MARKER_RE.exec(text.slice(i, Math.min(to, i + 8)));
      if (lm) {
        i += lm[0].length;
        continue;
      }
    }
    if (c === '.' || c === '?' || c === '!') {
      // extend over closing punctuation: '.)', '."', '...'
      let k = i + 1;
      while (k < to && /[.?!)\]"']/.test(text[k])) k++;
      if (k >= to) {
        i = k;
        continue;
      }
      if (!isSpace(text[k])) {
        i = k;
        continue; // 1.5, e.g, ___.___
      }
      let n = k;
      while (n < to && isSpace(text[n])) n++;
      if (n >= to) {
        i = n;
        continue;
      }
      const next = text[n];
      const startsSentence = /[A-Z0-9_"'([]/.test(next);
      const boundary = startsSentence && (c !== '.' || !isAbbreviation(text, from, i, next));
      if (boundary) {
        emit(segStart, k);
        segStart = k;
        // the next sentence may open with a list marker ("2. "): skip it so its '.' is not a boundary
        const lm = LIST_MARKER_RE.exec(text.slice(n, Math.min(to, n + 8)));
        i = lm ? n + lm[0].length : n;
        atLineStart = false;
        continue;
      }
      i = k;
      continue;
    }
    i++;
  }
  emit(segStart, to);
  return out;
}

/** True when the '.' at `dot` ends an abbreviation (Dr., e.g., an initial) rather than a sentence. */
function isAbbreviation(text: string, from: number, dot: number, next: string): boolean {
  let a = dot;
  while (a > from && /[A-Za-z.]/.test(text[a - 1])) a--;
  const word = text.slice(a, dot).replace(/^\.+/, '');
  if (!word) return false;
  const lower = word.toLowerCase();
  if (ABBREVIATIONS.has(lower)) return true;
  if (NUMBER_ABBREVIATIONS.has(lower) && /[0-9]/.test(next)) return true;
  // dotted abbreviations: "e.g", "i.e", "a.m" followed by a lower-case word are handled by the caller
  if (/^([A-Za-z]\.)+[A-Za-z]$/.test(word) && word.length <= 5 && /[A-Z]/.test(next) === false) return true;
  // an initial after a title or another initial: "Dr. J. Smith", "J. R. Smith"
  if (/^[A-Z]$/.test(word)) {
    const before = text.slice(Math.max(from, a - 6), a);
    return /(?:\b(?:Dr|Mr|Mrs|Ms|Prof)\.|\b[A-Z]\.)\s+$/.test(before);
  }
  return false;
}

const SNIPPET_CHARS = 200;

/** Impression (else findings, else the whole text), whitespace collapsed, cut at ~200 characters. */
export function reportSnippet(text: string, parsed: ParsedReport): string {
  const pick =
    parsed.sections.find((s) => s.name === 'IMPRESSION' && s.sentences.length) ??
    parsed.sections.find((s) => s.name.startsWith('FINDINGS') && s.sentences.length);
  const raw = pick ? text.slice(pick.bodyStart, pick.end) : text;
  const flat = raw.replace(/\s+/g, ' ').trim();
  if (flat.length <= SNIPPET_CHARS) return flat;
  const cut = flat.lastIndexOf(' ', SNIPPET_CHARS);
  return `${flat.slice(0, cut > SNIPPET_CHARS / 2 ? cut : SNIPPET_CHARS)}…`;
}

/** A report file's text ready for the database: parsed into sections and sentences, with its list snippet. */
export function reportToStore(r: { path: string | null; sha256: string; text: string }): ReportToStore {
  const parsed = parseReport(r.text);
  return { ...r, snippet: reportSnippet(r.text, parsed), parserVersion: REPORT_PARSER_VERSION, sections: parsed.sections };
}
