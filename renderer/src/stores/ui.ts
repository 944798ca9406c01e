import { defineStore } from 'pinia';
import { ref } from 'vue';

/** Cross-component UI requests (focus a field, open a dialog) triggered by shortcuts. */
export const useUiStore = defineStore('ui', () => {
  const settingsOpen = ref(false);
  const searchFocusTick = ref(0);
  const phraseFocusTick = ref(0);
  return {
    settingsOpen,
    searchFocusTick,
    phraseFocusTick,
    focusSearch: () => searchFocusTick.value++,
    focusPhrase: () => phraseFocusTick.value++,
  };
});
