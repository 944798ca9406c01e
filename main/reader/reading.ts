// The reader's side of a study: sign-in, where the reader stands (the first item not completely answered: that is
// where a restart resumes), moving between items, answers committed with synchronous=FULL before the call returns,
// activity (active time, visibility) and the stimuli by opaque token. Everything returned here is blind: it is built
// from the item's case (image, phrase) and the design's questions, never from an arm row.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { RpcError } from '../../common/contract';
import type { AnswerValue, ReaderItem, ReaderState, ReaderStimulus } from '../../common/contract/reader';
import { withFullSync, type Db } from '../db/database';
import {
  addActiveMs,
  datasetBoxes,
  findReader,
  freezeReaderStudy,
  getItem,
  getReaderStudy,
  insertAnswer,
  insertEvent,
  insertSession,
  latestAnswers,
  listItems,
  markSittingFinished,
  readerOfSession,
  sittingFinishedAt,
  stimulusOfToken,
  type ItemRow,
  type ReaderRow,
  type ReaderStudyRow,
} from '../db/reader-repo';
import type { Design } from './design';
import { unlockTime } from './schedule';

export interface ReadingDeps {
  db: Db;
  dataDir: string;
  /** the clock (tests move it to pass a washout) */
  now: () => Date;
}

type Value = z.output<typeof AnswerValue>;
type State = z.output<typeof ReaderState>;
type Question = Design['questions'][number];
const FLAG = 'flag';

const hashToken = (session: string) => createHash('sha256').update(session).digest('hex');

export function signIn(deps: ReadingDeps, studyId: number, name: string): { session: string } {
  const study = getReaderStudy(deps.db, studyId);
  if (!study || study.state === 'closed') throw new RpcError('not_found', `no reader study ${studyId} open for reading`);
  const reader = findReader(deps.db, studyId, name);
  if (!reader) throw new RpcError('unauthorized', `"${name}" is not a reader of this study (ask the coordinator for your name or code)`);
  const session = randomBytes(24).toString('base64url');
  insertSession(deps.db, hashToken(session), reader.id);
  insertEvent(deps.db, { readerId: reader.id, position: null, kind: 'sign-in', at: deps.now().toISOString() });
  return { session };
}

interface Context {
  reader: ReaderRow;
  study: ReaderStudyRow;
  design: Design;
  items: ItemRow[];
  answers: Map<number, Record<string, Value>>;
  complete: boolean[];
  next: number;
}

export function sessionReader(db: Db, session: string): ReaderRow {
  const reader = readerOfSession(db, hashToken(session));
  if (!reader) throw new RpcError('unauthorized', 'this reading session is not known: sign in again');
  return reader;
}

function isComplete(questions: Question[], answers: Record<string, Value> | undefined): boolean {
  return questions.every((q) => !q.required || (answers !== undefined && q.key in answers && answers[q.key] !== ''));
}

function load(db: Db, session: string): Context {
  const reader = sessionReader(db, session);
  const study = getReaderStudy(db, reader.studyId)!;
  const design = study.design as Design;
  const items = listItems(db, reader.id);
  const answers = new Map<number, Record<string, Value>>();
  for (const a of latestAnswers(db, reader.id)) {
    let forItem = answers.get(a.position);
    if (!forItem) answers.set(a.position, (forItem = {}));
    forItem[a.question] = a.value as Value;
  }
  const complete = items.map((it) => isComplete(design.questions, answers.get(it.position)));
  const next = complete.indexOf(false);
  return { reader, study, design, items, answers, complete, next: next < 0 ? items.length : next };
}

/** The sitting the reader is in (that of the next item, or the last one when done). */
const currentSitting = (c: Context) => c.items[Math.min(c.next, c.items.length - 1)].sitting;

