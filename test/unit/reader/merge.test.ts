// Merging answers files back into the coordinator's study: exact duplicates skipped, a change made later on the
// reading copy appended in order, a conflict (the reader also answered here) reported with both sides and the file
// not applied at all, --accept-newer letting the newer answer win; answers stay append-only. A changed answers file
// or one from another study is refused.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { designOf } from './fixture';
import { readAll, twoMachines, type TwoMachines } from './remote-fixture';

const made: TwoMachines[] = [];
afterEach(() => made.splice(0).forEach((m) => m.cleanup()));

async function readOnCopy() {
  const m = twoMachines(2);
  made.push(m);
  const study = await m.coordinator.call('reader.createStudy', { design: designOf(m.f, { readers: ['R1'] }) });
  const pkg = path.join(m.tmp, 'p.slpkg');
  await m.coordinator.packageStudy(study.id, pkg);
  const copy = await m.reading.importPackage(pkg);
  await readAll(m.reading, copy.studyId, 'R1', () => 3);
  let n = 0;
  const exportAnswers = async () => {
    const out = path.join(m.tmp, `r1-${++n}.json`);
    await m.reading.call('reader.answersExport', { id: copy.studyId, reader: 'R1', out });
    return out;
  };
  const latest = () => m.coordinator.db.prepare("SELECT position, value, origin FROM reader_answers WHERE question = 'score' ORDER BY id").all() as { position: number; value: string; origin: string }[];
  return { m, study, copy, exportAnswers, latest };
}

