// The reading view's state: the reader's session (kept for the tab, so a reload or a restarted server resumes), where
// the reader stands (from reader.state: the server decides the item, so a restart lands on the next unanswered one),
// the item's map keyed by its opaque token, and the active time on the item (only while the window is visible:
// hidden time is reported as such and not counted). The item's image comes through reader.pixels (by the item's token,
// with the session), so a reader signed in with a code on `serve --readers` needs no other procedure; such a reader
// arrives at `/?token=<session>&reader=1#/read`: the API's token is their reading session.
import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import type { z } from 'zod';
import type { ReaderState } from '../../../common/contract/reader';
import { api, TOKEN_KEY } from '../api';
import { prepareHeatmap, type LoadedHeatmap } from '../lib/heatmap';
import { isRemoteReader, leaveRemoteReading, READER_SESSION_KEY } from '../lib/remote-reader';
import { prepareImage, useViewerStore } from '../stores/viewer';

type State = z.output<typeof ReaderState>;

/** A reader signed in with a code (serve --readers): the page's API token is their reading session. */
function remoteSession(): string | null {
  if (!isRemoteReader()) return null;
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) sessionStorage.setItem(READER_SESSION_KEY, token);
  return token;
}

/** Milliseconds of visible time since the last take(). */
function activeClock(now: () => number = () => performance.now()) {
  let since: number | null = typeof document === 'undefined' || document.visibilityState === 'visible' ? now() : null;
  let banked = 0;
  return {
    setVisible(visible: boolean) {
      if (visible && since === null) since = now();
      if (!visible && since !== null) {
        banked += now() - since;
        since = null;
      }
    },
    take(): number {
      const t = banked + (since === null ? 0 : now() - since);
      banked = 0;
      if (since !== null) since = now();
      return Math.round(t);
    },
  };
}

export const useReaderStore = defineStore('reader', () => {
  const session = ref<string | null>(remoteSession() ?? sessionStorage.getItem(READER_SESSION_KEY));
  const viewer = useViewerStore();
  let shownImage: number | null = null;
  const state = shallowRef<State | null>(null);
  const heatmap = shallowRef<LoadedHeatmap | null>(null);
  const error = ref<string | null>(null);
  const busy = ref(false);
  const clock = activeClock();
  const item = computed(() => state.value?.item ?? null);

  async function apply(next: State): Promise<void> {
    const token = next.item?.token;
    if (token && next.item!.imageId !== shownImage) {
      // the viewer's pane shows viewer.image; an image shared by consecutive items (a case's arms) keeps its window
      const img = prepareImage(await api.reader.pixels({ session: session.value!, token }));
      viewer.image = img;
      viewer.setWindow(img.defaultWindow.center, img.defaultWindow.width, false);
      shownImage = next.item!.imageId;
    }
    if (token && token !== state.value?.item?.token) {
      const s = await api.reader.stimulus({ session: session.value!, token });
      const h = prepareHeatmap({
        id: next.item!.position + 1,
        imageId: next.item!.imageId,
        phrase: '',
        model: '',
        modelVersion: '',
        variant: '',
        // a display choice made from the values alone (the source is not known here): maps in [0, 1] are drawn
        // as the app's own, others scaled to their range
        source: 'model',
        createdAt: '',
        width: s.width,
        height: s.height,
        data: s.data,
        threshold: s.threshold,
        geometry: s.geometry,
        provenance: {},
      });
      heatmap.value = h.min >= 0 && h.max <= 1 ? h : { ...h, source: 'imported' };
    }
    if (!token) heatmap.value = null;
    state.value = next;
  }

  async function run(fn: () => Promise<State>): Promise<void> {
    busy.value = true;
    error.value = null;
    try {
      await apply(await fn());
    } catch (e) {
      error.value = e instanceof Error ? e.message : String(e);
      if ((e as { code?: string }).code === 'unauthorized') signOut();
    } finally {
      busy.value = false;
    }
  }

  async function signIn(studyId: number, reader: string): Promise<void> {
    error.value = null;
    try {
      const r = await api.reader.signIn({ studyId, reader });
      session.value = r.session;
      sessionStorage.setItem(READER_SESSION_KEY, r.session);
      await refresh();
    } catch (e) {
      error.value = e instanceof Error ? e.message : String(e);
    }
  }

  function signOut(): void {
    // a code's session: back to the sign-in page through the server (it clears the session cookie)
    if (isRemoteReader()) return leaveRemoteReading();
    session.value = null;
    state.value = null;
    shownImage = null;
    sessionStorage.removeItem(READER_SESSION_KEY);
  }

  // What the reader does (answers, Enter, Backspace) runs one step after another, in the order given: a score and
  // then `a` pressed at once are two requests whose replies can cross, and the first one's state (without the
  // accept) would otherwise overwrite the second's on screen; Enter waits for the answers before it asks whether the
  // item is complete. Internal steps (go, refreshNow) are not queued again: they run inside a queued one.
  let queue: Promise<unknown> = Promise.resolve();
  function inOrder<T>(step: () => Promise<T>): Promise<T> {
    const result = queue.then(step);
    queue = result.catch(() => undefined);
    return result;
  }

  const refreshNow = () => run(() => api.reader.state({ session: session.value! }));
  const refresh = () => inOrder(refreshNow);

  /** Answers the item shown when the step runs (after the steps given before it). */
  const answer = (question: string, value: number | string | boolean) =>
    inOrder(() => (item.value ? run(() => api.reader.answer({ session: session.value!, position: item.value!.position, question, value, activeMs: clock.take() })) : Promise.resolve()));

  async function go(position: number): Promise<void> {
    const from = item.value?.position;
    if (from !== undefined) await api.reader.activity({ session: session.value!, position: from, kind: 'leave', activeMs: clock.take() });
    await run(() => api.reader.goto({ session: session.value!, position }));
  }

  /** Enter: the next item, once this one is completely answered. */
  const next = () =>
    inOrder(async () => {
      const it = item.value;
      if (!it?.complete) return;
      if (it.position + 1 < state.value!.total) return go(it.position + 1);
      await api.reader.activity({ session: session.value!, position: it.position, kind: 'leave', activeMs: clock.take() });
      await refreshNow(); // the last one: done, or back at the first unanswered item
    });
  const back = () => inOrder(() => (item.value && item.value.position > 0 && state.value?.allowChanges ? go(item.value.position - 1) : Promise.resolve()));

  function visibility(visible: boolean): void {
    clock.setVisible(visible);
    if (item.value && session.value) {
      void api.reader.activity({ session: session.value, position: item.value.position, kind: visible ? 'visible' : 'hidden', activeMs: visible ? 0 : clock.take() }).catch(() => {});
    }
  }

  return { session, state, item, heatmap, error, busy, signIn, signOut, refresh, answer, next, back, visibility };
});
