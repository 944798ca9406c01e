// Inter-annotator agreement on boxes: for two annotators (dataset readers such as VinDr's R1..R17, or users), over
// the (image, phrase) pairs both boxed, each pair's boxes are matched greedily by IoU (every box pair with IoU > 0,
// highest first, each box used once: what COCO-style evaluation does; Hungarian could trade a best match for two
// fair ones, greedy never does, and with 1-3 boxes per phrase the two rarely differ). Scores: F1 at IoU 0.5
// (2·matches ≥ 0.5 / (boxes of A + boxes of B): symmetric, no annotator is the truth) and the mean IoU of the matches.
import type { z } from 'zod';
import { RpcError, type Types } from '../../common/contract';
import type { AgreementParams, AgreementReport, AnnotatorPair } from '../../common/contract/annotations';
import { datasetExists, listDatasetBoxes } from '../db/boxes-repo';
import type { Db } from '../db/database';

type Rect = Pick<Types['Box'], 'x' | 'y' | 'w' | 'h'>;
type Pair = z.output<typeof AnnotatorPair>;

export function iou(a: Rect, b: Rect): number {
  const iw = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
  const ih = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  return inter / (a.w * a.h + b.w * b.h - inter);
}

export interface Match {
  a: number;
  b: number;
  iou: number;
}

/** Greedy one-to-one matching by IoU (> 0), highest first; ties by index, so the result is deterministic. */
export function greedyMatch(a: readonly Rect[], b: readonly Rect[]): Match[] {
  const candidates: Match[] = [];
  a.forEach((ra, i) => b.forEach((rb, j) => {
    const v = iou(ra, rb);
    if (v > 0) candidates.push({ a: i, b: j, iou: v });
  }));
  candidates.sort((x, y) => y.iou - x.iou || x.a - y.a || x.b - y.b);
  const usedA = new Set<number>();
  const usedB = new Set<number>();
  const out: Match[] = [];
  for (const c of candidates) {
    if (usedA.has(c.a) || usedB.has(c.b)) continue;
    usedA.add(c.a);
    usedB.add(c.b);
    out.push(c);
  }
  return out;
}

/** Who drew a box: its reader (dataset reader id or user name), else "dataset" / "user". */
export function annotatorOf(b: Pick<Types['Box'], 'source' | 'reader'>): string {
  return b.reader ?? (b.source === 'dataset' ? 'dataset' : 'user');
}

/** Agreement of a and b over pairs: key -> annotator -> boxes. */
export function agreementOf(pairs: ReadonlyMap<string, ReadonlyMap<string, Rect[]>>, a: string, b: string): Pair {
  const out: Pair = { a, b, pairs: 0, onlyA: 0, onlyB: 0, boxesA: 0, boxesB: 0, matched50: 0, f1: null, meanIou: null, matches: 0 };
  let iouSum = 0;
  for (const byAnnotator of pairs.values()) {
    const ba = byAnnotator.get(a);
    const bb = byAnnotator.get(b);
    if (ba && !bb) out.onlyA++;
    if (bb && !ba) out.onlyB++;
    if (!ba || !bb) continue;
    out.pairs++;
    out.boxesA += ba.length;
    out.boxesB += bb.length;
    for (const m of greedyMatch(ba, bb)) {
      out.matches++;
      iouSum += m.iou;
      if (m.iou >= 0.5) out.matched50++;
    }
  }
  if (out.boxesA + out.boxesB > 0) out.f1 = (2 * out.matched50) / (out.boxesA + out.boxesB);
  if (out.matches > 0) out.meanIou = iouSum / out.matches;
  return out;
}

export function datasetAgreement(db: Db, params: z.output<typeof AgreementParams>): z.output<typeof AgreementReport> {
  if (!datasetExists(db, params.dataset)) throw new RpcError('not_found', `no dataset "${params.dataset}"`);
  const pairs = new Map<string, Map<string, Rect[]>>();
  const annotators = new Map<string, { boxes: number; pairs: Set<string> }>();
  for (const box of listDatasetBoxes(db, params.dataset)) {
    const key = `${box.imageId}:${box.phraseId}`;
    const who = annotatorOf(box);
    let byAnnotator = pairs.get(key);
    if (!byAnnotator) pairs.set(key, (byAnnotator = new Map()));
    let list = byAnnotator.get(who);
    if (!list) byAnnotator.set(who, (list = []));
    list.push({ x: box.x, y: box.y, w: box.w, h: box.h });
    let stats = annotators.get(who);
    if (!stats) annotators.set(who, (stats = { boxes: 0, pairs: new Set() }));
    stats.boxes++;
    stats.pairs.add(key);
  }
  const names = [...annotators.keys()].sort((x, y) => x.localeCompare(y, 'en', { numeric: true }));
  let wanted: [string, string][];
  if (params.a !== undefined && params.b !== undefined) {
    for (const n of [params.a, params.b]) {
      if (!annotators.has(n)) throw new RpcError('not_found', `no boxes by "${n}" in dataset "${params.dataset}" (annotators: ${names.join(', ') || 'none'})`);
    }
    wanted = [[params.a, params.b]];
  } else {
    wanted = [];
    for (let i = 0; i < names.length; i++) for (let j = i + 1; j < names.length; j++) wanted.push([names[i], names[j]]);
  }
  const scored = wanted.map(([a, b]) => agreementOf(pairs, a, b));
  return {
    dataset: params.dataset,
    annotators: names.map((name) => ({ name, boxes: annotators.get(name)!.boxes, phrases: annotators.get(name)!.pairs.size })),
    // without a and b: only the annotator pairs that boxed something together
    pairs: params.a !== undefined ? scored : scored.filter((p) => p.pairs > 0),
  };
}
