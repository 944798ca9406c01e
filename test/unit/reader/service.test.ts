// The reader domain on real SQLite files: designs resolved against stored heatmaps (copied, frozen), blinding (no arm,
// model, variant, method or patient identifier in anything the reader's procedures return), answers durable across a
// reopened database, resume at the first unanswered item, changes as new answers, washout with a moved clock, the
// long CSV export and versions.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { procedures, type Output, type ProcedureName } from '../../../common/contract';
import { openDatabase } from '../../../main/db';
import { createReaderService } from '../../../main/reader/service';
import { ARM_NAMES, designOf, makeFixture, METHOD, MODEL, VARIANTS, type Fixture } from './fixture';

const open: Fixture[] = [];
afterEach(() => {
  for (const f of open.splice(0)) {
    if (f.db.open) f.db.close();
    fs.rmSync(f.dataDir, { recursive: true, force: true });
  }
});

function setup(cases = 4, now = { t: Date.parse('2025-03-01T08:00:00Z') }) {
  const f = makeFixture(cases);
  open.push(f);
  const make = () => createReaderService({ db: f.db, dataDir: f.dataDir, now: () => new Date(now.t) });
  const svc = make();
  /** calls through the contract: input parsed, output checked */
  const call = async <N extends ProcedureName & `reader.${string}`>(name: N, input: unknown): Promise<Output<N>> => {
    const spec = procedures[name];
    const handler = (svc as unknown as Record<string, (i: unknown) => unknown>)[name];
    return spec.output.parse(await handler(spec.input.parse(input))) as Output<N>;
  };
  return { f, svc, call, now };
}

describe('design', () => {
  it('creates a study with every case x arm frozen and every reader scheduled', async () => {
    const { f, call } = setup(3);
    const s = await call('reader.createStudy', { design: designOf(f, {}, true) });
    expect(s).toMatchObject({ name: 'Pilot', version: 1, state: 'ready', cases: 3, arms: 4, readers: 3, seed: 'seed-1', schedulerVersion: 1 });
    expect(fs.readdirSync(path.join(f.dataDir, 'reader', String(s.id)))).toHaveLength(12);
    // the heatmaps may go; the study keeps its copies
    f.db.prepare('DELETE FROM heatmaps').run();
    const { session } = await call('reader.signIn', { studyId: s.id, reader: 'R2' });
    const st = await call('reader.state', { session });
    expect(st.total).toBe(12);
    const stim = await call('reader.stimulus', { session, token: st.item!.token });
    expect(stim.data.byteLength).toBe(stim.width * stim.height * 4);
  });

  it('refuses a design naming every case x arm without a map, and a revision is a new version', async () => {
    const { f, call } = setup(2);
    f.db.prepare('DELETE FROM heatmaps WHERE variant = ?').run(VARIANTS[1]);
    await expect(call('reader.createStudy', { design: designOf(f) })).rejects.toThrow(/2 case x arm pair.*\n.*case 1 .*Arm Beta Tuned.*tuned-variant/s);
    const first = await call('reader.createStudy', { design: { ...designOf(f), arms: designOf(f).arms.slice(0, 1) } });
    const second = await call('reader.createStudy', { design: { ...designOf(f), arms: designOf(f).arms.slice(0, 1), readers: ['R1', 'R9'] }, revises: first.id });
    expect(second).toMatchObject({ version: 2, parentId: first.id, readers: 2 });
    await expect(call('reader.createStudy', { design: { ...designOf(f), readers: ['A', 'A'] } })).rejects.toThrow(/two readers/);
  });

  it('the box control arm is the case\'s box as a 0/1 map over the whole image', async () => {
    const { f, call } = setup(1);
    const s = await call('reader.createStudy', { design: { ...designOf(f, {}, true), arms: [{ name: 'boxes', kind: 'box' }], readers: ['R1'] } });
    const { session } = await call('reader.signIn', { studyId: s.id, reader: 'R1' });
    const st = await call('reader.state', { session });
    const m = await call('reader.stimulus', { session, token: st.item!.token });
    expect(m.geometry).toEqual({ originalRows: 40, originalColumns: 50, top: 0, left: 0, width: 50, height: 40 });
    const v = new Float32Array(m.data.buffer, m.data.byteOffset, m.width * m.height);
    // box x 10..30, y 5..15 in a 50 x 40 image
    expect(v[7 * 50 + 15]).toBe(1);
    expect(v[20 * 50 + 15]).toBe(0);
    expect(v.reduce((a, b) => a + b, 0)).toBe(200);
  });
});

