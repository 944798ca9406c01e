// Training-pair curation (main/training/curation.ts, pair-edit.ts) through the app's RPC on a real data directory
// with the demo imported: phrases and the FINDINGS / IMPRESSION sentences no phrase holds, each drop reason, the
// kept pairs' counts per location and pathology, exclude and its undo, a user's prompt for a phrase and for a
// sentence (which becomes a 'report' phrase) and their revert, the clear errors, and the time for 10,000 sentences.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Output } from '../../../common/contract';
import { createAppContext, type AppContext } from '../../../main/services/app-context';
import { callProcedure } from '../procedures';

const MIMIC = 'MIMIC-CXR (synthetic demo)';
const VINDR = 'VinDr-CXR (synthetic demo)';
type Pairs = Output<'training.pairs.list'>;
type Pair = Pairs['pairs'][number];

let context: AppContext;

function call<T>(name: string, input: unknown): Promise<T> {
  return callProcedure<T>(context, name, input);
}
const list = (dataset = MIMIC) => call<Pairs>('training.pairs.list', { dataset });
const byText = (pairs: Pairs, text: string) => pairs.pairs.find((p) => p.text === text)!;

beforeAll(async () => {
  context = await createAppContext({ dataDir: mkdtempSync(path.join(os.tmpdir(), 'sightline-curation-')), mode: 'browser', importDemo: true });
  for (const job of context.jobs.list()) await context.jobs.wait(job.jobId);
}, 120_000);
afterAll(() => context.close());

