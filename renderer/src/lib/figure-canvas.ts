// The exported figure onto a 2D canvas and out as a PNG download: the composed pixels (lib/figure.ts), then the
// text items (caption, colorbar labels) drawn with the canvas's fonts, `toBlob('image/png')`, and a Blob URL
// handed to an <a download> (the CSP allows blob:; nothing leaves the machine).

import type { ComposedFigure } from './figure';
import type { TextItem } from './figure-layout';

export const TEXT_COLOUR = '#e6e8eb';
export const FONT_FAMILY = 'system-ui, "Segoe UI", "DejaVu Sans", sans-serif';

/** What painting needs of a CanvasRenderingContext2D. */
export type FigureContext = Pick<CanvasRenderingContext2D, 'createImageData' | 'putImageData' | 'fillText' | 'font' | 'fillStyle' | 'textAlign' | 'textBaseline'>;

export function paintFigure(ctx: FigureContext, fig: ComposedFigure): void {
  const image = ctx.createImageData(fig.width, fig.height);
  image.data.set(fig.pixels);
  ctx.putImageData(image, 0, 0);
  ctx.fillStyle = TEXT_COLOUR;
  ctx.textBaseline = 'middle';
  for (const t of fig.texts) paintText(ctx, t);
}

function paintText(ctx: FigureContext, t: TextItem): void {
  ctx.font = `${t.weight === 'bold' ? '600 ' : ''}${t.size}px ${FONT_FAMILY}`;
  ctx.textAlign = t.align;
  ctx.fillText(t.text, t.x, t.y, t.maxWidth);
}

/** The figure as PNG bytes (a Blob), through an offscreen 2D canvas of its size. */
export function figurePng(fig: ComposedFigure, doc: Document = document): Promise<Blob> {
  const canvas = doc.createElement('canvas');
  canvas.width = fig.width;
  canvas.height = fig.height;
  const ctx = canvas.getContext('2d');
  if (!ctx) return Promise.reject(new Error('no 2D canvas to draw the figure on'));
  paintFigure(ctx, fig);
  return new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('the figure could not be encoded as PNG'))), 'image/png'));
}

/** Saves a Blob under `name` through a Blob URL and an <a download>. */
export function downloadBlob(blob: Blob, name: string, doc: Document = document): void {
  const url = URL.createObjectURL(blob);
  const a = doc.createElement('a');
  a.href = url;
  a.download = name;
  a.style.display = 'none';
  doc.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 30_000);
}

/** A file name from the figure's parts: letters, digits and dashes only. */
export function figureFileName(parts: readonly (string | null | undefined)[]): string {
  const slug = parts
    .filter((p): p is string => !!p)
    .map((p) =>
      p
        .toLowerCase()
        .normalize('NFKD')
        .replace(/[^a-z0-9]+/g, '-')
        .replace(/^-+|-+$/g, '')
        .slice(0, 48),
    )
    .filter(Boolean)
    .join('_');
  return `sightline_${slug || 'figure'}.png`;
}
