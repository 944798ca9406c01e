// @vitest-environment happy-dom
// The box tool in the renderer: source colours and the legend's order, hit testing and drag geometry in image
// pixels, the tool's press/move/release against a target, and the boxes store's commands (create, move, delete,
// copy of a dataset box) with undo/redo against an in-memory server that checks the contract's shapes.
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { Types } from '../../../common/contract';

type Box = Types['Box'];

const server = vi.hoisted(() => {
  const state = { boxes: new Map<number, Record<string, unknown>>(), nextId: 100, calls: [] as string[] };
  return state;
});

vi.mock('../../../renderer/src/api', async () => {
  const { procedures } = await import('../../../common/contract');
  const call = (name: 'boxes.create' | 'boxes.update' | 'boxes.delete' | 'boxes.user', fn: (input: never) => unknown) => async (raw: unknown) => {
    const input = procedures[name].input.parse(raw);
    server.calls.push(name);
    return procedures[name].output.parse(fn(input as never));
  };
  return {
    api: {
      boxes: {
        create: call('boxes.create', (i: { imageId: number; phraseId?: number; x: number; y: number; w: number; h: number }) => {
          const box = { id: server.nextId++, imageId: i.imageId, phraseId: i.phraseId ?? 77, x: i.x, y: i.y, w: i.w, h: i.h, source: 'user', reader: 'ann' };
          server.boxes.set(box.id, box);
          return box;
        }),
        update: call('boxes.update', (i: { id: number }) => {
          const box = { ...server.boxes.get(i.id)!, ...i };
          server.boxes.set(i.id, box);
          return box;
        }),
        delete: call('boxes.delete', (i: { id: number }) => {
          const box = server.boxes.get(i.id);
          if (!box) throw new Error(`no box ${i.id}`);
          server.boxes.delete(i.id);
          return { deleted: box };
        }),
        user: call('boxes.user', () => ({ name: 'ann' })),
      },
    },
  };
});

const { boxSources, boxSourceKey, BOX_COLOUR } = await import('../../../renderer/src/viewer/boxes-layer');
const { hitBox, rectBetween, dragBox, createBoxTool } = await import('../../../renderer/src/viewer/box-tool');
const { useBoxesStore } = await import('../../../renderer/src/stores/boxes');
const { useStudyStore } = await import('../../../renderer/src/stores/study');
const { usePhraseStore } = await import('../../../renderer/src/stores/phrase');
const { runBoxAction } = await import('../../../renderer/src/stores/boxes-keys');
const { buildKeyIndex, defaultBindings } = await import('../../../renderer/src/lib/keymap');

const box = (id: number, g: [number, number, number, number], source: Box['source'] = 'user', reader: string | null = 'ann', phraseId = 1): Box => ({
  id,
  imageId: 5,
  phraseId,
  x: g[0],
  y: g[1],
  w: g[2],
  h: g[3],
  source,
  reader,
});

describe('box sources and colours', () => {
  it('dataset first, readers in numeric order, users dashed after; same boxes, same colours', () => {
    const boxes = [box(1, [0, 0, 1, 1], 'user', 'zoe'), box(2, [0, 0, 1, 1], 'dataset', 'R10'), box(3, [0, 0, 1, 1], 'dataset', 'R8'), box(4, [0, 0, 1, 1], 'dataset', null), box(5, [0, 0, 1, 1], 'user', 'al'), box(6, [0, 0, 1, 1], 'dataset', 'R8')];
    const s = boxSources(boxes);
    expect(s.map((x) => [x.key, x.label, x.count, x.dashed])).toEqual([
      ['dataset', 'dataset', 1, false],
      ['dataset:R8', 'reader R8', 2, false],
      ['dataset:R10', 'reader R10', 1, false],
      ['user:al', 'al', 1, true],
      ['user:zoe', 'zoe', 1, true],
    ]);
    expect(s[0].colour).toBe(BOX_COLOUR);
    expect(new Set(s.map((x) => x.colour)).size).toBe(5);
    expect(boxSources([...boxes].reverse())).toEqual(s);
    expect(boxSourceKey({ source: 'user', reader: null })).toBe('user:user');
  });
});

