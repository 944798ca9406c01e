// User-defined subsets of a benchmark on a real data directory with the demo imported: by class, by dataset split
// (VinDr-CXR's train / test folders, MS-CXR's split column), by pair keys; a run on a subset scores exactly its pairs and stores the rule
// (a later edit of the subset does not change it); unknown classes, splits, keys and subset names are refused
// naming the known ones; `sightline evaluate --benchmark B --save-subset / --subset` on the command line.
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Output } from '../../../../common/contract';
import { callProcedure } from '../../procedures';
import { getNewestLutOfModel } from '../../../../main/db/luts-repo';
import { loadBenchmark } from '../../../../main/evaluation/benchmarks/definitions';
import { applySubset } from '../../../../main/evaluation/benchmarks/subsets';
import { demoDirectory } from '../../../../main/services/paths';
import { readMsCxrCsv } from '../../../../main/studies/datasets/ms-cxr';
import { DEMO_MODEL_NAME } from '../../../../main/models/registry';
import { createAppContext, type AppContext } from '../../../../main/services/app-context';
import { runCli } from '../../run-cli';

let context: AppContext;
let dataDir: string;

const call = <T>(name: string, input: unknown): Promise<T> => callProcedure<T>(context, name, input);
type Subset = Output<'evaluation.subsets.save'>;
type RunRecord = Output<'evaluation.runs.get'>;

async function run(input: Record<string, unknown>): Promise<RunRecord> {
  const { runId, jobId } = await call<{ runId: number; jobId: string }>('evaluation.runs.start', { bootstrap: 50, ...input });
  const done = await context.jobs.wait(jobId);
  expect(done.progress.state, done.error ?? '').toBe('done');
  return call<RunRecord>('evaluation.runs.get', { id: runId });
}

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'sightline-subsets-'));
  context = await createAppContext({ dataDir, mode: 'browser', importDemo: true });
  for (const job of context.jobs.list()) await context.jobs.wait(job.jobId);
}, 120_000);
afterAll(() => context.close());

