// One real tuning run through the job runner, with the real Python (sightline_tune) on the demo bundle and the
// demo dataset's curated pairs, on a tiny schedule: cancelled after its first step event (the trainer checkpoints on
// SIGTERM), resumed from that checkpoint to the end, its variant registered and usable (training.variants.list,
// models.list), its events and log kept; and the start's checks (unknown model, interpreter without torch, a name
// the manifest has, a dataset without kept pairs). Between the cancel and the end the app closes once (the trainer
// is stopped, the job interrupted) and a new app context on the same data directory resumes it.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Output } from '../../../common/contract';
import { createAppContext, type AppContext } from '../../../main/services/app-context';
import { callProcedure } from '../procedures';

const PYTHON = process.env.SIGHTLINE_PYTHON ?? '/usr/bin/python3';
const hasTorch = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch, PIL'], { encoding: 'utf8' }).status === 0;
if (!hasTorch && process.env.CI) throw new Error(`the tuning run test needs ${PYTHON} with torch (set SIGHTLINE_PYTHON)`);
const MIMIC = 'MIMIC-CXR (synthetic demo)';
const TINY = { num_inference_steps: 10, tune_steps: [5, 6], eval_steps: [5, 6], steps: 4, val_images: 1, val_boot: 20, checkpoint_every: 1, log_every: 1, threads: 1 };

let context: AppContext;

function call<T>(name: string, input: unknown): Promise<T> {
  return callProcedure<T>(context, name, input);
}

beforeAll(async () => {
  context = await createAppContext({ dataDir: mkdtempSync(path.join(os.tmpdir(), 'sightline-tune-')), mode: 'browser', importDemo: true });
  for (const job of context.jobs.list()) await context.jobs.wait(job.jobId);
}, 120_000);
afterAll(() => context.close());

