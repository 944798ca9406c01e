// A user's prompt for a training pair, and its undo. A phrase's pair takes a prompt correction as the benchmarks do
// (main/evaluation/prompts.ts: the same rows, so the benchmark and the training data agree). A report sentence has
// no phrase to correct: its first edit makes one (origin 'report', the sentence's text, study and id, the edited
// pathology as its category), then corrects it; the pair's key becomes p<phrase id> and an exclusion follows it.
// The revert reverts the correction in force; a 'report' phrase left without one stands for its sentence again.
import type { z } from 'zod';
import { RpcError } from '../../common/contract';
import type { PairEditRequest } from '../../common/contract/training';
import type { Db } from '../db/database';
import { activeCorrections } from '../db/prompts-repo';
import { insertPhrase } from '../db/phrases-repo';
import { prepared } from '../db/statements';
import { renameExcluded, setExcluded } from '../db/training-repo';
import { correctPrompt, currentUser, revertPrompt } from '../evaluation/prompts';
import { curatePairs, publicPair, REPORT_ORIGIN, type Pair } from './curation';

function datasetOfStudy(db: Db, studyId: number): string {
  return (prepared(db, 'SELECT d.name FROM studies s JOIN datasets d ON d.id = s.dataset_id WHERE s.id = ?').get(studyId) as { name: string }).name;
}

function parseKey(key: string): { kind: 'p' | 's'; id: number } {
  return { kind: key[0] as 'p' | 's', id: Number(key.slice(1)) };
}

/** The pair of that key as curation makes it; not_found when the key is no candidate (any more). */
export function pairByKey(db: Db, key: string): Pair {
  const { kind, id } = parseKey(key);
  const row = (kind === 'p'
    ? prepared(db, 'SELECT study_id AS studyId FROM phrases WHERE id = ?').get(id)
    : prepared(db, 'SELECT report_id AS studyId FROM sentences WHERE id = ?').get(id)) as { studyId: number } | undefined;
  if (!row) throw new RpcError('not_found', `no ${kind === 'p' ? 'phrase' : 'report sentence'} ${id} (pair ${key})`);
  const [pair] = curatePairs(db, datasetOfStudy(db, row.studyId), new Set([key]));
  if (!pair) {
    const why = kind === 's' ? 'a phrase holds this sentence, or it is not in a FINDINGS or IMPRESSION section' : 'this phrase stands for its sentence again';
    throw new RpcError('not_found', `pair ${key} is not a training candidate (${why}); list the pairs again`);
  }
  return publicPair(pair);
}

export function excludePairs(db: Db, keys: readonly string[], excluded: boolean): { changed: number } {
  return { changed: setExcluded(db, keys, excluded, currentUser(db)) };
}

export function editPair(db: Db, request: z.output<typeof PairEditRequest>): Pair {
  const { kind, id } = parseKey(request.key);
  const { locations, pathology } = request;
  if (kind === 'p') {
    pairByKey(db, request.key); // not_found for an unknown phrase, before a correction is stored
    correctPrompt(db, { phraseId: id, locations, pathology });
    return pairByKey(db, request.key);
  }
  const sentence = pairByKey(db, request.key);
  const phraseId = db.transaction(() => {
    // a phrase made by an earlier edit (reverted since) is reused: its correction history stays in one place
    const earlier = prepared(db, 'SELECT id FROM phrases WHERE sentence_id = ? AND origin = ? ORDER BY id LIMIT 1').get(id, REPORT_ORIGIN) as { id: number } | undefined;
    const pid = earlier?.id ?? insertPhrase(db, { studyId: sentence.studyId, sentenceId: id, text: sentence.text, category: pathology, origin: REPORT_ORIGIN });
    correctPrompt(db, { phraseId: pid, locations, pathology });
    renameExcluded(db, request.key, `p${pid}`);
    return pid;
  })();
  return pairByKey(db, `p${phraseId}`);
}

export function revertPair(db: Db, key: string): Pair {
  const { kind, id } = parseKey(key);
  if (kind === 's') throw new RpcError('not_found', `pair ${key} is a report sentence without an edit: nothing to revert`);
  return db.transaction(() => {
    revertPrompt(db, id);
    const p = prepared(db, 'SELECT origin, sentence_id AS sentenceId FROM phrases WHERE id = ?').get(id) as { origin: string; sentenceId: number | null };
    const boxed = prepared(db, "SELECT 1 FROM boxes WHERE phrase_id = ? AND source = 'dataset' LIMIT 1").get(id) !== undefined;
    if (p.origin === REPORT_ORIGIN && p.sentenceId !== null && !boxed && !activeCorrections(db, [id]).has(id)) {
      renameExcluded(db, key, `s${p.sentenceId}`);
      return pairByKey(db, `s${p.sentenceId}`);
    }
    return pairByKey(db, key);
  })();
}
