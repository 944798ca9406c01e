// The report of a retrieved study, where the PACS has one as a DICOM Structured Report: its text items, each under
// its concept name as a header ("FINDINGS: ...", "IMPRESSION: ..."), become the study's report, stored as a MIMIC
// report is (parsed into sections and sentences by the studies domain) so that grounding and search use it alike.
// Of several SRs of a study the verified one, then the latest by content date and time, is taken.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Db } from '../db/database';
import { findReportHash, upsertReport } from '../db/reports-repo';
import { readHead } from './cache';
import { prepared } from '../db/statements';
import { dcmjs, readDicomFile, type NaturalDataSet } from '../imaging';
import { reportToStore } from '../studies/report-parse';

/** SR Storage SOP classes: 1.2.840.10008.5.1.4.1.1.88.x (Basic Text, Enhanced, Comprehensive ...) */
const SR_CLASS_PREFIX = '1.2.840.10008.5.1.4.1.1.88.';

type Naturalized = NaturalDataSet;

const items = (v: unknown): Naturalized[] => (Array.isArray(v) ? (v as Naturalized[]) : v ? [v as Naturalized] : []);

const textOf = (value: unknown): string => (typeof value === 'string' ? value : '');

/** the SR's text: each TEXT item as "CONCEPT NAME: text" in document order (nested containers included) */
export function srReportText(ds: Naturalized): string {
  const paragraphs: string[] = [];
  const walk = (content: Naturalized[]) => {
    for (const item of content) {
      const text = textOf(item.TextValue).trim();
      if (item.ValueType === 'TEXT' && text) {
        const name = textOf(items(item.ConceptNameCodeSequence)[0]?.CodeMeaning).trim();
        paragraphs.push(name ? `${name.toUpperCase().replace(/[^A-Z0-9&/()' -]+/g, ' ').replace(/\s+/g, ' ').trim()}: ${text}` : text);
      }
      walk(items(item.ContentSequence));
    }
  };
  walk(items(ds.ContentSequence));
  return paragraphs.join('\n\n');
}

interface SrFile {
  file: string;
  text: string;
  verified: boolean;
  when: string;
}

/** The SR files of a study folder with their text (files that are not SR are not read past their header). */
export function studyReports(dir: string): SrFile[] {
  const found: SrFile[] = [];
  for (const name of fs.readdirSync(dir).filter((n) => n.endsWith('.dcm'))) {
    const file = path.join(dir, name);
    // the file meta's SOP class first: the study's images (tens of MB) are not read
    if (!readHead(file, 4096).subarray(128).toString('latin1').includes(SR_CLASS_PREFIX)) continue;
    const bytes = fs.readFileSync(file);
    let ds: Naturalized;
    try {
      ds = dcmjs().data.DicomMetaDictionary.naturalizeDataset(readDicomFile(bytes).dict);
    } catch {
      continue; // an unreadable SR is left to the import, which rejects it with its reason
    }
    if (!String(ds.SOPClassUID ?? '').startsWith(SR_CLASS_PREFIX)) continue;
    const text = srReportText(ds);
    if (text) found.push({ file, text, verified: ds.VerificationFlag === 'VERIFIED', when: `${ds.ContentDate ?? ''}${ds.ContentTime ?? ''}` });
  }
  return found;
}

/** The study's report among its SRs: a verified one before an unverified one, then the latest by content date and time. */
export function bestReport<R extends Pick<SrFile, 'verified' | 'when'>>(reports: readonly R[]): R | undefined {
  return [...reports].sort((a, b) => Number(b.verified) - Number(a.verified) || b.when.localeCompare(a.when))[0];
}

/**
 * Stores the study's report from its SRs (the verified, then latest, one) on the study the import made for
 * `studyUid` in `dataset`; -> the SR files read (the import rejects them as not images: the caller discounts them)
 * and whether a report was stored or updated.
 */
export function attachStudyReport(db: Db, dir: string, dataset: string, studyUid: string): { srFiles: Set<string>; attached: boolean } {
  const reports = studyReports(dir);
  const srFiles = new Set(reports.map((r) => r.file));
  const best = bestReport(reports);
  if (!best) return { srFiles, attached: false };
  const study = prepared(db, 'SELECT s.id FROM studies s JOIN datasets d ON d.id = s.dataset_id WHERE d.name = ? AND s.study_uid = ?').get(dataset, studyUid) as { id: number } | undefined;
  if (!study) return { srFiles, attached: false }; // a study of reports only: no images, nothing to attach to
  const sha256 = createHash('sha256').update(best.text).digest('hex');
  if (findReportHash(db, study.id)?.sha256 === sha256) return { srFiles, attached: false };
  db.transaction(() => upsertReport(db, study.id, reportToStore({ path: best.file, sha256, text: best.text })))();
  return { srFiles, attached: true };
}
