// The design view's form (renderer/src/reader/design-form.ts) against the real contract and service: a form becomes
// a design the service accepts (real SQLite fixture), problems are keyed by the field the view shows them next to,
// a stored design comes back into the same form (reader.studyDesign, the "edit = new version" path), and progress
// reads "answered / total" over all readers.
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { procedures, type Output, type ProcedureName } from '../../../common/contract';
import { createReaderService } from '../../../main/reader/service';
import { buildDesign, emptyForm, formOf, progressText, splitReaders, type DesignForm } from '../../../renderer/src/reader/design-form';
import { ARM_NAMES, makeFixture, METHOD, MODEL, VARIANTS, type Fixture } from './fixture';

const open: Fixture[] = [];
afterEach(() => {
  for (const f of open.splice(0)) {
    if (f.db.open) f.db.close();
    fs.rmSync(f.dataDir, { recursive: true, force: true });
  }
});

function setup(cases = 3) {
  const f = makeFixture(cases);
  open.push(f);
  const svc = createReaderService({ db: f.db, dataDir: f.dataDir });
  const call = async <N extends ProcedureName & `reader.${string}`>(name: N, input: unknown): Promise<Output<N>> => {
    const spec = procedures[name];
    const handler = (svc as unknown as Record<string, (i: unknown) => unknown>)[name];
    return spec.output.parse(await handler(spec.input.parse(input))) as Output<N>;
  };
  return { f, call };
}

function formFor(f: Fixture): DesignForm {
  return {
    ...emptyForm(),
    name: 'Pilot from the form',
    seed: 's-7',
    cases: f.cases.map(({ imageId, phrase }) => ({ imageId, phrase })),
    arms: [
      { name: ARM_NAMES[0], kind: 'model', source: `${MODEL}|${VARIANTS[0]}` },
      { name: ARM_NAMES[2], kind: 'imported', source: METHOD },
    ],
    readers: 'R1\nR2, R3\n',
    accept: true,
    custom: [{ key: 'confidence', prompt: 'Confidence', kind: 'numeric', min: 0, max: 10, options: '' }],
    sittingSize: 2,
    washoutDays: 14,
  };
}

describe('design form', () => {
  it('builds a design the service accepts: default paper scale, readers split, schedule', async () => {
    const { f, call } = setup();
    const { design, errors } = buildDesign(formFor(f));
    expect(errors).toEqual({});
    expect(design!.questions.map((q) => [q.key, q.kind])).toEqual([
      ['score', 'scale'],
      ['accept', 'accept'],
      ['confidence', 'numeric'],
      ['comment', 'text'],
    ]);
    expect(design!.questions[0]).toMatchObject({ min: 1, max: 5 });
    expect((design!.questions[0] as { anchors: string[] }).anchors).toHaveLength(5);
    expect(design!.readers).toEqual(['R1', 'R2', 'R3']);
    expect(design!.arms).toEqual([
      { name: ARM_NAMES[0], kind: 'model', model: MODEL, variant: VARIANTS[0] },
      { name: ARM_NAMES[2], kind: 'imported', method: METHOD },
    ]);
    const s = await call('reader.createStudy', { design });
    expect(s).toMatchObject({ cases: 3, arms: 2, readers: 3, seed: 's-7', state: 'ready' });
    const status = await call('reader.studyStatus', { id: s.id });
    expect(progressText(status.progress)).toBe('0 / 18');
  });

  it('offers the dataset phrases on their images (with dataset and category) and the stored heatmap sources', async () => {
    const { f, call } = setup();
    f.db.prepare('UPDATE phrases SET category = ? WHERE id = ?').run('Pneumonia', f.cases[1].phraseId);
    const o = await call('reader.designOptions', {});
    expect(o.phrases).toEqual(f.cases.map((c, i) => ({ phraseId: c.phraseId, imageId: c.imageId, text: c.phrase, boxes: 1, dataset: 'ms-cxr', category: i === 1 ? 'Pneumonia' : null })));
    expect(o.sources.map((x) => [x.kind, x.model, x.variant, x.heatmaps])).toEqual([
      ['imported', METHOD, 'imported', 3],
      ['model', MODEL, VARIANTS[0], 3],
      ['model', MODEL, VARIANTS[1], 3],
    ]);
  });

  it('keys each problem by its field', () => {
    const form: DesignForm = { ...emptyForm(), arms: [{ name: 'A', kind: 'model', source: '' }, { name: 'A', kind: 'box', source: '' }], readers: 'R1\nR1', score: false, comment: false };
    const { design, errors } = buildDesign(form);
    expect(design).toBeNull();
    expect(errors.name).toBe('give the study a name');
    expect(errors.cases).toBe('pick at least one case');
    expect(errors['arms.0']).toBe('pick a heatmap source');
    expect(errors.arms).toBe('two arms are named "A"');
    expect(errors.readers).toBe('"R1" is listed twice');
    expect(errors.questions).toBe('ask at least one question');
    const practice = buildDesign({ ...form, score: true, practice: [{ imageId: 1, phrase: 'p', arm: 'Z', expected: '', note: '' }, { imageId: 1, phrase: 'q', arm: 'A', expected: 7, note: '' }] });
    expect(practice.errors).toMatchObject({ 'practice.0': 'pick one of the arms for its map', 'practice.1': 'the expected score is 1-5' });
    expect(buildDesign(emptyForm()).errors).toMatchObject({ arms: 'add at least one arm', readers: 'add at least one reader' });
    const badKey = buildDesign({ ...formFor(makeFixtureless()), custom: [{ key: 'Bad Key', prompt: 'x', kind: 'choice', min: 0, max: 0, options: 'only one' }] });
    expect(badKey.errors['questions.2']).toMatch(/lower-case letters/);
  });

  it('surfaces the service refusal of missing maps with every pair named', async () => {
    const { f, call } = setup(2);
    const form = formFor(f);
    form.arms.push({ name: 'No such variant', kind: 'model', source: `${MODEL}|never-grounded` });
    const { design } = buildDesign(form);
    await expect(call('reader.createStudy', { design })).rejects.toThrow(/2 case x arm pair\(s\) cannot be shown:[\s\S]*case 1 .*"No such variant": has no heatmap of model/);
  });

  it('brings a stored design back into the form; an edit is a new version', async () => {
    const { f, call } = setup(4);
    const form = formFor(f);
    const [p] = form.cases.splice(3, 1);
    form.practice = [{ ...p, arm: ARM_NAMES[2], expected: 2, note: 'leaks' }];
    const s = await call('reader.createStudy', { design: buildDesign(form).design });
    expect(s.cases).toBe(3);
    const stored = await call('reader.studyDesign', { id: s.id });
    const back = formOf(stored);
    expect({ ...back, readers: splitReaders(back.readers) }).toEqual({ ...form, readers: ['R1', 'R2', 'R3'] });
    back.readers += '\nR4';
    const v2 = await call('reader.createStudy', { design: buildDesign(back).design, revises: s.id });
    expect(v2).toMatchObject({ version: 2, parentId: s.id, readers: 4 });
    await expect(call('reader.studyDesign', { id: 999 })).rejects.toThrow(/no reader study 999/);
  });
});

/** a form whose cases are irrelevant to the check (validation only, no database) */
function makeFixtureless(): Fixture {
  return { cases: [{ imageId: 1, phrase: 'p' }] } as unknown as Fixture;
}
