// Prompts of phrases (issue 10): the standardiser's, and users' corrections that win over it. A correction is a
// phrase's locations (the 27-location vocabulary, in the user's order) and pathology; its prompt is composed as the
// standardiser composes one, so a corrected pair reads like any other ("left lower and lingular atelectasis"). Who
// made it is the annotations user name (the same name user boxes are stored under).
import type { z } from 'zod';
import { RpcError } from '../../common/contract';
import type { PhrasePrompt, PromptCorrectRequest, PromptListRequest } from '../../common/contract/evaluation';
import { defaultUserName, USER_SETTING } from '../annotations/service';
import type { Db } from '../db/database';
import { activeCorrections, insertCorrection, revertCorrection, type CorrectionRow } from '../db/prompts-repo';
import { getSetting } from '../db/settings-repo';
import { prepared } from '../db/statements';
import { standardise } from './standardiser/engine';
import { composePrompt } from './standardiser/locations';
import { RULES } from './standardiser/rules';

type PhrasePromptOut = z.output<typeof PhrasePrompt>;

interface PhraseRow {
  phraseId: number;
  studyId: number;
  text: string;
  category: string | null;
  origin: string;
}

const PHRASES = 'SELECT id AS phraseId, study_id AS studyId, text, category, origin FROM phrases';

/** The name corrections are stored under: the annotations user (a setting), else the OS user in the desktop app. */
export function currentUser(db: Db): string {
  const v = getSetting(db, USER_SETTING);
  return typeof v === 'string' && v.trim() ? v : defaultUserName(process.versions.electron ? 'electron' : 'cli');
}

/** The prompt a correction stands for: its locations joined with " and " before the pathology (none: the pathology). */
export function correctionPrompt(locations: readonly string[], pathology: string): string {
  return locations.length ? composePrompt(locations.join(' and '), pathology) : pathology.toLowerCase();
}

/** The standardiser on a dataset phrase, its category given when it is one of the 8 (VinDr names differ). */
function standardised(p: Pick<PhraseRow, 'text' | 'category'>) {
  let s;
  try {
    s = standardise(p.text, p.category);
  } catch {
    s = standardise(p.text, null); // a category outside the 8 (VinDr's "Pleural effusion", user phrases)
  }
  return { prompt: s.prompt, locations: s.locations, pathology: s.pathology, negated: s.negated };
}

function view(p: PhraseRow, correction: CorrectionRow | null): PhrasePromptOut {
  const s = standardised(p);
  return { ...p, standardised: s, correction, prompt: correction ? correction.prompt : s.prompt, corrected: correction !== null };
}

function phraseOf(db: Db, id: number): PhraseRow {
  const p = prepared(db, `${PHRASES} WHERE id = ?`).get(id) as PhraseRow | undefined;
  if (!p) throw new RpcError('not_found', `no phrase ${id}`);
  return p;
}

export function correctPrompt(db: Db, request: z.output<typeof PromptCorrectRequest>): PhrasePromptOut {
  const p = phraseOf(db, request.phraseId);
  const overridden = standardised(p).prompt;
  const c = insertCorrection(db, {
    phraseId: p.phraseId,
    prompt: correctionPrompt(request.locations, request.pathology),
    locations: request.locations,
    pathology: request.pathology,
    user: currentUser(db),
    rulesVersion: RULES.version,
    overridden,
  });
  return view(p, c);
}

export function revertPrompt(db: Db, phraseId: number): PhrasePromptOut {
  const p = phraseOf(db, phraseId);
  if (!revertCorrection(db, phraseId, currentUser(db))) throw new RpcError('not_found', `phrase ${phraseId} ("${p.text}") has no correction to revert`);
  return view(p, activeCorrections(db, [phraseId]).get(phraseId) ?? null);
}

export function listPrompts(db: Db, request: z.output<typeof PromptListRequest>): PhrasePromptOut[] {
  const active = activeCorrections(db, request.phraseIds);
  let rows: PhraseRow[];
  if (request.phraseIds) {
    rows = request.phraseIds.map((id) => prepared(db, `${PHRASES} WHERE id = ?`).get(id) as PhraseRow | undefined).filter((r): r is PhraseRow => r !== undefined);
    if (request.studyId !== undefined) rows = rows.filter((r) => r.studyId === request.studyId);
  } else if (request.studyId !== undefined) rows = prepared(db, `${PHRASES} WHERE study_id = ? ORDER BY id`).all(request.studyId) as PhraseRow[];
  else rows = [...active.keys()].map((id) => phraseOf(db, id));
  if (request.correctedOnly) rows = rows.filter((r) => active.has(r.phraseId));
  return rows.map((r) => view(r, active.get(r.phraseId) ?? null));
}