describe('training.pairs.list', () => {
  it("lists the dataset's phrases and the findings sentences no phrase holds, with their images and drop reasons", async () => {
    const r = await list();
    const phrases = r.pairs.filter((p) => p.key.startsWith('p'));
    const sentences = r.pairs.filter((p) => p.key.startsWith('s'));
    expect(phrases).toHaveLength(19);
    // the studies with a phrase of MS-CXR's test split are the benchmark's: none of their pairs is trained on
    const testStudies = new Set((context.db.prepare("SELECT DISTINCT study_id AS id FROM phrases WHERE split = 'test'").all() as { id: number }[]).map((t) => t.id));
    expect(testStudies.size).toBeGreaterThan(0);
    for (const p of phrases) {
      expect(p, p.text).toMatchObject({ dropped: testStudies.has(p.studyId) ? 'test split' : null, corrected: false, imageId: expect.any(Number), phraseId: Number(p.key.slice(1)) });
    }
    for (const p of sentences.filter((se) => testStudies.has(se.studyId))) expect(p.dropped, p.text).toBe('test split');
    expect(phrases.every((p) => p.boxes >= 1)).toBe(true);
    // no sentence an MS-CXR phrase holds, and only FINDINGS / IMPRESSION sentences
    const held = context.db.prepare('SELECT sentence_id AS id FROM phrases WHERE sentence_id IS NOT NULL').all() as { id: number }[];
    for (const { id } of held) expect(sentences.map((s) => s.key)).not.toContain(`s${id}`);
    const sections = context.db
      .prepare(`SELECT DISTINCT r.name FROM sentences s JOIN report_sections r ON r.id = s.section_id WHERE s.id IN (${sentences.map((s) => Number(s.key.slice(1))).join(',')})`)
      .all() as { name: string }[];
    expect(sections.map((s) => s.name).sort()).toEqual(['FINDINGS', 'IMPRESSION']);
    expect(byText(r, 'Left lower lung consolidation.')).toMatchObject({ dropped: null, prompt: 'left lower consolidation', locations: ['left lower'], pathology: 'Consolidation', boxes: 0, phraseId: null });
    expect(byText(r, 'There is no pleural effusion.')).toMatchObject({ dropped: 'negated', prompt: null });
    expect(byText(r, 'Frontal view of the chest.')).toMatchObject({ dropped: 'no pathology', pathology: null });
    // counts: kept pairs only, a pair with two locations counts for each
    expect(r.kept).toBe(r.pairs.filter((p) => !p.dropped).length);
    expect(Object.values(r.pathologies).reduce((a, b) => a + b, 0)).toBe(r.kept);
    expect(Object.values(r.dropped).reduce((a, b) => a + b, 0) + r.kept).toBe(r.pairs.length);
    const bilateral = r.pairs.filter((p) => !p.dropped && p.locations.includes('bilateral pleural')).length;
    expect(r.locations['bilateral pleural']).toBe(bilateral);
    expect(r.kept).toBeGreaterThanOrEqual(20);
    expect(r.dropped['test split']).toBeGreaterThanOrEqual(testStudies.size);
  });

  it("names every reason: 'resolved', 'no location', 'no image'; an unknown dataset is not_found", async () => {
    const vindr = await list(VINDR);
    expect(byText(vindr, 'Pleural effusion')).toMatchObject({ dropped: 'no location', pathology: 'Pleural Effusion', locations: [] });
    expect(vindr.dropped['no location']).toBeGreaterThanOrEqual(1);

    const target = byText(await list(), 'Left lower lung consolidation.');
    const { studyId } = target;
    const resolved = Number(
      context.db.prepare("INSERT INTO phrases (study_id, text, category, origin) VALUES (?, 'The left pleural effusion has resolved.', 'Pleural Effusion', 'user')").run(studyId).lastInsertRowid,
    );
    expect((await list()).pairs.find((p) => p.key === `p${resolved}`)).toMatchObject({ dropped: 'resolved' });
    context.db.prepare('DELETE FROM phrases WHERE id = ?').run(resolved);

    // a study whose only image is a lateral view has no frontal image for its sentences
    context.db.prepare("UPDATE images SET view_position = 'LATERAL' WHERE study_id = ?").run(studyId);
    expect(byText(await list(), 'Left lower lung consolidation.')).toMatchObject({ dropped: 'no image', imageId: null });
    context.db.prepare("UPDATE images SET view_position = 'PA' WHERE study_id = ?").run(studyId);

    await expect(list('no such dataset')).rejects.toMatchObject({ code: 'not_found', message: /no dataset named "no such dataset" \(known: .*MIMIC/ });
  });
});

describe('exclude, edit and revert', () => {
  it('excludes pairs and returns them (the undo), counting what changed', async () => {
    const before = await list();
    const keys = before.pairs.filter((p) => !p.dropped).slice(0, 2).map((p) => p.key);
    expect(await call('training.pairs.exclude', { keys, excluded: true })).toEqual({ changed: 2 });
    expect(await call('training.pairs.exclude', { keys, excluded: true })).toEqual({ changed: 0 });
    const after = await list();
    expect(after.kept).toBe(before.kept - 2);
    expect(after.dropped.excluded).toBe(2);
    for (const k of keys) expect(after.pairs.find((p) => p.key === k)!.dropped).toBe('excluded');
    expect(await call('training.pairs.exclude', { keys, excluded: false })).toEqual({ changed: 2 });
    expect((await list()).kept).toBe(before.kept);
    await expect(call('training.pairs.exclude', { keys: ['x1'], excluded: true })).rejects.toMatchObject({ code: 'invalid_input' });
  });

  it("a phrase's pair takes a prompt correction, and the revert brings the standardiser's back", async () => {
    const p = (await list()).pairs.find((x) => x.key === 'p1')!;
    const edited = await call<Pair>('training.pairs.edit', { key: 'p1', locations: ['right lower', 'lingular'], pathology: 'Atelectasis' });
    expect(edited).toMatchObject({ key: 'p1', corrected: true, prompt: 'right lower and lingular atelectasis', locations: ['right lower', 'lingular'], pathology: 'Atelectasis', dropped: null });
    const counts = await list();
    expect(counts.locations.lingular).toBe(1);
    // the benchmarks see the same correction (one store of corrections)
    const prompts = await call<Output<'evaluation.prompts.list'>>('evaluation.prompts.list', { phraseIds: [1] });
    expect(prompts[0]).toMatchObject({ corrected: true, prompt: edited.prompt });
    const reverted = await call<Pair>('training.pairs.revert', { key: 'p1' });
    expect(reverted).toEqual(p);
    await expect(call('training.pairs.revert', { key: 'p1' })).rejects.toMatchObject({ code: 'not_found', message: /no correction to revert/ });
  });

  it('a sentence edited becomes a report phrase (its exclusion follows), and the revert makes it a sentence again', async () => {
    const r = await list();
    const s = byText(r, 'There is no pleural effusion.');
    await call('training.pairs.exclude', { keys: [s.key], excluded: true });
    const edited = await call<Pair>('training.pairs.edit', { key: s.key, locations: ['left pleural'], pathology: 'Pleural Effusion' });
    expect(edited.key).toMatch(/^p\d+$/);
    expect(edited).toMatchObject({ corrected: true, prompt: 'left pleural effusion', text: s.text, studyId: s.studyId, imageId: s.imageId, dropped: 'excluded' });
    const phrase = context.db.prepare('SELECT origin, sentence_id AS sentenceId, category FROM phrases WHERE id = ?').get(edited.phraseId);
    expect(phrase).toEqual({ origin: 'report', sentenceId: Number(s.key.slice(1)), category: 'Pleural Effusion' });
    const after = await list();
    expect(after.pairs.map((p) => p.key)).not.toContain(s.key);
    expect(after.pairs.length).toBe(r.pairs.length);

    const back = await call<Pair>('training.pairs.revert', { key: edited.key });
    expect(back).toEqual({ ...s, dropped: 'excluded' });
    await call('training.pairs.exclude', { keys: [s.key], excluded: false });
    expect((await list()).pairs).toEqual(r.pairs);
    // editing it again reuses the phrase made the first time (one history of corrections)
    const again = await call<Pair>('training.pairs.edit', { key: s.key, locations: ['right pleural'], pathology: 'Pleural Effusion' });
    expect(again.key).toBe(edited.key);
    await call('training.pairs.revert', { key: again.key });
  });

  it('refuses unknown keys and bad prompts clearly', async () => {
    await expect(call('training.pairs.edit', { key: 'p999999', locations: [], pathology: 'Edema' })).rejects.toMatchObject({ code: 'not_found', message: /no phrase 999999/ });
    await expect(call('training.pairs.revert', { key: 's6' })).rejects.toMatchObject({ code: 'not_found', message: /nothing to revert/ });
    await expect(call('training.pairs.edit', { key: 'p1', locations: ['left', 'left'], pathology: 'Edema' })).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(call('training.pairs.edit', { key: 'p1', locations: ['elbow'], pathology: 'Edema' })).rejects.toMatchObject({ code: 'invalid_input' });
  });
});

describe('scale', () => {
  it('lists 10,000 sentences in reasonable time', async () => {
    const reports = context.db
      .prepare(`SELECT r.report_id AS report, r.id AS section FROM report_sections r JOIN studies s ON s.id = r.report_id
                JOIN datasets d ON d.id = s.dataset_id WHERE d.name = ? AND r.name = 'FINDINGS'`)
      .all(MIMIC) as { report: number; section: number }[];
    const texts = ['Small left pleural effusion.', 'No pneumothorax.', 'Right lower lobe opacity, likely atelectasis.', 'Heart size is normal.', 'Mild pulmonary edema.'];
    const insert = context.db.prepare('INSERT INTO sentences (report_id, section_id, idx, text, start, end) VALUES (?, ?, ?, ?, 0, 0)');
    context.db.transaction(() => {
      for (let i = 0; i < 10_000; i++) {
        const { report, section } = reports[i % reports.length];
        // varied texts: the standardiser runs once per distinct text
        insert.run(report, section, 1000 + i, `${texts[i % texts.length]} ${i % 7 ? '' : `Finding ${i}.`}`.trim());
      }
    })();
    const t0 = performance.now();
    const r = await list();
    const ms = performance.now() - t0;
    console.log(`[training] pairs.list over ${r.pairs.length} candidates: ${ms.toFixed(0)} ms`);
    expect(r.pairs.length).toBeGreaterThan(10_000);
    expect(ms).toBeLessThan(5000);
  });
});
