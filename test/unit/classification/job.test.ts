// The `classification` job on a real data directory with the demo imported and the demo model: a run stores one
// error map per (image, prompt) and a report per condition; a second identical run reuses the stored heatmaps (no new
// grounding) and gives the same numbers; a cancelled run resumed gives the report of an uninterrupted one.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { procedures } from '../../../common/contract';
import { countErrorMaps, listErrorMaps } from '../../../main/db/classification-repo';
import { createAppContext, type AppContext } from '../../../main/services/app-context';
import { callProcedure } from '../procedures';

type RunRecord = ReturnType<(typeof procedures)['classification.runs.get']['output']['parse']>;
let context: AppContext;
const call = <T>(name: string, input: unknown): Promise<T> => callProcedure<T>(context, name, input);

beforeAll(async () => {
  context = await createAppContext({ dataDir: mkdtempSync(path.join(os.tmpdir(), 'sightline-cls-job-')), mode: 'browser', importDemo: true });
  for (const job of context.jobs.list()) await context.jobs.wait(job.jobId);
}, 120_000);
afterAll(() => context.close());

async function runToEnd(input: Record<string, unknown>): Promise<RunRecord> {
  const { runId, jobId } = await call<{ runId: number; jobId: string }>('classification.runs.start', input);
  const end = await context.jobs.wait(jobId);
  expect(end.progress.state, end.error ?? '').toBe('done');
  return call<RunRecord>('classification.runs.get', { id: runId });
}

const heatmapCount = () => (context.db.prepare('SELECT count(*) AS n FROM heatmaps').get() as { n: number }).n;
/** The report without the cost (wall time differs between runs). */
const numbers = (r: RunRecord) => ({ conditions: r.report!.conditions, samples: r.samples });

describe('classification job', () => {
  const ptx = { benchmark: 'MS-CXR-loc', positive: 'Pneumothorax', samples: 4, bootstrap: 200, permutations: 200 };

  it('stores every prompt error map of every image and a report per condition; a second run grounds nothing', async () => {
    const before = heatmapCount();
    const run = await runToEnd(ptx);
    expect(run.state).toBe('done');
    const plan = await call<{ images: number; unetPasses: number; positives: number; negatives: number }>('classification.plan', ptx);
    // stored maps: images x their prompts = passes / samples
    expect(countErrorMaps(context.db, run.id)).toBe(plan.unetPasses / 4);
    for (const m of listErrorMaps(context.db, run.id)) {
      expect([m.width, m.height, m.passes]).toEqual([16, 16, 4]);
      expect(m.map.every((x) => Number.isFinite(x) && x >= 0)).toBe(true);
    }
    const names = run.report!.conditions.map((c) => c.condition.name);
    expect(names).toEqual(['uniform · generic', 'frozen · generic', 'frozen · located']);
    expect(run.samples['uniform · generic']).toHaveLength(plan.positives + plan.negatives);
    expect(run.samples['frozen · located']).toHaveLength(plan.positives + plan.negatives * 4);
    for (const c of run.report!.conditions) {
      expect(c.auroc).not.toBeNull();
      expect(c.auroc!).toBeGreaterThanOrEqual(0);
      expect(c.auroc!).toBeLessThanOrEqual(1);
      expect(c.roc[0]).toEqual([0, 0]);
      expect(c.roc[c.roc.length - 1]).toEqual([1, 1]);
    }
    for (const s of run.samples['frozen · located']) expect(s.score).toBeCloseTo(s.errorNormal - s.errorPathology, 12);
    // the plain row's errors are the plain means of the stored maps of the normal and the generic prompt
    const stored = new Map(listErrorMaps(context.db, run.id).map((m) => [`${m.imageId}:${m.prompt}`, m.map]));
    const mean = (m: Float32Array) => m.reduce((a, x) => a + x, 0) / m.length;
    for (const s of run.samples['uniform · generic']) {
      expect(s.prompt).toBe('pneumothorax');
      expect(s.errorNormal).toBeCloseTo(mean(stored.get(`${s.imageId}:No acute cardiopulmonary process`)!), 6);
      expect(s.errorPathology).toBeCloseTo(mean(stored.get(`${s.imageId}:pneumothorax`)!), 6);
    }
    // the heatmap rows have the positives' mIoU; the plain row has none
    expect(run.samples['frozen · generic'].filter((s) => s.role === 'positive').every((s) => s.miou !== null && s.miou >= 0)).toBe(true);
    expect(run.samples['uniform · generic'].every((s) => s.miou === null)).toBe(true);
    expect(run.report!.cost.images).toBe(plan.images);
    expect(run.report!.cost.perPass).toBeGreaterThan(0);
    const grounded = heatmapCount();
    expect(grounded).toBeGreaterThan(before);

    const again = await runToEnd(ptx);
    expect(heatmapCount()).toBe(grounded);
    expect(numbers(again)).toEqual(numbers(run));
    const list = await call<{ id: number; state: string; aurocs: Record<string, number | null> }[]>('classification.runs.list', {});
    expect(list.map((r) => r.id)).toEqual([again.id, run.id]);
    expect(list[0].aurocs['uniform · generic']).toBe(run.report!.conditions[0].auroc);
  }, 120_000);

  it('a cancelled run resumed gives the report of an uninterrupted run', async () => {
    const effusion = { benchmark: 'MS-CXR-loc', positive: 'Pleural Effusion', samples: 4, bootstrap: 200, permutations: 200, conditions: [{ prompt: 'generic', heatmap: 'uniform' }, { prompt: 'located', heatmap: 'lut' }] };
    const whole = await runToEnd(effusion);
    const { runId, jobId } = await call<{ runId: number; jobId: string }>('classification.runs.start', effusion);
    // cancel once the first image is stored
    const unsubscribe = context.jobs.subscribe((p) => {
      if (p.jobId === jobId && p.state === 'running' && p.done >= 1) context.jobs.cancel(jobId);
    });
    const stopped = await context.jobs.wait(jobId);
    unsubscribe();
    expect(stopped.progress.state).toBe('cancelled');
    const kept = countErrorMaps(context.db, runId);
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(countErrorMaps(context.db, whole.id));
    const cancelled = await call<RunRecord>('classification.runs.get', { id: runId });
    expect([cancelled.state, cancelled.report]).toEqual(['cancelled', null]);
    const keptMaps = listErrorMaps(context.db, runId);

    context.jobs.resume(jobId);
    expect((await context.jobs.wait(jobId)).progress.state).toBe('done');
    const resumed = await call<RunRecord>('classification.runs.get', { id: runId });
    expect(numbers(resumed)).toEqual(numbers(whole));
    // the images stored before the cancel were not computed again
    const after = new Map(listErrorMaps(context.db, runId).map((m) => [`${m.imageId}:${m.prompt}`, m]));
    for (const m of keptMaps) expect(after.get(`${m.imageId}:${m.prompt}`)!.ms).toBe(m.ms);
    expect(countErrorMaps(context.db, runId)).toBe(countErrorMaps(context.db, whole.id));
  }, 120_000);
});
