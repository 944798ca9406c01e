// Practice cases (issue 11): read first by every reader, in the design's order; feedback (expected score, the case's
// dataset boxes, a note) only once answered; answers stored but left out of progress, exports and the analysis; no arm
// name in anything the reader receives; bad practice specs refused naming the entry. Real SQLite in a temp dir.
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { procedures, type Output, type ProcedureName } from '../../../common/contract';
import { createReaderService } from '../../../main/reader/service';
import { ARM_NAMES, designOf, makeFixture, METHOD, MODEL, VARIANTS, type Fixture } from './fixture';

const open: Fixture[] = [];
afterEach(() => {
  for (const f of open.splice(0)) {
    if (f.db.open) f.db.close();
    fs.rmSync(f.dataDir, { recursive: true, force: true });
  }
});

function setup() {
  const f = makeFixture(4);
  open.push(f);
  const svc = createReaderService({ db: f.db, dataDir: f.dataDir });
  const call = async <N extends ProcedureName & `reader.${string}`>(name: N, input: unknown): Promise<Output<N>> => {
    const spec = procedures[name];
    const handler = (svc as unknown as Record<string, (i: unknown) => unknown>)[name];
    return spec.output.parse(await handler(spec.input.parse(input))) as Output<N>;
  };
  // cases 1-3 scored with two arms; the fourth image is the practice case
  const [a, b, c, p] = f.cases;
  const design = {
    ...designOf(f),
    cases: [a, b, c].map(({ imageId, phrase }) => ({ imageId, phrase })),
    arms: designOf(f).arms.slice(0, 2),
    readers: ['R1', 'R2'],
    practice: [{ imageId: p.imageId, phrase: p.phrase, arm: ARM_NAMES[1], expected: 4, note: 'the box is the finding' }],
  };
  return { f, call, design };
}

describe('practice cases', () => {
  it('come first for every reader, with feedback only once answered, and are never scored', async () => {
    const { f, call, design } = setup();
    const s = await call('reader.createStudy', { design });
    expect(s).toMatchObject({ cases: 3, arms: 2 });
    const received: unknown[] = [];
    for (const reader of ['R1', 'R2']) {
      const { session } = await call('reader.signIn', { studyId: s.id, reader });
      const st = await call('reader.state', { session });
      received.push(st);
      expect(st).toMatchObject({ total: 7, practice: 1, next: 0 });
      expect(st.item).toMatchObject({ position: 0, practice: true, feedback: null, imageId: f.cases[3].imageId, phrase: f.cases[3].phrase });
      const after = await call('reader.answer', { session, position: 0, question: 'score', value: 2, activeMs: 10 });
      received.push(after);
      expect(after.item!.feedback).toEqual({ expected: 4, boxes: [{ x: 10, y: 5, w: 20, h: 10 }], note: 'the box is the finding' });
      expect(after.next).toBe(1);
      const next = await call('reader.goto', { session, position: 1 });
      expect(next.item).toMatchObject({ practice: false, feedback: null });
      expect(f.cases.slice(0, 3).map((x) => x.imageId)).toContain(next.item!.imageId);
      if (reader === 'R1') for (let pos = 1; pos < 7; pos++) await call('reader.answer', { session, position: pos, question: 'score', value: 1 + (pos % 5), activeMs: 5 });
    }
    // blind: the feedback names no arm, model, variant or method
    const text = JSON.stringify(received);
    for (const secret of [...ARM_NAMES, MODEL, ...VARIANTS, METHOD]) expect(text).not.toContain(secret);

    const status = await call('reader.studyStatus', { id: s.id });
    expect(status.progress.map((p) => [p.reader, p.answered, p.total])).toEqual([
      ['R1', 6, 6],
      ['R2', 0, 6],
    ]);
    // stored, flagged practice by their case, but not exported
    expect((f.db.prepare('SELECT count(*) AS n FROM reader_answers').get() as { n: number }).n).toBe(8);
    const long = await call('reader.exportStudy', { id: s.id, format: 'long' });
    expect(long.rows).toBe(6);
    expect(long.text).not.toContain(f.cases[3].phrase);
    for (const format of ['imrmc', 'mrmcaov'] as const) expect((await call('reader.exportStudy', { id: s.id, format })).rows).toBe(6);
    const a = await call('reader.analysis', { id: s.id });
    expect(a.cases).toBe(3);
    expect(a.points).toHaveLength(6);
    expect(a.points.every((pt) => pt.case >= 1 && pt.case <= 3)).toBe(true);
    // the design comes back with its practice cases (edit = new version keeps them)
    expect((await call('reader.studyDesign', { id: s.id })).practice).toEqual([{ ...design.practice[0], showBoxes: true }]);
  });

  it('a practice case without an expected score or boxes gives what it has', async () => {
    const { f, call, design } = setup();
    const s = await call('reader.createStudy', { design: { ...design, practice: [{ ...design.practice[0], expected: undefined, note: undefined, showBoxes: false }] } });
    const { session } = await call('reader.signIn', { studyId: s.id, reader: 'R1' });
    const after = await call('reader.answer', { session, position: 0, question: 'score', value: 3, activeMs: 1 });
    expect(after.item!.feedback).toEqual({ expected: null, boxes: [], note: null });
    expect(f.cases).toHaveLength(4);
  });

  it('refuses a practice case with an unknown arm, an expected score off the scale, a scored case or no map', async () => {
    const { f, call, design } = setup();
    const p = design.practice[0];
    await expect(call('reader.createStudy', { design: { ...design, practice: [p, { ...p, arm: 'Nope' }] } })).rejects.toThrow(/practice\[1\]: no arm "Nope" in the design/);
    await expect(call('reader.createStudy', { design: { ...design, practice: [{ ...p, expected: 9 }] } })).rejects.toThrow(/practice\[0\]: expected 9 is outside the scale score \(1-5\)/);
    await expect(call('reader.createStudy', { design: { ...design, practice: [{ ...p, imageId: f.cases[0].imageId, phrase: f.cases[0].phrase }] } })).rejects.toThrow(
      /practice\[0\]: image \d+ \+ "finding number 0, with a comma" is also a scored case/,
    );
    await expect(call('reader.createStudy', { design: { ...design, practice: [{ ...p, imageId: 999 }] } })).rejects.toThrow(/practice\[0\]: no image 999/);
    f.db.prepare('DELETE FROM heatmaps WHERE image_id = ? AND variant = ?').run(p.imageId, VARIANTS[1]);
    await expect(call('reader.createStudy', { design })).rejects.toThrow(/practice case 1 \(image \d+, "finding number 3, with a comma"\), arm "Arm Beta Tuned": has no heatmap/);
  });
});