/** When the sitting of the next item unlocks, if it is still locked now (washout). */
function lockedUntil(deps: ReadingDeps, c: Context): string | null {
  if (c.next >= c.items.length) return null;
  const sitting = c.items[c.next].sitting;
  if (sitting === 0) return null;
  const unlock = unlockTime(sittingFinishedAt(deps.db, c.reader.id, sitting - 1), c.design.schedule.washoutDays);
  return unlock && unlock.getTime() > deps.now().getTime() ? unlock.toISOString() : null;
}

function itemView(db: Db, c: Context, it: ItemRow): z.output<typeof ReaderItem> {
  const { [FLAG]: flag, ...answers } = c.answers.get(it.position) ?? {};
  return {
    position: it.position,
    token: it.token,
    imageId: it.imageId,
    phrase: it.phrase,
    questions: c.design.questions,
    answers,
    flagged: flag === true,
    complete: c.complete[it.position],
    boxes: c.design.showBoxes ? caseBoxes(db, c, it, 'boxes') : [],
    practice: it.practice === 1,
    feedback: it.practice === 1 && c.complete[it.position] ? feedbackOf(db, c, it) : null,
  };
}

type Box = { x: number; y: number; w: number; h: number };
/** A case's dataset boxes; a reading copy (main/reader/package.ts) has them from the package, by case index. */
function caseBoxes(db: Db, c: Context, it: ItemRow, kind: 'boxes' | 'feedbackBoxes'): Box[] {
  const copy = (c.design as { readingCopy?: Record<typeof kind, Record<string, Box[]>> }).readingCopy;
  if (copy) return copy[kind][String(it.caseIdx)] ?? [];
  return it.phraseId !== null ? datasetBoxes(db, it.phraseId, it.imageId) : [];
}

/** A practice item's feedback (given only once it is answered, so it cannot steer the answer). */
function feedbackOf(db: Db, c: Context, it: ItemRow): NonNullable<z.output<typeof ReaderItem>['feedback']> {
  // practice case -1 is the design's practice[0]
  const spec = (c.design.practice ?? [])[-it.caseIdx - 1];
  return {
    expected: spec?.expected ?? null,
    boxes: spec?.showBoxes !== false ? caseBoxes(db, c, it, 'feedbackBoxes') : [],
    note: spec?.note ?? null,
  };
}

function stateOf(deps: ReadingDeps, c: Context, position: number | null): State {
  const unlocksAt = lockedUntil(deps, c);
  const pos = position ?? c.next;
  const shown = pos < c.items.length && !(pos >= c.next && unlocksAt) ? c.items[pos] : null;
  return {
    study: c.study.name,
    reader: c.reader.name,
    answered: c.complete.filter(Boolean).length,
    total: c.items.length,
    next: c.next,
    sitting: currentSitting(c),
    sittings: c.items[c.items.length - 1].sitting + 1,
    allowChanges: c.design.allowChanges,
    practice: c.items.filter((it) => it.practice === 1).length,
    unlocksAt,
    item: shown ? itemView(deps.db, c, shown) : null,
  };
}

/** Refuses an item the reader may not see now: ahead of the next one, earlier without changes allowed, another sitting. */
function checkReachable(deps: ReadingDeps, c: Context, position: number): void {
  if (position >= c.items.length) throw new RpcError('invalid_input', `position ${position} is past the last item (${c.items.length})`);
  if (position > c.next) throw new RpcError('invalid_input', `position ${position} is ahead of the first unanswered item (${c.next})`);
  if (position < c.next) {
    if (!c.design.allowChanges) throw new RpcError('invalid_input', 'this study does not allow going back to an answered item');
    if (c.items[position].sitting !== currentSitting(c)) throw new RpcError('invalid_input', 'the items of an earlier sitting are closed');
  } else if (lockedUntil(deps, c)) {
    throw new RpcError('busy', `the next sitting opens at ${lockedUntil(deps, c)} (washout)`);
  }
}

export function readerState(deps: ReadingDeps, session: string): State {
  return stateOf(deps, load(deps.db, session), null);
}

