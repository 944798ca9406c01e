// Reports with their parsed sections and sentences (written together in the caller's transaction). Parsing is
// the studies domain's (main/studies/report-parse.ts); this module stores what it is given.
import type { Types } from '../../common/contract';
import type { Db } from './database';
import { prepared } from './statements';

/** A stored report as the contract shows it: sections and their sentences, with offsets into the text. */
export type ReportDetail = Types['Report'];
type ReportSentenceRow = ReportDetail['sections'][number]['sentences'][number];

/** The stored report's id and content hash, to skip an unchanged one without parsing it again. */
export function findReportHash(db: Db, studyId: number): { id: number; sha256: string } | null {
  return (prepared(db, 'SELECT id, sha256 FROM reports WHERE study_id = ?').get(studyId) as { id: number; sha256: string } | undefined) ?? null;
}

export type UpsertReportOutcome = 'inserted' | 'updated' | 'unchanged';

/** A report as the import hands it over: its text, where it came from, and its parse. */
export interface ReportToStore {
  path: string | null;
  sha256: string;
  text: string;
  /** the list's one-line summary */
  snippet: string;
  parserVersion: number;
  sections: {
    /** upper-case header without the colon, whitespace collapsed ('FINDINGS', 'FINAL REPORT', 'PREAMBLE') */
    name: string;
    /** start of the header (or of the preamble text); offsets are UTF-16 code units into `text` */
    start: number;
    /** end of the last non-space character of the body (or of the header when the body is empty) */
    end: number;
    /** start of the body (after the colon) */
    bodyStart: number;
    sentences: {
      /** index within the report */
      index: number;
      /** the span with whitespace runs collapsed */
      text: string;
      start: number;
      end: number;
    }[];
  }[];
}

/**
 * Stores the study's report (one per study) and its sections/sentences. Same hash: unchanged. Different text:
 * replaced (sentences are rebuilt; phrases that pointed at old sentences keep their text, sentence_id -> NULL).
 * Call inside a transaction.
 */
export function upsertReport(db: Db, studyId: number, r: ReportToStore): { id: number; outcome: UpsertReportOutcome } {
  const existing = findReportHash(db, studyId);
  if (existing && existing.sha256 === r.sha256) return { id: existing.id, outcome: 'unchanged' };
  let id: number;
  if (existing) {
    id = existing.id;
    prepared(db, 'DELETE FROM report_sections WHERE report_id = ?').run(id);
    prepared(db, 'UPDATE reports SET path = ?, sha256 = ?, text = ?, snippet = ?, parser_version = ? WHERE id = ?').run(
      r.path,
      r.sha256,
      r.text,
      r.snippet,
      r.parserVersion,
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
        r.snippet,
        r.parserVersion,
      ).lastInsertRowid,
    );
  }
  writeSections(db, id, r.sections);
  return { id, outcome: existing ? 'updated' : 'inserted' };
}

function writeSections(db: Db, reportId: number, sections: ReportToStore['sections']): void {
  const insSection = prepared(
    db,
    'INSERT INTO report_sections (report_id, idx, name, start, end, body_start) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const insSentence = prepared(
    db,
    'INSERT INTO sentences (report_id, section_id, idx, text, start, end) VALUES (?, ?, ?, ?, ?, ?)',
  );
  sections.forEach((sec, i) => {
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
