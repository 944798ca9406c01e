// Answers out of a reading copy and merged back into the coordinator's study (issue 11). An answers file is JSON:
//   {format: 'sightline-reader-answers', version: 1, content: {...}, sha256}
// with sha256 over JSON.stringify(content) and content = the package's content hash, the reader, and every answer
// (in the order given), the items' active times, the finished sittings and the event log. Items are named by
// position and checked against the coordinator's schedule (case index and arm token must match), so an answers file
// from another study or a changed schedule is refused.
//
// Merging, per reader x item x question ("key"), comparing the file's answers F with the answers already here E:
//   duplicate — an answer of F equal to one of E (same value and answered_at): skipped;
//   merged    — F's other answers extend E in order (every answer of E is also in F, and each new one is later than
//               the latest of E): appended, origin = the file's sha256;
//   conflict  — anything else (E has answers F lacks — read here or in another copy — or F's new answer is not later):
//               listed with both sides. A file with a conflict is not applied at all, unless acceptNewer: then each
//               conflicting key takes the file's answers that are later than E's latest (the newer answer wins), and
//               keeps E where E's latest is the newer. Nothing is ever updated or deleted (answers are append-only).
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { z } from 'zod';
import { RpcError } from '../../common/contract';
import type { ReaderMergeResult } from '../../common/contract/reader';
import { withFullSync, type Db } from '../db/database';
import {
  allAnswers,
  allSittings,
  insertMerge,
  insertMergedAnswer,
  insertRawEvent,
  packageOfStudy,
  raiseActiveMs,
  rawEvents,
  studyHasPackage,
} from '../db/reader-packages-repo';
import { findReader, freezeReaderStudy, getReaderStudy, listArms, listItems, markSittingFinished } from '../db/reader-repo';

interface FileAnswer {
  position: number;
  case: number;
  arm: string;
  question: string;
  value: unknown;
  activeMs: number;
  answeredAt: string;
}

