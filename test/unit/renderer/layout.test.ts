// @vitest-environment happy-dom
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import { clampWidth, parseLayout, useLayoutStore } from '../../../renderer/src/stores/layout';

beforeEach(() => {
  setActivePinia(createPinia());
  localStorage.clear();
});

describe('layout store: collapsible, resizable panels and a maximised viewer', () => {
  it('collapses panels and remembers it, widths too (clamped)', () => {
    const layout = useLayoutStore();
    expect([layout.studiesShown, layout.reportShown]).toEqual([true, true]);
    layout.toggle('studies');
    layout.setWidth('report', 10_000);
    expect(layout.studiesShown).toBe(false);
    expect(layout.saved.reportWidth).toBe(640);
    setActivePinia(createPinia());
    const again = useLayoutStore();
    expect([again.studiesShown, again.reportShown, again.saved.reportWidth]).toEqual([false, true, 640]);
    again.resetWidths();
    expect(again.saved.reportWidth).toBeNull();
  });

  it('maximise puts both panels aside for the session and gives back exactly what was there', () => {
    const layout = useLayoutStore();
    layout.toggle('report'); // the reader had hidden the report
    layout.toggleMaximised();
    expect([layout.studiesShown, layout.reportShown]).toEqual([false, false]);
    layout.toggleMaximised();
    expect([layout.studiesShown, layout.reportShown]).toEqual([true, false]);
    // asking for a panel while maximised restores the layout with that panel shown
    layout.toggleMaximised();
    layout.toggle('report');
    expect([layout.maximised, layout.studiesShown, layout.reportShown]).toEqual([false, true, true]);
    setActivePinia(createPinia());
    expect(useLayoutStore().maximised).toBe(false); // not remembered across sessions
  });

  it('checks what was stored', () => {
    expect(parseLayout({ studiesCollapsed: 'yes', studiesWidth: 50, reportWidth: Number.NaN })).toEqual({
      studiesCollapsed: false,
      reportCollapsed: false,
      studiesWidth: 180,
      reportWidth: null,
    });
    expect(parseLayout('junk')).toEqual({ studiesCollapsed: false, reportCollapsed: false, studiesWidth: null, reportWidth: null });
    localStorage.setItem('sightline.layout.v1', '{oops');
    expect(useLayoutStore().studiesShown).toBe(true);
    expect(clampWidth('studies', 333.4)).toBe(333);
  });
});
