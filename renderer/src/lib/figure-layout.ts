// Where an exported figure's caption and colorbar go, at the image's original resolution: a caption band across
// the bottom (the phrase, wrapped to at most two lines; the model and variant; "Not for diagnostic use") and a
// colorbar panel at the right above it (the bar, high values on top, with its range's ends and middle). Sizes
// scale with the image's short side, so that a 600 px and a 3000 px figure read alike. Pure: lib/figure.ts draws
// the pixels, the caller draws the text items with a 2D canvas.

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface TextItem {
  text: string;
  /** anchor in figure pixels: `align` says which end of the text sits at x; y is the text's middle */
  x: number;
  y: number;
  /** font size, pixels */
  size: number;
  align: 'left' | 'right';
  /** the text is squeezed to fit this width */
  maxWidth: number;
  weight: 'normal' | 'bold';
}

export interface FigureLayout {
  width: number;
  height: number;
  font: number;
  /** the dark band under the caption */
  caption: Rect;
  /** the dark panel behind the colorbar (null: no heatmap, no colorbar) */
  colorbarPanel: Rect | null;
  /** the colour ramp itself (inside the panel) */
  colorbar: Rect | null;
  /** outline widths of boxes: the coloured line and its dark halo */
  line: number;
}

/** Average glyph width as a fraction of the font size (system sans-serif): for wrapping before any canvas exists. */
const GLYPH = 0.56;
const TICK_CHARS = 5;

/** Font size for an image: 2.6 % of its short side, 10-64 px. */
export function figureFont(columns: number, rows: number): number {
  return Math.max(10, Math.min(64, Math.round(Math.min(columns, rows) * 0.026)));
}

/** Words into at most `maxLines` lines of at most `maxChars` characters; what does not fit ends in an ellipsis. */
export function wrapText(text: string, maxChars: number, maxLines = 2): string[] {
  const words = text.replace(/\s+/g, ' ').trim().split(' ').filter(Boolean);
  const limit = Math.max(4, maxChars);
  const lines: string[] = [];
  let line = '';
  for (let i = 0; i < words.length; i++) {
    let w = words[i];
    if (w.length > limit) w = `${w.slice(0, limit - 1)}…`;
    const next = line ? `${line} ${w}` : w;
    if (next.length <= limit) {
      line = next;
      continue;
    }
    if (lines.length === maxLines - 1) {
      lines.push(`${next.slice(0, limit - 1).trimEnd()}…`);
      return lines;
    }
    lines.push(line);
    line = w;
  }
  if (line) lines.push(line);
  return lines;
}

export interface CaptionText {
  phrase: string;
  /** 'demo · tuned' */
  model: string;
}

export const NOT_FOR_DIAGNOSTIC_USE = 'Research use only · not for diagnostic use';

/** The caption's lines: the phrase (quoted, up to two lines), the model and variant, the notice. */
export function captionLines(c: CaptionText, maxChars: number): { text: string; weight: 'normal' | 'bold' }[] {
  const phrase = wrapText(`“${c.phrase}”`, maxChars).map((text) => ({ text, weight: 'bold' as const }));
  return [...phrase, { text: c.model, weight: 'normal' }, { text: NOT_FOR_DIAGNOSTIC_USE, weight: 'normal' }];
}

/** The layout of one panel (columns x rows) and its text items; `ticks` are the colorbar's labels, top first. */
export function figureLayout(columns: number, rows: number, caption: CaptionText, ticks: string[] | null): { layout: FigureLayout; texts: TextItem[] } {
  let font = figureFont(columns, rows);
  const measure = (f: number) => {
    const pad = Math.round(f * 0.6);
    const lineHeight = Math.round(f * 1.3);
    const lines = captionLines(caption, Math.floor((columns - 2 * pad) / (f * GLYPH)));
    return { pad, lineHeight, lines, height: lines.length * lineHeight + 2 * pad };
  };
  let m = measure(font);
  // a tiny image: a smaller font, so that the caption takes at most half of it
  while (m.height > rows / 2 && font > 4) m = measure(--font);
  const { pad, lineHeight, lines } = m;
  const line = Math.max(1, Math.round(Math.min(columns, rows) / 320));
  const captionHeight = Math.min(rows, m.height);
  const captionRect: Rect = { x: 0, y: rows - captionHeight, width: columns, height: captionHeight };
  const texts: TextItem[] = lines.map((l, i) => ({
    text: l.text,
    x: pad,
    y: captionRect.y + pad + lineHeight * i + lineHeight / 2,
    size: font,
    align: 'left',
    maxWidth: columns - 2 * pad,
    weight: l.weight,
  }));

  let colorbarPanel: Rect | null = null;
  let colorbar: Rect | null = null;
  if (ticks) {
    const barWidth = Math.max(6, Math.round(font * 0.8));
    const labelWidth = Math.ceil(TICK_CHARS * font * GLYPH);
    const panelWidth = Math.min(columns, pad + labelWidth + Math.round(pad / 2) + barWidth + pad);
    const room = rows - captionHeight - pad; // above the caption band, a margin below the image's top
    const barHeight = Math.max(font * 2, Math.min(Math.round(rows * 0.35), room - 2 * pad - pad - font));
    const panelHeight = Math.max(0, Math.min(room, barHeight + 2 * pad + font));
    colorbarPanel = { x: columns - pad - panelWidth, y: captionRect.y - pad - panelHeight, width: panelWidth, height: panelHeight };
    if (colorbarPanel.x < 0) colorbarPanel.x = 0;
    if (colorbarPanel.y < 0) colorbarPanel.y = 0;
    colorbar = {
      x: colorbarPanel.x + colorbarPanel.width - pad - barWidth,
      y: colorbarPanel.y + pad + Math.round(font / 2),
      width: barWidth,
      height: Math.max(2, Math.min(barHeight, colorbarPanel.height - 2 * pad - font)),
    };
    const bar = colorbar;
    ticks.forEach((text, i) => {
      const t = ticks.length > 1 ? i / (ticks.length - 1) : 0;
      texts.push({ text, x: bar.x - Math.round(pad / 2), y: bar.y + t * (bar.height - 1), size: Math.round(font * 0.85), align: 'right', maxWidth: labelWidth, weight: 'normal' });
    });
  }
  return { layout: { width: columns, height: rows, font, caption: captionRect, colorbarPanel, colorbar, line }, texts };
}
