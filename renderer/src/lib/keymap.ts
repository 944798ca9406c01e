// Keyboard map: actions, their default keys (OHIF/CVAT conventions), combo normalisation and conflict detection.

import { MODIFIER_ORDER } from './mouse-bindings';

export type Action =
  | 'study.prev'
  | 'study.next'
  | 'image.prev'
  | 'image.next'
  | 'view.fit'
  | 'view.invert'
  | 'view.reset'
  | 'view.zoomIn'
  | 'view.zoomOut'
  | 'view.rotateRight'
  | 'view.rotateLeft'
  | 'view.flipHorizontal'
  | 'view.flipVertical'
  | 'measure.ruler'
  | 'measure.clear'
  | 'preset.1'
  | 'preset.2'
  | 'preset.3'
  | 'preset.4'
  | 'preset.5'
  | 'preset.6'
  | 'preset.7'
  | 'preset.8'
  | 'preset.9'
  | 'layout.maximise'
  | 'layout.studies'
  | 'layout.report'
  | 'layout.compare'
  | 'layout.multiples'
  | 'heatmap.toggle'
  | 'heatmap.colormap'
  | 'boxes.toggle'
  | 'boxes.new'
  | 'boxes.delete'
  | 'boxes.undo'
  | 'boxes.redo'
  | 'figure.export'
  | 'help.toggle'
  | 'search.focus'
  | 'phrase.focus'
  | 'import.open'
  | 'dialog.close';

export interface Binding {
  action: Action;
  keys: string[];
  label: string;
  group: 'Navigation' | 'Viewer' | 'Window presets' | 'Grounding' | 'General';
}

export const defaultBindings: readonly Binding[] = [
  { action: 'study.prev', keys: ['ArrowUp'], label: 'Previous study in the list', group: 'Navigation' },
  { action: 'study.next', keys: ['ArrowDown'], label: 'Next study in the list', group: 'Navigation' },
  { action: 'image.prev', keys: ['ArrowLeft'], label: 'Previous image', group: 'Navigation' },
  { action: 'image.next', keys: ['ArrowRight'], label: 'Next image', group: 'Navigation' },
  { action: 'view.fit', keys: ['='], label: 'Fit image to viewport', group: 'Viewer' },
  { action: 'view.invert', keys: ['I'], label: 'Invert grey scale', group: 'Viewer' },
  { action: 'view.reset', keys: ['Space'], label: 'Reset view (zoom, pan, window/level, invert)', group: 'Viewer' },
  { action: 'view.zoomIn', keys: ['+'], label: 'Zoom in', group: 'Viewer' },
  { action: 'view.zoomOut', keys: ['-'], label: 'Zoom out', group: 'Viewer' },
  // OHIF's keys for rotation and the vertical flip; its `h` (horizontal flip) is the heatmap toggle here
  { action: 'view.rotateRight', keys: ['R'], label: 'Rotate 90° clockwise', group: 'Viewer' },
  { action: 'view.rotateLeft', keys: ['L'], label: 'Rotate 90° counter-clockwise', group: 'Viewer' },
  { action: 'view.flipHorizontal', keys: ['Shift+H'], label: 'Flip horizontally (mirror left-right)', group: 'Viewer' },
  { action: 'view.flipVertical', keys: ['V'], label: 'Flip vertically', group: 'Viewer' },
  { action: 'measure.ruler', keys: ['M'], label: 'Ruler mode: drag to measure a length (mm), click one to delete it; M again ends', group: 'Viewer' },
  { action: 'measure.clear', keys: ['Shift+M'], label: 'Delete the image’s measurements', group: 'Viewer' },
  { action: 'layout.maximise', keys: ['F'], label: 'Maximise the viewer (panels aside) / restore', group: 'Viewer' },
  { action: 'layout.studies', keys: ['['], label: 'Show / hide the study list', group: 'Viewer' },
  { action: 'layout.report', keys: [']'], label: 'Show / hide the report', group: 'Viewer' },
  // C is the colormap; Shift+C (as Shift+H and Shift+M beside H and M) is Compare, G the grid of small multiples
  { action: 'layout.compare', keys: ['Shift+C'], label: 'Compare: the phrase under a second model or variant, side by side / close', group: 'Viewer' },
  { action: 'layout.multiples', keys: ['G'], label: 'Small multiples: every grounded phrase of the image / close', group: 'Viewer' },
  // OHIF-like: 1-5 the default presets (Default, Lung, Mediastinum, Bone, Full range), 6-9 for the reader's own
  ...([1, 2, 3, 4, 5, 6, 7, 8, 9] as const).map((n): Binding => ({ action: `preset.${n}`, keys: [String(n)], label: `Window preset ${n}`, group: 'Window presets' })),
  { action: 'heatmap.toggle', keys: ['H'], label: 'Show / hide the heatmap', group: 'Grounding' },
  { action: 'heatmap.colormap', keys: ['C'], label: 'Next heatmap colormap', group: 'Grounding' },
  { action: 'boxes.toggle', keys: ['B'], label: 'Show / hide the ground-truth boxes', group: 'Grounding' },
  { action: 'boxes.new', keys: ['N'], label: 'Box mode: draw a box for the active phrase (drag), click to select, drag to move / resize; Esc ends', group: 'Grounding' },
  { action: 'boxes.delete', keys: ['Delete', 'Backspace'], label: 'Delete the selected box (yours; dataset boxes are read-only)', group: 'Grounding' },
  { action: 'boxes.undo', keys: ['Ctrl+Z'], label: 'Undo the last box change', group: 'Grounding' },
  { action: 'boxes.redo', keys: ['Ctrl+Shift+Z', 'Ctrl+Y'], label: 'Redo a box change', group: 'Grounding' },
  { action: 'figure.export', keys: ['E'], label: 'Export the figure (PNG at the image’s resolution)', group: 'Grounding' },
  { action: 'help.toggle', keys: ['?', 'F1'], label: 'Keyboard shortcuts', group: 'General' },
  { action: 'search.focus', keys: ['/', 'Ctrl+F'], label: 'Search studies', group: 'General' },
  { action: 'phrase.focus', keys: ['P'], label: 'Type a phrase', group: 'General' },
  { action: 'import.open', keys: ['Ctrl+O'], label: 'Import…', group: 'General' },
  { action: 'dialog.close', keys: ['Escape'], label: 'Close dialog / overlay', group: 'General' },
];

