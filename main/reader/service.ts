// `reader.*`: reader studies (issue 11). The coordinator's procedures design, list, follow and export studies; the
// reader's procedures (openStudies, signIn, state, goto, answer, activity, stimulus) are blind: they take a session
// from signIn and answer from reading.ts, which never reads an arm's name or a heatmap's provenance.
import type { z } from 'zod';
import type { readerProcedures, ReaderStudySummary } from '../../common/contract/reader';
import type { Db } from '../db/database';
import { heatmapSources, listReaderStudies, phrasesWithBoxes, type ReaderStudyRow } from '../db/reader-repo';
import type { JobRunner } from '../jobs/job-runner';
import type { HandlersOf } from '../rpc/handlers';
import { newSlot, removeSlot, slotFile, writeFileAtomic } from '../files/store';
import { RpcError } from '../../common/contract';
import { analyseStudy } from './analysis/study';
import { createCredential, listCredentials, revokeCredential } from './credentials';
import { createStudy, studyDesign } from './design';
import { exportStudy, progressOf, studyOf } from './export';
import { answersFile, mergeAnswers } from './merge';
import { prepareAnalysis } from './metrics-job';
import { startImportJob, startPackageJob } from './package-job';
import { createReaderPixels, type DecodeImage } from './pixels';
import { activity, answer, gotoItem, readerState, signIn, stimulus, type ReadingDeps } from './reading';

export interface ReaderServiceDeps {
  db: Db;
  dataDir: string;
  /** the clock (default the system's); tests move it to pass a washout */
  now?: () => Date;
  /** runs `reader-package`, `reader-package-import` (package-job.ts) and `reader-metrics` (metrics-job.ts) jobs,
   * registered by the app context */
  jobs?: JobRunner;
  /** missing map pixels reader.analysis still computes inline (analysis/study.ts inlinePixelBudget by default) */
  analysisInlinePixels?: number;
  /** decodes an item's image for reader.pixels: the app's decode pool (default: this thread) */
  decode?: DecodeImage;
}

function summary(s: ReaderStudyRow): z.output<typeof ReaderStudySummary> {
  const { id, name, version, parentId, state, cases, arms, readers, seed, schedulerVersion, createdAt } = s;
  return { id, name, version, parentId, state, cases, arms, readers, seed, schedulerVersion, createdAt, readingCopy: s.readingCopy === 1 };
}

/** A reading copy has opaque arms and no coordinator's data: its answers are analysed where they are merged. */
function notACopy(s: ReaderStudyRow, what: string): ReaderStudyRow {
  if (s.readingCopy === 1) throw new RpcError('invalid_input', `study ${s.id} is a reading copy (imported from a package): ${what} on the coordinator's workstation after merging its answers`);
  return s;
}

export function createReaderService(deps: ReaderServiceDeps): HandlersOf<typeof readerProcedures> {
  const { db, dataDir } = deps;
  const reading: ReadingDeps = { db, dataDir, now: deps.now ?? (() => new Date()) };
  const pixels = createReaderPixels(reading, deps.decode);
  return {
    'reader.createStudy': ({ design, revises }) => summary(studyOf(db, createStudy(db, dataDir, design, revises))),
    'reader.listStudies': () => listReaderStudies(db).map(summary),
    'reader.studyStatus': ({ id }) => ({ ...summary(studyOf(db, id)), progress: progressOf(db, id, reading.now()) }),
    'reader.exportStudy': ({ id, format, question }) => (notACopy(studyOf(db, id), 'export it'), exportStudy(db, id, format, question)),
    'reader.analysis': ({ id, question, metrics }) => (notACopy(studyOf(db, id), 'analyse it'), analyseStudy(db, dataDir, id, { question, metrics, inlinePixels: deps.analysisInlinePixels })),
    'reader.analysisPrepare': ({ id }) => {
      notACopy(studyOf(db, id), 'analyse it');
      if (!deps.jobs) throw new RpcError('internal', 'this reader service has no job runner for the metrics');
      return prepareAnalysis(db, dataDir, deps.jobs, id);
    },
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
    'reader.pixels': ({ session, token }) => pixels(session, token),
    'reader.packageExport': ({ id, out }) => {
      if (!deps.jobs) throw new RpcError('internal', 'this reader service has no job runner for packages');
      return startPackageJob(db, deps.jobs, dataDir, id, out);
    },
    'reader.packageImport': ({ file, upload }) => {
      if (!deps.jobs) throw new RpcError('internal', 'this reader service has no job runner for packages');
      return startImportJob(deps.jobs, upload ? slotFile(dataDir, 'uploads', upload).file : file!);
    },
    'reader.answersExport': ({ id, reader, out }) => {
      const f = answersFile(db, id, reader, reading.now());
      // without `out`: a file of the exports area, for download (main/files/store.ts)
      const slot = out === undefined ? newSlot(dataDir, 'exports', `${studyOf(db, id).name} ${reader} answers.json`) : null;
      const file = slot?.file ?? out!;
      try {
        writeFileAtomic(file, f.text);
      } catch (error) {
        if (slot) removeSlot(dataDir, 'exports', slot.id);
        throw new RpcError('invalid_input', `${file}: could not be written (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
      }
      return { file, sha256: f.sha256, answers: f.answers, download: slot && { id: slot.id, name: slot.name } };
    },
    'reader.answersMerge': ({ id, files, uploads, acceptNewer }) => {
      const stored = uploads.map((u) => slotFile(dataDir, 'uploads', u)).map((s) => ({ path: s.file, name: s.name }));
      return mergeAnswers(db, id, [...files, ...stored], { acceptNewer, now: reading.now() });
    },
    'reader.credentialCreate': ({ id, reader }) => createCredential(db, id, reader, reading.now()),
    'reader.credentialRevoke': ({ id, reader }) => ({ revoked: revokeCredential(db, id, reader, reading.now()) }),
    'reader.credentials': ({ id }) => listCredentials(db, id),
  };
}
