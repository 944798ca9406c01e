// reader.analysis on a real study (SQLite file, frozen map copies): three readers score every case x arm through the
// reader procedures; the analysis must gather exactly those answers, compute CNR / mIoU from the frozen maps and the
// dataset boxes (the box control arm is a perfect map: mIoU 1), take given metrics instead when passed, and refuse
// bad input naming it.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { procedures, type Output } from '../../../common/contract';
import { findReader, listItems } from '../../../main/db/reader-repo';
import { krippendorffAlpha } from '../../../main/reader/analysis/agreement';
import { spearman } from '../../../main/reader/analysis/correlation';
import { createReaderService } from '../../../main/reader/service';
import { ARM_NAMES, designOf, makeFixture, type Fixture } from './fixture';

const open: Fixture[] = [];
afterEach(() => {
  for (const f of open.splice(0)) {
    if (f.db.open) f.db.close();
    fs.rmSync(f.dataDir, { recursive: true, force: true });
  }
});

const BOX = 'Arm Delta Boxes';
/** R1 and R2 agree; R3 is one point harsher on the first arm; the box arm is scored highest by all. */
function scoreOf(reader: string, caseIdx: number, armIdx: number): number {
  const base = armIdx === 3 ? 5 : 1 + ((caseIdx + armIdx) % 4);
  return reader === 'R3' && armIdx === 0 ? Math.max(1, base - 1) : base;
}

async function studyWithAnswers(cases: number, skip?: (reader: string, position: number) => boolean) {
  const f = makeFixture(cases);
  open.push(f);
  const svc = createReaderService({ db: f.db, dataDir: f.dataDir });
  const call = async <N extends 'reader.createStudy' | 'reader.signIn' | 'reader.answer' | 'reader.analysis'>(name: N, input: unknown): Promise<Output<N>> => {
    const spec = procedures[name];
    const handler = (svc as unknown as Record<string, (i: unknown) => unknown>)[name];
    return spec.output.parse(await handler(spec.input.parse(input))) as Output<N>;
  };
  const study = await call('reader.createStudy', { design: designOf(f, {}, true) });
  const given: { reader: string; caseIdx: number; armIdx: number; score: number; ms: number }[] = [];
  for (const reader of ['R1', 'R2', 'R3']) {
    const { session } = await call('reader.signIn', { studyId: study.id, reader });
    // the coordinator's side of the schedule, to know what each position is
    for (const it of listItems(f.db, findReader(f.db, study.id, reader)!.id)) {
      if (skip?.(reader, it.position)) break;
      const score = scoreOf(reader, it.caseIdx, it.armIdx);
      const ms = 1000 + 100 * it.position;
      await call('reader.answer', { session, position: it.position, question: 'score', value: score, activeMs: ms });
      given.push({ reader, caseIdx: it.caseIdx, armIdx: it.armIdx, score, ms });
    }
  }
  return { f, study, call, given };
}

const arms = [...ARM_NAMES, BOX];

