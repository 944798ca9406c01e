// Mouse: which viewer tool each button drives. Bindings are a table (button + gesture + modifiers -> tool); the
// table comes from a named preset ("OHIF" by default, "Sightline classic" the viewer's first mapping) with the
// user's changes per gesture slot on top, remembered like the key overrides. Tools: renderer/src/viewer/tools.ts.

export const MODIFIER_ORDER = ['Ctrl', 'Alt', 'Shift', 'Meta'] as const;

/** Viewer tools a mouse gesture can drive. */
/** 'box': the box tool, which the left button drives in box mode (`n`), not a slot of the settings */
/** 'ruler': a length in mm (the left button in ruler mode, `M`, or any drag slot); 'magnify': a loupe while held */
export type ToolId = 'windowLevel' | 'pan' | 'zoom' | 'fit' | 'scroll' | 'box' | 'ruler' | 'magnify';
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

/** What each tool does, for the cheat sheet and the settings. */
export const toolLabels: Readonly<Record<ToolId, string>> = {
  windowLevel: 'Window/level: ↕ level, ↔ width',
  pan: 'Pan',
  zoom: 'Zoom around the cursor',
  fit: 'Fit image',
  scroll: 'Scroll through the study’s images',
  box: 'Boxes: draw, select, move, resize (box mode, N)',
  ruler: 'Ruler: drag to measure a length (mm), click one to delete it',
  magnify: 'Magnifier (loupe while held; the wheel sets 2x to 8x)',
};

// ---- Gesture slots: what the settings let the user bind -------------------------------------------------------

export type MouseSlotId = 'leftDrag' | 'middleDrag' | 'rightDrag' | 'shiftLeftDrag' | 'wheel' | 'ctrlWheel' | 'doubleClick';

export interface MouseSlot {
  id: MouseSlotId;
  label: string;
  button: MouseButton;
  gesture: MouseGesture;
  modifiers?: Modifier[];
  /** the tools that make sense for this gesture (a drag tool cannot be a wheel tool) */
  tools: readonly ToolId[];
}

const DRAG_TOOLS: readonly ToolId[] = ['windowLevel', 'pan', 'zoom', 'ruler', 'magnify'];
export const mouseSlots: readonly MouseSlot[] = [
  { id: 'leftDrag', label: 'Left-drag', button: 'left', gesture: 'drag', tools: DRAG_TOOLS },
  { id: 'middleDrag', label: 'Middle-drag', button: 'middle', gesture: 'drag', tools: DRAG_TOOLS },
  { id: 'rightDrag', label: 'Right-drag', button: 'right', gesture: 'drag', tools: DRAG_TOOLS },
  { id: 'shiftLeftDrag', label: 'Shift+Left-drag', button: 'left', gesture: 'drag', modifiers: ['Shift'], tools: DRAG_TOOLS },
  { id: 'wheel', label: 'Wheel', button: 'wheel', gesture: 'drag', tools: ['scroll', 'zoom'] },
  { id: 'ctrlWheel', label: 'Ctrl+Wheel', button: 'wheel', gesture: 'drag', modifiers: ['Ctrl'], tools: ['zoom', 'scroll'] },
  { id: 'doubleClick', label: 'Double-click', button: 'left', gesture: 'doubleClick', tools: ['fit'] },
];

/** A slot -> tool table; null: nothing bound (a modifier slot then falls back to the gesture without it). */
export type MouseSlots = Record<MouseSlotId, ToolId | null>;

export type MousePresetId = 'ohif' | 'classic';

export const mousePresets: Readonly<Record<MousePresetId, { label: string; slots: Readonly<MouseSlots> }>> = {
  // OHIF's default: left W/L, middle pan, right zoom, wheel scrolls images; Ctrl+wheel zooms.
  ohif: {
    label: 'OHIF (radiology default)',
    slots: { leftDrag: 'windowLevel', middleDrag: 'pan', rightDrag: 'zoom', shiftLeftDrag: 'magnify', wheel: 'scroll', ctrlWheel: 'zoom', doubleClick: 'fit' },
  },
  // The viewer's first mapping: right W/L, left and middle pan, wheel zooms at the cursor.
  classic: {
    label: 'Sightline classic',
    slots: { leftDrag: 'pan', middleDrag: 'pan', rightDrag: 'windowLevel', shiftLeftDrag: 'magnify', wheel: 'zoom', ctrlWheel: null, doubleClick: 'fit' },
  },
};

export const DEFAULT_MOUSE_PRESET: MousePresetId = 'ohif';

/** What is remembered: the preset and the user's changes to its slots. */
export interface MouseSettings {
  preset: MousePresetId;
  overrides: Partial<MouseSlots>;
}

/** The slot table in effect: the preset's, with the overrides that fit their slot applied. */
export function effectiveSlots(s: MouseSettings): MouseSlots {
  const slots = { ...mousePresets[s.preset].slots };
  for (const slot of mouseSlots) {
    const t = s.overrides[slot.id];
    if (t === null || (t !== undefined && slot.tools.includes(t))) slots[slot.id] = t;
  }
  return slots;
}

/** The binding table of a slot table, in slot order. */
export function bindingsFromSlots(slots: MouseSlots): MouseBinding[] {
  const out: MouseBinding[] = [];
  for (const slot of mouseSlots) {
    const tool = slots[slot.id];
    if (!tool) continue;
    const b: MouseBinding = { button: slot.button, tool };
    if (slot.gesture !== 'drag') b.gesture = slot.gesture;
    if (slot.modifiers) b.modifiers = [...slot.modifiers];
    out.push(b);
  }
  return out;
}

/**
 * Stored mouse settings, checked: an unknown preset falls back to the default, overrides that name an unknown
 * slot or a tool the slot cannot take are dropped (a settings file from a later version never breaks the viewer).
 */
export function parseMouseSettings(raw: unknown): MouseSettings {
  const out: MouseSettings = { preset: DEFAULT_MOUSE_PRESET, overrides: {} };
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return out;
  const r = raw as Record<string, unknown>;
  if (typeof r.preset === 'string' && Object.hasOwn(mousePresets, r.preset)) out.preset = r.preset as MousePresetId;
  const o = r.overrides;
  if (o && typeof o === 'object' && !Array.isArray(o)) {
    for (const slot of mouseSlots) {
      const t = (o as Record<string, unknown>)[slot.id];
      if (t === null || (typeof t === 'string' && slot.tools.includes(t as ToolId))) out.overrides[slot.id] = t as ToolId | null;
    }
  }
  return out;
}

/** Default mouse map: the OHIF preset. */
export const defaultMouseBindings: readonly MouseBinding[] = bindingsFromSlots(mousePresets[DEFAULT_MOUSE_PRESET].slots);

// ---- Events and resolution -------------------------------------------------------------------------------------

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

/** Mouse rows of the default map (the cheat sheet reads the keymap store's, which follows the user's choice). */
export const mouseGestures = mouseGestureList(defaultMouseBindings);
