// Prompt corrections through the app's services on a real data directory with the demo imported: the standardiser
// over RPC, a correction stored with who / when / the rules version it overrides, winning in MS-CXR-loc (prompt,
// location, the pair marked; no location drops the pair), a run keeping the corrections it started with, and undo.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Output } from '../../../../common/contract';
import { callProcedure } from '../../procedures';
import { LOCATIONS, PATHOLOGIES } from '../../../../common/contract/evaluation';
import { correctionsById } from '../../../../main/db/prompts-repo';
import { loadBenchmark } from '../../../../main/evaluation/benchmarks/definitions';
import { locationRegions } from '../../../../main/evaluation/lut/regions';
import { standardise } from '../../../../main/evaluation/standardiser/engine';
import { PATHOLOGIES as ENGINE_PATHOLOGIES, RULES } from '../../../../main/evaluation/standardiser/rules';
import { createAppContext, type AppContext } from '../../../../main/services/app-context';

let context: AppContext;

const call = <T>(name: string, input: unknown): Promise<T> => callProcedure<T>(context, name, input);
type PhrasePrompt = Output<'evaluation.prompts.list'>[number];
type RunRecord = Output<'evaluation.runs.get'>;

async function lutRun(extra: Record<string, unknown> = {}): Promise<RunRecord> {
  const { runId, jobId } = await call<{ runId: number; jobId: string }>('evaluation.runs.start', { benchmark: 'MS-CXR-loc', reference: 'lut', bootstrap: 50, ...extra });
  const done = await context.jobs.wait(jobId);
  expect(done.progress.state, done.error ?? '').toBe('done');
  return call<RunRecord>('evaluation.runs.get', { id: runId });
}

beforeAll(async () => {
  context = await createAppContext({ dataDir: mkdtempSync(path.join(os.tmpdir(), 'sightline-prompts-')), mode: 'browser', importDemo: true });
  for (const job of context.jobs.list()) await context.jobs.wait(job.jobId);
}, 120_000);
afterAll(() => context.close());

describe('vocabulary and the standardiser over RPC', () => {
  it('the contract has the 8 pathologies of the rules and 27 locations the LUT maps', () => {
    expect([...PATHOLOGIES]).toEqual(ENGINE_PATHOLOGIES);
    expect(LOCATIONS).toHaveLength(27);
    expect(new Set(LOCATIONS).size).toBe(27);
    for (const l of LOCATIONS) expect(locationRegions(l).length, l).toBeGreaterThan(0);
    expect(LOCATIONS).toContain('bibasilar');
    expect(LOCATIONS).not.toContain('bilateral base');
  });

  it('evaluation.standardize returns what the engine does, category given or inferred', async () => {
    const text = 'No pneumothorax, but a small left effusion.';
    expect(await call('evaluation.standardize', { text })).toEqual(standardise(text));
    const given = await call<{ prompt: string; pathology: string }>('evaluation.standardize', { text: 'Bibasilar opacities', category: 'Atelectasis' });
    expect(given).toMatchObject({ prompt: 'bibasilar atelectasis', pathology: 'Atelectasis' });
    await expect(call('evaluation.standardize', { text: 'x', category: 'Flu' })).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(call('evaluation.standardize', { text: '' })).rejects.toMatchObject({ code: 'invalid_input' });
  });
});

