// The box tool's state: box mode (`n`: the left mouse draws, selects, moves and resizes the active phrase's boxes),
// the selected box, the draft of a drag, and an undo stack of commands. Every change is stored at once
// (`boxes.create|update|delete`) and patched into the open study's detail, so the boxes layer, the legend and the
// figure see it; undo and redo are commands too. A box deleted and brought back by undo is a new row: commands name
// boxes through a handle whose id follows it. Dataset boxes are read-only: moving one makes a user copy.

import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import type { Input, Types } from '../../../common/contract';
import { api } from '../api';
import { boxesForPhrase, matchingPhrases } from '../lib/grounding';
import type { BoxDraft, BoxGeometry } from '../viewer/boxes-layer';
import { usePhraseStore } from './phrase';
import { useStudyStore } from './study';
import { useToastStore } from './toasts';

type Box = Types['Box'];
type Phrase = Types['Phrase'];

/** A box as the commands know it: its id changes when undo brings a deleted box back. */
interface Handle {
  id: number;
}

export interface BoxCommand {
  label: string;
  run(): Promise<void>;
  undo(): Promise<void>;
}

/** The detail's phrases with a box added or replaced (its phrase added when the server made it). */
export function withBox(phrases: readonly Phrase[], box: Box, phraseText: string, sentenceId: number | null): Phrase[] {
  const has = phrases.some((p) => p.id === box.phraseId);
  const list = has ? [...phrases] : [...phrases, { id: box.phraseId, text: phraseText, sentenceId, category: null, boxes: [] }];
  return list.map((p) => {
    if (p.id !== box.phraseId) return p.boxes.some((b) => b.id === box.id) ? { ...p, boxes: p.boxes.filter((b) => b.id !== box.id) } : p;
    const i = p.boxes.findIndex((b) => b.id === box.id);
    return { ...p, boxes: i < 0 ? [...p.boxes, box] : p.boxes.map((b) => (b.id === box.id ? box : b)) };
  });
}

export function withoutBox(phrases: readonly Phrase[], id: number): Phrase[] {
  return phrases.map((p) => (p.boxes.some((b) => b.id === id) ? { ...p, boxes: p.boxes.filter((b) => b.id !== id) } : p));
}

