// `reader.*`: reader studies (issue 11). The coordinator's procedures design, list, follow and export studies; the
// reader's procedures (openStudies, signIn, state, goto, answer, activity, stimulus) are blind: they take a session
// from signIn and answer from reading.ts, which never reads an arm's name or a heatmap's provenance.
import type { z } from 'zod';
import type { readerProcedures, ReaderStudySummary } from '../../common/contract/reader';
import type { Db } from '../db/database';
import { heatmapSources, listReaderStudies, phrasesWithBoxes, type ReaderStudyRow } from '../db/reader-repo';
import type { HandlersOf } from '../rpc/handlers';
import { analyseStudy } from './analysis/study';
import { createStudy, studyDesign } from './design';
import { exportStudy, progressOf, studyOf } from './export';
import { activity, answer, gotoItem, readerState, signIn, stimulus, type ReadingDeps } from './reading';

export interface ReaderServiceDeps {
  db: Db;
  dataDir: string;
  /** the clock (default the system's); tests move it to pass a washout */
  now?: () => Date;
}

function summary(s: ReaderStudyRow): z.output<typeof ReaderStudySummary> {
  const { id, name, version, parentId, state, cases, arms, readers, seed, schedulerVersion, createdAt } = s;
  return { id, name, version, parentId, state, cases, arms, readers, seed, schedulerVersion, createdAt };
}

export function createReaderService(deps: ReaderServiceDeps): HandlersOf<typeof readerProcedures> {
  const { db, dataDir } = deps;
  const reading: ReadingDeps = { db, dataDir, now: deps.now ?? (() => new Date()) };
  return {
    'reader.createStudy': ({ design, revises }) => summary(studyOf(db, createStudy(db, dataDir, design, revises))),
    'reader.listStudies': () => listReaderStudies(db).map(summary),
    'reader.studyStatus': ({ id }) => ({ ...summary(studyOf(db, id)), progress: progressOf(db, id, reading.now()) }),
    'reader.exportStudy': ({ id, format, question }) => exportStudy(db, id, format, question),
    'reader.analysis': ({ id, question, metrics }) => analyseStudy(db, dataDir, id, { question, metrics }),
    'reader.studyDesign': ({ id }) => studyDesign(db, id),
    'reader.designOptions': ({ limit }) => ({ phrases: phrasesWithBoxes(db, limit), sources: heatmapSources(db) }),
    'reader.openStudies': () =>
      listReaderStudies(db)
        .filter((s) => s.state !== 'closed')
        .map(({ id, name, version }) => ({ id, name, version })),
    'reader.signIn': ({ studyId, reader }) => signIn(reading, studyId, reader),
    'reader.state': ({ session }) => readerState(reading, session),
    'reader.goto': ({ session, position }) => gotoItem(reading, session, position),
    'reader.answer': (input) => answer(reading, input),
    'reader.activity': (input) => {
      activity(reading, input);
      return { ok: true as const };
    },
    'reader.stimulus': ({ session, token }) => stimulus(reading, session, token),
  };
}
