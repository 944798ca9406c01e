// The report panel's text size: 15 px by default (readable in a dark room at arm's length), 12-24 px by its
// A-/A+ buttons (stores/settings.ts keeps the choice in this browser's storage).
export const REPORT_FONT_DEFAULT = 15;
export const REPORT_FONT_MIN = 12;
export const REPORT_FONT_MAX = 24;

export function clampReportFont(px: number): number {
  return Number.isFinite(px) ? Math.min(REPORT_FONT_MAX, Math.max(REPORT_FONT_MIN, Math.round(px))) : REPORT_FONT_DEFAULT;
}
