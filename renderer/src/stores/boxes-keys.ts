// The box tool's keys, through the keymap (`boxes.new|delete|undo|redo`; Esc is `dialog.close`'s key): listened to
// in the capture phase, so that Esc first cancels a drag, the selection or box mode and only then reaches the
// workstation's dialog.close (which skips a key handled here: defaultPrevented).

import { onBeforeUnmount, onMounted } from 'vue';
import { isTextField } from '../composables/useWorkstation';
import type { Action } from '../lib/keymap';
import { useBoxesStore } from './boxes';
import { useImportStore } from './imports';
import { useKeymapStore } from './keymap';
import { useUiStore } from './ui';

/** What a box action does now; false: nothing to do, so the key goes on to whoever else wants it. */
export function runBoxAction(action: Action | undefined, boxes: ReturnType<typeof useBoxesStore>): boolean {
  switch (action) {
    case 'boxes.new':
      boxes.enter();
      return true;
    case 'boxes.delete':
      if (!boxes.selected) return false;
      void boxes.removeSelected();
      return true;
    case 'boxes.undo':
      if (!boxes.canUndo) return false;
      void boxes.undo();
      return true;
    case 'boxes.redo':
      if (!boxes.canRedo) return false;
      void boxes.redo();
      return true;
    case 'dialog.close':
      return boxes.cancel();
    default:
      return false;
  }
}

export function useBoxKeys(): void {
  const boxes = useBoxesStore();
  const keymap = useKeymapStore();
  const ui = useUiStore();
  const imports = useImportStore();
  function onKeydown(e: KeyboardEvent): void {
    if (e.defaultPrevented || e.isComposing || isTextField(e.target)) return;
    if (keymap.helpOpen || ui.settingsOpen || imports.dialogOpen) return;
    if (runBoxAction(keymap.actionFor(e), boxes)) e.preventDefault();
  }
  onMounted(() => window.addEventListener('keydown', onKeydown, true));
  onBeforeUnmount(() => window.removeEventListener('keydown', onKeydown, true));
}
