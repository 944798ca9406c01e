// Readable in a dark room: the report's section headings and the W/L readout have a contrast of at least 7:1
// (WCAG AAA) against the panel they sit on, in both themes, computed from the CSS variables of the theme and the
// colours the components use; the report text is at least 14 px by default.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { clampReportFont, REPORT_FONT_DEFAULT, REPORT_FONT_MAX, REPORT_FONT_MIN } from '../../../renderer/src/lib/report-font';

const root = path.resolve(__dirname, '../../..');
const read = (rel: string) => fs.readFileSync(path.join(root, rel), 'utf8');

/** The custom properties of a theme block (`[data-theme='dark']` shares its block with `:root`). */
function themeVars(css: string, theme: 'dark' | 'light'): Map<string, string> {
  const m = new RegExp(`\\[data-theme='${theme}'\\]\\s*\\{([^}]*)\\}`).exec(css);
  if (!m) throw new Error(`renderer/src/styles/theme.css: no [data-theme='${theme}'] block`);
  return new Map([...m[1].matchAll(/(--[\w-]+)\s*:\s*([^;]+);/g)].map((x) => [x[1], x[2].trim()]));
}

function luminance(hex: string): number {
  const m = /^#([0-9a-f]{6})$/i.exec(hex);
  if (!m) throw new Error(`not a #rrggbb colour: ${hex}`);
  const c = [0, 2, 4].map((i) => parseInt(m[1].slice(i, i + 2), 16) / 255).map((v) => (v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
  return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
}

function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

/** The colour variable of the last rule for `selector` in a component's CSS (later rules win). */
function colourVar(file: string, selector: RegExp): string {
  const style = /<style[^>]*>([\s\S]*?)<\/style>/.exec(read(file));
  if (!style) throw new Error(`${file}: no <style> block`);
  const css = style[1].replace(/\/\*[\s\S]*?\*\//g, '');
  const rules = [...css.matchAll(/([^{}]+)\{([^}]*)\}/g)].filter((r) => r[1].split(',').some((s) => selector.test(s.trim())));
  const colours = rules.flatMap((r) => [...r[2].matchAll(/(?:^|[;\s])color:\s*var\((--[\w-]+)\)/g)].map((x) => x[1]));
  if (!colours.length) throw new Error(`${file}: no colour for ${selector}`);
  return colours[colours.length - 1];
}

describe('contrast in both themes', () => {
  const theme = read('renderer/src/styles/theme.css');
  it('computes WCAG contrast as published (black on white 21:1, #777 on white 4.48:1)', () => {
    expect(contrast('#000000', '#ffffff')).toBeCloseTo(21, 5);
    expect(contrast('#777777', '#ffffff')).toBeCloseTo(4.48, 2);
  });
  for (const t of ['dark', 'light'] as const) {
    const vars = themeVars(theme, t);
    const on = (v: string) => contrast(vars.get(v)!, vars.get('--panel')!);
    it(`${t}: report section headings >= 7:1 on the panel`, () => {
      const v = colourVar('renderer/src/components/ReportPanel.vue', /^h3$/);
      expect(on(v), `${v} on --panel`).toBeGreaterThanOrEqual(7);
    });
    it(`${t}: the W/L readout >= 7:1 on the status bar`, () => {
      const label = colourVar('renderer/src/components/viewer/ViewerStatusBar.vue', /^\.wl$/);
      const value = colourVar('renderer/src/components/viewer/ViewerStatusBar.vue', /^\.status b$/);
      expect(on(label)).toBeGreaterThanOrEqual(7);
      expect(on(value)).toBeGreaterThanOrEqual(7);
    });
    it(`${t}: the old muted heading colour was below 7:1 (why the headings changed)`, () => {
      expect(on('--muted')).toBeLessThan(7);
    });
  }
});

describe('text size', () => {
  it('report text is 14 px or more by default, within 12-24 px when changed', () => {
    expect(REPORT_FONT_DEFAULT).toBeGreaterThanOrEqual(14);
    expect(clampReportFont(40)).toBe(REPORT_FONT_MAX);
    expect(clampReportFont(3)).toBe(REPORT_FONT_MIN);
    expect(clampReportFont(Number('x'))).toBe(REPORT_FONT_DEFAULT);
    const status = read('renderer/src/components/viewer/ViewerStatusBar.vue');
    expect(Number(/\.wl \{[^}]*font-size:\s*(\d+)px/.exec(status)?.[1])).toBeGreaterThanOrEqual(13);
  });
});