describe('answers merge', () => {
  it('skips exact duplicates and appends a later change in order', async () => {
    const { m, study, copy, exportAnswers, latest } = await readOnCopy();
    const first = await exportAnswers();
    expect((await m.coordinator.call('reader.answersMerge', { id: study.id, files: [first] }))[0]).toMatchObject({ applied: true, merged: 6, duplicates: 0 });
    expect((await m.coordinator.call('reader.answersMerge', { id: study.id, files: [first] }))[0]).toMatchObject({ applied: true, merged: 0, duplicates: 6, conflicts: [] });
    // the reader goes back on the reading copy and changes position 5: an append in order
    const { session } = await m.reading.call('reader.signIn', { studyId: copy.studyId, reader: 'R1' });
    m.reading.clock.t += 60_000;
    await m.reading.call('reader.goto', { session, position: 5 });
    await m.reading.call('reader.answer', { session, position: 5, question: 'score', value: 5, activeMs: 0 });
    const second = await exportAnswers();
    const [r] = await m.coordinator.call('reader.answersMerge', { id: study.id, files: [second] });
    expect(r).toMatchObject({ applied: true, merged: 1, duplicates: 6, conflicts: [] });
    expect(latest().filter((a) => a.position === 5).map((a) => a.value)).toEqual(['3', '5']);
    expect(new Set(latest().map((a) => a.origin)).size).toBe(2);
    expect(() => m.coordinator.db.prepare("UPDATE reader_answers SET value = '1'").run()).toThrow(/append-only/);
  });

  it('reports a conflict with both sides and applies nothing, unless the newer answer may win', async () => {
    const { m, study, copy, exportAnswers, latest } = await readOnCopy();
    await m.coordinator.call('reader.answersMerge', { id: study.id, files: [await exportAnswers()] });
    // the same reader changes position 2 on the coordinator's workstation (09:00 on 2025-03-01 + ...)...
    const here = await m.coordinator.call('reader.signIn', { studyId: study.id, reader: 'R1' });
    m.coordinator.clock.t = Date.parse('2025-03-05T10:00:00Z');
    await m.coordinator.call('reader.goto', { session: here.session, position: 2 });
    await m.coordinator.call('reader.answer', { session: here.session, position: 2, question: 'score', value: 1, activeMs: 0 });
    // ...and, later, differently on the reading copy, where position 3 changes too
    const { session } = await m.reading.call('reader.signIn', { studyId: copy.studyId, reader: 'R1' });
    m.reading.clock.t = Date.parse('2025-03-06T10:00:00Z');
    await m.reading.call('reader.goto', { session, position: 2 });
    await m.reading.call('reader.answer', { session, position: 2, question: 'score', value: 4, activeMs: 0 });
    await m.reading.call('reader.goto', { session, position: 3 });
    await m.reading.call('reader.answer', { session, position: 3, question: 'score', value: 2, activeMs: 0 });
    const file = await exportAnswers();
    const before = latest().length;
    const [refused] = await m.coordinator.call('reader.answersMerge', { id: study.id, files: [file] });
    expect(refused).toMatchObject({ applied: false, merged: 0, duplicates: 6 });
    expect(refused.conflicts).toEqual([
      { position: 2, case: expect.any(Number), question: 'score', here: { value: 1, answeredAt: '2025-03-05T10:00:00.000Z' }, file: { value: 4, answeredAt: '2025-03-06T10:00:00.000Z' }, resolution: 'unresolved' },
    ]);
    expect(latest()).toHaveLength(before);
    const [accepted] = await m.coordinator.call('reader.answersMerge', { id: study.id, files: [file], acceptNewer: true });
    expect(accepted).toMatchObject({ applied: true, merged: 2, conflicts: [expect.objectContaining({ position: 2, resolution: 'file' })] });
    const status = await m.coordinator.call('reader.exportStudy', { id: study.id, format: 'long' });
    expect(status.text).toMatch(/R1,3,.*,score,4,/);
    expect(latest().filter((a) => a.position === 2).map((a) => a.value)).toEqual(['3', '1', '4']);
  });

  it('keeps the answer here when it is the newer one', async () => {
    const { m, study, copy, exportAnswers, latest } = await readOnCopy();
    await m.coordinator.call('reader.answersMerge', { id: study.id, files: [await exportAnswers()] });
    const { session } = await m.reading.call('reader.signIn', { studyId: copy.studyId, reader: 'R1' });
    m.reading.clock.t = Date.parse('2025-03-05T10:00:00Z');
    await m.reading.call('reader.goto', { session, position: 1 });
    await m.reading.call('reader.answer', { session, position: 1, question: 'score', value: 4, activeMs: 0 });
    const here = await m.coordinator.call('reader.signIn', { studyId: study.id, reader: 'R1' });
    m.coordinator.clock.t = Date.parse('2025-03-06T10:00:00Z');
    await m.coordinator.call('reader.goto', { session: here.session, position: 1 });
    await m.coordinator.call('reader.answer', { session: here.session, position: 1, question: 'score', value: 2, activeMs: 0 });
    const [r] = await m.coordinator.call('reader.answersMerge', { id: study.id, files: [await exportAnswers()], acceptNewer: true });
    expect(r).toMatchObject({ applied: true, merged: 0, conflicts: [expect.objectContaining({ position: 1, resolution: 'here' })] });
    expect(latest().filter((a) => a.position === 1).map((a) => a.value)).toEqual(['3', '2']);
  });

  it('refuses a changed answers file and one answered on another study', async () => {
    const { m, study, exportAnswers } = await readOnCopy();
    const file = await exportAnswers();
    const changed = path.join(m.tmp, 'changed.json');
    fs.writeFileSync(changed, fs.readFileSync(file, 'utf8').replace('"value":3', '"value":5'));
    await expect(m.coordinator.call('reader.answersMerge', { id: study.id, files: [changed] })).rejects.toThrow(/changed\.json: the content does not match its sha256/);
    fs.writeFileSync(changed, fs.readFileSync(file, 'utf8').slice(0, 100));
    await expect(m.coordinator.call('reader.answersMerge', { id: study.id, files: [changed] })).rejects.toThrow(/changed\.json: not valid JSON/);
    const other = await m.coordinator.call('reader.createStudy', { design: designOf(m.f, { readers: ['R1'], name: 'Other' }) });
    await expect(m.coordinator.call('reader.answersMerge', { id: other.id, files: [file] })).rejects.toThrow(/r1-1\.json: answered on package [0-9a-f]{12}…, which is not a package of study/);
  });
});
