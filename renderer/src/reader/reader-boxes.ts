// The boxes the reading pane draws for an item: only those the server put on it — the design's boxes when it shows
// them (`item.boxes`), else a practice item's feedback boxes, which the item carries only once it is answered. The
// reader's boxes are bare geometry; the viewer's boxes layer wants its Box shape, so they become "dataset" boxes
// (the viewer's dataset colour) of the item's image with negative ids (no stored box has one).
import type { z } from 'zod';
import type { ReaderItem } from '../../../common/contract/reader';
import type { Box } from '../viewer/boxes-layer';

type Item = Pick<z.output<typeof ReaderItem>, 'imageId' | 'boxes' | 'feedback'>;

export function readerBoxes(item: Item | null): Box[] {
  if (!item) return [];
  const shown = item.boxes.length ? item.boxes : (item.feedback?.boxes ?? []);
  return shown.map((b, i) => ({ id: -(i + 1), imageId: item.imageId, phraseId: 0, x: b.x, y: b.y, w: b.w, h: b.h, source: 'dataset', reader: null }));
}
