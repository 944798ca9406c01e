// Study packages across two real data directories: export on the coordinator's workstation, import as a reading
// copy on another, read there, export the answers and merge them back: the long CSV equals the answers given. The
// package's bytes name no arm, model, variant, method, box label, patient pseudonym or image path. A tampered or
// truncated package is refused naming the member.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readPackage } from '../../../main/reader/package-format';
import { PYDICOM_DIR } from '../imaging/helpers/test-data';
import { ARM_NAMES, designOf, METHOD, MODEL, VARIANTS } from './fixture';
import { exportedScores, readAll, twoMachines, type TwoMachines } from './remote-fixture';

const made: TwoMachines[] = [];
afterEach(() => made.splice(0).forEach((m) => m.cleanup()));

async function packaged(cases = 3) {
  const m = twoMachines(cases);
  made.push(m);
  const study = await m.coordinator.call('reader.createStudy', { design: designOf(m.f, { readers: ['R1', 'R2'], showBoxes: true, practice: [] }, true) });
  const file = path.join(m.tmp, 'pilot.slpkg');
  const exported = await m.coordinator.packageStudy(study.id, file);
  return { m, study, file, exported };
}

describe('study package', () => {
  it('warns of a case image whose header says its pixels may carry burned-in text (the package carries the pixels)', async () => {
    const m = twoMachines(3);
    made.push(m);
    const sc = path.join(PYDICOM_DIR, 'SC_rgb_rle.dcm'); // a Secondary Capture
    m.f.db.prepare("UPDATE images SET path = ?, format = 'dicom' WHERE id = ?").run(sc, m.f.cases[1].imageId);
    const study = await m.coordinator.call('reader.createStudy', { design: designOf(m.f, { readers: ['R1'], showBoxes: false, practice: [] }) });
    const exported = await m.coordinator.packageStudy(study.id, path.join(m.tmp, 'burned.slpkg'));
    expect(exported.warnings).toEqual([`case image ${m.f.cases[1].imageId} (${sc}): a Secondary Capture: its pixels may carry burned-in text that de-identification does not remove`]);
    const plain = await packaged();
    expect(plain.exported.warnings).toEqual([]);
  });

  it('holds no arm, model, variant, method, box-arm label, patient pseudonym or image path', async () => {
    const { m, file, exported } = await packaged();
    const bytes = fs.readFileSync(file);
    const text = bytes.toString('latin1');
    const secrets = [...ARM_NAMES, 'Arm Delta Boxes', MODEL, ...VARIANTS, METHOD, 'PATIENT-SECRET', m.tmp, 'image-0.png', '"box"', 'imported', 'ms-cxr'];
    for (const s of secrets) expect(text.includes(s), `package contains ${s}`).toBe(false);
    const { manifest, members } = readPackage(file);
    expect(manifest.contentHash).toBe(exported.contentHash);
    expect([...members.keys()].filter((k) => k.startsWith('images/'))).toHaveLength(3);
    expect([...members.keys()].filter((k) => k.startsWith('maps/'))).toHaveLength(12);
    expect(manifest.members.every((e) => /^[0-9a-f]{64}$/.test(e.sha256))).toBe(true);
  });

  it('round-trips: import as a reading copy, read there, merge back; the long CSV equals the answers given', async () => {
    const { m, study, file } = await packaged();
    const copy = await m.reading.importPackage(file);
    expect(copy.created).toBe(true);
    expect(await m.reading.importPackage(file)).toEqual({ ...copy, created: false });
    const list = await m.reading.call('reader.listStudies', {});
    expect(list).toEqual([expect.objectContaining({ id: copy.studyId, name: 'Pilot', readingCopy: true, cases: 3, arms: 4, readers: 2 })]);
    await expect(m.reading.call('reader.analysis', { id: copy.studyId })).rejects.toThrow(/reading copy/);
    // the reading copy shows the same images (rendered pixels with the original's format), maps and boxes
    const { session } = await m.reading.call('reader.signIn', { studyId: copy.studyId, reader: 'R1' });
    const st = await m.reading.call('reader.state', { session });
    expect(st.total).toBe(12);
    const px = await m.reading.call('reader.pixels', { session, token: st.item!.token });
    expect(px).toMatchObject({ rows: 40, columns: 50 });
    expect(st.item!.boxes).toEqual([{ x: 10, y: 5, w: 20, h: 10 }]);
    const stim = await m.reading.call('reader.stimulus', { session, token: st.item!.token });
    expect(stim.data.byteLength).toBe(stim.width * stim.height * 4);
    // the same pixels as the coordinator's own reading view of that case
    const cSession = (await m.coordinator.call('reader.signIn', { studyId: study.id, reader: 'R1' })).session;
    const cState = await m.coordinator.call('reader.state', { session: cSession });
    const cPx = await m.coordinator.call('reader.pixels', { session: cSession, token: cState.item!.token });
    expect(Buffer.from(px.data).equals(Buffer.from(cPx.data))).toBe(true);
    // every image went through the decoder the services were given (the app's decode pool), none decoded aside
    const coordinatorImages = new Set((m.coordinator.db.prepare('SELECT path FROM images').all() as { path: string }[]).map((r) => r.path));
    expect(m.coordinator.decoded.length).toBeGreaterThan(0);
    expect(m.coordinator.decoded.every((f) => coordinatorImages.has(f))).toBe(true);
    expect(m.reading.decoded).toHaveLength(1); // the reading copy's one item image so far
    expect(px.windows).toEqual(cPx.windows);
    const cStim = await m.coordinator.call('reader.stimulus', { session: cSession, token: cState.item!.token });
    expect(Buffer.from(stim.data).equals(Buffer.from(cStim.data))).toBe(true);

    const given = await readAll(m.reading, copy.studyId, 'R1', (p) => 1 + ((p * 3) % 5));
    expect(given.size).toBe(12);
    const answers = path.join(m.tmp, 'r1.answers.json');
    const out = await m.reading.call('reader.answersExport', { id: copy.studyId, reader: 'R1', out: answers });
    expect(out).toMatchObject({ answers: 12, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const [merged] = await m.coordinator.call('reader.answersMerge', { id: study.id, files: [answers] });
    expect(merged).toMatchObject({ reader: 'R1', applied: true, merged: 12, duplicates: 0, conflicts: [] });

    expect(await exportedScores(m.coordinator, study.id, 'R1')).toEqual(given);
    const status = await m.coordinator.call('reader.studyStatus', { id: study.id });
    expect(status.progress.find((p) => p.reader === 'R1')).toMatchObject({ answered: 12, total: 12, activeMs: 12 * 1500 });
    expect(status.state).toBe('reading');
  });

  it('carries practice cases with their feedback, and the schedule, sittings and washout', async () => {
    const m = twoMachines(4);
    made.push(m);
    const [p, ...scored] = m.f.cases;
    const design = {
      ...designOf(m.f, { readers: ['R1'], schedule: { blocks: 'apart', sittingSize: 3, washoutDays: 2 } }),
      cases: scored.map(({ imageId, phrase }) => ({ imageId, phrase })),
      practice: [{ imageId: p.imageId, phrase: p.phrase, arm: ARM_NAMES[1], expected: 4, note: 'the box is the finding' }],
    };
    const study = await m.coordinator.call('reader.createStudy', { design });
    const file = path.join(m.tmp, 'practice.slpkg');
    await m.coordinator.packageStudy(study.id, file);
    expect(fs.readFileSync(file).toString('latin1').includes(ARM_NAMES[1])).toBe(false);
    const copy = await m.reading.importPackage(file);
    const { session } = await m.reading.call('reader.signIn', { studyId: copy.studyId, reader: 'R1' });
    const st = await m.reading.call('reader.state', { session });
    expect(st).toMatchObject({ practice: 1, total: 10, sittings: 3, item: { practice: true, phrase: p.phrase, feedback: null } });
    const after = await m.reading.call('reader.answer', { session, position: 0, question: 'score', value: 2, activeMs: 1 });
    expect(after.item!.feedback).toEqual({ expected: 4, boxes: [{ x: 10, y: 5, w: 20, h: 10 }], note: 'the box is the finding' });
    // the same schedule as on the coordinator's workstation: case, arm token and sitting of every position
    const order = (db: typeof m.f.db, studyId: number) =>
      db.prepare(`SELECT i.position, c.idx, a.token, i.sitting FROM reader_items i JOIN reader_cases c ON c.id = i.case_id JOIN reader_arms a ON a.id = i.arm_id
                   JOIN readers r ON r.id = i.reader_id WHERE r.study_id = ? ORDER BY i.position`).all(studyId);
    expect(order(m.reading.db, copy.studyId)).toEqual(order(m.coordinator.db, study.id));
    // washout: after the first sitting the second is locked for 2 days on the reading copy too
    let s = after;
    while (s.next < 4) s = await m.reading.call('reader.answer', { session, position: s.next, question: 'score', value: 3, activeMs: 1 });
    expect((await m.reading.call('reader.state', { session })).unlocksAt).toBe(new Date(m.reading.clock.t + 2 * 86_400_000).toISOString());
  });

  it('is written by a durable job: progress per member, a cancel leaves no file, a reading copy is refused at once', async () => {
    const m = twoMachines(2);
    made.push(m);
    const study = await m.coordinator.call('reader.createStudy', { design: designOf(m.f, { readers: ['R1'] }) });
    const seen: number[] = [];
    m.coordinator.jobs.subscribe((p) => p.state === 'running' && p.total && seen.push(p.done));
    const file = path.join(m.tmp, 'job.slpkg');
    await m.coordinator.packageStudy(study.id, file);
    expect(Math.max(...seen)).toBe(2 + 6 + 1);
    const cancelled = path.join(m.tmp, 'cancelled.slpkg');
    const { jobId } = await m.coordinator.call('reader.packageExport', { id: study.id, out: cancelled });
    m.coordinator.jobs.cancel(jobId);
    expect((await m.coordinator.jobs.wait(jobId)).progress.state).toBe('cancelled');
    expect(fs.readdirSync(m.tmp).filter((n) => n.startsWith('cancelled'))).toEqual([]);
    const copy = await m.reading.importPackage(file);
    await expect(m.reading.call('reader.packageExport', { id: copy.studyId, out: path.join(m.tmp, 'x.slpkg') })).rejects.toThrow(/is a reading copy/);
    await expect(m.coordinator.call('reader.packageExport', { id: study.id, out: path.join(m.tmp, 'no', 'such', 'x.slpkg') })).rejects.toThrow(/the folder .* does not exist/);
  });

  it('refuses a tampered or truncated package naming the member, and imports nothing', async () => {
    const { m, file } = await packaged(2);
    const bytes = fs.readFileSync(file);
    const design = bytes.indexOf(Buffer.from('design.json'));
    const tampered = Buffer.from(bytes);
    tampered[design + 'design.json'.length + 8 + 20] ^= 0x01;
    const bad = path.join(m.tmp, 'tampered.slpkg');
    fs.writeFileSync(bad, tampered);
    await expect(m.reading.importPackage(bad)).rejects.toThrow(/tampered\.slpkg: member design\.json does not match its sha256/);
    const map = bytes.indexOf(Buffer.from('maps/'));
    const cut = path.join(m.tmp, 'cut.slpkg');
    fs.writeFileSync(cut, bytes.subarray(0, map + 40));
    await expect(m.reading.importPackage(cut)).rejects.toThrow(/cut\.slpkg: member maps\/\S+ is truncated/);
    fs.writeFileSync(cut, bytes.subarray(0, bytes.length - 10));
    await expect(m.reading.importPackage(cut)).rejects.toThrow(/cut\.slpkg: member manifest\.json is truncated/);
    expect(await m.reading.call('reader.listStudies', {})).toEqual([]);
  });
});
