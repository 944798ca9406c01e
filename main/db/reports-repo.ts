// Reports with their parsed sections and sentences (written together in the caller's transaction).
import type { Db } from './database';
import { prepared } from './statements';
import { parseReport, REPORT_PARSER_VERSION, type ParsedReport } from '../studies/report-parse';

export interface ReportSentenceRow {
  id: number;
  index: number;
  text: string;
  start: number;
  end: number;
}
export interface ReportSectionRow {
  name: string;
  start: number;
  end: number;
  sentences: ReportSentenceRow[];
}
export interface ReportDetail {
  id: number;
  text: string;
  sections: ReportSectionRow[];
}

export type UpsertReportOutcome = 'inserted' | 'updated' | 'unchanged';

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

/**
 * Stores the study's report (one per study) and its sections/sentences. Same hash: unchanged. Different text:
 * replaced (sentences are rebuilt; phrases that pointed at old sentences keep their text, sentence_id -> NULL).
 * Call inside a transaction.
 */
export function upsertReport(
  db: Db,
  studyId: number,
  r: { path: string | null; sha256: string; text: string },
): { id: number; outcome: UpsertReportOutcome } {
  const existing = prepared(db, 'SELECT id, sha256 FROM reports WHERE study_id = ?').get(studyId) as
    | { id: number; sha256: string }
    | undefined;
  if (existing && existing.sha256 === r.sha256) return { id: existing.id, outcome: 'unchanged' };
  const parsed = parseReport(r.text);
  const snippet = reportSnippet(r.text, parsed);
  let id: number;
  if (existing) {
    id = existing.id;
    prepared(db, 'DELETE FROM report_sections WHERE report_id = ?').run(id);
    prepared(db, 'UPDATE reports SET path = ?, sha256 = ?, text = ?, snippet = ?, parser_version = ? WHERE id = ?').run(
      r.path,
      r.sha256,
      r.text,
      snippet,
      REPORT_PARSER_VERSION,
      id,
    );
  } else {
    // reports.id = studies.id (one report per study): the FTS rowid is then the study id, so a text search
    // yields study ids in order without a join
    id = Number(
      prepared(db, 'INSERT INTO reports (id, study_id, path, sha256, text, snippet, parser_version) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
        studyId,
        studyId,
        r.path,
        r.sha256,
        r.text,
        snippet,
        REPORT_PARSER_VERSION,
      ).lastInsertRowid,
    );
  }
  writeParsed(db, id, parsed);
  return { id, outcome: existing ? 'updated' : 'inserted' };
}

function writeParsed(db: Db, reportId: number, parsed: ParsedReport): void {
  const insSection = prepared(
    db,
    'INSERT INTO report_sections (report_id, idx, name, start, end, body_start) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const insSentence = prepared(
    db,
    'INSERT INTO sentences (report_id, section_id, idx, text, start, end) VALUES (?, ?, ?, ?, ?, ?)',
  );
  parsed.sections.forEach((sec, i) => {
    const sectionId = Number(insSection.run(reportId, i, sec.name, sec.start, sec.end, sec.bodyStart).lastInsertRowid);
    for (const s of sec.sentences) insSentence.run(reportId, sectionId, s.index, s.text, s.start, s.end);
  });
}

export function getReportForStudy(db: Db, studyId: number): ReportDetail | null {
  const rep = prepared(db, 'SELECT id, text FROM reports WHERE study_id = ?').get(studyId) as
    | { id: number; text: string }
    | undefined;
  if (!rep) return null;
  const sections = prepared(db, 'SELECT id, name, start, end FROM report_sections WHERE report_id = ? ORDER BY idx').all(
    rep.id,
  ) as { id: number; name: string; start: number; end: number }[];
  const sentences = prepared(
    db,
    'SELECT id, section_id AS sectionId, idx AS "index", text, start, end FROM sentences WHERE report_id = ? ORDER BY idx',
  ).all(rep.id) as (ReportSentenceRow & { sectionId: number })[];
  const bySection = new Map<number, ReportSentenceRow[]>();
  for (const { sectionId, ...s } of sentences) {
    let list = bySection.get(sectionId);
    if (!list) bySection.set(sectionId, (list = []));
    list.push(s);
  }
  return {
    id: rep.id,
    text: rep.text,
    sections: sections.map((s) => ({ name: s.name, start: s.start, end: s.end, sentences: bySection.get(s.id) ?? [] })),
  };
}

export function getSentence(db: Db, id: number): { id: number; reportId: number; text: string; start: number; end: number } | null {
  return (
    (prepared(db, 'SELECT id, report_id AS reportId, text, start, end FROM sentences WHERE id = ?').get(id) as
      | { id: number; reportId: number; text: string; start: number; end: number }
      | undefined) ?? null
  );
}
