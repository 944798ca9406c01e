// The coordinator's view of a study (unblinded): per-reader progress, and the answers as CSV — long (one row per
// reader x item x question, the latest answer), iMRMC (`readerID,caseID,modalityID,score`) and MRMCaov
// (`reader,treatment,case,truth,rating`) for one scale or numeric question (datasets.md), and the event log.
import type { z } from 'zod';
import { RpcError } from '../../common/contract';
import type { ExportFormat, ReaderProgress } from '../../common/contract/reader';
import type { Db } from '../db/database';
import { getReaderStudy, latestAnswers, listArms, listEvents, listItems, listReaders, sittingFinishedAt, type ReaderStudyRow } from '../db/reader-repo';
import type { Design } from './design';
import { unlockTime } from './schedule';

export function studyOf(db: Db, id: number): ReaderStudyRow & { design: Design } {
  const study = getReaderStudy(db, id);
  if (!study) throw new RpcError('not_found', `no reader study ${id} (see \`sightline study list\`)`);
  return study as ReaderStudyRow & { design: Design };
}

export function progressOf(db: Db, studyId: number, now: Date): z.output<typeof ReaderProgress>[] {
  const study = studyOf(db, studyId);
  return listReaders(db, studyId).map((reader) => {
    const items = listItems(db, reader.id);
    const byItem = new Map<number, Set<string>>();
    for (const a of latestAnswers(db, reader.id)) {
      let keys = byItem.get(a.position);
      if (!keys) byItem.set(a.position, (keys = new Set()));
      if (a.value !== '') keys.add(a.question);
    }
    const required = study.design.questions.filter((q) => q.required).map((q) => q.key);
    const complete = items.map((it) => required.every((k) => byItem.get(it.position)?.has(k)));
    // progress counts the scored items only ("23 / 300"); practice is before them
    const scored = items.filter((it) => !it.practice);
    const nextIndex = complete.indexOf(false);
    const next = nextIndex < 0 ? items.length : nextIndex;
    const sitting = items[Math.min(next, items.length - 1)].sitting;
    const unlock = next < items.length && sitting > 0 ? unlockTime(sittingFinishedAt(db, reader.id, sitting - 1), study.design.schedule.washoutDays) : null;
    return {
      reader: reader.name,
      answered: scored.filter((it) => complete[it.position]).length,
      total: scored.length,
      sitting,
      sittings: items[items.length - 1].sitting + 1,
      unlocksAt: unlock && unlock > now ? unlock.toISOString() : null,
      activeMs: items.reduce((sum, it) => sum + it.activeMs, 0),
    };
  });
}

/** RFC 4180 field: quoted when it holds a comma, quote or line break. */
export function csvField(v: unknown): string {
  const s = v === null || v === undefined ? '' : typeof v === 'string' ? v : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const csv = (rows: unknown[][]) => rows.map((r) => r.map(csvField).join(',')).join('\n') + '\n';

export const LONG_HEADER = ['reader', 'position', 'case', 'image_id', 'phrase', 'arm', 'question', 'answer', 'active_ms', 'first_answered_at', 'answered_at', 'changes'];

export const EVENTS_HEADER = ['reader', 'position', 'case', 'arm', 'kind', 'detail', 'at'];

export function exportStudy(db: Db, studyId: number, format: z.output<typeof ExportFormat>, question?: string): { text: string; rows: number } {
  const study = studyOf(db, studyId);
  const arms = new Map(listArms(db, studyId).map((a) => [a.id, a.name]));
  const rows: unknown[][] = [];
  if (format === 'long') {
    for (const reader of listReaders(db, studyId)) {
      const items = listItems(db, reader.id);
      for (const a of latestAnswers(db, reader.id)) {
        const it = items[a.position];
        if (it.practice) continue; // practice answers are kept in the database, never exported
        rows.push([reader.name, a.position + 1, it.caseIdx + 1, it.imageId, it.phrase, arms.get(it.armId), a.question, a.value, a.activeMs, a.firstAnsweredAt, a.answeredAt, a.changes]);
      }
    }
    return { text: csv([LONG_HEADER, ...rows]), rows: rows.length };
  }
  if (format === 'events') {
    for (const reader of listReaders(db, studyId)) {
      const items = listItems(db, reader.id);
      for (const e of listEvents(db, reader.id)) {
        const it = e.position === null ? undefined : items[e.position];
        rows.push([reader.name, e.position === null ? '' : e.position + 1, it ? it.caseIdx + 1 : '', it ? arms.get(it.armId) : '', e.kind, JSON.stringify(e.detail), e.at]);
      }
    }
    return { text: csv([EVENTS_HEADER, ...rows]), rows: rows.length };
  }
  const q = question ? study.design.questions.find((x) => x.key === question) : study.design.questions.find((x) => x.kind === 'scale' || x.kind === 'numeric');
  if (!q || (q.kind !== 'scale' && q.kind !== 'numeric')) {
    throw new RpcError('invalid_input', question ? `question "${question}" is not a scale or numeric question of this study` : 'this study has no scale or numeric question to export');
  }
  for (const reader of listReaders(db, studyId)) {
    const items = listItems(db, reader.id);
    for (const a of latestAnswers(db, reader.id)) {
      if (a.question !== q.key) continue;
      const it = items[a.position];
      if (it.practice) continue;
      // every case is a phrase with its finding present: truth 1 (iMRMC truth rows are the caller's to add when
      // a design mixes in negative cases, which this version does not)
      rows.push(format === 'imrmc' ? [reader.name, it.caseIdx + 1, arms.get(it.armId), a.value] : [reader.name, arms.get(it.armId), it.caseIdx + 1, 1, a.value]);
    }
  }
  const header = format === 'imrmc' ? ['readerID', 'caseID', 'modalityID', 'score'] : ['reader', 'treatment', 'case', 'truth', 'rating'];
  return { text: csv([header, ...rows]), rows: rows.length };
}