describe('box geometry in image pixels', () => {
  const boxes = [box(1, [10, 10, 100, 100]), box(2, [40, 40, 20, 20])];
  it('hits the selected box’s handles first, else the smallest box under the point', () => {
    expect(hitBox(boxes, null, 50, 50, 2)).toEqual({ id: 2, part: 'body' });
    expect(hitBox(boxes, 1, 50, 50, 2)).toEqual({ id: 1, part: 'body' });
    expect(hitBox(boxes, 1, 111, 109, 2)).toEqual({ id: 1, part: 'se' });
    expect(hitBox(boxes, 1, 60, 10.5, 2)).toEqual({ id: 1, part: 'n' });
    expect(hitBox(boxes, null, 300, 300, 2)).toBeNull();
  });
  it('draws between two points, moves inside the image, resizes by a handle and flips past the opposite edge', () => {
    expect(rectBetween(50.4, 60.6, 10.2, -5, 100, 80)).toEqual({ x: 10, y: 0, w: 40, h: 61 });
    expect(dragBox({ x: 10, y: 10, w: 30, h: 20 }, 'body', 500, -3.4, 100, 80)).toEqual({ x: 70, y: 7, w: 30, h: 20 });
    expect(dragBox({ x: 10, y: 10, w: 30, h: 20 }, 'se', 5, 5, 100, 80)).toEqual({ x: 10, y: 10, w: 35, h: 25 });
    expect(dragBox({ x: 10, y: 10, w: 30, h: 20 }, 'w', 40, 0, 100, 80)).toEqual({ x: 40, y: 10, w: 10, h: 20 });
    expect(dragBox({ x: 10, y: 10, w: 30, h: 20 }, 'n', 0, -50, 100, 80)).toEqual({ x: 10, y: 0, w: 30, h: 30 });
  });
});

describe('the box tool', () => {
  function target(boxes: Box[]) {
    const t = {
      selected: null as number | null,
      draft: null as unknown,
      gen: 0,
      created: [] as unknown[],
      changed: [] as unknown[],
      image: () => ({ columns: 200, rows: 100 }),
      boxes: () => boxes,
      selectedId: () => t.selected,
      select: (id: number | null) => (t.selected = id),
      setDraft: (d: unknown) => (t.draft = d),
      generation: () => t.gen,
      create: (g: unknown) => t.created.push(g),
      change: (id: number, g: unknown) => t.changed.push([id, g]),
    };
    return t;
  }
  // screen = image * 2 + 10
  const ctx = { transform: { scale: 2, tx: 10, ty: 10 } } as never;
  const at = (ix: number, iy: number) => ({ x: ix * 2 + 10, y: iy * 2 + 10 });

  it('a drag on empty image draws a box (clamped), a click draws nothing', () => {
    const t = target([]);
    const tool = createBoxTool(t);
    tool.onPointerDown!(ctx, at(20, 30));
    tool.onPointerMove!(ctx, at(250, 60));
    expect(t.draft).toEqual({ id: null, x: 20, y: 30, w: 180, h: 30 });
    tool.onPointerUp!(ctx, at(250, 60));
    expect(t.created).toEqual([{ x: 20, y: 30, w: 180, h: 30 }]);
    tool.onPointerDown!(ctx, at(20, 30));
    tool.onPointerUp!(ctx, at(20, 30));
    expect(t.created).toHaveLength(1);
    expect(t.draft).toBeNull();
  });

  it('a click selects, a drag moves, a handle resizes; Esc (the generation) drops a drag', () => {
    const t = target([box(1, [10, 10, 50, 40])]);
    const tool = createBoxTool(t);
    tool.onPointerDown!(ctx, at(30, 30));
    tool.onPointerUp!(ctx, at(30, 30));
    expect([t.selected, t.changed]).toEqual([1, []]);
    tool.onPointerDown!(ctx, at(30, 30));
    tool.onPointerMove!(ctx, at(35, 20));
    tool.onPointerUp!(ctx, at(35, 20));
    expect(t.changed).toEqual([[1, { x: 15, y: 0, w: 50, h: 40 }]]);
    tool.onPointerDown!(ctx, at(60, 50)); // the south-east handle of the stored box
    tool.onPointerMove!(ctx, at(70, 55));
    tool.onPointerUp!(ctx, at(70, 55));
    expect(t.changed[1]).toEqual([1, { x: 10, y: 10, w: 60, h: 45 }]);
    tool.onPointerDown!(ctx, at(30, 30));
    tool.onPointerMove!(ctx, at(40, 30));
    t.gen++;
    tool.onPointerMove!(ctx, at(50, 30));
    tool.onPointerUp!(ctx, at(50, 30));
    expect(t.changed).toHaveLength(2);
  });
});

