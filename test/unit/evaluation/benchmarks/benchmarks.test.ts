// Benchmarks through the app's services on a real data directory with the demo imported: the pair lists equal the
// Python reference's (test/vectors/benchmark-demo.json, also checked by training/tests/test_benchmark_vectors.py),
// reference rows score as references.py does, a model run grounds through the grounding job's code path on a
// subset (stored maps reused), a cancelled run resumes keeping its scored pairs, and pairs without a location are
// dropped and counted.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type procedures } from '../../../../common/contract';
import { callProcedure } from '../../procedures';
import { getNewestLutOfModel } from '../../../../main/db/luts-repo';
import { loadBenchmark } from '../../../../main/evaluation/benchmarks/definitions';
import { oracleMap } from '../../../../main/evaluation/benchmarks/references';
import { npyBytes } from '../../../../main/grounding/map-files';
import { DEMO_MODEL_NAME } from '../../../../main/models/registry';
import { createAppContext, type AppContext } from '../../../../main/services/app-context';

const VECTORS = JSON.parse(readFileSync(path.join(__dirname, '../../../vectors/benchmark-demo.json'), 'utf8'));
type Scores = { cnr: number; miou: number; auc: number };
interface MsCxrVector {
  dicom_id: string;
  label_text: string;
  category: string;
  location: string | null;
  prompt: string | null;
  boxes: number[][];
  width: number;
  height: number;
  references: { oracle: Scores; lut?: Scores; lut_swapped?: Scores };
}

let context: AppContext;

const call = <T>(name: string, input: unknown): Promise<T> => callProcedure<T>(context, name, input);

async function runToEnd(input: Record<string, unknown>) {
  const { runId, jobId } = await call<{ runId: number; jobId: string }>('evaluation.runs.start', input);
  const done = await context.jobs.wait(jobId);
  expect(done.progress.state, done.error ?? '').toBe('done');
  return call<RunRecord>('evaluation.runs.get', { id: runId });
}
type RunRecord = ReturnType<typeof procedures['evaluation.runs.get']['output']['parse']>;

beforeAll(async () => {
  context = await createAppContext({ dataDir: mkdtempSync(path.join(os.tmpdir(), 'sightline-bench-')), mode: 'browser', importDemo: true });
  for (const job of context.jobs.list()) await context.jobs.wait(job.jobId);
}, 120_000);
afterAll(() => context.close());

const sortKey = (a: string[]) => a.join('\u0000');

describe('benchmark definitions', () => {
  it('lists MS-CXR-loc and VinDr-CXR of the demo datasets with their counts', async () => {
    const list = await call<{ key: string; name: string; dataset: string; pairs: number; dropped: number; needsLut: boolean; classes: Record<string, { kept: number; all: number }> }[]>('evaluation.benchmarks.list', {});
    // keys are <name>/<dataset>; the demo's MIMIC and VinDr cases are imported as two datasets
    const datasets = (context.db.prepare('SELECT name FROM datasets').all() as { name: string }[]).map((d) => d.name);
    expect(datasets).toHaveLength(2);
    expect(list.map((b) => [b.name, b.key])).toEqual([
      ['MS-CXR-loc', `MS-CXR-loc/${list[0].dataset}`],
      ['VinDr-CXR', `VinDr-CXR/${list[1].dataset}`],
    ]);
    expect(new Set(list.map((b) => b.dataset))).toEqual(new Set(datasets));
    expect(list[0]).toMatchObject({ pairs: VECTORS.mscxr.length, dropped: 0, needsLut: false });
    expect(list[1]).toMatchObject({ pairs: VECTORS.vindr.length, dropped: 0, needsLut: true });
    expect(Object.values(list[0].classes).reduce((n, c) => n + c.all, 0)).toBe(VECTORS.mscxr.length);
  });

  it('MS-CXR-loc pairs and prompts are those of training/sightline_eval/mscxr.py', () => {
    const ours = loadBenchmark(context.db, 'MS-CXR-loc', null, true).pairs.map((p) => ({
      dicom_id: p.dicomId,
      label_text: p.labelText,
      category: p.category,
      location: p.location,
      prompt: p.prompt,
      boxes: p.boxes,
      width: p.width,
      height: p.height,
    }));
    const theirs = (VECTORS.mscxr as MsCxrVector[]).map(({ references: _, ...p }) => p);
    const order = (p: { dicom_id: string; label_text: string }) => sortKey([p.dicom_id, p.label_text]);
    expect(ours.sort((a, b) => order(a).localeCompare(order(b)))).toEqual(theirs.sort((a, b) => order(a).localeCompare(order(b))));
  });

  it('VinDr-CXR pairs (image, reader, class) and their W2-nearest prompts are those of vindr.py', () => {
    const lut = getNewestLutOfModel(context.db, DEMO_MODEL_NAME)!.lut;
    const ours = loadBenchmark(context.db, 'VinDr-CXR', lut).pairs.map((p) => ({
      image_id: p.dicomId,
      rad_id: p.key.split(':')[2],
      category: p.category,
      location: p.location,
      prompt: p.prompt,
      boxes: p.boxes.map((b) => b.map((v) => Math.round(v * 1e6) / 1e6)),
    }));
    const order = (p: { image_id: string; rad_id: string; category: string }) => sortKey([p.image_id, p.rad_id, p.category]);
    // the Python widths are x_max - x_min of the CSV; the database keeps x, y, w, h, so compare to 1e-6 px
    const theirs = (VECTORS.vindr as { image_id: string; rad_id: string; category: string; boxes: number[][] }[]).map((p) => ({ ...p, boxes: p.boxes.map((b) => b.map((v) => Math.round(v * 1e6) / 1e6)) }));
    expect(ours.sort((a, b) => order(a).localeCompare(order(b)))).toEqual(theirs.sort((a, b) => order(a).localeCompare(order(b))));
  });
});

