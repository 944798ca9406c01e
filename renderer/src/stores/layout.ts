import { defineStore } from 'pinia';
import { computed, ref } from 'vue';

const LAYOUT_KEY = 'sightline.layout.v1';

/** Panel widths a drag may set, CSS pixels. */
export const PANEL_LIMITS = { studies: [180, 520], report: [240, 640] } as const;
export type Panel = keyof typeof PANEL_LIMITS;

interface Saved {
  studiesCollapsed: boolean;
  reportCollapsed: boolean;
  /** null: the default (a share of the window, see WorkstationView) */
  studiesWidth: number | null;
  reportWidth: number | null;
}

export function clampWidth(panel: Panel, px: number): number {
  const [lo, hi] = PANEL_LIMITS[panel];
  return Math.round(Math.min(hi, Math.max(lo, px)));
}

/** Stored layout, checked: anything malformed is the default. */
export function parseLayout(raw: unknown): Saved {
  const r = raw && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
  const width = (panel: Panel, v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? clampWidth(panel, v) : null);
  return {
    studiesCollapsed: r.studiesCollapsed === true,
    reportCollapsed: r.reportCollapsed === true,
    studiesWidth: width('studies', r.studiesWidth),
    reportWidth: width('report', r.reportWidth),
  };
}

function read(): Saved {
  try {
    return parseLayout(JSON.parse(localStorage.getItem(LAYOUT_KEY) ?? 'null'));
  } catch {
    return parseLayout(null);
  }
}

/**
 * The workstation's layout: the study list and report panels collapsed or not and their widths (dragged;
 * remembered in localStorage), and "maximised" (F): both panels out of the way for this session only, the
 * panels' own states untouched, so that F again brings back exactly what was there.
 */
export const useLayoutStore = defineStore('layout', () => {
  const saved = ref<Saved>(read());
  const maximised = ref(false);
  const studiesShown = computed(() => !maximised.value && !saved.value.studiesCollapsed);
  const reportShown = computed(() => !maximised.value && !saved.value.reportCollapsed);

  function save(patch: Partial<Saved>): void {
    saved.value = { ...saved.value, ...patch };
    try {
      localStorage.setItem(LAYOUT_KEY, JSON.stringify(saved.value));
    } catch {
      /* kept for this session only */
    }
  }

  /** Show or hide a panel (leaving a maximised viewer brings the panels back first). */
  function toggle(panel: Panel): void {
    const key = panel === 'studies' ? 'studiesCollapsed' : 'reportCollapsed';
    if (maximised.value) {
      maximised.value = false;
      if (!saved.value[key]) return;
    }
    save({ [key]: !saved.value[key] });
  }

  function setWidth(panel: Panel, px: number): void {
    save(panel === 'studies' ? { studiesWidth: clampWidth(panel, px) } : { reportWidth: clampWidth(panel, px) });
  }

  function resetWidths(): void {
    save({ studiesWidth: null, reportWidth: null });
  }

  function toggleMaximised(): void {
    maximised.value = !maximised.value;
  }

  return { saved, maximised, studiesShown, reportShown, toggle, setWidth, resetWidths, toggleMaximised };
});
