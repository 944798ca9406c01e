// Input never lost: a viewing key (window preset, invert, zoom, fit, reset) pressed while the next study or image is
// still loading would act on the old image and then be undone by the new image's default display. Such actions
// wait here and run, in order, once nothing is loading.
import { watch, type WatchStopHandle } from 'vue';

/** Actions that act on the displayed image, so they wait for the image being loaded. */
export function actsOnImage(action: string): boolean {
  return action.startsWith('view.') || action.startsWith('preset.');
}

export interface DeferredActions<A extends string> {
  /** Runs `action` now, or queues it while `busy()`; returns whether it was queued. */
  dispatch(action: A): boolean;
  readonly pending: readonly A[];
  stop: WatchStopHandle;
}

/**
 * `busy` is reactive (e.g. study or image loading). Queued actions run after the flush that ends the busy state
 * (flush 'post': a study loaded then its image starting to load in the same tick is still busy).
 */
export function createDeferredActions<A extends string>(busy: () => boolean, run: (action: A) => void, max = 20): DeferredActions<A> {
  const queue: A[] = [];
  const stop = watch(
    busy,
    (b) => {
      if (b) return;
      for (const a of queue.splice(0)) run(a);
    },
    { flush: 'post' },
  );
  return {
    dispatch(action) {
      if (!actsOnImage(action) || !busy()) {
        run(action);
        return false;
      }
      if (queue.length < max) queue.push(action);
      return true;
    },
    get pending() {
      return queue;
    },
    stop,
  };
}