describe('benchmark runs', () => {
  it('the oracle and location-only rows score every pair as references.py does, and store the summary', async () => {
    for (const reference of ['oracle', 'lut'] as const) {
      const run = await runToEnd({ benchmark: 'MS-CXR-loc', reference, bootstrap: 200 });
      expect(run).toMatchObject({ method: reference, state: 'done', pairCount: 19, scored: 19 });
      for (const p of run.pairs) {
        const v = (VECTORS.mscxr as MsCxrVector[]).find((q) => q.dicom_id === p.dicom_id && q.label_text === p.label_text)!;
        const expected = v.references[reference]!;
        for (const m of ['cnr', 'miou', 'auc'] as const) expect(p[m]).toBeCloseTo(expected[m], 6);
      }
      expect(run.report!.average.n).toBe(19);
      expect(run.settings).toMatchObject({ benchmark: expect.stringMatching(/^MS-CXR-loc\//), n_boot: 200, seed: 0, limit: null });
    }
    const random = await runToEnd({ benchmark: 'MS-CXR-loc', reference: 'random', bootstrap: 100, limit: 4 });
    expect(random.pairs).toHaveLength(4);
    expect(Math.abs(random.report!.average.cnr.mean!)).toBeLessThan(1);
  });

  it('the side-swap check: sided prompts scored swapped as model_card.py does, the drop summarised with its CI', async () => {
    const run = await runToEnd({ benchmark: 'MS-CXR-loc', reference: 'lut', sideSwap: true, bootstrap: 200 });
    const sided = (VECTORS.mscxr as MsCxrVector[]).filter((v) => v.references.lut_swapped);
    expect(run.pairs.filter((p) => p.swapped_prompt !== null)).toHaveLength(sided.length);
    for (const v of sided) {
      const p = run.pairs.find((q) => q.dicom_id === v.dicom_id && q.label_text === v.label_text)!;
      expect(p.swapped_prompt).toBe(v.prompt!.replace(/\b(left|right)\b/g, (w) => (w === 'left' ? 'right' : 'left')));
      expect(p.swapped_cnr).toBeCloseTo(v.references.lut_swapped!.cnr, 6);
      expect(p.swapped_miou).toBeCloseTo(v.references.lut_swapped!.miou, 6);
    }
    const drop = run.report!.side_swap!;
    expect(drop.n).toBe(sided.length);
    expect(drop.cnr.mean).toBeGreaterThan(0); // the location-only prior reads the side it is given
    expect(drop.cnr.ci_low).not.toBeNull();
    // oracle: the text is ignored, no drop
    const oracle = await runToEnd({ benchmark: 'MS-CXR-loc', reference: 'oracle', sideSwap: true, bootstrap: 20, limit: 4 });
    expect(oracle.report!.side_swap!.cnr.mean).toBe(0);
  });

  it('VinDr-CXR runs with prompts from the model LUT: every (image, reader, class) pair scored', async () => {
    const run = await runToEnd({ benchmark: 'VinDr-CXR', reference: 'lut', bootstrap: 50 });
    expect(run).toMatchObject({ benchmark: 'VinDr-CXR', method: 'lut', pairCount: VECTORS.vindr.length, scored: VECTORS.vindr.length });
    expect(run.settings).toMatchObject({ lut: 'demo v1', model: DEMO_MODEL_NAME });
    expect(run.pairs.map((p) => p.prompt).sort()).toEqual(VECTORS.vindr.map((p: { prompt: string }) => p.prompt).sort());
    expect(run.pairs.every((p) => Number.isFinite(p.cnr) && p.miou! >= 0 && p.miou! <= 1)).toBe(true);
  });

  it('a model run grounds a subset through the grounding runtime and reuses the stored maps next time', async () => {
    const first = await runToEnd({ benchmark: 'MS-CXR-loc', limit: 3, bootstrap: 100 });
    expect(first).toMatchObject({ method: 'model', label: `${DEMO_MODEL_NAME} (frozen)`, pairCount: 3, scored: 3 });
    expect(first.pairs.every((p) => p.heatmapId !== null && Number.isFinite(p.cnr))).toBe(true);
    const heatmap = await call<{ phrase: string; imageId: number }>('heatmaps.get', { id: first.pairs[0].heatmapId });
    expect(heatmap).toMatchObject({ phrase: first.pairs[0].prompt, imageId: first.pairs[0].imageId });
    const stored = context.db.prepare('SELECT count(*) AS n FROM heatmaps').get() as { n: number };
    const again = await runToEnd({ benchmark: 'MS-CXR-loc', limit: 3, bootstrap: 100 });
    expect((context.db.prepare('SELECT count(*) AS n FROM heatmaps').get() as { n: number }).n).toBe(stored.n);
    expect(again.pairs.map((p) => [p.heatmapId, p.cnr])).toEqual(first.pairs.map((p) => [p.heatmapId, p.cnr]));
  }, 120_000);

  it('a model run with the side-swap check grounds the swapped prompts on the same image', async () => {
    const run = await runToEnd({ benchmark: 'MS-CXR-loc', limit: 3, sideSwap: true, bootstrap: 20 });
    const swapped = run.pairs.filter((p) => p.swapped_prompt !== null);
    expect(swapped.length).toBeGreaterThan(0);
    for (const p of swapped) {
      const stored = context.db.prepare('SELECT count(*) AS n FROM heatmaps WHERE image_id = ? AND phrase = ?').get(p.imageId, p.swapped_prompt) as { n: number };
      expect(stored.n).toBe(1);
      expect(Number.isFinite(p.swapped_cnr)).toBe(true);
    }
    expect(run.report!.side_swap!.n).toBe(swapped.length);
    await expect(call('evaluation.runs.start', { benchmark: 'MS-CXR-loc', heatmaps: 'x', sideSwap: true })).rejects.toThrow(/no side-swapped map/);
  }, 120_000);

  it('a cancelled run resumes under the same job, keeping the pairs it scored', async () => {
    const { runId, jobId } = await call<{ runId: number; jobId: string }>('evaluation.runs.start', { benchmark: 'MS-CXR-loc', limit: 8, variant: 'tuned', bootstrap: 50 });
    await new Promise<void>((resolve) => {
      const stop = context.jobs.subscribe((p) => {
        if (p.jobId === jobId && p.done >= 1) {
          context.jobs.cancel(jobId);
          stop();
          resolve();
        }
      });
    });
    const cancelled = await context.jobs.wait(jobId);
    expect(cancelled.progress.state).toBe('cancelled');
    const partial = await call<RunRecord>('evaluation.runs.get', { id: runId });
    expect(partial.report).toBeNull();
    expect(partial.scored).toBeGreaterThan(0);
    expect(partial.scored).toBeLessThan(8);
    context.jobs.resume(jobId);
    expect((await context.jobs.wait(jobId)).progress.state).toBe('done');
    const run = await call<RunRecord>('evaluation.runs.get', { id: runId });
    expect(run).toMatchObject({ state: 'done', scored: 8 });
    for (const p of partial.pairs) expect(run.pairs.find((q) => q.key === p.key)).toEqual(p);
    const list = await call<{ id: number }[]>('evaluation.runs.list', {});
    expect(list[0].id).toBe(runId);
  }, 120_000);

  it('lists the imported heatmap sources that cover pairs, and scores them (pairs without a map unmatched)', async () => {
    const v = (VECTORS.mscxr as MsCxrVector[])[0];
    const folder = mkdtempSync(path.join(os.tmpdir(), 'sightline-bench-imported-'));
    writeFileSync(path.join(folder, 'a.npy'), npyBytes(oracleMap(v.boxes as never, v.height, v.width), v.height, v.width));
    writeFileSync(path.join(folder, 'index.csv'), `dicom_id,label_text,file\n${v.dicom_id},"${v.label_text}",a.npy\n`);
    const { jobId } = await call<{ jobId: string }>('heatmaps.import', { folder, source: 'boxes-as-maps' });
    expect((await context.jobs.wait(jobId)).progress.state).toBe('done');
    const [ms] = await call<{ imported: { source: string; pairs: number }[] }[]>('evaluation.benchmarks.list', {});
    expect(ms.imported).toEqual([{ source: 'boxes-as-maps', pairs: 1 }]);
    const run = await runToEnd({ benchmark: 'MS-CXR-loc', heatmaps: 'boxes-as-maps', bootstrap: 10 });
    expect(run).toMatchObject({ method: 'imported', label: 'imported: boxes-as-maps', scored: 19 });
    expect(run.report!.average.n).toBe(1);
    expect(run.report!.unmatched).toHaveLength(18);
    const scored = run.pairs.find((p) => p.cnr !== null)!;
    expect(scored.cnr).toBeCloseTo(v.references.oracle.cnr, 6);
    await expect(call('evaluation.runs.start', { benchmark: 'MS-CXR-loc', heatmaps: 'x', reference: 'oracle' })).rejects.toThrow(/not both/);
  });

  it('refuses an unknown benchmark, model or variant with a clear message', async () => {
    await expect(call('evaluation.runs.start', { benchmark: 'ChestX-Det' })).rejects.toThrow(/no benchmark "ChestX-Det" \(known: MS-CXR-loc\/[^,]+, VinDr-CXR\//);
    await expect(call('evaluation.runs.start', { benchmark: 'MS-CXR-loc', model: 'nope' })).rejects.toThrow(/no model named "nope"/);
    await expect(call('evaluation.runs.start', { benchmark: 'MS-CXR-loc', variant: 'nope' })).rejects.toMatchObject({ code: 'invalid_input' });
  });

  it('drops pairs without a location, counted per class', async () => {
    const image = context.db.prepare("SELECT b.image_id AS imageId, p.study_id AS studyId FROM boxes b JOIN phrases p ON p.id = b.phrase_id WHERE p.origin = 'ms-cxr' LIMIT 1").get() as { imageId: number; studyId: number };
    const phraseId = Number(context.db.prepare("INSERT INTO phrases (study_id, text, category, origin) VALUES (?, 'Pneumonia', 'Pneumonia', 'ms-cxr')").run(image.studyId).lastInsertRowid);
    context.db.prepare("INSERT INTO boxes (image_id, phrase_id, x, y, w, h, source) VALUES (?, ?, 10, 10, 50, 50, 'dataset')").run(image.imageId, phraseId);
    const [ms] = await call<{ pairs: number; dropped: number; classes: Record<string, { kept: number; all: number }> }[]>('evaluation.benchmarks.list', {});
    expect(ms).toMatchObject({ pairs: 19, dropped: 1 });
    expect(ms.classes.Pneumonia.all - ms.classes.Pneumonia.kept).toBe(1);
  });
});