// Mouse bindings (button + modifiers -> viewer tool) live in mouse-bindings.ts; re-exported for one import site.
export * from './mouse-bindings';

const KEY_ALIASES: Record<string, string> = {
  ' ': 'Space',
  spacebar: 'Space',
  space: 'Space',
  esc: 'Escape',
  escape: 'Escape',
  up: 'ArrowUp',
  down: 'ArrowDown',
  left: 'ArrowLeft',
  right: 'ArrowRight',
  arrowup: 'ArrowUp',
  arrowdown: 'ArrowDown',
  arrowleft: 'ArrowLeft',
  arrowright: 'ArrowRight',
  del: 'Delete',
  delete: 'Delete',
  enter: 'Enter',
  tab: 'Tab',
  plus: '+',
  minus: '-',
  equal: '=',
};

function normaliseKey(key: string): string {
  const alias = KEY_ALIASES[key.toLowerCase()];
  if (alias) return alias;
  if (key.length === 1) return key.toUpperCase();
  if (/^f\d{1,2}$/i.test(key)) return key.toUpperCase();
  return key.charAt(0).toUpperCase() + key.slice(1);
}

/** 'ctrl+shift+z' -> 'Ctrl+Shift+Z'; 'cmd+o' -> 'Meta+O'; ' ' -> 'Space'. */
export function normaliseCombo(combo: string): string {
  if (combo === ' ') return 'Space';
  if (combo === '+') return '+';
  const parts = combo.endsWith('++') ? [...combo.slice(0, -2).split('+'), '+'] : combo.split('+');
  const mods = new Set<string>();
  let key = '';
  for (const raw of parts) {
    const p = raw.trim();
    const lower = p.toLowerCase();
    if (lower === 'ctrl' || lower === 'control') mods.add('Ctrl');
    else if (lower === 'alt' || lower === 'option') mods.add('Alt');
    else if (lower === 'shift') mods.add('Shift');
    else if (lower === 'meta' || lower === 'cmd' || lower === 'command') mods.add('Meta');
    else key = normaliseKey(p === '' ? ' ' : p);
  }
  return [...MODIFIER_ORDER.filter((m) => mods.has(m)), key].join('+');
}

