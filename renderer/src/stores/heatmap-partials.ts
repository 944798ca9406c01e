// Provisional maps of computing grounding requests (`heatmap.partial`: a job's map from the kept steps it has so
// far, main/grounding/service.ts), for the heatmaps store: the latest of each item, matched by job id and phrase,
// kept until its final map is shown or it fails, is cancelled or starts again. One that arrives before
// `heatmaps.compute` has answered its job id waits for it (`adopt`).

import { markRaw, shallowRef } from 'vue';
import type { Types } from '../../../common/contract';
import type { GroundingItem } from '../lib/grounding-requests';
import { preparePartial, type LoadedHeatmap } from '../lib/heatmap';

type HeatmapPartial = Types['HeatmapPartial'];

const EARLY_MAX = 16;

export function createPartials(items: () => GroundingItem[]) {
  /** item key -> its provisional map */
  const maps = shallowRef<ReadonlyMap<string, LoadedHeatmap>>(new Map());
  /** `${jobId}\0${phrase}` -> the latest partial of a job whose id no item has yet */
  const early = new Map<string, HeatmapPartial>();
  /** provisional maps count down from -1, so that each has an id no stored heatmap has (the layer uploads it anew) */
  let nextId = -1;
  const earlyKey = (jobId: string, phrase: string) => `${jobId}\0${phrase}`;

  function receive(p: HeatmapPartial): void {
    const item = items().find((i) => i.jobId === p.jobId && i.state === 'computing' && i.phrase === p.phrase);
    if (item) return apply(item, p);
    const key = earlyKey(p.jobId, p.phrase);
    if ((early.get(key)?.stepsDone ?? 0) >= p.stepsDone) return;
    early.delete(key);
    early.set(key, p);
    if (early.size > EARLY_MAX) early.delete(early.keys().next().value as string);
  }

  function apply(item: GroundingItem, p: HeatmapPartial): void {
    if ((item.partial?.stepsDone ?? 0) >= p.stepsDone) return; // an older one, late
    const next = new Map(maps.value);
    next.set(item.key, markRaw(preparePartial(p, nextId--)));
    maps.value = next;
    item.partial = { stepsDone: p.stepsDone, stepsTotal: p.stepsTotal };
  }

  /** The item's job id is known now: a partial that came before it. */
  function adopt(item: GroundingItem): void {
    if (!item.jobId) return;
    const key = earlyKey(item.jobId, item.phrase);
    const p = early.get(key);
    if (!p) return;
    early.delete(key);
    apply(item, p);
  }

  function drop(item: GroundingItem): void {
    if (item.partial) item.partial = null;
    if (!maps.value.has(item.key)) return;
    const next = new Map(maps.value);
    next.delete(item.key);
    maps.value = next;
  }

  /** The item's provisional map, if it has one. */
  const of = (key: string): LoadedHeatmap | null => maps.value.get(key) ?? null;

  return { receive, adopt, drop, of };
}
