// The `classification.*` procedures through the dispatcher on a real data directory with the demo imported:
// refusals (unknown class, variant, benchmark, model; lut · generic; no normal images) with the plan's words, and
// the runs' list / get / delete (a running run is busy; its error maps go with it).
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countErrorMaps } from '../../../main/db/classification-repo';
import { createAppContext, type AppContext } from '../../../main/services/app-context';
import { callProcedure } from '../procedures';

let context: AppContext;
const call = <T>(name: string, input: unknown): Promise<T> => callProcedure<T>(context, name, input);
const refusal = async (name: string, input: unknown) => {
  try {
    await call(name, input);
  } catch (error) {
    return { code: (error as { code?: string }).code, message: (error as Error).message };
  }
  throw new Error(`${name} was not refused`);
};

beforeAll(async () => {
  context = await createAppContext({ dataDir: mkdtempSync(path.join(os.tmpdir(), 'sightline-cls-svc-')), mode: 'browser', importDemo: true });
  for (const job of context.jobs.list()) await context.jobs.wait(job.jobId);
}, 120_000);
afterAll(() => context.close());

describe('classification service', () => {
  it('refuses what cannot run as invalid_input, with the words of the plan', async () => {
    const base = { benchmark: 'MS-CXR-loc', positive: 'Pneumothorax', samples: 1 };
    const unknownClass = await refusal('classification.runs.start', { ...base, positive: 'Nodule' });
    expect(unknownClass.code).toBe('invalid_input');
    expect(unknownClass.message).toMatch(/positive/);
    for (const [input, words] of [
      [{ ...base, variants: ['nope'] }, /no variant "nope" \(it has frozen, tuned, paper-frozen/],
      [{ ...base, benchmark: 'NoSuch' }, /no benchmark "NoSuch"/],
      [{ ...base, model: 'no-model' }, /no model named "no-model"/],
      [{ ...base, conditions: [{ prompt: 'generic', heatmap: 'lut' }] }, /lut heatmap needs the prompt's location/],
      [{ ...base, benchmark: 'VinDr-CXR' }, /has no normal image/],
    ] as const) {
      const r = await refusal('classification.runs.start', input);
      expect(r.code).toBe('invalid_input');
      expect(r.message).toMatch(words);
      const plan = await call<{ problem: string | null }>('classification.plan', input);
      expect(plan.problem).toBe(r.message);
    }
    expect(await call('classification.runs.list', {})).toEqual([]);
  });

  it('lists, gets and deletes runs; a running one is busy', async () => {
    const input = { benchmark: 'MS-CXR-loc', positive: 'Pleural Effusion', samples: 2, bootstrap: 0, permutations: 0, conditions: [{ prompt: 'generic', heatmap: 'uniform' }] };
    const { runId, jobId } = await call<{ runId: number; jobId: string }>('classification.runs.start', input);
    const running = await call<{ state: string; settings: Record<string, unknown>; report: unknown }>('classification.runs.get', { id: runId });
    expect(running).toMatchObject({ state: 'running', report: null, settings: { ...input, normalWeights: 'own', target: 'epsilon' } });
    expect((await refusal('classification.runs.delete', { id: runId })).code).toBe('busy');
    expect((await context.jobs.wait(jobId)).progress.state).toBe('done');
    const done = await call<{ state: string; report: { conditions: { ci_low: number | null; low_miou: unknown }[] } }>('classification.runs.get', { id: runId });
    expect(done.state).toBe('done');
    // no bootstrap: no CI; the plain row: no mIoU halves
    expect(done.report.conditions[0]).toMatchObject({ ci_low: null, low_miou: null });
    expect(countErrorMaps(context.db, runId)).toBeGreaterThan(0);
    expect(await call('classification.runs.delete', { id: runId })).toEqual({ deleted: true });
    expect(countErrorMaps(context.db, runId)).toBe(0);
    expect(await call('classification.runs.delete', { id: runId })).toEqual({ deleted: false });
    expect((await refusal('classification.runs.get', { id: runId })).code).toBe('not_found');
  }, 60_000);
});
