// Which report sentence an MS-CXR phrase comes from: MS-CXR's label_text is (part of) a sentence of the study's
// report. Compared in the viewer's matching form (renderer/src/lib/grounding.ts: whitespace collapsed, lower case,
// no final punctuation), a sentence equal to the phrase beats one that contains it; then FINDINGS before
// IMPRESSION before the rest (the phrases were drawn from the findings); then report order.
import type { ReportDetail } from '../../db/reports-repo';

export function matchKey(text: string): string {
  return text.replace(/\s+/g, ' ').trim().toLowerCase().replace(/[.;:,]+$/, '');
}

const SECTION_RANK: Record<string, number> = { FINDINGS: 0, IMPRESSION: 1 };

/** The id of the sentence the phrase comes from, or null when no sentence contains it. */
export function findSentence(report: ReportDetail | null, phrase: string): number | null {
  if (!report) return null;
  const key = matchKey(phrase);
  if (!key) return null;
  let best: { id: number; rank: [number, number, number] } | null = null;
  for (const section of report.sections) {
    for (const s of section.sentences) {
      const k = matchKey(s.text);
      if (!k.includes(key)) continue;
      const rank: [number, number, number] = [k === key ? 0 : 1, SECTION_RANK[section.name] ?? 2, s.index];
      if (!best || rank[0] < best.rank[0] || (rank[0] === best.rank[0] && (rank[1] < best.rank[1] || (rank[1] === best.rank[1] && rank[2] < best.rank[2])))) {
        best = { id: s.id, rank };
      }
    }
  }
  return best?.id ?? null;
}
