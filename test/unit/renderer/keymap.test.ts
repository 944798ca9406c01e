import { describe, expect, it } from 'vitest';
import {
  applyOverrides,
  buildKeyIndex,
  comboFromEvent,
  defaultBindings,
  bindingsFromSlots,
  defaultMouseBindings,
  effectiveSlots,
  mousePresets,
  parseMouseSettings,
  describeMouseBinding,
  displayCombo,
  findConflicts,
  modifiersFromEvent,
  mouseButtonFromEvent,
  mouseGestureList,
  mouseGestures,
  normaliseCombo,
  resolveMouseTool,
  tooltip,
  type MouseBinding,
} from '../../../renderer/src/lib/keymap';

const key = (k: string, mods: Partial<{ ctrlKey: boolean; altKey: boolean; shiftKey: boolean; metaKey: boolean }> = {}) => ({
  key: k,
  ctrlKey: false,
  altKey: false,
  shiftKey: false,
  metaKey: false,
  ...mods,
});

describe('keymap', () => {
  it('has no conflicts in the defaults', () => {
    expect(findConflicts(defaultBindings)).toEqual([]);
  });

  it('normalises combos', () => {
    expect(normaliseCombo('ctrl+shift+z')).toBe('Ctrl+Shift+Z');
    expect(normaliseCombo('shift+ctrl+Z')).toBe('Ctrl+Shift+Z');
    expect(normaliseCombo('cmd+o')).toBe('Meta+O');
    expect(normaliseCombo(' ')).toBe('Space');
    expect(normaliseCombo('space')).toBe('Space');
    expect(normaliseCombo('esc')).toBe('Escape');
    expect(normaliseCombo('f1')).toBe('F1');
    expect(normaliseCombo('Ctrl++')).toBe('Ctrl++');
    expect(normaliseCombo('+')).toBe('+');
  });

  it('turns key events into combos (shift implied by symbols)', () => {
    expect(comboFromEvent(key('?', { shiftKey: true }))).toBe('?');
    expect(comboFromEvent(key('i'))).toBe('I');
    expect(comboFromEvent(key('I', { shiftKey: true }))).toBe('Shift+I');
    expect(comboFromEvent(key(' '))).toBe('Space');
    expect(comboFromEvent(key('ArrowUp'))).toBe('ArrowUp');
    expect(comboFromEvent(key('z', { ctrlKey: true, shiftKey: true }))).toBe('Ctrl+Shift+Z');
    expect(comboFromEvent(key('+', { shiftKey: true }))).toBe('+');
    expect(comboFromEvent(key('Shift', { shiftKey: true }))).toBe('');
  });

  it('resolves the default keys to actions', () => {
    const index = buildKeyIndex(defaultBindings);
    const resolve = (e: ReturnType<typeof key>) => index.get(comboFromEvent(e));
    expect(resolve(key('i'))).toBe('view.invert');
    expect(resolve(key('='))).toBe('view.fit');
    expect(resolve(key(' '))).toBe('view.reset');
    expect(resolve(key('?', { shiftKey: true }))).toBe('help.toggle');
    expect(resolve(key('F1'))).toBe('help.toggle');
    expect(resolve(key('3'))).toBe('preset.3');
    expect(resolve(key('ArrowRight'))).toBe('image.next');
    expect(resolve(key('ArrowDown'))).toBe('study.next');
    expect(resolve(key('x'))).toBeUndefined();
  });

  it('detects conflicts from overrides and leaves conflicting keys unbound', () => {
    const b = applyOverrides(defaultBindings, { 'view.fit': ['i'] });
    const conflicts = findConflicts(b);
    expect(conflicts).toEqual([{ combo: 'I', actions: ['view.fit', 'view.invert'] }]);
    const index = buildKeyIndex(b);
    expect(index.has('I')).toBe(false);
    expect(index.get('Space')).toBe('view.reset');
  });

  it('labels shortcuts for tooltips', () => {
    expect(tooltip('Invert', defaultBindings, 'view.invert')).toBe('Invert (I)');
    expect(tooltip('Help', defaultBindings, 'help.toggle')).toBe('Help (? / F1)');
    expect(displayCombo('ArrowLeft')).toBe('←');
    expect(displayCombo('Ctrl++')).toBe('Ctrl++');
  });

  it('binds Compare (Shift+C, beside C the colormap) and the small multiples (G), named in the toolbar titles', () => {
    const index = buildKeyIndex(defaultBindings);
    expect(index.get(comboFromEvent(key('C', { shiftKey: true })))).toBe('layout.compare');
    expect(index.get(comboFromEvent(key('c')))).toBe('heatmap.colormap');
    expect(index.get(comboFromEvent(key('g')))).toBe('layout.multiples');
    expect(tooltip('Compare', defaultBindings, 'layout.compare')).toBe('Compare (Shift+C)');
    expect(tooltip('Small multiples', defaultBindings, 'layout.multiples')).toBe('Small multiples (G)');
    // in the cheat sheet's Viewer group
    expect(defaultBindings.filter((b) => b.action.startsWith('layout.')).map((b) => [b.action, b.group])).toContainEqual(['layout.compare', 'Viewer']);
  });
});