describe.skipIf(!hasTorch)('a tuning run', () => {
  it('is refused before it starts when it cannot run', async () => {
    const start = (extra: Record<string, unknown>) => call('training.runs.start', { dataset: MIMIC, python: PYTHON, config: TINY, ...extra });
    await expect(start({ model: 'no-such-model' })).rejects.toMatchObject({ code: 'not_found', message: /no model named "no-such-model"/ });
    await expect(start({ python: '/nonexistent/python3' })).rejects.toMatchObject({ code: 'invalid_input', message: /\/nonexistent\/python3: no such interpreter/ });
    await expect(start({ name: 'frozen' })).rejects.toMatchObject({ code: 'invalid_input', message: /already has a variant "frozen"/ });
    await expect(start({ dataset: 'nope' })).rejects.toMatchObject({ code: 'not_found', message: /no dataset named "nope"/ });
    await expect(start({ config: { ...TINY, bogus: 1 } })).rejects.toMatchObject({ code: 'invalid_input' });
    const vindr = 'VinDr-CXR (synthetic demo)';
    const keep = (await call<Output<'training.pairs.list'>>('training.pairs.list', { dataset: vindr })).pairs.filter((p) => !p.dropped).map((p) => p.key);
    await call('training.pairs.exclude', { keys: keep, excluded: true });
    await expect(start({ dataset: vindr })).rejects.toMatchObject({ code: 'invalid_input', message: /dataset "VinDr-CXR \(synthetic demo\)" has no training pair to keep/ });
    expect(await call('training.runs.list', {})).toEqual([]);
    await expect(start({ config: { ...TINY, layers: [8, 99] } })).rejects.toMatchObject({ code: 'invalid_input', message: /config\.layers: 99 is not a cross-attention layer/ });
    await expect(start({ config: { ...TINY, tune_steps: [5, 10] } })).rejects.toMatchObject({ code: 'invalid_input', message: /config\.tune_steps: 10 not below num_inference_steps 10/ });
    await expect(start({ config: { ...TINY, amp: 'fp16' } })).rejects.toMatchObject({ code: 'invalid_input', message: /config\.amp: fp16 needs a CUDA device/ });
    // a run the trainer refuses (an image gone since it was imported) fails with the trainer's error event
    const kept = (await call<Output<'training.pairs.list'>>('training.pairs.list', { dataset: MIMIC })).pairs.find((p) => !p.dropped)!;
    const image = context.db.prepare('SELECT id, path FROM images WHERE id = ?').get(kept.imageId) as { id: number; path: string };
    context.db.prepare('UPDATE images SET path = ? WHERE id = ?').run('/nonexistent/gone.jpg', image.id);
    const { runId, jobId } = await call<{ runId: number; jobId: string }>('training.runs.start', { dataset: MIMIC, python: PYTHON, config: TINY });
    const failed = await context.jobs.wait(jobId);
    context.db.prepare('UPDATE images SET path = ? WHERE id = ?').run(image.path, image.id);
    expect(failed.error ?? failed.progress.state).toMatch(/pairs\.jsonl: line \d+: image not found: \/nonexistent\/gone\.jpg/);
    expect(failed.progress.state).toBe('failed');
    const run = await call<Output<'training.runs.get'>>('training.runs.get', { id: runId });
    expect(run).toMatchObject({ state: 'failed', variant: null, error: failed.error });
    expect(run.events.at(-1)).toMatchObject({ event: 'error', message: failed.error });
    console.log(`[training] a refused run's error: ${failed.error}`);
  });

  it('is cancelled after its first step, resumed, interrupted by an app close, resumed to the end, and registers a usable variant', async () => {
    const t0 = performance.now();
    const events: Output<'training.runs.get'>['events'] = [];
    let jobId = '';
    const stop = context.bus.subscribe((name, payload) => {
      if (name !== 'training.event') return;
      const { event } = payload as { runId: number; event: (typeof events)[number] };
      events.push(event);
      if (event.event === 'step' && events.filter((e) => e.event === 'step').length === 1) context.jobs.cancel(jobId);
    });
    let closing: Promise<void> | null = null;
    // the report sentences' pairs are excluded to keep the run small (the MS-CXR phrases train and validate)
    const pairs = await call<Output<'training.pairs.list'>>('training.pairs.list', { dataset: MIMIC });
    await call('training.pairs.exclude', { keys: pairs.pairs.filter((p) => p.key.startsWith('s') && !p.dropped).map((p) => p.key), excluded: true });
    const started = await call<{ runId: number; jobId: string }>('training.runs.start', { dataset: MIMIC, python: PYTHON, config: TINY, benchmark: 'MS-CXR-loc' });
    jobId = started.jobId;
    const first = await context.jobs.wait(jobId);
    expect(first.progress.state, `${first.error ?? ''}\n${(await call<Output<'training.runs.get'>>('training.runs.get', { id: started.runId })).log.join('\n')}`).toBe('cancelled');
    expect(first.progress.resumable).toBe(true);
    const cancelled = await call<Output<'training.runs.get'>>('training.runs.get', { id: started.runId });
    expect(cancelled).toMatchObject({ state: 'cancelled', variant: null, name: `tuned-${started.runId}`, steps: 4 });
    expect(cancelled.step).toBeGreaterThanOrEqual(1);
    expect(cancelled.step).toBeLessThan(4);
    expect(existsSync(path.join(cancelled.runDir, 'checkpoint.pt'))).toBe(true);
    expect(cancelled.events.map((e) => e.event)).toContain('checkpoint');
    const tCancel = performance.now();

    // resumed, then the app closes at the resumed run's first step: the trainer is stopped (it checkpoints) and the
    // job is interrupted; the next start of the app finds it resumable
    const stopClose = context.bus.subscribe((name, payload) => {
      if (name === 'training.event' && (payload as { event: { event: string } }).event.event === 'step' && !closing) closing = context.close();
    });
    context.jobs.resume(jobId);
    await context.jobs.wait(jobId);
    stop();
    stopClose();
    await closing;
    expect(closing).not.toBeNull();
    context = await createAppContext({ dataDir: context.dataDir, mode: 'browser', importDemo: false });
    const interrupted = await call<Output<'training.runs.get'>>('training.runs.get', { id: started.runId });
    expect(interrupted.state).toBe('interrupted');
    expect(interrupted.step).toBeGreaterThan(cancelled.step);
    expect(interrupted.step).toBeLessThan(4);
    expect(context.jobs.get(jobId)).toMatchObject({ state: 'interrupted', resumable: true });
    const stopAgain = context.bus.subscribe((name, payload) => name === 'training.event' && events.push((payload as { event: (typeof events)[number] }).event));
    context.jobs.resume(jobId);
    const last = await context.jobs.wait(jobId);
    stopAgain();
    const run = await call<Output<'training.runs.get'>>('training.runs.get', { id: started.runId });
    expect(last.progress.state, `${last.error ?? ''}\n${run.log.join('\n')}`).toBe('done');
    console.log(`[training] tune run: cancel after ${((tCancel - t0) / 1000).toFixed(1)} s, resumed, stopped by an app close, resumed to done in ${((performance.now() - tCancel) / 1000).toFixed(1)} s`);
    const starts = run.events.filter((e) => e.event === 'start');
    expect(starts.map((e) => e.resumed)).toEqual([false, true, true]);
    expect(run.events.filter((e) => e.event === 'step').map((e) => e.step).at(-1)).toBe(4);
    expect(run).toMatchObject({ state: 'done', step: 4, steps: 4, variant: `tuned-${started.runId}`, error: null, device: 'cpu', gpus: 1 });
    expect(run.before?.cnr.mean, JSON.stringify(run.events.filter((e) => e.event !== 'step'))).toEqual(expect.any(Number));
    expect(run.after?.cnr.mean).toEqual(expect.any(Number));
    expect(run.events).toEqual(events); // the file keeps what was sent live, in order

    // the before/after benchmark runs started through evaluation.runs.start (cancelled here: grounding is slow)
    const { frozen, tuned } = run.benchmarkRuns;
    expect([frozen, tuned]).toEqual([expect.any(Number), expect.any(Number)]);
    for (const id of [frozen!, tuned!]) {
      const b = await call<Output<'evaluation.runs.get'>>('evaluation.runs.get', { id });
      context.jobs.cancel(b.jobId!);
      await context.jobs.wait(b.jobId!);
    }
    expect((await call<Output<'evaluation.runs.get'>>('evaluation.runs.get', { id: tuned! })).label).toBe(`sightline-demo-ldm (${run.variant})`);
    expect((await call<Output<'evaluation.runs.get'>>('evaluation.runs.get', { id: frozen! })).label).toBe('sightline-demo-ldm (frozen)');

    const variants = await call<Output<'training.variants.list'>>('training.variants.list', { model: 'sightline-demo-ldm' });
    const mine = variants.find((v) => v.name === run.variant)!;
    expect(mine).toMatchObject({ problem: null, source: 'user', runId: started.runId });
    expect(mine.tokens.length).toBeGreaterThan(0);
    const models = await call<Output<'models.list'>>('models.list', {});
    expect(models.find((m) => m.name === 'sightline-demo-ldm')!.variants).toContain(run.variant);
    expect((await call<Output<'training.runs.list'>>('training.runs.list', {}))[0]).toMatchObject({ id: started.runId, state: 'done', variant: run.variant });
  }, 600_000);
  it('ends interrupted, not failed, when its trainer is killed from outside, and resumes from the checkpoint', async () => {
    let killed: number | null = null;
    const stop = context.bus.subscribe((name, payload) => {
      if (name !== 'training.event' || killed !== null) return;
      if ((payload as { event: { event: string } }).event.event !== 'checkpoint') return;
      // the trainer is a child of this process (python -m sightline_tune.train ...): what the out-of-memory killer would do
      const found = spawnSync('pgrep', ['-P', String(process.pid), '-f', 'sightline_tune'], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean);
      killed = Number(found[0]);
      process.kill(killed, 'SIGKILL');
    });
    const started = await call<{ runId: number; jobId: string }>('training.runs.start', { dataset: MIMIC, python: PYTHON, config: TINY, name: 'killed-run' });
    const { jobId } = started;
    const first = await context.jobs.wait(jobId);
    stop();
    expect(killed).toEqual(expect.any(Number));
    expect(first.progress.state, first.error ?? '').toBe('interrupted');
    expect(first.progress.resumable).toBe(true);
    expect(first.progress.message).toMatch(/the trainer was stopped from outside \(SIGKILL; out of memory\?\); resume continues from its last checkpoint \(step \d+\)/);
    expect((await call<Output<'training.runs.get'>>('training.runs.get', { id: started.runId })).state).toBe('interrupted');
    context.jobs.resume(jobId);
    const last = await context.jobs.wait(jobId);
    const run = await call<Output<'training.runs.get'>>('training.runs.get', { id: started.runId });
    expect(last.progress.state, `${last.error ?? ''}\n${run.log.join('\n')}`).toBe('done');
    expect(run.events.filter((e) => e.event === 'start').map((e) => e.resumed)).toEqual([false, true]);
    expect(run).toMatchObject({ state: 'done', step: 4, variant: 'killed-run' });
  }, 600_000);
});
