// Per-reader schedules of a reader study: which case x arm each reader reads at each position, in which sitting.
// A schedule is a pure function of (seed, SCHEDULER_VERSION, design sizes, reader index): it is written to
// reader_items once at creation, and can be recomputed to check it. Never Math.random: a seeded mulberry32 whose
// state comes from sha256(seed | purpose), so that each reader's and each round's stream is independent.
// (pure-rand is in node_modules only as a dev dependency of fast-check; 15 lines with pinned vectors beat a new
// runtime dependency whose algorithm could change under us between versions.)
import { createHash } from 'node:crypto';

/** Bump when any output of readerSchedule changes for the same input; studies record the version they used. */
export const SCHEDULER_VERSION = 1;

export type Blocks = 'case' | 'apart';

/** mulberry32 (Tommy Ettinger's 32-bit generator): a stream of uint32 from a 32-bit state. */
export function mulberry32(state: number): () => number {
  let a = state >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** A generator for one purpose of one seed: the first 4 bytes of sha256("seed|part|part...") as the state. */
export function streamFor(seed: string, ...parts: (string | number)[]): () => number {
  const digest = createHash('sha256').update([seed, ...parts].join('|')).digest();
  return mulberry32(digest.readUInt32BE(0));
}

/** An integer in [0, n), unbiased (rejection of the top partial range). */
export function randomBelow(next: () => number, n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > 2 ** 32) throw new Error(`randomBelow: n must be an integer in 1..2^32, got ${n}`);
  const limit = 2 ** 32 - (2 ** 32 % n);
  for (;;) {
    const u = next();
    if (u < limit) return u % n;
  }
}

/** Fisher-Yates on a copy. */
export function shuffle<T>(items: readonly T[], next: () => number): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = randomBelow(next, i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/**
 * A Williams design: rows of arm orders in which every arm takes each place equally often and (for an even number
 * of arms) every arm directly follows every other equally often; an odd number gets the mirrored rows too (2k rows).
 */
export function williamsSquare(k: number): number[][] {
  if (!Number.isInteger(k) || k < 1) throw new Error(`williamsSquare: k must be a positive integer, got ${k}`);
  const first: number[] = [0];
  for (let lo = 1, hi = k - 1; first.length < k; ) {
    first.push(lo++);
    if (first.length < k) first.push(hi--);
  }
  const rows = Array.from({ length: k }, (_, r) => first.map((a) => (a + r) % k));
  return k % 2 === 1 && k > 1 ? [...rows, ...rows.map((row) => row.slice().reverse())] : rows;
}

export interface ScheduleInput {
  seed: string;
  cases: number;
  arms: number;
  /** the reader's row of the counterbalancing square (0-based, the design's order) */
  readerIndex: number;
  blocks: Blocks;
  /** case slots per sitting; 0: one sitting */
  sittingSize: number;
}

export interface ScheduledItem {
  caseIndex: number;
  armIndex: number;
  sitting: number;
}

/**
 * The reader's items in reading order.
 * - 'case': the cases in a seeded order; each case's arms together, in the order of square row
 *   (readerIndex + caseIndex) mod rows, so that for every case the arm order is counterbalanced across readers.
 *   A case slot is all arms of the case.
 * - 'apart': one round per arm; in round i case c is read with arm row[(readerIndex + c) mod rows][i], so that
 *   every case meets every arm once, in a different round; each round's case order is seeded on its own. A slot is
 *   one item. With sittingSize = cases, each round is a sitting (the washout separates a case's arms).
 */
export function readerSchedule(input: ScheduleInput): ScheduledItem[] {
  const { seed, cases, arms, readerIndex, blocks, sittingSize } = input;
  if (cases < 1 || arms < 1) throw new Error('a schedule needs at least one case and one arm');
  const square = williamsSquare(arms);
  const rowOf = (caseIndex: number) => square[(readerIndex + caseIndex) % square.length];
  const caseIndices = Array.from({ length: cases }, (_, i) => i);
  const slots: { caseIndex: number; armIndex: number }[][] = [];
  if (blocks === 'case') {
    for (const c of shuffle(caseIndices, streamFor(seed, 'v1', 'reader', readerIndex, 'cases'))) {
      slots.push(rowOf(c).map((armIndex) => ({ caseIndex: c, armIndex })));
    }
  } else {
    for (let round = 0; round < arms; round++) {
      for (const c of shuffle(caseIndices, streamFor(seed, 'v1', 'reader', readerIndex, 'round', round))) {
        slots.push([{ caseIndex: c, armIndex: rowOf(c)[round] }]);
      }
    }
  }
  return slots.flatMap((slot, s) => slot.map((item) => ({ ...item, sitting: sittingSize > 0 ? Math.floor(s / sittingSize) : 0 })));
}

const DAY_MS = 86_400_000;

/** When a sitting unlocks: `washoutDays` after the previous sitting ended (null: it has not ended). */
export function unlockTime(previousFinishedAt: string | null, washoutDays: number): Date | null {
  if (previousFinishedAt === null) return null;
  return new Date(Date.parse(previousFinishedAt) + washoutDays * DAY_MS);
}