describe('blinding', () => {
  it('no arm, model, variant, method, heatmap id or patient identifier in anything a reader receives', async () => {
    const { f, call } = setup(3);
    const s = await call('reader.createStudy', { design: designOf(f, { allowChanges: true }) });
    const heatmapIds = (f.db.prepare('SELECT id FROM heatmaps').all() as { id: number }[]).map((r) => r.id);
    const received: unknown[] = [await call('reader.openStudies', {})];
    const signIn = await call('reader.signIn', { studyId: s.id, reader: 'R1' });
    received.push(signIn);
    const { session } = signIn;
    let st = await call('reader.state', { session });
    received.push(st);
    while (st.item) {
      received.push(await call('reader.stimulus', { session, token: st.item.token }));
      received.push(await call('reader.activity', { session, position: st.item.position, kind: 'leave', activeMs: 10 }));
      st = await call('reader.answer', { session, position: st.item.position, question: 'score', value: 3, activeMs: 5 });
      received.push(st);
      st = await call('reader.goto', { session, position: st.next }).catch(() => call('reader.state', { session }));
      received.push(st);
    }
    received.push(await call('reader.goto', { session, position: 0 }));
    const text = JSON.stringify(received, (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v));
    for (const secret of [...ARM_NAMES, MODEL, ...VARIANTS, METHOD, 'PATIENT-SECRET', 'secret', 'imported', 'frozen', 'tuned', 'variant', 'model', 'arm']) {
      expect(text.toLowerCase(), secret).not.toContain(secret.toLowerCase());
    }
    // the tokens say nothing either: one per item, none shared between items
    const tokens = (f.db.prepare('SELECT token FROM reader_items').all() as { token: string }[]).map((r) => r.token);
    expect(new Set(tokens).size).toBe(tokens.length);
    // no heatmap id under any name: the only "id" a reader sees is the study's (openStudies)
    expect(text).not.toMatch(/heatmap_?id/i);
    expect(heatmapIds.length).toBe(9);
    expect(text.match(/"id":\d+/g)).toEqual([`"id":${s.id}`]);
    // a token of another reader's schedule is refused
    const other = await call('reader.signIn', { studyId: s.id, reader: 'R2' });
    const otherToken = (await call('reader.state', { session: other.session })).item!.token;
    await expect(call('reader.stimulus', { session, token: otherToken })).rejects.toThrow(/no such item/);
    await expect(call('reader.state', { session: 'x'.repeat(32) })).rejects.toThrow(/sign in again/);
    await expect(call('reader.signIn', { studyId: s.id, reader: 'Nobody' })).rejects.toThrow(/not a reader/);
  });
});

