import { describe, expect, it } from 'vitest';
import {
  applyOverrides,
  buildKeyIndex,
  comboFromEvent,
  defaultBindings,
  displayCombo,
  findConflicts,
  normaliseCombo,
  tooltip,
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
});