describe('prompt corrections', () => {
  it('a correction wins in MS-CXR-loc, is marked, stored with who and the rules it overrides, and undoes', async () => {
    await call('boxes.setUser', { name: 'dr-reader' });
    const before = loadBenchmark(context.db, 'MS-CXR-loc', null);
    const target = before.pairs[0];
    const phrases = await call<PhrasePrompt[]>('evaluation.prompts.list', { studyId: target.studyId });
    const entry = phrases.find((p) => p.phraseId === target.phraseId)!;
    expect(entry).toMatchObject({ corrected: false, correction: null, prompt: target.prompt });

    // a different location than the standardiser's
    const other = LOCATIONS.find((l) => l !== target.location && l.startsWith('right'))!;
    const first = await call<PhrasePrompt>('evaluation.prompts.correct', { phraseId: target.phraseId, locations: [other, 'lingular'], pathology: target.category });
    expect(first).toMatchObject({ corrected: true, prompt: `${other} and lingular ${target.category.toLowerCase()}` });
    expect(first.correction).toMatchObject({ user: 'dr-reader', rulesVersion: RULES.version, overridden: target.prompt, revertedAt: null });
    expect(first.correction!.createdAt).toMatch(/^\d{4}-\d\d-\d\dT/);

    const after = loadBenchmark(context.db, 'MS-CXR-loc', null);
    const pair = after.pairs.find((p) => p.key === target.key)!;
    expect(pair).toMatchObject({ location: `${other} and lingular`, prompt: first.prompt, correctionId: first.correction!.id });
    expect(after.pairs.filter((p) => p.correctionId !== null)).toHaveLength(before.pairs.filter((p) => p.phraseId === target.phraseId).length);

    // a run uses it, marks the pair and stores which correction it used
    const run = await lutRun();
    const scored = run.pairs.find((p) => p.key === target.key)!;
    expect(scored).toMatchObject({ prompt: first.prompt, corrected: true });
    expect(run.pairs.filter((p) => p.corrected).every((p) => p.phraseId === target.phraseId)).toBe(true);
    expect(run.settings.corrections).toEqual({ [String(target.phraseId)]: first.correction!.id });

    // a second correction wins; the run's own set still gives the first (a resume scores what the run started with)
    const second = await call<PhrasePrompt>('evaluation.prompts.correct', { phraseId: target.phraseId, locations: [], pathology: target.category });
    expect(second.prompt).toBe(target.category.toLowerCase());
    const fixed = correctionsById(context.db, Object.values(run.settings.corrections as Record<string, number>));
    expect(loadBenchmark(context.db, 'MS-CXR-loc', null, false, fixed).pairs.find((p) => p.key === target.key)!.prompt).toBe(first.prompt);

    // no location: MS-CXR-loc drops the pair and counts it
    const list = await call<{ key: string; pairs: number; dropped: number }[]>('evaluation.benchmarks.list', {});
    const ms = list.find((b) => b.key === before.key)!;
    const removed = before.pairs.filter((p) => p.phraseId === target.phraseId).length;
    expect(ms).toMatchObject({ pairs: before.pairs.length - removed, dropped: before.dropped + removed });
    expect((await call<PhrasePrompt[]>('evaluation.prompts.list', {})).map((p) => p.phraseId)).toEqual([target.phraseId]);

    // undo: the first correction again, then the standardiser's; nothing more to undo
    expect(await call<PhrasePrompt>('evaluation.prompts.revert', { phraseId: target.phraseId })).toMatchObject({ prompt: first.prompt, correction: { id: first.correction!.id } });
    expect(await call<PhrasePrompt>('evaluation.prompts.revert', { phraseId: target.phraseId })).toMatchObject({ prompt: target.prompt, corrected: false, correction: null });
    await expect(call('evaluation.prompts.revert', { phraseId: target.phraseId })).rejects.toMatchObject({ code: 'not_found' });
    expect(loadBenchmark(context.db, 'MS-CXR-loc', null).pairs).toEqual(before.pairs);
    // the history is kept, each reverted row stamped with who reverted it
    const rows = context.db.prepare('SELECT reverted_by AS by FROM prompt_corrections WHERE phrase_id = ? ORDER BY id').all(target.phraseId) as { by: string }[];
    expect(rows).toEqual([{ by: 'dr-reader' }, { by: 'dr-reader' }]);
  });

  it('refuses a location outside the vocabulary, a repeated one, an unknown pathology or phrase', async () => {
    const phraseId = loadBenchmark(context.db, 'MS-CXR-loc', null).pairs[0].phraseId;
    for (const bad of [
      { phraseId, locations: ['left lobe'], pathology: 'Atelectasis' },
      { phraseId, locations: ['lingular', 'lingular'], pathology: 'Atelectasis' },
      { phraseId, locations: ['lingular'], pathology: 'Flu' },
    ]) {
      await expect(call('evaluation.prompts.correct', bad)).rejects.toMatchObject({ code: 'invalid_input' });
    }
    await expect(call('evaluation.prompts.correct', { phraseId: 999_999, locations: [], pathology: 'Edema' })).rejects.toMatchObject({ code: 'not_found' });
    expect(context.db.prepare('SELECT count(*) AS n FROM prompt_corrections WHERE phrase_id = ? AND reverted_at IS NULL').get(phraseId)).toEqual({ n: 0 });
  });

  it('a VinDr-CXR pair takes the correction over its LUT prompt', async () => {
    const lutless = loadBenchmark(context.db, 'VinDr-CXR', null);
    const target = lutless.pairs[0];
    const fixed = await call<PhrasePrompt>('evaluation.prompts.correct', { phraseId: target.phraseId, locations: ['left costophrenic'], pathology: 'Pleural Effusion' });
    const pairs = loadBenchmark(context.db, 'VinDr-CXR', null).pairs.filter((p) => p.phraseId === target.phraseId);
    expect(pairs.length).toBeGreaterThan(0);
    for (const p of pairs) expect(p).toMatchObject({ prompt: 'left costophrenic pleural effusion', location: 'left costophrenic', correctionId: fixed.correction!.id });
    await call('evaluation.prompts.revert', { phraseId: target.phraseId });
  });
});