describe('mouse bindings', () => {
  const tool = (button: Parameters<typeof resolveMouseTool>[1], gesture: 'drag' | 'doubleClick' = 'drag', mods: Parameters<typeof resolveMouseTool>[3] = []) =>
    resolveMouseTool(defaultMouseBindings, button, gesture, mods);

  it('default to OHIF: left-drag W/L, middle-drag pan, right-drag zoom, wheel scrolls images, Ctrl+wheel zooms', () => {
    expect(tool('left')).toBe('windowLevel');
    expect(tool('middle')).toBe('pan');
    expect(tool('right')).toBe('zoom');
    expect(tool('wheel')).toBe('scroll');
    expect(tool('wheel', 'drag', ['Ctrl'])).toBe('zoom');
    expect(tool('left', 'doubleClick')).toBe('fit');
    expect(tool('right', 'doubleClick')).toBeNull();
    // Shift+left-drag holds the magnifier; other modifiers do not change what a button does
    expect(tool('left', 'drag', ['Shift'])).toBe('magnify');
    expect(tool('left', 'drag', ['Alt'])).toBe('windowLevel');
    expect(tool('right', 'drag', ['Shift'])).toBe('zoom');
    expect(tool('wheel', 'drag', ['Shift'])).toBe('scroll');
  });

  it('keep the first mapping as the "Sightline classic" preset: right-drag W/L, left/middle pan, wheel zoom', () => {
    const classic = bindingsFromSlots(mousePresets.classic.slots);
    const t = (button: Parameters<typeof resolveMouseTool>[1], mods: Parameters<typeof resolveMouseTool>[3] = []) => resolveMouseTool(classic, button, 'drag', mods);
    expect([t('right'), t('left'), t('middle'), t('wheel'), t('wheel', ['Ctrl'])]).toEqual(['windowLevel', 'pan', 'pan', 'zoom', 'zoom']);
    expect(resolveMouseTool(classic, 'left', 'doubleClick')).toBe('fit');
  });

  it('apply the user\'s changes per gesture on top of the preset, and check what was stored', () => {
    const slots = effectiveSlots({ preset: 'classic', overrides: { rightDrag: 'zoom', wheel: 'scroll', ctrlWheel: null } });
    expect(slots).toMatchObject({ leftDrag: 'pan', rightDrag: 'zoom', wheel: 'scroll', ctrlWheel: null });
    // a tool the gesture cannot drive is ignored (scroll is a wheel tool)
    expect(effectiveSlots({ preset: 'ohif', overrides: { leftDrag: 'scroll' } }).leftDrag).toBe('windowLevel');
    expect(parseMouseSettings({ preset: 'classic', overrides: { rightDrag: 'pan', leftDrag: 'fly', bogus: 'pan', wheel: null } })).toEqual({
      preset: 'classic',
      overrides: { rightDrag: 'pan', wheel: null },
    });
    expect(parseMouseSettings({ preset: 'nope' })).toEqual({ preset: 'ohif', overrides: {} });
    expect(parseMouseSettings('garbage')).toEqual({ preset: 'ohif', overrides: {} });
    expect(parseMouseSettings(null)).toEqual({ preset: 'ohif', overrides: {} });
    // the wheel unbound with Ctrl falls back to the plain wheel's tool
    const b = bindingsFromSlots(effectiveSlots({ preset: 'ohif', overrides: { ctrlWheel: null } }));
    expect(resolveMouseTool(b, 'wheel', 'drag', ['Ctrl'])).toBe('scroll');
  });

  it('maps PointerEvent buttons and modifier keys', () => {
    expect([0, 1, 2, 3, 4].map(mouseButtonFromEvent)).toEqual(['left', 'middle', 'right', null, null]);
    expect(modifiersFromEvent({ ctrlKey: true, altKey: false, shiftKey: true, metaKey: false })).toEqual(['Ctrl', 'Shift']);
  });

  it('prefers a binding naming the held modifiers, then one without modifiers', () => {
    const classic = bindingsFromSlots(mousePresets.classic.slots);
    const bindings: MouseBinding[] = [...classic, { button: 'left', modifiers: ['Ctrl'], tool: 'zoom' }];
    expect(resolveMouseTool(bindings, 'left', 'drag', ['Ctrl'])).toBe('zoom');
    expect(resolveMouseTool(bindings, 'left', 'drag', ['Ctrl', 'Shift'])).toBe('pan');
    expect(resolveMouseTool(bindings, 'left', 'drag', [])).toBe('pan');
    expect(resolveMouseTool([{ button: 'left', modifiers: ['Alt'], tool: 'zoom' }], 'left', 'drag', [])).toBeNull();
  });

  it('lists the mouse in the cheat sheet from the table', () => {
    expect(mouseGestureList(defaultMouseBindings)).toEqual([
      { tool: 'windowLevel', gestures: ['Left-drag'], label: 'Window/level: ↕ level, ↔ width' },
      { tool: 'pan', gestures: ['Middle-drag'], label: 'Pan' },
      { tool: 'zoom', gestures: ['Right-drag', 'Ctrl+Wheel'], label: 'Zoom around the cursor' },
      { tool: 'magnify', gestures: ['Shift+Left-drag'], label: 'Magnifier (loupe while held; the wheel sets 2x to 8x)' },
      { tool: 'scroll', gestures: ['Wheel'], label: 'Scroll through the study’s images' },
      { tool: 'fit', gestures: ['Double-click'], label: 'Fit image' },
    ]);
    expect(mouseGestures).toEqual(mouseGestureList(defaultMouseBindings));
    expect(defaultMouseBindings).toEqual(bindingsFromSlots(mousePresets.ohif.slots));
    expect(describeMouseBinding({ button: 'middle', gesture: 'doubleClick', modifiers: ['Shift', 'Ctrl'], tool: 'fit' })).toBe('Ctrl+Shift+Middle-double-click');
  });

  it('changes with the table alone (e.g. OHIF: left W/L, middle pan, right zoom)', () => {
    const ohif: MouseBinding[] = [
      { button: 'left', tool: 'windowLevel' },
      { button: 'middle', tool: 'pan' },
      { button: 'right', tool: 'zoom' },
      { button: 'wheel', tool: 'zoom' },
      { button: 'left', gesture: 'doubleClick', tool: 'fit' },
    ];
    expect(resolveMouseTool(ohif, 'left', 'drag')).toBe('windowLevel');
    expect(resolveMouseTool(ohif, 'right', 'drag')).toBe('zoom');
    expect(mouseGestureList(ohif).map((r) => [r.tool, r.gestures])).toEqual([
      ['windowLevel', ['Left-drag']],
      ['pan', ['Middle-drag']],
      ['zoom', ['Right-drag', 'Wheel']],
      ['fit', ['Double-click']],
    ]);
  });
});
