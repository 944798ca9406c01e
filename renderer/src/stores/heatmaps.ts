import { defineStore } from 'pinia';
import { computed, markRaw, ref } from 'vue';
import type { Types } from '../../../common/contract';
import { api, events } from '../api';
import { errorMessage } from '../lib/format';
import { normalisePhrase } from '../lib/grounding';
import { requestKey, storedKey, type GroundingItem, type ModelChoice } from '../lib/grounding-requests';
import { prepareHeatmap, type LoadedHeatmap } from '../lib/heatmap';
import { createPartials } from './heatmap-partials';
import { followItemHeatmap, type ItemHeatmap } from './item-heatmap';
import { useToastStore } from './toasts';

type JobProgress = Types['JobProgress'];

export { progressPercent, provisionalLabel, requestKey, type GroundingItem, type GroundingState, type HeatmapStatus, type ModelChoice } from '../lib/grounding-requests';

export const POLL_MS = 2000;
const DATA_CACHE = 16;
/** `heatmaps.compute` calls per request: the first, and again after each finished job (a job answers once) */
const MAX_CALLS = 4;
const EARLY_MAX = 64;

/**
 * Grounding: phrase (with a model and variant) -> `heatmaps.compute` -> the stored heatmap at once, or a job
 * followed through its `job.progress` events (and a `jobs.list` poll as a fallback) until it is done, then
 * `heatmaps.compute` again for the heatmap's id -> `heatmaps.get`. One request computes at a time per image, the
 * rest wait in order; a request the image's stored heatmaps already answer skips the queue. The selected item of
 * the current image is the one the viewer shows; Compare and the small multiples follow theirs through `follow`.
 * While an item computes, whoever follows it shows its latest provisional map (`heatmap.partial`,
 * stores/heatmap-partials.ts) until the final one is loaded (stores/item-heatmap.ts).
 */
