// What of a study can be grounded, and what belongs to a phrase: the report's finding sentences (FINDINGS and
// IMPRESSION sections), and the ground-truth boxes of the active phrase on an image.

import type { Types } from '../../../common/contract';

type Report = Types['Report'];
type Sentence = Report['sections'][number]['sentences'][number];
type Phrase = Types['Phrase'];
type Box = Types['Box'];

/** Box outline colour: readable over the grey image and over every colormap (a green none of them uses much). */
export const BOX_COLOUR = '#3ee07a';

const FINDING_SECTION = /\b(FINDINGS?|IMPRESSIONS?)\b/;
/** Sections that never describe the image (headers, the synthetic-data notice), for reports without FINDINGS/IMPRESSION. */
const NON_FINDING_SECTION = /^(PREAMBLE|SYNTHETIC|EXAMINATION|EXAM|INDICATION|INDICATIONS|HISTORY|CLINICAL|TECHNIQUE|COMPARISON|COMPARISONS|REASON|PROCEDURE|NOTIFICATION|RECOMMENDATION)/;

/** FINDINGS, IMPRESSION and their variants ('PROVISIONAL FINDINGS IMPRESSION (PFI)'). */
export function isFindingSectionName(name: string): boolean {
  return FINDING_SECTION.test(name.toUpperCase().replace(/_/g, ' '));
}

/**
 * Names of the sections whose sentences are findings: FINDINGS and IMPRESSION; a report that has neither (a bare
 * FINAL REPORT) has its findings in the sections that are not headers such as EXAMINATION or the notice.
 */
export function findingSectionNames(report: Report | null): Set<string> {
  const sections = report?.sections ?? [];
  const named = sections.filter((s) => isFindingSectionName(s.name));
  const chosen = named.length ? named : sections.filter((s) => !NON_FINDING_SECTION.test(s.name.toUpperCase().replace(/_/g, ' ')));
  return new Set(chosen.map((s) => s.name));
}

/** The finding sentences in report order (each sentence once, even when IMPRESSION repeats FINDINGS' text). */
export function findingSentences(report: Report | null): Sentence[] {
  const names = findingSectionNames(report);
  const out: Sentence[] = [];
  const seen = new Set<string>();
  for (const s of report?.sections ?? []) {
    if (!names.has(s.name)) continue;
    for (const sentence of s.sentences) {
      const key = normalisePhrase(sentence.text).toLowerCase();
      if (!key || seen.has(key)) continue;
      seen.add(key);
      out.push(sentence);
    }
  }
  return out;
}

/** Whitespace runs collapsed, trimmed: the form a phrase is requested and remembered in. */
export function normalisePhrase(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** For matching a typed phrase or a sentence to a dataset phrase: lower case, no final full stop. */
function matchKey(text: string): string {
  return normalisePhrase(text).toLowerCase().replace(/[.;:,]+$/, '');
}

export interface PhraseRef {
  text: string;
  sentenceId: number | null;
  phraseId: number | null;
}

/** The dataset phrases an active phrase stands for: the chosen one, those of its sentence, or those of the same text. */
export function matchingPhrases(phrases: readonly Phrase[], active: PhraseRef | null): Phrase[] {
  if (!active) return [];
  if (active.phraseId != null) return phrases.filter((p) => p.id === active.phraseId);
  const key = matchKey(active.text);
  return phrases.filter((p) => (active.sentenceId != null && p.sentenceId === active.sentenceId) || matchKey(p.text) === key);
}

/** The ground-truth boxes of the active phrase on one image (original pixels). */
export function boxesForPhrase(phrases: readonly Phrase[], active: PhraseRef | null, imageId: number | null): Box[] {
  if (imageId == null) return [];
  return matchingPhrases(phrases, active).flatMap((p) => p.boxes.filter((b) => b.imageId === imageId));
}