describe('the boxes store: every change stored at once, undo and redo', () => {
  beforeEach(() => {
    setActivePinia(createPinia());
    server.boxes.clear();
    server.calls.length = 0;
    server.nextId = 100;
    const dataset = box(1, [10, 10, 30, 30], 'dataset', null);
    server.boxes.set(1, dataset);
    const study = useStudyStore();
    study.detail = {
      id: 9,
      dataset: 'demo',
      subject: null,
      studyKey: 's',
      images: [{ id: 5, path: '/x.jpg', rows: 100, columns: 200, photometric: 'MONOCHROME2', bitsStored: 8, modality: null, viewPosition: null, pixelSpacing: null, dicomId: 'd' }],
      report: null,
      phrases: [{ id: 1, text: 'effusion', sentenceId: null, category: 'Pleural Effusion', boxes: [dataset] }],
    };
    usePhraseStore().setFromDataset(9, 1, 'effusion', null);
  });
  const ids = () => useStudyStore().detail!.phrases[0].boxes.map((b) => [b.id, b.source, b.x]);

  it('create, move, delete; undo brings the deleted box back under a new id and later commands follow it', async () => {
    const s = useBoxesStore();
    expect(s.enter()).toBe(true);
    expect(await s.create({ x: 50, y: 20, w: 10, h: 10 })).toBe(true);
    expect(ids()).toEqual([[1, 'dataset', 10], [100, 'user', 50]]);
    expect(s.selectedId).toBe(100);
    await s.change(100, { x: 60, y: 20, w: 10, h: 10 });
    expect(ids()).toEqual([[1, 'dataset', 10], [100, 'user', 60]]);
    await s.removeSelected();
    expect(ids()).toEqual([[1, 'dataset', 10]]);
    await s.undo(); // the delete: created again as 101
    expect(ids()).toEqual([[1, 'dataset', 10], [101, 'user', 60]]);
    await s.undo(); // the move, of the box now called 101
    expect(ids()).toEqual([[1, 'dataset', 10], [101, 'user', 50]]);
    await s.redo();
    expect(ids()).toEqual([[1, 'dataset', 10], [101, 'user', 60]]);
    await s.undo();
    await s.undo(); // the create
    expect(ids()).toEqual([[1, 'dataset', 10]]);
    expect([...server.boxes.keys()]).toEqual([1]);
    await s.redo();
    expect(ids()).toEqual([[1, 'dataset', 10], [102, 'user', 50]]);
    expect(s.canRedo).toBe(true);
  });

  it('an undo that reaches a box of another study stores it without touching the open study', async () => {
    const s = useBoxesStore();
    s.enter();
    await s.create({ x: 50, y: 20, w: 10, h: 10 });
    await s.removeSelected();
    const study = useStudyStore();
    const other = { ...study.detail!, id: 10, images: [{ ...study.detail!.images[0], id: 6 }], phrases: [] };
    study.detail = other;
    await s.undo();
    expect([...server.boxes.keys()]).toEqual([1, 101]);
    expect(study.detail.phrases).toEqual([]);
  });

  it('a dataset box is never changed: a drag makes a user copy, Del says it is read-only', async () => {
    const s = useBoxesStore();
    s.enter();
    s.select(1);
    expect(await s.removeSelected()).toBe(false);
    await s.change(1, { x: 12, y: 10, w: 30, h: 30 });
    expect(ids()).toEqual([[1, 'dataset', 10], [100, 'user', 12]]);
    expect(server.calls.filter((c) => c !== 'boxes.user')).toEqual(['boxes.create']);
  });

  it('keys through the keymap: N box mode, Ctrl+Z / Ctrl+Shift+Z, Esc cancels the selection then box mode', async () => {
    const index = buildKeyIndex(defaultBindings);
    expect([index.get('N'), index.get('Delete'), index.get('Ctrl+Z'), index.get('Ctrl+Shift+Z'), index.get('Escape')]).toEqual(['boxes.new', 'boxes.delete', 'boxes.undo', 'boxes.redo', 'dialog.close']);
    const s = useBoxesStore();
    expect(runBoxAction('boxes.undo', s)).toBe(false); // nothing to undo: the key goes on
    expect(runBoxAction('boxes.new', s)).toBe(true);
    expect(s.mode).toBe(true);
    await s.create({ x: 50, y: 20, w: 10, h: 10 });
    expect(runBoxAction('dialog.close', s)).toBe(true);
    expect([s.mode, s.selectedId]).toEqual([true, null]);
    expect(runBoxAction('dialog.close', s)).toBe(true);
    expect(s.mode).toBe(false);
    expect(runBoxAction('dialog.close', s)).toBe(false); // the workstation's Esc then closes what it closes
  });
});