export const useHeatmapStore = defineStore('heatmaps', () => {
  const items = ref<GroundingItem[]>([]);
  /** the image the viewer shows */
  const imageId = ref<number | null>(null);
  /** image id -> key of its item to show */
  const selected = ref<Record<number, string>>({});
  const cache = new Map<number, LoadedHeatmap>();
  const loading = new Map<number, Promise<LoadedHeatmap>>();
  /** image id -> its stored model heatmaps (storedKey), from `heatmaps.list` */
  const stored = new Map<number, Set<string>>();
  /** progress of jobs whose id `heatmaps.compute` has not answered yet */
  const early = new Map<string, JobProgress>();
  const calls = new Map<string, number>();
  /** item key -> its current attempt: an answer to an earlier attempt (cancelled, then retried) is dropped */
  const attempts = new Map<string, number>();
  /** item key -> how many panes follow it (`follow`): a followed item's provisional map outlives its job */
  const followers = new Map<string, number>();
  let unsubscribe: (() => void) | null = null;
  let pollTimer: ReturnType<typeof setInterval> | null = null;

  const find = (key: string | undefined) => (key === undefined ? undefined : items.value.find((i) => i.key === key));
  const currentItems = computed(() => items.value.filter((i) => i.imageId === imageId.value));
  const current = computed(() => (imageId.value === null ? undefined : find(selected.value[imageId.value])));
  const partials = createPartials(() => items.value);
  const busy = computed(() => items.value.some((i) => i.state === 'queued' || i.state === 'computing'));

  type NewItem = Omit<GroundingItem, 'jobId' | 'heatmapId' | 'done' | 'total' | 'etaSeconds' | 'message' | 'error' | 'model' | 'variant' | 'source'>;
  function add(item: NewItem & Partial<GroundingItem>): GroundingItem {
    items.value.push({ jobId: null, heatmapId: null, done: 0, total: null, etaSeconds: null, message: '', error: null, model: null, variant: null, source: 'model', partial: null, ...item });
    return items.value[items.value.length - 1]; // the reactive one
  }

  function listen(): void {
    if (unsubscribe) return;
    const off = [events.on('job.progress', onProgress), events.on('heatmap.partial', partials.receive)];
    unsubscribe = () => off.forEach((f) => f());
  }

  function onProgress(p: JobProgress): void {
    const item = items.value.find((i) => i.jobId === p.jobId && i.state === 'computing');
    if (item) return apply(item, p);
    if (p.kind !== 'grounding') return;
    early.set(p.jobId, p);
    if (early.size > EARLY_MAX) early.delete(early.keys().next().value as string);
  }

  function apply(item: GroundingItem, p: JobProgress): void {
    if (item.state !== 'computing' || item.jobId !== p.jobId) return;
    item.done = p.done;
    item.total = p.total;
    item.etaSeconds = p.etaSeconds;
    item.message = p.message;
    if (p.state === 'done') {
      item.jobId = null;
      void request(item); // the job stored the heatmap: this answers its id
    } else if (p.state === 'cancelled') finish(item, 'cancelled', null);
    else if (p.state !== 'running') finish(item, 'failed', p.message || `the grounding job was ${p.state}`);
  }

  async function request(item: GroundingItem): Promise<void> {
    const n = (calls.get(item.key) ?? 0) + 1;
    calls.set(item.key, n);
    const attempt = attempts.get(item.key);
    listen(); // before the call: a fast job can report before its id comes back
    try {
      const named = item.model !== null && item.variant !== null ? { model: item.model, variant: item.variant } : {};
      const r = await api.heatmaps.compute({ imageId: item.imageId, phrase: item.phrase, ...named });
      if (item.state !== 'computing' || attempts.get(item.key) !== attempt) {
        // cancelled while the request was under way: the job it started goes too
        if (r.jobId) void api.jobs.cancel({ jobId: r.jobId }).catch(() => undefined);
        return;
      }
      if (r.heatmapId !== null) return complete(item, r.heatmapId);
      if (!r.jobId) throw new Error('the service answered neither a heatmap nor a job');
      if (n >= MAX_CALLS) throw new Error('the job finished but no heatmap was stored for this request');
      item.jobId = r.jobId;
      partials.adopt(item);
      startPolling();
      const e = early.get(r.jobId);
      if (e) {
        early.delete(r.jobId);
        apply(item, e);
      }
    } catch (e) {
      if (item.state === 'computing' && attempts.get(item.key) === attempt) finish(item, 'failed', errorMessage(e));
    }
  }

  function complete(item: GroundingItem, heatmapId: number): void {
    item.state = 'done';
    item.heatmapId = heatmapId;
    item.jobId = null;
    item.error = null;
    calls.delete(item.key);
    // a followed item keeps its provisional map until the final one is loaded (follow)
    if (!followers.has(item.key)) partials.drop(item);
    // the same heatmap listed from storage: this request stands for it
    const dup = items.value.findIndex((i) => i !== item && i.heatmapId === heatmapId && i.key.startsWith('h:'));
    if (dup >= 0) {
      const [d] = items.value.splice(dup, 1);
      item.model ??= d.model;
      item.variant ??= d.variant;
      item.source = d.source;
      if (selected.value[d.imageId] === d.key) select(item.key);
    }
    pump(item.imageId);
  }

  function finish(item: GroundingItem, state: 'failed' | 'cancelled', error: string | null): void {
    item.state = state;
    item.error = error;
    item.jobId = null;
    calls.delete(item.key);
    partials.drop(item);
    pump(item.imageId);
  }

  /** Start the image's next queued request unless one is computing. */
  function pump(image: number): void {
    if (items.value.some((i) => i.imageId === image && i.state === 'computing')) return;
    const next = items.value.find((i) => i.imageId === image && i.state === 'queued');
    if (next) start(next);
  }

  function start(item: GroundingItem): void {
    attempts.set(item.key, (attempts.get(item.key) ?? 0) + 1);
    calls.delete(item.key);
    partials.drop(item);
    Object.assign(item, { state: 'computing', jobId: null, done: 0, total: null, etaSeconds: null, message: '', error: null });
    void request(item);
  }

  /** Whether the image's stored heatmaps answer this request (with no choice: any of the phrase's). */
  function isStored(image: number, text: string, choice: ModelChoice | null): boolean {
    const set = stored.get(image);
    if (!set) return false;
    if (choice) return set.has(storedKey(choice.model, choice.variant, text));
    const suffix = `|${text.toLowerCase()}`;
    return [...set].some((k) => k.endsWith(suffix));
  }

  /**
   * Ground a phrase on an image with a model and variant (null: the service's default), queued behind the image's
   * running request; `show` selects it for the viewer. `onQueued` is told when this call queued the request (a new
   * one, or a failed or cancelled one again), not when it found it already asked for (Compare cancels only its own).
   */
  function ground(image: number, phrase: string, show = true, choice: ModelChoice | null = null, onQueued?: (item: GroundingItem) => void): GroundingItem | null {
    const text = normalisePhrase(phrase);
    if (!text) return null;
    const key = requestKey(image, text, choice);
    let item = find(key);
    const queuedHere = !item || item.state === 'failed' || item.state === 'cancelled';
    if (!item) item = add({ key, imageId: image, phrase: text, state: 'queued', model: choice?.model ?? null, variant: choice?.variant ?? null });
    else if (queuedHere) Object.assign(item, { state: 'queued', error: null });
    if (queuedHere) onQueued?.(item);
    if (show) select(key);
    if (item.state === 'queued') {
      const running = items.value.some((i) => i.imageId === image && i.state === 'computing');
      if (!running) pump(image);
      else if (isStored(image, text, choice)) start(item); // answered before: no need to wait
    }
    return item;
  }

  /** Queue several phrases (the report's findings); the first is shown when the image shows nothing yet. */
  function groundAll(image: number, phrases: readonly string[], choice: ModelChoice | null = null): number {
    const added = phrases.map((p) => ground(image, p, false, choice)).filter((i): i is GroundingItem => i !== null);
    if (added.length && !find(selected.value[image])) select(added[0].key);
    return added.length;
  }

  function select(key: string): void {
    const item = find(key);
    if (item) selected.value = { ...selected.value, [item.imageId]: key };
  }

  async function cancel(key: string): Promise<void> {
    const item = find(key);
    if (!item || (item.state !== 'queued' && item.state !== 'computing')) return;
    const jobId = item.jobId;
    finish(item, 'cancelled', null);
    if (!jobId) return;
    try {
      await api.jobs.cancel({ jobId });
    } catch (e) {
      useToastStore().error(e, 'Cancel grounding');
    }
  }

  /** Forget a finished, failed or cancelled item (the stored heatmap stays stored). */
  function dismiss(key: string): void {
    const i = items.value.findIndex((x) => x.key === key);
    if (i < 0 || items.value[i].state === 'queued' || items.value[i].state === 'computing') return;
    const [item] = items.value.splice(i, 1);
    partials.drop(item);
    if (selected.value[item.imageId] === key) {
      const rest = { ...selected.value };
      delete rest[item.imageId];
      selected.value = rest;
    }
  }

  /**
   * The viewer moved to another image: list its stored heatmaps (model and imported); show the active phrase's if
   * it is among them, under `choice` when given.
   */
  async function setImage(image: number | null, activePhrase: string | null = null, choice: ModelChoice | null = null): Promise<void> {
    imageId.value = image;
    if (image === null) return;
    try {
      const list = await api.heatmaps.list({ imageId: image });
      stored.set(image, new Set(list.filter((s) => s.source === 'model').map((s) => storedKey(s.model, s.variant, s.phrase))));
      for (const s of list) {
        if (items.value.some((i) => i.heatmapId === s.id)) continue;
        add({ key: `h:${s.id}`, imageId: image, phrase: s.phrase, state: 'done', heatmapId: s.id, model: s.model, variant: s.variant, source: s.source });
      }
    } catch {
      return; // the list is a convenience: requests still work
    }
    const text = activePhrase ? normalisePhrase(activePhrase) : '';
    if (text && imageId.value === image && !find(selected.value[image]) && isStored(image, text, choice)) ground(image, text, true, choice);
  }

  /** A heatmap's data, prepared for drawing (the last DATA_CACHE kept; one request per id at a time). */
  function fetchHeatmap(id: number): Promise<LoadedHeatmap> {
    const hit = cache.get(id);
    if (hit) return Promise.resolve(hit);
    const inflight = loading.get(id);
    if (inflight) return inflight;
    const promise = api.heatmaps
      .get({ id })
      .then((data) => {
        const h = markRaw(prepareHeatmap(data));
        cache.set(id, h);
        if (cache.size > DATA_CACHE) cache.delete(cache.keys().next().value as number);
        // requests made with the service's default learn their model and variant
        for (const i of items.value) if (i.heatmapId === id && i.model === null) Object.assign(i, { model: h.model, variant: h.variant });
        return h;
      })
      .finally(() => loading.delete(id));
    loading.set(id, promise);
    return promise;
  }

  /** One pane follows one item (the caller's scope: its setup); stores/item-heatmap.ts. */
  function follow(item: () => GroundingItem | undefined): ItemHeatmap {
    return followItemHeatmap({ cachedHeatmap: (id) => cache.get(id), fetchHeatmap, provisionalOf: partials.of, hold, finalLoaded }, item);
  }

  function hold(key: string): () => void {
    followers.set(key, (followers.get(key) ?? 0) + 1);
    return () => {
      const n = (followers.get(key) ?? 1) - 1;
      if (n > 0) return void followers.set(key, n);
      followers.delete(key);
      // let go before its final map was shown: a finished item's provisional map has no one left to show it
      const item = find(key);
      if (item && item.state !== 'computing') partials.drop(item);
    };
  }

  function finalLoaded(heatmapId: number): void {
    for (const i of items.value) if (i.heatmapId === heatmapId) partials.drop(i);
  }

  // what the main viewer shows: the current image's selected item, its final map or else its provisional one
  const main = follow(() => current.value);
  const shown = main.heatmap;
  const status = main.status;

  async function poll(): Promise<void> {
    const following = items.value.filter((i) => i.state === 'computing' && i.jobId);
    if (following.length === 0) return stopPolling();
    try {
      const jobs = await api.jobs.list({});
      for (const item of following) {
        const job = jobs.find((j) => j.jobId === item.jobId);
        if (job && (job.state !== 'running' || job.done !== item.done)) apply(item, job);
      }
    } catch {
      /* transient: events may still arrive */
    }
  }

  function startPolling(): void {
    pollTimer ??= setInterval(() => void poll(), POLL_MS);
  }

  function stopPolling(): void {
    if (pollTimer) clearInterval(pollTimer);
    pollTimer = null;
  }

  return { items, imageId, selected, shown, currentItems, current, status, busy, ground, groundAll, select, cancel, dismiss, setImage, follow, onProgress, poll };
});
