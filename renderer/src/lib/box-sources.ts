// Who drew a box, and its colour: the same in the viewer's boxes layer and its legend (viewer/boxes-layer.ts) and in
// an exported figure (figure.ts): dataset boxes solid (MS-CXR's green; each VinDr reader a colour of its own), boxes
// a user drew dashed, each user a colour.
import type { Types } from '../../../common/contract';
import { BOX_COLOUR } from './grounding';

type Box = Types['Box'];

/** One source of boxes: who drew them, its colour, dashed for a user. */
export interface BoxSource {
  key: string;
  label: string;
  colour: string;
  dashed: boolean;
  count: number;
}

/** Dataset readers' colours after MS-CXR's green; users' after them (all readable over grey and the colormaps). */
const READER_COLOURS = ['#4cc9f0', '#f4a261', '#e9c46a', '#f15bb5', '#9b5de5', '#00f5d4', '#fee440', '#ff8fab'];
export const USER_COLOURS = ['#ff6b6b', '#ffd166', '#c77dff', '#80ffdb', '#ffa94d', '#74c0fc'];

/** A box's source key: `dataset`, `dataset:R8` (a reader), `user:alice`. */
export function boxSourceKey(b: Pick<Box, 'source' | 'reader'>): string {
  if (b.source === 'dataset') return b.reader ? `dataset:${b.reader}` : 'dataset';
  return `user:${b.reader ?? 'user'}`;
}

const byName = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });

/**
 * The sources of some boxes, in legend order: the dataset's (no reader) first, then its readers (R1, R2, R10), then
 * users, each with its colour. Colours follow that order, so the same boxes always get the same colours.
 */
export function boxSources(boxes: readonly Pick<Box, 'source' | 'reader'>[]): BoxSource[] {
  const counts = new Map<string, number>();
  for (const b of boxes) counts.set(boxSourceKey(b), (counts.get(boxSourceKey(b)) ?? 0) + 1);
  const keys = [...counts.keys()];
  const readers = keys.filter((k) => k.startsWith('dataset:')).sort(byName);
  const users = keys.filter((k) => k.startsWith('user:')).sort(byName);
  const out: BoxSource[] = [];
  if (counts.has('dataset')) out.push({ key: 'dataset', label: 'dataset', colour: BOX_COLOUR, dashed: false, count: counts.get('dataset')! });
  readers.forEach((k, i) => out.push({ key: k, label: `reader ${k.slice(8)}`, colour: READER_COLOURS[i % READER_COLOURS.length], dashed: false, count: counts.get(k)! }));
  users.forEach((k, i) => out.push({ key: k, label: k.slice(5), colour: USER_COLOURS[i % USER_COLOURS.length], dashed: true, count: counts.get(k)! }));
  return out;
}

/** '#rrggbb' as [r, g, b] (the figure paints pixels) */
export function rgbOf(colour: string): [number, number, number] {
  const v = parseInt(colour.slice(1), 16);
  return [v >> 16, (v >> 8) & 255, v & 255];
}
