// Synchronised pan and zoom of two viewports (Compare): whichever the user moves, the other follows (same scale,
// same image point at its centre: lib/view-sync.ts); when one is fitted (following its resizes), so is the other.
// Window/level and invert need no link: every viewport draws the viewer store's.

import { watch, type Ref } from 'vue';
import { followTransform, sameTransform, type ViewSize } from '../lib/view-sync';
import { sameOrient, type ViewOrient, type ViewTransform } from '../lib/view-transform';

/** What linking needs of a viewport (viewer/viewport.ts has it). */
export interface LinkableViewport {
  readonly transform: Readonly<Ref<ViewTransform>>;
  readonly size: Readonly<Ref<ViewSize>>;
  readonly fitted: Readonly<Ref<boolean>>;
  setTransform(t: ViewTransform): void;
  fit(orient?: ViewOrient): void;
}

/** Links `b` to `a` (b takes a's view first); returns the unlink. */
export function linkViewports(a: LinkableViewport, b: LinkableViewport): () => void {
  function push(from: LinkableViewport, to: LinkableViewport): void {
    const f = from.size.value;
    const t = to.size.value;
    if (f.width <= 0 || f.height <= 0 || t.width <= 0 || t.height <= 0) return;
    if (from.fitted.value) {
      // both fit their own size (equal sizes: equal transforms); fitting one that is fitted would echo back
      // (with the same orientation: a rotated fit has other extents)
      const orient = from.transform.value.orient;
      if (!to.fitted.value || !sameOrient(orient, to.transform.value.orient)) to.fit(orient);
      return;
    }
    const next = followTransform(from.transform.value, f, t);
    if (to.fitted.value || !sameTransform(next, to.transform.value)) to.setTransform(next);
  }
  const stopA = watch(() => [a.transform.value, a.fitted.value, a.size.value], () => push(a, b));
  const stopB = watch(() => [b.transform.value, b.fitted.value], () => push(b, a));
  // b takes a's view once it has a size
  const stopInit = watch(
    () => b.size.value.width > 0 && a.size.value.width > 0,
    (ready) => ready && push(a, b),
    { immediate: true },
  );
  return () => {
    stopA();
    stopB();
    stopInit();
  };
}