export interface KeyLike {
  key: string;
  ctrlKey: boolean;
  altKey: boolean;
  shiftKey: boolean;
  metaKey: boolean;
}

/**
 * A key event as a combo. Shift is implied by printable symbols ('?' is Shift+/ on most layouts) and
 * is only kept for letters, digits-free named keys and when another modifier is held.
 */
export function comboFromEvent(e: KeyLike): string {
  if (e.key === 'Control' || e.key === 'Shift' || e.key === 'Alt' || e.key === 'Meta') return '';
  const key = normaliseKey(e.key);
  const printableSymbol = e.key.length === 1 && !/[a-z0-9]/i.test(e.key);
  const mods: string[] = [];
  if (e.ctrlKey) mods.push('Ctrl');
  if (e.altKey) mods.push('Alt');
  if (e.shiftKey && !(printableSymbol && !e.ctrlKey && !e.altKey && !e.metaKey)) mods.push('Shift');
  if (e.metaKey) mods.push('Meta');
  return [...mods, key].join('+');
}

export interface Conflict {
  combo: string;
  actions: Action[];
}

/** Keys bound to more than one action. */
export function findConflicts(bindings: readonly Binding[]): Conflict[] {
  const byCombo = new Map<string, Action[]>();
  for (const b of bindings) {
    for (const k of b.keys) {
      const combo = normaliseCombo(k);
      const list = byCombo.get(combo) ?? [];
      if (!list.includes(b.action)) list.push(b.action);
      byCombo.set(combo, list);
    }
  }
  return [...byCombo.entries()].filter(([, a]) => a.length > 1).map(([combo, actions]) => ({ combo, actions }));
}

/** Combo -> action. Conflicting combos are left out (the caller reports them), so no key does two things. */
export function buildKeyIndex(bindings: readonly Binding[]): Map<string, Action> {
  const conflicted = new Set(findConflicts(bindings).map((c) => c.combo));
  const index = new Map<string, Action>();
  for (const b of bindings) for (const k of b.keys) {
    const combo = normaliseCombo(k);
    if (!conflicted.has(combo)) index.set(combo, b.action);
  }
  return index;
}

/** Defaults with user overrides (action -> keys) applied; unknown actions in overrides are ignored. */
export function applyOverrides(defaults: readonly Binding[], overrides: Partial<Record<Action, string[]>>): Binding[] {
  return defaults.map((b) => {
    const keys = overrides[b.action];
    return Array.isArray(keys) ? { ...b, keys: keys.map(normaliseCombo) } : { ...b, keys: [...b.keys] };
  });
}

/** Human label for a combo ('ArrowUp' -> '↑'). */
export function displayCombo(combo: string): string {
  const symbols: Record<string, string> = { ArrowUp: '↑', ArrowDown: '↓', ArrowLeft: '←', ArrowRight: '→', Escape: 'Esc' };
  return normaliseCombo(combo)
    .split(/\+(?!$)/)
    .map((p) => symbols[p] ?? p)
    .join('+');
}

/** Tooltip text: 'Invert grey scale (I)'. */
export function tooltip(label: string, bindings: readonly Binding[], action: Action): string {
  const b = bindings.find((x) => x.action === action);
  if (!b || b.keys.length === 0) return label;
  return `${label} (${b.keys.map(displayCombo).join(' / ')})`;
}

/** Keys that still work while typing in a text field. */
export function worksInTextField(combo: string): boolean {
  return combo === 'Escape' || combo === 'F1' || combo === 'Ctrl+O';
}
