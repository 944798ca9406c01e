import { defineStore } from 'pinia';
import { ref } from 'vue';
import { api } from '../api';
import { clampReportFont, REPORT_FONT_DEFAULT } from '../lib/report-font';
import { useToastStore } from './toasts';

export type Theme = 'dark' | 'light';
const THEME_CACHE = 'sightline.theme';
const REPORT_FONT_KEY = 'sightline.reportFontSize';

function storedReportFont(): number {
  try {
    const v = typeof localStorage !== 'undefined' ? localStorage.getItem(REPORT_FONT_KEY) : null;
    return v === null ? REPORT_FONT_DEFAULT : clampReportFont(Number(v));
  } catch {
    return REPORT_FONT_DEFAULT;
  }
}

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
  /** the report panel's text size (px), kept in this browser's storage like the viewer's preferences */
  const reportFontSize = ref(storedReportFont());

  function setReportFontSize(px: number): void {
    reportFontSize.value = clampReportFont(px);
    try {
      localStorage.setItem(REPORT_FONT_KEY, String(reportFontSize.value));
    } catch {
      /* private mode: this session only */
    }
  }

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

  return { theme, loaded, load, setTheme, reportFontSize, setReportFontSize };
});