export interface AnswersContent {
  packageHash: string;
  study: string;
  reader: string;
  exportedAt: string;
  answers: FileAnswer[];
  items: { position: number; activeMs: number }[];
  sittings: { sitting: number; finishedAt: string }[];
  events: { position: number | null; kind: string; detail: unknown; at: string }[];
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

function readerOf(db: Db, studyId: number, name: string) {
  const reader = findReader(db, studyId, name);
  if (!reader) throw new RpcError('not_found', `study ${studyId} has no reader "${name}"`);
  return reader;
}

/** The answers file of one reader of a reading copy (or of any study that was packaged). */
export function answersFile(db: Db, studyId: number, readerName: string, now: Date): { text: string; sha256: string; answers: number } {
  const study = getReaderStudy(db, studyId);
  if (!study) throw new RpcError('not_found', `no reader study ${studyId}`);
  const packageHash = packageOfStudy(db, studyId, 'copy') ?? packageOfStudy(db, studyId, 'exported');
  if (!packageHash) throw new RpcError('invalid_input', `study ${studyId} was neither imported from a package nor packaged: there is nothing to merge its answers into`);
  const reader = readerOf(db, studyId, readerName);
  const items = listItems(db, reader.id);
  const token = new Map(listArms(db, studyId).map((a) => [a.id, a.token]));
  const byPosition = new Map(items.map((it) => [it.position, it]));
  const content: AnswersContent = {
    packageHash,
    study: study.name,
    reader: reader.name,
    exportedAt: now.toISOString(),
    answers: allAnswers(db, reader.id).map((a) => {
      const it = byPosition.get(a.position)!;
      return { position: a.position, case: it.caseIdx, arm: token.get(it.armId)!, question: a.question, value: JSON.parse(a.value), activeMs: a.activeMs, answeredAt: a.answeredAt };
    }),
    items: items.filter((it) => it.activeMs > 0).map((it) => ({ position: it.position, activeMs: it.activeMs })),
    sittings: allSittings(db, reader.id),
    events: rawEvents(db, reader.id).map((e) => ({ ...e, detail: JSON.parse(e.detail) })),
  };
  const body = JSON.stringify(content);
  const hash = sha256(body);
  return { text: `{"format":"sightline-reader-answers","version":1,"sha256":"${hash}","content":${body}}\n`, sha256: hash, answers: content.answers.length };
}

/** Reads and checks an answers file (format, content sha256); errors name it `file` (default its path). */
export function readAnswersFile(path: string, file = path): { content: AnswersContent; sha256: string } {
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (error) {
    throw new RpcError('not_found', `${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  let parsed: { format?: string; version?: number; sha256?: string; content?: AnswersContent };
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new RpcError('bad_file', `${file}: not valid JSON (${(error as Error).message}); truncated?`);
  }
  if (parsed.format !== 'sightline-reader-answers' || parsed.version !== 1 || !parsed.content || typeof parsed.sha256 !== 'string') {
    throw new RpcError('bad_file', `${file}: not a version 1 Sightline answers file`);
  }
  const hash = sha256(JSON.stringify(parsed.content));
  if (hash !== parsed.sha256) throw new RpcError('bad_file', `${file}: the content does not match its sha256 (the file was changed after export)`);
  const c = parsed.content;
  if (!Array.isArray(c.answers) || !Array.isArray(c.items) || !Array.isArray(c.sittings) || !Array.isArray(c.events) || typeof c.reader !== 'string') {
    throw new RpcError('bad_file', `${file}: content lacks answers, items, sittings, events or reader`);
  }
  return { content: c, sha256: hash };
}

type Result = z.output<typeof ReaderMergeResult>;
type Existing = { value: string; answeredAt: string };

/** An answers file: its path here, and the name results and errors give it (an upload's: the name it was given as). */
export type AnswersSource = string | { path: string; name: string };

/** Merges answers files one after the other (each against the state the previous left). */
export function mergeAnswers(db: Db, studyId: number, files: AnswersSource[], opts: { acceptNewer: boolean; now: Date }): Result[] {
  const study = getReaderStudy(db, studyId);
  if (!study) throw new RpcError('not_found', `no reader study ${studyId}`);
  return files.map((f) => (typeof f === 'string' ? mergeOne(db, studyId, f, f, opts) : mergeOne(db, studyId, f.path, f.name, opts)));
}

function mergeOne(db: Db, studyId: number, path: string, file: string, opts: { acceptNewer: boolean; now: Date }): Result {
  const { content, sha256: fileHash } = readAnswersFile(path, file);
  if (!studyHasPackage(db, studyId, content.packageHash)) {
    throw new RpcError('invalid_input', `${file}: answered on package ${content.packageHash.slice(0, 12)}…, which is not a package of study ${studyId}`);
  }
  const reader = readerOf(db, studyId, content.reader);
  const items = new Map(listItems(db, reader.id).map((it) => [it.position, it]));
  const token = new Map(listArms(db, studyId).map((a) => [a.id, a.token]));
  content.answers.forEach((a, i) => {
    const it = items.get(a.position);
    if (!it || it.caseIdx !== a.case || token.get(it.armId) !== a.arm) {
      throw new RpcError('bad_file', `${file}: answers[${i}] (position ${a.position}) does not match reader ${reader.name}'s schedule in study ${studyId}`);
    }
  });
  const here = new Map<string, Existing[]>();
  for (const a of allAnswers(db, reader.id)) {
    const k = `${a.position}\u0000${a.question}`;
    here.set(k, [...(here.get(k) ?? []), { value: a.value, answeredAt: a.answeredAt }]);
  }
  const incoming = new Map<string, FileAnswer[]>();
  for (const a of content.answers) {
    const k = `${a.position}\u0000${a.question}`;
    incoming.set(k, [...(incoming.get(k) ?? []), a]);
  }
  const toInsert: FileAnswer[] = [];
  const conflicts: Result['conflicts'] = [];
  let duplicates = 0;
  for (const [k, answers] of incoming) {
    const existing = here.get(k) ?? [];
    const same = (a: FileAnswer, e: Existing) => e.answeredAt === a.answeredAt && e.value === JSON.stringify(a.value);
    const fresh = answers.filter((a) => !existing.some((e) => same(a, e)));
    duplicates += answers.length - fresh.length;
    if (!fresh.length) continue;
    const latestHere = existing.reduce<string | null>((m, e) => (m === null || e.answeredAt > m ? e.answeredAt : m), null);
    const coversHere = existing.every((e) => answers.some((a) => same(a, e)));
    if (coversHere && (latestHere === null || fresh.every((a) => a.answeredAt > latestHere))) {
      toInsert.push(...fresh);
      continue;
    }
    const last = fresh[fresh.length - 1];
    const hereLast = existing[existing.length - 1];
    const newerInFile = latestHere === null || last.answeredAt > latestHere;
    conflicts.push({
      position: last.position,
      case: last.case < 0 ? null : last.case + 1,
      question: last.question,
      here: hereLast ? { value: JSON.parse(hereLast.value), answeredAt: hereLast.answeredAt } : null,
      file: { value: last.value as never, answeredAt: last.answeredAt },
      resolution: opts.acceptNewer ? (newerInFile ? 'file' : 'here') : 'unresolved',
    });
    if (opts.acceptNewer && newerInFile) toInsert.push(...fresh.filter((a) => latestHere === null || a.answeredAt > latestHere));
  }
  const applied = conflicts.length === 0 || opts.acceptNewer;
  if (applied) {
    withFullSync(db, () => {
      const at = opts.now.toISOString();
      toInsert.sort((a, b) => (a.answeredAt < b.answeredAt ? -1 : a.answeredAt > b.answeredAt ? 1 : 0));
      if (toInsert.length) freezeReaderStudy(db, studyId, toInsert[0].answeredAt);
      for (const a of toInsert) {
        insertMergedAnswer(db, { readerId: reader.id, position: a.position, question: a.question, value: JSON.stringify(a.value), activeMs: a.activeMs, at: a.answeredAt, origin: fileHash });
      }
      for (const it of content.items) if (items.has(it.position)) raiseActiveMs(db, reader.id, it.position, it.activeMs);
      for (const s of content.sittings) markSittingFinished(db, reader.id, s.sitting, s.finishedAt);
      const seen = new Set(rawEvents(db, reader.id).map((e) => `${e.position}|${e.kind}|${e.detail}|${e.at}`));
      for (const e of content.events) {
        const row = { readerId: reader.id, position: e.position, kind: e.kind, detail: JSON.stringify(e.detail ?? {}), at: e.at };
        const key = `${row.position}|${row.kind}|${row.detail}|${row.at}`;
        if (!seen.has(key)) insertRawEvent(db, row);
        seen.add(key);
      }
      insertMerge(db, { studyId, readerId: reader.id, fileSha256: fileHash, merged: toInsert.length, duplicates, conflicts: conflicts.length, at });
    });
  }
  return { file, reader: reader.name, sha256: fileHash, applied, merged: applied ? toInsert.length : 0, duplicates, conflicts };
}
