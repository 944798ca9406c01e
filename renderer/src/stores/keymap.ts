import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import {
  applyOverrides,
  buildKeyIndex,
  comboFromEvent,
  defaultBindings,
  bindingsFromSlots,
  effectiveSlots,
  findConflicts,
  parseMouseSettings,
  mouseGestureList,
  resolveMouseTool,
  tooltip,
  type Action,
  type KeyLike,
  type Modifier,
  type MouseBinding,
  type MouseButton,
  type MouseGesture,
  type MousePresetId,
  type MouseSettings,
  type MouseSlotId,
  type ToolId,
} from '../lib/keymap';

const OVERRIDES_KEY = 'sightline.keymap.v1';
const MOUSE_KEY = 'sightline.mouse.v1';

function readMouseSettings(): MouseSettings {
  try {
    return parseMouseSettings(JSON.parse(localStorage.getItem(MOUSE_KEY) ?? 'null'));
  } catch {
    return parseMouseSettings(null);
  }
}

function store(key: string, value: unknown): void {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch {
    /* storage full or unavailable: kept for this session only */
  }
}

function readOverrides(): Partial<Record<Action, string[]>> {
  try {
    const v: unknown = JSON.parse(localStorage.getItem(OVERRIDES_KEY) ?? '{}');
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Partial<Record<Action, string[]>>) : {};
  } catch {
    return {};
  }
}

/**
 * Key bindings: defaults + user overrides (localStorage), conflicts detected and left unbound. Mouse bindings:
 * which viewer tool each button drives: a preset (OHIF by default, Sightline classic) + the user's changes per
 * gesture (localStorage).
 */
export const useKeymapStore = defineStore('keymap', () => {
  const overrides = ref<Partial<Record<Action, string[]>>>(readOverrides());
  const bindings = computed(() => applyOverrides(defaultBindings, overrides.value));
  const conflicts = computed(() => findConflicts(bindings.value));
  const index = computed(() => buildKeyIndex(bindings.value));
  const helpOpen = ref(false);
  const mouse = shallowRef<MouseSettings>(readMouseSettings());
  const mouseSlotTools = computed(() => effectiveSlots(mouse.value));
  const mouseBindings = computed<readonly MouseBinding[]>(() => bindingsFromSlots(mouseSlotTools.value));
  /** the cheat sheet's mouse rows */
  const mouseGestures = computed(() => mouseGestureList(mouseBindings.value));

  function toolFor(button: MouseButton, gesture: MouseGesture, modifiers: readonly Modifier[] = []): ToolId | null {
    return resolveMouseTool(mouseBindings.value, button, gesture, modifiers);
  }

  function actionFor(e: KeyLike): Action | undefined {
    return index.value.get(comboFromEvent(e));
  }

  function tip(label: string, action: Action): string {
    return tooltip(label, bindings.value, action);
  }

  function rebind(action: Action, keys: string[]): void {
    overrides.value = { ...overrides.value, [action]: keys };
    store(OVERRIDES_KEY, overrides.value);
  }

  /** Choose a mouse preset; the changes made to the previous one are dropped. */
  function setMousePreset(preset: MousePresetId): void {
    mouse.value = { preset, overrides: {} };
    store(MOUSE_KEY, mouse.value);
  }

  /** Bind one gesture to a tool (null: nothing) on top of the preset. */
  function bindMouse(slot: MouseSlotId, tool: ToolId | null): void {
    mouse.value = parseMouseSettings({ ...mouse.value, overrides: { ...mouse.value.overrides, [slot]: tool } });
    store(MOUSE_KEY, mouse.value);
  }

  function resetBindings(): void {
    overrides.value = {};
    try {
      localStorage.removeItem(OVERRIDES_KEY);
    } catch {
      /* ignore */
    }
  }

  return {
    overrides,
    bindings,
    conflicts,
    index,
    helpOpen,
    mouse,
    mouseSlotTools,
    mouseBindings,
    mouseGestures,
    setMousePreset,
    bindMouse,
    actionFor,
    tip,
    toolFor,
    rebind,
    resetBindings,
  };
});