describe('reader.analysis', () => {
  it('gathers every answer, and computes CNR / mIoU from the frozen maps and the boxes', async () => {
    const { call, study, given } = await studyWithAnswers(5);
    const a = await call('reader.analysis', { id: study.id });
    expect(a).toMatchObject({ metricsSource: 'computed', readers: ['R1', 'R2', 'R3'], arms, cases: 5, question: { key: 'score', kind: 'scale', min: 1, max: 5 }, warnings: [] });
    expect(a.points).toHaveLength(3 * 5 * 4);
    // the selector's choices: the scale and numeric questions (the default design's comment is text: not analysable)
    expect(a.questions).toEqual([expect.objectContaining({ key: 'score', kind: 'scale' })]);
    for (const [armIdx, arm] of arms.entries()) {
      const xs = given.filter((g) => g.armIdx === armIdx).map((g) => g.score);
      const all = a.scores.find((s) => s.reader === null && s.arm === arm)!;
      expect(all.n).toBe(15);
      expect(all.mean).toBeCloseTo(xs.reduce((s, x) => s + x, 0) / xs.length, 12);
      expect(all.distribution.reduce((s, d) => s + d.count, 0)).toBe(15);
    }
    // the box control arm is the boxes themselves: every threshold's IoU is 1
    const boxPairs = a.pairs.filter((p) => p.arm === BOX);
    expect(boxPairs).toHaveLength(5);
    for (const p of boxPairs) expect(p.miou).toBeCloseTo(1, 12);
    for (const p of a.pairs) expect(p.cnr).not.toBeNull();
    // the model maps are ramps (k + v + i) / 20 that differ per case: not all the same
    expect(new Set(a.pairs.filter((p) => p.arm === ARM_NAMES[0]).map((p) => p.cnr!.toFixed(9))).size).toBeGreaterThan(1);

    // agreement over case x arm units equals alpha of the table built from what was given
    const table: (number | null)[][] = [];
    for (let c = 0; c < 5; c++) for (let k = 0; k < 4; k++) table.push(['R1', 'R2', 'R3'].map((r) => given.find((g) => g.reader === r && g.caseIdx === c && g.armIdx === k)!.score));
    const pooled = a.agreement.find((g) => g.arm === null)!;
    expect(pooled.units).toBe(20);
    expect(pooled.alphaOrdinal).toBeCloseTo(krippendorffAlpha(table, 'ordinal'), 12);
    expect(pooled.icc).toMatchObject({ targets: 20, judges: 3 });
    const k12 = pooled.kappas.find((k) => k.readerA === 'R1' && k.readerB === 'R2')!;
    expect(k12).toMatchObject({ n: 20, linear: 1, quadratic: 1 }); // R1 and R2 agree everywhere
    expect(pooled.kappas.find((k) => k.readerB === 'R3')!.quadratic!).toBeLessThan(1);
    // the box arm: every reader says 5: no variation, alpha undefined (null, not NaN)
    expect(a.agreement.find((g) => g.arm === BOX)!.alphaOrdinal).toBeNull();

    // reading time: the active ms reported with each answer
    const t = a.times.find((x) => x.reader === 'R2' && x.arm === null)!;
    expect(t.totalMs).toBe(given.filter((g) => g.reader === 'R2').reduce((s, g) => s + g.ms, 0));
    expect(JSON.parse(JSON.stringify(a))).toEqual(a); // no NaN anywhere
  });

  it('uses given metrics (a benchmark run\'s) and correlates the readers\' mean score per case x arm', async () => {
    const { call, study, given } = await studyWithAnswers(6);
    const metrics = [];
    for (let c = 1; c <= 6; c++) for (const [k, arm] of arms.entries()) metrics.push({ case: c, arm, cnr: c * 0.5 - k, miou: k === 1 ? null : (c % 3) / 3 });
    const a = await call('reader.analysis', { id: study.id, metrics });
    expect(a.metricsSource).toBe('given');
    const meanScore = (c: number, k: number) => {
      const xs = given.filter((g) => g.caseIdx === c && g.armIdx === k).map((g) => g.score);
      return xs.reduce((s, x) => s + x, 0) / xs.length;
    };
    const xs: number[] = [];
    const ys: number[] = [];
    for (let c = 0; c < 6; c++) {
      xs.push(meanScore(c, 0));
      ys.push((c + 1) * 0.5);
    }
    const r = a.correlations.find((x) => x.reader === null && x.arm === ARM_NAMES[0] && x.metric === 'cnr')!;
    expect(r.rho).toBeCloseTo(spearman(xs, ys).rho, 12);
    expect(r.n).toBe(6);
    // a null mIoU leaves the pair out
    expect(a.correlations.find((x) => x.reader === null && x.arm === ARM_NAMES[1] && x.metric === 'miou')!.n).toBe(0);
    // deltas: arm B - arm A per case, the readers' mean; the CNR deltas are constant (-1) so rho is undefined
    const d = a.deltas.find((x) => x.armA === ARM_NAMES[0] && x.armB === ARM_NAMES[1])!;
    const ds = Array.from({ length: 6 }, (_, c) => meanScore(c, 1) - meanScore(c, 0));
    expect(d.n).toBe(6);
    expect(d.mean).toBeCloseTo(ds.reduce((s, x) => s + x, 0) / 6, 12);
    expect(d.vsCnr.rho).toBeNull();
    expect(a.deltas).toHaveLength(6);

    await expect(call('reader.analysis', { id: study.id, metrics: [{ case: 1, arm: 'No Such Arm', cnr: 1, miou: 1 }] })).rejects.toThrow(/metrics\[0\]: no arm "No Such Arm"/);
    await expect(call('reader.analysis', { id: study.id, metrics: [{ case: 99, arm: BOX, cnr: 1, miou: 1 }] })).rejects.toThrow(/case 99, but the study has 6 cases/);
    await expect(call('reader.analysis', { id: study.id, question: 'comment' })).rejects.toThrow(/"comment" is not a scale or numeric question/);
    await expect(call('reader.analysis', { id: 999 })).rejects.toThrow(/no reader study 999/);
  });

  it('keeps computed metrics in the study folder: a second analysis reads no map, a change of boxes recomputes', async () => {
    const { f, call, study } = await studyWithAnswers(2);
    const first = await call('reader.analysis', { id: study.id });
    expect(fs.existsSync(path.join(f.dataDir, 'reader', String(study.id), 'metrics-cache.json'))).toBe(true);
    // spoil every frozen map: the cached metrics do not read them
    const files = (f.db.prepare('SELECT file FROM reader_stimuli').all() as { file: string }[]).map((r) => path.join(f.dataDir, r.file));
    const saved = files.map((file) => fs.readFileSync(file));
    for (const file of files) fs.writeFileSync(file, Buffer.alloc(fs.statSync(file).size, 7));
    expect((await call('reader.analysis', { id: study.id })).pairs).toEqual(first.pairs);
    // other boxes: a new key, so the (spoilt) map is read again, and its sha256 refuses it
    f.db.prepare("UPDATE boxes SET w = 10 WHERE image_id = ? AND source = 'dataset'").run(f.cases[0].imageId);
    await expect(call('reader.analysis', { id: study.id })).rejects.toThrow(/changed after the study was created/);
    files.forEach((file, i) => fs.writeFileSync(file, saved[i]));
    const moved = await call('reader.analysis', { id: study.id });
    expect(moved.pairs.find((p) => p.case === 1 && p.arm === BOX)!.miou!).toBeLessThan(1); // the box arm's map is the old box
    expect(moved.pairs.find((p) => p.case === 2 && p.arm === BOX)!.miou!).toBeCloseTo(1, 12);
  });

  it('answers for a study nobody has read yet: empty tables, nulls, no NaN', async () => {
    const { call, study } = await studyWithAnswers(2, () => true);
    const a = await call('reader.analysis', { id: study.id });
    expect(a.points).toEqual([]);
    expect(a.cases).toBe(2);
    expect(a.scores.every((s) => s.n === 0 && s.mean === null)).toBe(true);
    expect(a.agreement[0]).toMatchObject({ units: 0, alphaOrdinal: null, icc: null });
    expect(a.pairs).toHaveLength(8); // the metrics are there all the same
  });

  it('handles missing answers: alpha over what is there, ICC on the fully crossed units only', async () => {
    // R3 stops after 5 items
    const { call, study } = await studyWithAnswers(3, (reader, position) => reader === 'R3' && position >= 5);
    const a = await call('reader.analysis', { id: study.id });
    const pooled = a.agreement.find((g) => g.arm === null)!;
    expect(pooled.units).toBe(12); // R1 and R2 scored every unit
    expect(pooled.icc!.targets).toBe(5);
    expect(a.points.filter((p) => p.reader === 'R3')).toHaveLength(5);
    expect(pooled.kappas.find((k) => k.readerA === 'R1' && k.readerB === 'R3')!.n).toBe(5);
  });
});
