// A grounding job's provisional maps as `heatmap.partial` events, through the app's services on a real data
// directory (the demo studies, the demo bundle on the ONNX worker thread, SQLite). The demo's job is one attention
// batch, so the context forces several (`attentionChunks`, the test hook): events for each phrase, all before the
// job is done and none after it, of the map's size. The throttle on its own (fake timers): none once the job is
// cancelled or has ended.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { events as eventSchemas, type EventName, type Types } from '../../../common/contract';
import { GROUNDING_JOB, PARTIAL_INTERVAL_MS, partialPublisher } from '../../../main/grounding/service';
import { createAppContext, type AppContext } from '../../../main/services/app-context';

let context: AppContext;
let imageId: number;
type Heard = { event: EventName; payload: unknown; at: number };
const heard: Heard[] = [];

beforeAll(async () => {
  context = await createAppContext({ dataDir: mkdtempSync(path.join(os.tmpdir(), 'sightline-partials-')), mode: 'browser', importDemo: true, attentionChunks: 10 });
  const [demo] = context.jobs.list();
  await context.jobs.wait(demo.jobId);
  const reply = await context.dispatcher.call('studies.list', { search: 'effusion' });
  if (!reply.ok) throw new Error(reply.error.message);
  imageId = (reply.value as { items: { firstImageId: number }[] }).items[0].firstImageId;
  context.bus.subscribe((event, payload) => heard.push({ event, payload, at: performance.now() }));
});
afterAll(() => context.close());

const partialsOf = (jobId: string) =>
  heard.filter((h) => h.event === 'heatmap.partial' && (h.payload as Types['HeatmapPartial']).jobId === jobId).map((h) => h.payload as Types['HeatmapPartial']);
const indexOfState = (jobId: string, state: string) => heard.findIndex((h) => h.event === 'job.progress' && (h.payload as Types['JobProgress']).jobId === jobId && (h.payload as Types['JobProgress']).state === state);

describe('heatmap.partial', () => {
  it('a grounding job sends provisional maps of each phrase before it is done, and none after', async () => {
    const phrases = ['right pleural effusion', 'cardiomegaly'];
    const jobId = context.jobs.start(GROUNDING_JOB, { imageId, phrases, model: null, variant: null });
    const done = await context.jobs.wait<{ heatmapIds: number[] }>(jobId);
    expect(done.progress.state, done.progress.message).toBe('done');
    const countAtDone = partialsOf(jobId).length;
    await new Promise((r) => setTimeout(r, 2 * PARTIAL_INTERVAL_MS)); // a throttled trailing event would come by now
    const partials = partialsOf(jobId);
    console.log(`[partials] ${partials.map((p) => `${p.phrase}:${p.stepsDone}`).join(' ')}`);
    expect(partials).toHaveLength(countAtDone);

    const doneAt = indexOfState(jobId, 'done');
    const lastPartialAt = heard.findLastIndex((h) => h.event === 'heatmap.partial' && (h.payload as Types['HeatmapPartial']).jobId === jobId);
    expect(doneAt).toBeGreaterThan(-1);
    expect(lastPartialAt).toBeLessThan(doneAt);

    const finals = await Promise.all(
      done.result!.heatmapIds.map(async (id) => {
        const reply = await context.dispatcher.call('heatmaps.get', { id });
        if (!reply.ok) throw new Error(reply.error.message);
        return reply.value as Types['HeatmapData'];
      }),
    );
    for (const [i, phrase] of phrases.entries()) {
      const mine = partials.filter((p) => p.phrase === phrase);
      expect(mine.length, phrase).toBeGreaterThan(0);
      const steps = mine.map((p) => p.stepsDone);
      expect(steps).toEqual([...steps].sort((a, b) => a - b));
      expect(new Set(steps).size).toBe(steps.length);
      for (const p of mine) {
        eventSchemas['heatmap.partial'].parse(p);
        expect(p).toMatchObject({ jobId, imageId, model: 'sightline-demo-ldm', variant: 'frozen', stepsTotal: 20, width: 128, height: 128, geometry: finals[i].geometry });
        expect(p.stepsDone).toBeLessThan(20 + 1);
        expect(p.data.byteLength).toBe(128 * 128 * 4);
        const map = new Float32Array(p.data.buffer, p.data.byteOffset, 128 * 128);
        expect(Math.min(...map)).toBe(0);
        expect(Math.max(...map)).toBeCloseTo(1, 6);
        expect(p.threshold).toBeGreaterThan(0); // the frozen variant's Otsu, of this map
      }
    }
    // at most one per phrase per interval (the first of each phrase goes at once)
    for (const phrase of phrases) {
      const times = heard.filter((h) => h.event === 'heatmap.partial' && (h.payload as Types['HeatmapPartial']).phrase === phrase && (h.payload as Types['HeatmapPartial']).jobId === jobId).map((h) => h.at);
      for (let i = 1; i < times.length; i++) expect(times[i] - times[i - 1]).toBeGreaterThan(PARTIAL_INTERVAL_MS - 20);
    }
  });

});

describe("partialPublisher (the job's throttle)", () => {
  const geometry = { originalRows: 4, originalColumns: 4, top: 0, left: 0, width: 4, height: 4 };
  const job = { jobId: 'grounding-x', imageId: 1, model: 'demo', variant: 'frozen' };
  const provisional = (phrase: string, stepsDone: number) => ({ phrase, map: new Float32Array(16).fill(stepsDone / 20), threshold: null, stepsDone, stepsTotal: 20, size: 4, geometry });

  it('sends the first map of a phrase at once, then at most one per interval (the latest), and nothing after a cancel or the end', async () => {
    vi.useFakeTimers();
    try {
      const sent: Types['HeatmapPartial'][] = [];
      const controller = new AbortController();
      const publisher = partialPublisher((event, payload) => event === 'heatmap.partial' && sent.push(payload as Types['HeatmapPartial']), job, controller.signal);
      publisher.push(provisional('a', 1));
      publisher.push(provisional('b', 1));
      publisher.push(provisional('a', 2));
      publisher.push(provisional('a', 3));
      expect(sent.map((p) => [p.phrase, p.stepsDone])).toEqual([['a', 1], ['b', 1]]);
      vi.advanceTimersByTime(PARTIAL_INTERVAL_MS);
      expect(sent.map((p) => [p.phrase, p.stepsDone])).toEqual([['a', 1], ['b', 1], ['a', 3]]);
      expect(sent[2]).toMatchObject({ ...job, width: 4, height: 4, stepsTotal: 20, geometry });
      expect(new Float32Array(sent[2].data.buffer, sent[2].data.byteOffset, 16)[0]).toBeCloseTo(3 / 20);
      eventSchemas['heatmap.partial'].parse(sent[2]);

      publisher.push(provisional('a', 4)); // pending (within the interval) when the job is cancelled
      controller.abort();
      publisher.push(provisional('b', 2));
      vi.advanceTimersByTime(10 * PARTIAL_INTERVAL_MS);
      expect(sent).toHaveLength(3);

      const ended = partialPublisher((_e, payload) => sent.push(payload as Types['HeatmapPartial']), job, new AbortController().signal);
      ended.push(provisional('c', 1));
      ended.push(provisional('c', 2)); // pending when the job ends
      ended.close();
      ended.push(provisional('c', 3));
      vi.advanceTimersByTime(10 * PARTIAL_INTERVAL_MS);
      expect(sent.slice(3).map((p) => [p.phrase, p.stepsDone])).toEqual([['c', 1]]);
    } finally {
      vi.useRealTimers();
    }
  });
});
