import { defineStore } from 'pinia';
import { ref } from 'vue';
import { api } from '../api';
import { useToastStore } from './toasts';

export type Theme = 'dark' | 'light';
const THEME_CACHE = 'sightline.theme';

function applyTheme(theme: Theme): void {
  document.documentElement.dataset.theme = theme;
  try {
    localStorage.setItem(THEME_CACHE, theme);
  } catch {
    /* ignore */
  }
}

/** App settings persisted by the main process; the theme is cached locally to avoid a flash at start. */
export const useSettingsStore = defineStore('settings', () => {
  const cached = (typeof localStorage !== 'undefined' && localStorage.getItem(THEME_CACHE)) as Theme | null;
  const theme = ref<Theme>(cached === 'light' ? 'light' : 'dark');
  const loaded = ref(false);
  applyTheme(theme.value);

  async function load(): Promise<void> {
    try {
      const s = await api.settings.get({});
      theme.value = s.theme;
      applyTheme(s.theme);
      loaded.value = true;
    } catch (e) {
      useToastStore().error(e, 'Loading settings');
    }
  }

  async function setTheme(next: Theme): Promise<void> {
    const previous = theme.value;
    theme.value = next;
    applyTheme(next);
    try {
      const s = await api.settings.set({ theme: next });
      theme.value = s.theme;
      applyTheme(s.theme);
    } catch (e) {
      theme.value = previous;
      applyTheme(previous);
      useToastStore().error(e, 'Saving settings');
    }
  }

  return { theme, loaded, load, setTheme };
});
