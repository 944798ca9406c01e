// Keyboard map: actions, their default keys (OHIF/CVAT conventions), combo normalisation and conflict detection.

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
  | 'preset.1'
  | 'preset.2'
  | 'preset.3'
  | 'preset.4'
  | 'preset.5'
  | 'heatmap.toggle'
  | 'heatmap.colormap'
  | 'boxes.toggle'
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
  { action: 'preset.1', keys: ['1'], label: 'Window preset 1', group: 'Window presets' },
  { action: 'preset.2', keys: ['2'], label: 'Window preset 2', group: 'Window presets' },
  { action: 'preset.3', keys: ['3'], label: 'Window preset 3', group: 'Window presets' },
  { action: 'preset.4', keys: ['4'], label: 'Window preset 4', group: 'Window presets' },
  { action: 'preset.5', keys: ['5'], label: 'Window preset 5', group: 'Window presets' },
  { action: 'heatmap.toggle', keys: ['H'], label: 'Show / hide the heatmap', group: 'Grounding' },
  { action: 'heatmap.colormap', keys: ['C'], label: 'Next heatmap colormap', group: 'Grounding' },
  { action: 'boxes.toggle', keys: ['B'], label: 'Show / hide the ground-truth boxes', group: 'Grounding' },
  { action: 'figure.export', keys: ['E'], label: 'Export the figure (PNG at the image’s resolution)', group: 'Grounding' },
  { action: 'help.toggle', keys: ['?', 'F1'], label: 'Keyboard shortcuts', group: 'General' },
  { action: 'search.focus', keys: ['/', 'Ctrl+F'], label: 'Search studies', group: 'General' },
  { action: 'phrase.focus', keys: ['P'], label: 'Type a phrase', group: 'General' },
  { action: 'import.open', keys: ['Ctrl+O'], label: 'Import…', group: 'General' },
  { action: 'dialog.close', keys: ['Escape'], label: 'Close dialog / overlay', group: 'General' },
];

const MODIFIER_ORDER = ['Ctrl', 'Alt', 'Shift', 'Meta'] as const;

// ---- Mouse: which viewer tool each button drives -------------------------------------------------------------

/** Viewer tools a mouse gesture can drive (implementations in renderer/src/viewer/tools.ts). */
export type ToolId = 'windowLevel' | 'pan' | 'zoom' | 'fit';
export type MouseButton = 'left' | 'middle' | 'right' | 'wheel';
/** 'drag' (press, move, release) or 'doubleClick'; the wheel has neither and ignores it. */
export type MouseGesture = 'drag' | 'doubleClick';
export type Modifier = (typeof MODIFIER_ORDER)[number];

export interface MouseBinding {
  button: MouseButton;
  /** default 'drag' */
  gesture?: MouseGesture;
  /**
   * Modifiers that must be held, exactly. Left out: the binding applies whatever is held, unless another
   * binding of the same button and gesture names the held modifiers (the more specific binding wins).
   */
  modifiers?: Modifier[];
  tool: ToolId;
}

/**
 * Default mouse map: right-drag window/level, left- and middle-drag pan, wheel zoom at the cursor,
 * double-click fit. Changing the mapping (e.g. to OHIF's left W/L, middle pan, right zoom) is an edit here.
 */
export const defaultMouseBindings: readonly MouseBinding[] = [
  { button: 'right', tool: 'windowLevel' },
  { button: 'left', tool: 'pan' },
  { button: 'middle', tool: 'pan' },
  { button: 'wheel', tool: 'zoom' },
  { button: 'left', gesture: 'doubleClick', tool: 'fit' },
];

/** What each tool does, for the cheat sheet. */
export const toolLabels: Readonly<Record<ToolId, string>> = {
  windowLevel: 'Window/level: ↕ level, ↔ width',
  pan: 'Pan',
  zoom: 'Zoom around the cursor',
  fit: 'Fit image',
};

/** PointerEvent.button -> button name (0 left, 1 middle, 2 right; others are not bound). */
export function mouseButtonFromEvent(button: number): MouseButton | null {
  return button === 0 ? 'left' : button === 1 ? 'middle' : button === 2 ? 'right' : null;
}

export function modifiersFromEvent(e: { ctrlKey: boolean; altKey: boolean; shiftKey: boolean; metaKey: boolean }): Modifier[] {
  const held = { Ctrl: e.ctrlKey, Alt: e.altKey, Shift: e.shiftKey, Meta: e.metaKey };
  return MODIFIER_ORDER.filter((m) => held[m]);
}

/** The tool for a button + gesture with `held` modifiers: an exact modifier match first, then a binding without modifiers. */
export function resolveMouseTool(
  bindings: readonly MouseBinding[],
  button: MouseButton,
  gesture: MouseGesture,
  held: readonly Modifier[] = [],
): ToolId | null {
  const candidates = bindings.filter((b) => b.button === button && (button === 'wheel' || (b.gesture ?? 'drag') === gesture));
  const same = (mods: readonly Modifier[]) => mods.length === held.length && mods.every((m) => held.includes(m));
  const exact = candidates.find((b) => b.modifiers && same(b.modifiers));
  return (exact ?? candidates.find((b) => !b.modifiers))?.tool ?? null;
}

/** 'Right-drag', 'Wheel', 'Double-click', 'Shift+Left-drag'. */
export function describeMouseBinding(b: MouseBinding): string {
  const name = b.button.charAt(0).toUpperCase() + b.button.slice(1);
  const gesture =
    b.button === 'wheel' ? name : (b.gesture ?? 'drag') === 'drag' ? `${name}-drag` : b.button === 'left' ? 'Double-click' : `${name}-double-click`;
  return [...MODIFIER_ORDER.filter((m) => b.modifiers?.includes(m)), gesture].join('+');
}

/** The cheat sheet's mouse rows, derived from the binding table: one row per tool, its gestures in table order. */
export function mouseGestureList(bindings: readonly MouseBinding[]): { tool: ToolId; gestures: string[]; label: string }[] {
  const rows: { tool: ToolId; gestures: string[]; label: string }[] = [];
  for (const b of bindings) {
    const row = rows.find((r) => r.tool === b.tool);
    const gesture = describeMouseBinding(b);
    if (row) {
      if (!row.gestures.includes(gesture)) row.gestures.push(gesture);
    } else rows.push({ tool: b.tool, gestures: [gesture], label: toolLabels[b.tool] });
  }
  return rows;
}

/** Mouse rows of the default map (the cheat sheet reads the keymap store's, which is the same today). */
export const mouseGestures = mouseGestureList(defaultMouseBindings);

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