describe('answers', () => {
  it('are durable: written, the database closed and reopened, the reader resumes at the next unanswered item', async () => {
    const { f, call } = setup(4);
    const s = await call('reader.createStudy', { design: designOf(f) });
    const { session } = await call('reader.signIn', { studyId: s.id, reader: 'R3' });
    const given: number[] = [];
    for (let p = 0; p < 5; p++) {
      const st = await call('reader.answer', { session, position: p, question: 'score', value: (p % 5) + 1, activeMs: 1000 + p });
      given.push((p % 5) + 1);
      expect(st.answered).toBe(p + 1);
      if (p < 4) await call('reader.goto', { session, position: p + 1 });
    }
    await call('reader.answer', { session, position: 5, question: 'comment', value: 'only a comment' });
    // a raw kill cannot be simulated in-process; closing without any further write is what a restart sees
    f.db.close();
    f.db = openDatabase(f.dataDir);
    const svc2 = createReaderService({ db: f.db, dataDir: f.dataDir });
    const st = procedures['reader.state'].output.parse(await svc2['reader.state']({ session }));
    expect(st).toMatchObject({ answered: 5, next: 5, total: 12, reader: 'R3' });
    expect(st.item).toMatchObject({ position: 5, answers: { comment: 'only a comment' }, complete: false });
    const rows = f.db.prepare("SELECT position, json_extract(value, '$') AS v, active_ms AS ms FROM reader_answers WHERE question = 'score' ORDER BY id").all();
    expect(rows).toEqual(given.map((v, p) => ({ position: p, v, ms: 1000 + p })));
    expect(f.db.prepare('SELECT state FROM reader_studies').get()).toEqual({ state: 'reading' });
    expect(() => f.db.prepare('UPDATE reader_answers SET value = 1').run()).toThrow(/append-only/);
    expect(() => f.db.prepare("UPDATE reader_events SET kind = 'x'").run()).toThrow(/append-only/);
  });

  it('checks values, position and changes; a change is a new answer, the latest wins, the event log keeps both', async () => {
    const { f, call } = setup(2);
    const s = await call('reader.createStudy', { design: designOf(f) });
    const { session } = await call('reader.signIn', { studyId: s.id, reader: 'R1' });
    await expect(call('reader.answer', { session, position: 0, question: 'score', value: 6 })).rejects.toThrow(/integer from 1 to 5/);
    await expect(call('reader.answer', { session, position: 0, question: 'nope', value: 1 })).rejects.toThrow(/no question "nope"/);
    await expect(call('reader.answer', { session, position: 1, question: 'score', value: 1 })).rejects.toThrow(/ahead of the first unanswered/);
    await call('reader.answer', { session, position: 0, question: 'score', value: 2 });
    await call('reader.answer', { session, position: 0, question: 'flag', value: true });
    const st = await call('reader.answer', { session, position: 0, question: 'score', value: 4 });
    expect(st.item).toMatchObject({ answers: { score: 4 }, flagged: true });
    const csv = (await call('reader.exportStudy', { id: s.id, format: 'long' })).text.split('\n');
    expect(csv[0]).toBe('reader,position,case,image_id,phrase,arm,question,answer,active_ms,first_answered_at,answered_at,changes');
    expect(csv.filter((l) => l.includes(',score,'))).toHaveLength(1);
    expect(csv.find((l) => l.includes(',score,'))).toMatch(/^R1,1,\d,\d+,"finding number \d, with a comma",Arm [A-Za-z ]+,score,4,0,.*,1$/);
    const kinds = (f.db.prepare('SELECT kind FROM reader_events ORDER BY id').all() as { kind: string }[]).map((e) => e.kind);
    expect(kinds).toEqual(['sign-in', 'answer', 'answer', 'change']);

    const strict = await call('reader.createStudy', { design: { ...designOf(f), allowChanges: false } });
    const r = await call('reader.signIn', { studyId: strict.id, reader: 'R1' });
    await call('reader.answer', { session: r.session, position: 0, question: 'score', value: 1 });
    await expect(call('reader.goto', { session: r.session, position: 0 })).rejects.toThrow(/does not allow going back/);
    await expect(call('reader.answer', { session: r.session, position: 0, question: 'score', value: 2 })).rejects.toThrow(/does not allow/);
  });

  it('active time accumulates from activity reports and answers', async () => {
    const { f, call } = setup(1);
    const s = await call('reader.createStudy', { design: { ...designOf(f), readers: ['R1'] } });
    const { session } = await call('reader.signIn', { studyId: s.id, reader: 'R1' });
    await call('reader.activity', { session, position: 0, kind: 'hidden', activeMs: 1500 });
    await call('reader.answer', { session, position: 0, question: 'score', value: 5, activeMs: 500 });
    const status = await call('reader.studyStatus', { id: s.id });
    expect(status.progress).toEqual([{ reader: 'R1', answered: 1, total: 3, sitting: 0, sittings: 1, unlocksAt: null, activeMs: 2000 }]);
    const csv = (await call('reader.exportStudy', { id: s.id, format: 'long' })).text;
    expect(csv).toMatch(/,score,5,2000,/);
  });
});

describe('washout', () => {
  it('the next sitting opens N days after the last one ended (clock injected)', async () => {
    const { f, call, now } = setup(2);
    const s = await call('reader.createStudy', { design: { ...designOf(f), readers: ['R1'], schedule: { blocks: 'apart', sittingSize: 2, washoutDays: 14 } } });
    const { session } = await call('reader.signIn', { studyId: s.id, reader: 'R1' });
    let st = await call('reader.state', { session });
    expect(st).toMatchObject({ sittings: 3, sitting: 0, total: 6 });
    for (const p of [0, 1]) await call('reader.answer', { session, position: p, question: 'score', value: 3 });
    const ended = now.t;
    st = await call('reader.state', { session });
    expect(st).toMatchObject({ next: 2, sitting: 1, item: null, unlocksAt: new Date(ended + 14 * 86_400_000).toISOString() });
    await expect(call('reader.answer', { session, position: 2, question: 'score', value: 3 })).rejects.toThrow(/washout/);
    await expect(call('reader.goto', { session, position: 0 })).rejects.toThrow(/earlier sitting/);
    now.t = ended + 14 * 86_400_000 - 1;
    expect((await call('reader.state', { session })).item).toBeNull();
    now.t = ended + 14 * 86_400_000;
    st = await call('reader.state', { session });
    expect(st).toMatchObject({ unlocksAt: null, item: { position: 2 } });
    expect((await call('reader.studyStatus', { id: s.id })).progress[0]).toMatchObject({ answered: 2, sitting: 1, unlocksAt: null });
  });
});
