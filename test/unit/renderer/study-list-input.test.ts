// @vitest-environment happy-dom
// Input never lost (keys pressed while a study loads wait for it) and the shared search-term highlighting the list
// and the report use.
import { nextTick, ref } from 'vue';
import { describe, expect, it } from 'vitest';
import { highlightPieces, searchTerms } from '../../../common/search-terms';
import { actsOnImage, createDeferredActions } from '../../../renderer/src/lib/deferred-actions';

describe('deferred viewing actions', () => {
  it('runs viewing keys pressed while loading once loading ends, in order; other keys at once', async () => {
    const loading = ref(false);
    const ran: string[] = [];
    const d = createDeferredActions<string>(() => loading.value, (a) => ran.push(a));
    d.dispatch('view.invert');
    expect(ran).toEqual(['view.invert']);
    loading.value = true;
    expect(d.dispatch('preset.2')).toBe(true);
    expect(d.dispatch('view.invert')).toBe(true);
    expect(d.dispatch('study.next')).toBe(false); // navigation is not held back
    expect(ran).toEqual(['view.invert', 'study.next']);
    await nextTick();
    expect(ran).toHaveLength(2);
    loading.value = false;
    await nextTick();
    expect(ran).toEqual(['view.invert', 'study.next', 'preset.2', 'view.invert']);
    expect(d.pending).toEqual([]);
    d.stop();
  });

  it('keeps waiting when one load hands over to the next in the same tick (study loaded, its image starts)', async () => {
    const study = ref(true);
    const image = ref(false);
    const ran: string[] = [];
    const d = createDeferredActions<string>(() => study.value || image.value, (a) => ran.push(a));
    d.dispatch('view.zoomIn');
    study.value = false;
    image.value = true;
    await nextTick();
    expect(ran).toEqual([]);
    image.value = false;
    await nextTick();
    expect(ran).toEqual(['view.zoomIn']);
    d.stop();
  });

  it('knows which actions act on the image', () => {
    expect(['view.fit', 'preset.5', 'view.invert'].every(actsOnImage)).toBe(true);
    expect(['study.next', 'image.next', 'search.focus', 'help.toggle'].some(actsOnImage)).toBe(false);
  });
});

describe('search highlighting', () => {
  it('marks what the server matched: prefixes, quoted phrases, any case', () => {
    const pieces = highlightPieces('Moderate bilateral pleural Effusions. No pneumothorax.', searchTerms('effusion "no pneumothorax"'));
    expect(pieces.filter((p) => p.hit).map((p) => p.text)).toEqual(['Effusions', 'No pneumothorax']);
    expect(pieces.map((p) => p.text).join('')).toBe('Moderate bilateral pleural Effusions. No pneumothorax.');
    expect(highlightPieces('anything', [])).toEqual([{ text: 'anything', hit: false }]);
  });
});
