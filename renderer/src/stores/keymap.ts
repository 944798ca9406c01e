import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import {
  applyOverrides,
  buildKeyIndex,
  comboFromEvent,
  defaultBindings,
  defaultMouseBindings,
  findConflicts,
  mouseGestureList,
  resolveMouseTool,
  tooltip,
  type Action,
  type KeyLike,
  type Modifier,
  type MouseBinding,
  type MouseButton,
  type MouseGesture,
  type ToolId,
} from '../lib/keymap';

const OVERRIDES_KEY = 'sightline.keymap.v1';

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
 * which viewer tool each button drives (the default table; not user-editable yet).
 */
export const useKeymapStore = defineStore('keymap', () => {
  const overrides = ref<Partial<Record<Action, string[]>>>(readOverrides());
  const bindings = computed(() => applyOverrides(defaultBindings, overrides.value));
  const conflicts = computed(() => findConflicts(bindings.value));
  const index = computed(() => buildKeyIndex(bindings.value));
  const helpOpen = ref(false);
  const mouseBindings = shallowRef<readonly MouseBinding[]>(defaultMouseBindings);
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
    try {
      localStorage.setItem(OVERRIDES_KEY, JSON.stringify(overrides.value));
    } catch {
      /* ignore */
    }
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
    mouseBindings,
    mouseGestures,
    actionFor,
    tip,
    toolFor,
    rebind,
    resetBindings,
  };
});