export function gotoItem(deps: ReadingDeps, session: string, position: number): State {
  const c = load(deps.db, session);
  checkReachable(deps, c, position);
  insertEvent(deps.db, { readerId: c.reader.id, position, kind: 'goto', at: deps.now().toISOString() });
  return stateOf(deps, c, position);
}

function checkValue(questions: Question[], key: string, value: Value): void {
  if (key === FLAG) {
    if (typeof value !== 'boolean') throw new RpcError('invalid_input', 'the flag is true or false');
    return;
  }
  const q = questions.find((x) => x.key === key);
  if (!q) throw new RpcError('invalid_input', `this study has no question "${key}"`);
  const bad = (what: string) => new RpcError('invalid_input', `question ${key}: ${what}, got ${JSON.stringify(value)}`);
  switch (q.kind) {
    case 'scale':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < q.min || value > q.max) throw bad(`an integer from ${q.min} to ${q.max}`);
      return;
    case 'numeric':
      if (typeof value !== 'number' || !Number.isFinite(value) || value < q.min || value > q.max) throw bad(`a number from ${q.min} to ${q.max}`);
      return;
    case 'accept':
      if (typeof value !== 'boolean') throw bad('true (accept) or false (reject)');
      return;
    case 'choice':
      if (typeof value !== 'string' || !q.options.includes(value)) throw bad(`one of ${q.options.join(', ')}`);
      return;
    case 'text':
      if (typeof value !== 'string') throw bad('text');
  }
}

/** Commits one answer (fsync at commit) with the item's active time; the latest answer of a question wins. */
export function answer(deps: ReadingDeps, input: { session: string; position: number; question: string; value: Value; activeMs: number }): State {
  const before = load(deps.db, input.session);
  if (before.study.state === 'closed') throw new RpcError('invalid_input', 'this study is closed');
  checkReachable(deps, before, input.position);
  checkValue(before.design.questions, input.question, input.value);
  const { reader } = before;
  const at = deps.now().toISOString();
  const changed = before.answers.get(input.position)?.[input.question] !== undefined;
  withFullSync(deps.db, () => {
    freezeReaderStudy(deps.db, reader.studyId, at);
    addActiveMs(deps.db, reader.id, input.position, input.activeMs);
    const activeMs = getItem(deps.db, reader.id, input.position)!.activeMs;
    insertAnswer(deps.db, { readerId: reader.id, position: input.position, question: input.question, value: input.value, activeMs, at });
    insertEvent(deps.db, { readerId: reader.id, position: input.position, kind: changed ? 'change' : 'answer', detail: { question: input.question, value: input.value }, at });
    const after = load(deps.db, input.session);
    const sitting = after.items[input.position].sitting;
    if (after.items.every((it) => it.sitting !== sitting || after.complete[it.position])) markSittingFinished(deps.db, reader.id, sitting, at);
  });
  return stateOf(deps, load(deps.db, input.session), input.position);
}

export function activity(deps: ReadingDeps, input: { session: string; position: number; kind: string; activeMs: number }): void {
  const reader = sessionReader(deps.db, input.session);
  deps.db.transaction(() => {
    addActiveMs(deps.db, reader.id, input.position, input.activeMs);
    insertEvent(deps.db, { readerId: reader.id, position: input.position, kind: input.kind, detail: { activeMs: input.activeMs }, at: deps.now().toISOString() });
  })();
}

export function stimulus(deps: ReadingDeps, session: string, token: string): z.output<typeof ReaderStimulus> {
  const reader = sessionReader(deps.db, session);
  const s = stimulusOfToken(deps.db, reader.id, token);
  if (!s) throw new RpcError('not_found', 'no such item in your schedule');
  const bytes = fs.readFileSync(path.join(deps.dataDir, s.file));
  if (createHash('sha256').update(bytes).digest('hex') !== s.sha256) throw new RpcError('bad_file', `${s.file}: the study's map file was changed after the study was created`);
  const data = new Uint8Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
  return { token, width: s.width, height: s.height, data, threshold: s.threshold, geometry: s.geometry };
}