describe('benchmark subsets', () => {
  it('by class: a run scores exactly the subset, and keeps the rule it started with', async () => {
    const b = loadBenchmark(context.db, 'MS-CXR-loc', null);
    const cls = Object.entries(b.classes).sort((x, y) => y[1].kept - x[1].kept)[0][0];
    const want = b.pairs.filter((p) => p.category === cls);
    expect(want.length).toBeGreaterThan(1);
    const saved = await call<Subset>('evaluation.subsets.save', { benchmark: 'MS-CXR-loc', name: 'one class', classes: [cls] });
    expect(saved).toMatchObject({ name: 'one class', benchmark: b.key, classes: [cls], size: want.length, user: 'user' });

    const r = await run({ benchmark: 'MS-CXR-loc', reference: 'oracle', subset: 'one class' });
    expect(r.pairCount).toBe(want.length);
    expect(r.pairs.map((p) => p.key)).toEqual(want.map((p) => p.key));
    expect(r.settings.subset).toEqual({ name: 'one class', rule: { classes: [cls] } });
    expect(Object.keys(r.report!.classes)).toEqual([cls]);

    // replacing the subset (same name) changes later runs only; limit applies after the subset
    const keys = want.slice(0, 2).map((p) => p.key).reverse();
    const replaced = await call<Subset>('evaluation.subsets.save', { benchmark: b.key, name: 'one class', pairs: keys });
    expect(replaced).toMatchObject({ id: saved.id, size: 2, pairs: keys });
    expect(replaced.classes).toBeUndefined();
    expect((await call<RunRecord>('evaluation.runs.get', { id: r.id })).settings.subset).toEqual({ name: 'one class', rule: { classes: [cls] } });
    const limited = await run({ benchmark: 'MS-CXR-loc', reference: 'oracle', subset: 'one class', limit: 1 });
    expect(limited.pairs.map((p) => p.key)).toEqual([want[0].key]); // benchmark order, not the list's
  });

  it('by split (VinDr-CXR train / test) and by class and split together', async () => {
    const lut = getNewestLutOfModel(context.db, DEMO_MODEL_NAME)!.lut;
    const pairs = loadBenchmark(context.db, 'VinDr-CXR', lut).pairs;
    expect(new Set(pairs.map((p) => p.split))).toEqual(new Set(['train', 'test']));
    const test = await call<Subset>('evaluation.subsets.save', { benchmark: 'VinDr-CXR', name: 'test split', splits: ['test'] });
    expect(test.size).toBe(pairs.filter((p) => p.split === 'test').length);
    const r = await run({ benchmark: 'VinDr-CXR', reference: 'lut', subset: 'test split' });
    const testKeys = pairs.filter((p) => p.split === 'test').map((p) => p.key);
    expect(r.pairs.map((p) => p.key)).toEqual(testKeys);
    const category = pairs[0].category;
    expect(applySubset(pairs, { classes: [category], splits: ['train'] })).toEqual(pairs.filter((p) => p.category === category && p.split === 'train'));
  });

  it("by MS-CXR's own split column, stored with each phrase as the CSV gives it", async () => {
    const csv = await readMsCxrCsv(path.join(demoDirectory(), 'ms-cxr', 'MS_CXR_Local_Alignment_v1.1.0.csv'));
    const splitOf = new Map(csv.pairs.map((p) => [`${p.dicomId}|${p.labelText.replace(/\s+/g, ' ').trim()}`, p.split]));
    const pairs = loadBenchmark(context.db, 'MS-CXR-loc', null).pairs;
    expect(pairs.map((p) => p.split)).toEqual(pairs.map((p) => splitOf.get(`${p.dicomId}|${p.labelText}`)));
    expect(new Set(pairs.map((p) => p.split))).toEqual(new Set(['train', 'val', 'test']));
    const test = await call<Subset>('evaluation.subsets.save', { benchmark: 'MS-CXR-loc', name: 'ms-cxr test', splits: ['test'] });
    expect(test.size).toBe(pairs.filter((p) => p.split === 'test').length);
    await call('evaluation.subsets.delete', { id: test.id }); // the next test counts the subsets there are
    await expect(call('evaluation.subsets.save', { benchmark: 'MS-CXR-loc', name: 'x', splits: ['holdout'] })).rejects.toThrow(/has no split "holdout" \(known: "test", "train", "val"\)/);
  });

  it('refuses unknown classes, keys, benchmarks and subset names, and an empty rule', async () => {
    await expect(call('evaluation.subsets.save', { benchmark: 'MS-CXR-loc', name: 'x', classes: ['Flu'] })).rejects.toThrow(/has no class "Flu" \(known: "Atelectasis"/);
    await expect(call('evaluation.subsets.save', { benchmark: 'MS-CXR-loc', name: 'x', pairs: ['1:2:3'] })).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(call('evaluation.subsets.save', { benchmark: 'Nope', name: 'x', classes: ['Edema'] })).rejects.toThrow(/no benchmark "Nope"/);
    await expect(call('evaluation.subsets.save', { benchmark: 'MS-CXR-loc', name: 'x' })).rejects.toThrow(/give classes, splits or pairs/);
    await expect(call('evaluation.subsets.save', { benchmark: 'MS-CXR-loc', name: 'a/b', classes: ['Edema'] })).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(call('evaluation.runs.start', { benchmark: 'MS-CXR-loc', reference: 'oracle', subset: 'missing' })).rejects.toThrow(/no subset "missing" \(known: "one class"\)/);
    const list = await call<Subset[]>('evaluation.subsets.list', { benchmark: 'MS-CXR-loc' });
    expect(list.map((s) => s.name)).toEqual(['one class']);
    const extra = await call<Subset>('evaluation.subsets.save', { benchmark: 'MS-CXR-loc', name: 'gone', classes: ['Edema'] });
    expect(await call('evaluation.subsets.delete', { id: extra.id })).toEqual({ deleted: true });
    expect(await call('evaluation.subsets.delete', { id: extra.id })).toEqual({ deleted: false });
  });

  it('sightline evaluate --save-subset and --subset', async () => {
    const b = loadBenchmark(context.db, 'MS-CXR-loc', null);
    const keys = b.pairs.slice(0, 3).map((p) => p.key);
    const saved = await runCli(['evaluate', '--benchmark', 'MS-CXR-loc', '--save-subset', 'cli three', '--pairs', keys.join(','), '--data-dir', dataDir]);
    expect(saved.stderr).toBe('');
    expect(saved).toMatchObject({ code: 0 });
    expect(saved.stdout).toMatch(/subset "cli three" of MS-CXR-loc\/.+ saved: 3 pair\(s\)/);
    const out = path.join(dataDir, 'subset.json');
    const r = await runCli(['evaluate', '--benchmark', 'MS-CXR-loc', '--reference', 'oracle', '--subset', 'cli three', '--bootstrap', '20', '--data-dir', dataDir, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(readFileSync(out, 'utf8'));
    expect(report.pairs.map((p: { dicom_id: string; label_text: string }) => `${p.dicom_id}|${p.label_text}`)).toEqual(b.pairs.slice(0, 3).map((p) => `${p.dicomId}|${p.labelText}`));
    expect(report.settings.subset).toEqual({ name: 'cli three', rule: { pairs: keys } });
    expect((await runCli(['evaluate', '--benchmark', 'MS-CXR-loc', '--subset', 'nope', '--reference', 'oracle', '--data-dir', dataDir])).stderr).toMatch(/no subset "nope"/);
    expect(await runCli(['evaluate', '--benchmark', 'MS-CXR-loc', '--classes', 'Edema', '--data-dir', dataDir])).toMatchObject({ code: 2, stderr: expect.stringMatching(/--classes goes with --save-subset/) });
    expect(await runCli(['evaluate', '--benchmark', 'MS-CXR-loc', '--save-subset', 'bad', '--data-dir', dataDir])).toMatchObject({ code: 2, stderr: expect.stringMatching(/give classes, splits or pairs/) });
    expect(await runCli(['evaluate', '--boxes', 'a.csv', '--heatmaps', 'h', '--subset', 'x'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/--subset goes with --benchmark/) });
  });
});