export const useBoxesStore = defineStore('boxes', () => {
  const study = useStudyStore();
  const phrase = usePhraseStore();
  const mode = ref(false);
  const selectedId = ref<number | null>(null);
  const draft = shallowRef<BoxDraft | null>(null);
  const done = shallowRef<BoxCommand[]>([]);
  const undone = shallowRef<BoxCommand[]>([]);
  const user = ref<string | null>(null);
  /** moves on with every Esc: a drag begun before it is dropped */
  const generation = ref(0);
  let queue: Promise<unknown> = Promise.resolve();

  const imageId = computed(() => study.currentImage?.id ?? null);
  /** what the layer draws and the tool hits: the active phrase's boxes on the current image */
  const boxes = computed(() => boxesForPhrase(study.detail?.phrases ?? [], phrase.active, imageId.value));
  const selected = computed(() => boxes.value.find((b) => b.id === selectedId.value) ?? null);

  function patch(fn: (phrases: readonly Phrase[]) => Phrase[]): void {
    const d = study.detail;
    if (d) study.detail = { ...d, phrases: fn(d.phrases) };
  }

  /** A stored box into the open study, when it is of that study (an undo may reach back to another one). */
  function put(box: Box, text = '', sentenceId: number | null = null): void {
    if (study.detail?.images.some((i) => i.id === box.imageId)) patch((p) => withBox(p, box, text, sentenceId));
  }

  /** Runs store calls one after another (a move made while its box is still being created waits for it). */
  function serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = queue.then(fn, fn);
    queue = next.catch(() => undefined);
    return next;
  }

  async function loadUser(): Promise<string> {
    if (user.value === null) user.value = (await api.boxes.user({})).name;
    return user.value;
  }

  async function setUser(name: string): Promise<void> {
    user.value = (await api.boxes.setUser({ name })).name;
  }

  /** Where a new box goes: the active phrase's dataset phrase when it has one, else a user phrase of its text. */
  function target(): Pick<Input<'boxes.create'>, 'phraseId' | 'phrase'> | null {
    const a = phrase.active;
    if (!a) return null;
    const match = matchingPhrases(study.detail?.phrases ?? [], a)[0];
    if (match) return { phraseId: match.id };
    return { phrase: { text: a.text, sentenceId: a.sentenceId } };
  }

  function createCommand(input: Input<'boxes.create'>, label = 'Draw box'): BoxCommand {
    // the handle later commands about this box share (a move, a delete): a redo of the create moves it to the new id
    let handle: Handle | null = null;
    let phraseId = input.phraseId;
    const text = input.phrase?.text ?? '';
    const sentenceId = input.phrase?.sentenceId ?? null;
    return {
      label,
      async run() {
        const box = await api.boxes.create(phraseId !== undefined ? { ...input, phrase: undefined, phraseId } : input);
        phraseId = box.phraseId; // a redo adds to the phrase the first run made
        if (handle) handle.id = box.id;
        else handle = handleOf(box.id);
        put(box, text, sentenceId);
        selectedId.value = box.id;
      },
      async undo() {
        const id = handle!.id;
        await api.boxes.delete({ id });
        patch((p) => withoutBox(p, id));
        if (selectedId.value === id) selectedId.value = null;
      },
    };
  }

  function updateCommand(handle: Handle, before: BoxGeometry, after: BoxGeometry): BoxCommand {
    const apply = async (g: BoxGeometry) => {
      const box = await api.boxes.update({ id: handle.id, ...g });
      put(box);
      selectedId.value = box.id;
    };
    return { label: 'Move box', run: () => apply(after), undo: () => apply(before) };
  }

  function deleteCommand(handle: Handle, box: Box): BoxCommand {
    return {
      label: 'Delete box',
      async run() {
        await api.boxes.delete({ id: handle.id });
        patch((p) => withoutBox(p, handle.id));
        if (selectedId.value === handle.id) selectedId.value = null;
      },
      async undo() {
        const again = await api.boxes.create({ imageId: box.imageId, phraseId: box.phraseId, x: box.x, y: box.y, w: box.w, h: box.h });
        handle.id = again.id;
        put(again);
        selectedId.value = again.id;
      },
    };
  }

  /** handles by current box id, so that commands made later about a box follow it through undo/redo */
  const handles = new Map<number, Handle>();
  function handleOf(id: number): Handle {
    for (const h of handles.values()) if (h.id === id) return h;
    const h = { id };
    handles.set(id, h);
    return h;
  }

  async function perform(command: BoxCommand): Promise<boolean> {
    return serial(async () => {
      try {
        await command.run();
        done.value = [...done.value, command];
        undone.value = [];
        return true;
      } catch (error) {
        useToastStore().error(error, command.label);
        return false;
      } finally {
        draft.value = null;
      }
    });
  }

  async function undo(): Promise<void> {
    await serial(async () => {
      const command = done.value.at(-1);
      if (!command) return;
      try {
        await command.undo();
        done.value = done.value.slice(0, -1);
        undone.value = [...undone.value, command];
      } catch (error) {
        useToastStore().error(error, `Undo ${command.label.toLowerCase()}`);
      }
    });
  }

  async function redo(): Promise<void> {
    await serial(async () => {
      const command = undone.value.at(-1);
      if (!command) return;
      try {
        await command.run();
        undone.value = undone.value.slice(0, -1);
        done.value = [...done.value, command];
      } catch (error) {
        useToastStore().error(error, `Redo ${command.label.toLowerCase()}`);
      }
    });
  }

  /** `n`: box mode on (needs an active phrase and an image); returns whether it is on. */
  function enter(): boolean {
    if (!phrase.active || imageId.value === null) {
      useToastStore().info('Choose a phrase first (a finding sentence, a dataset phrase or typed text), then press N to box it');
      return false;
    }
    mode.value = true;
    void loadUser().catch(() => undefined);
    return true;
  }

  /** Esc: a drag is dropped, else the selection, else box mode ends. Returns whether there was anything to cancel. */
  function cancel(): boolean {
    generation.value++;
    if (draft.value) draft.value = null;
    else if (selectedId.value !== null) selectedId.value = null;
    else if (mode.value) mode.value = false;
    else return false;
    return true;
  }

  function create(g: BoxGeometry): Promise<boolean> {
    const t = target();
    if (!t || imageId.value === null) return Promise.resolve(false);
    return perform(createCommand({ imageId: imageId.value, ...t, ...g }));
  }

  /** A drag of box `id` ended at `g`: a user box is moved; a dataset box is left alone and a user copy made there. */
  function change(id: number, g: BoxGeometry): Promise<boolean> {
    const box = boxes.value.find((b) => b.id === id);
    if (!box) return Promise.resolve(false);
    if (box.source === 'dataset') return perform(createCommand({ imageId: box.imageId, phraseId: box.phraseId, ...g }, 'Copy dataset box'));
    return perform(updateCommand(handleOf(id), { x: box.x, y: box.y, w: box.w, h: box.h }, g));
  }

  /** Del: the selected user box; a dataset box says it is read-only. */
  function removeSelected(): Promise<boolean> {
    const box = selected.value;
    if (!box) return Promise.resolve(false);
    if (box.source === 'dataset') {
      useToastStore().info('Dataset boxes are read-only: drag one to make your own copy');
      return Promise.resolve(false);
    }
    return perform(deleteCommand(handleOf(box.id), box));
  }

  function select(id: number | null): void {
    selectedId.value = id;
  }

  /** Another study or image: the selection and drag go; the undo stack stays (its commands name their boxes). */
  function reset(): void {
    draft.value = null;
    selectedId.value = null;
  }

  const canUndo = computed(() => done.value.length > 0);
  const canRedo = computed(() => undone.value.length > 0);
  return { mode, generation, selectedId, selected, draft, boxes, imageId, user, canUndo, canRedo, done, undone, loadUser, setUser, enter, cancel, create, change, removeSelected, select, reset, undo, redo };
});
