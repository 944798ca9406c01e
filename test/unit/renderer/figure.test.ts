// The exported figure without a browser: its pixels at the image's original size (the image through window/level
// and invert, the heatmap blended as the layer draws it, boxes, the caption band, the colorbar), where its caption
// and colorbar go for small and large images, the side-by-side Compare figure, and what the canvas step draws.
import { describe, expect, it } from 'vitest';
import { colormapTable, tableIndex } from '../../../renderer/src/lib/colormaps';
import { BAND_ALPHA, BAND_RGB, composePanel, formatTick, greyImage, sideBySide, type FigurePanel } from '../../../renderer/src/lib/figure';
import { figureFileName, paintFigure, type FigureContext } from '../../../renderer/src/lib/figure-canvas';
import { NOT_FOR_DIAGNOSTIC_USE, figureLayout, wrapText } from '../../../renderer/src/lib/figure-layout';
import { boxSources, rgbOf } from '../../../renderer/src/lib/box-sources';
import { BOX_COLOUR } from '../../../renderer/src/lib/grounding';
import type { LoadedHeatmap } from '../../../renderer/src/lib/heatmap';
import { applyWindow } from '../../../renderer/src/lib/window-level';

const W = 200;
const H = 160;

/** A 200 x 160 16-bit image: a horizontal ramp 0..3980 (stored), rescaled by slope 0.5 and intercept -100. */
function panel(overrides: Partial<FigurePanel> = {}): FigurePanel {
  const samples = new Uint16Array(W * H);
  for (let r = 0; r < H; r++) for (let c = 0; c < W; c++) samples[r * W + c] = c * 20;
  // a 4 x 2 map over the rectangle x 40..120, y 20..60: values 0.1 .. 0.8, row-major
  const values = Float32Array.from([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]);
  const map: LoadedHeatmap = {
    id: 3, imageId: 1, phrase: 'Small left pleural effusion', model: 'demo', variant: 'tuned', source: 'model', width: 4, height: 2, values, threshold: null,
    geometry: { originalRows: H, originalColumns: W, top: 20, left: 40, width: 80, height: 40 }, min: 0.1, max: 0.8,
  };
  return {
    image: { samples, columns: W, rows: H, slope: 0.5, intercept: -100, center: 400, width: 800, invert: false },
    heatmap: { map, table: colormapTable('inferno'), lower: 0.15, range: [0, 1], opacity: 0.5, sampling: 'nearest' },
    boxes: [{ x: 6, y: 66, w: 30, h: 30, source: 'dataset' }],
    caption: { phrase: 'Small left pleural effusion', model: 'demo · tuned' },
    ...overrides,
  };
}

const px = (fig: { width: number; pixels: Uint8ClampedArray }, x: number, y: number) => Array.from(fig.pixels.subarray((y * fig.width + x) * 4, (y * fig.width + x) * 4 + 4));
const grey = (column: number, invert = false) => {
  const g = applyWindow(column * 20 * 0.5 - 100, 400, 800);
  const v = Math.round((invert ? 1 - g : g) * 255);
  return [v, v, v, 255];
};

describe('figure pixels', () => {
  it('is the image at its original size, through the window/level and invert', () => {
    const fig = composePanel(panel({ heatmap: null, boxes: [] }));
    expect([fig.width, fig.height, fig.pixels.length]).toEqual([W, H, W * H * 4]);
    for (const x of [0, 10, 37, 120, 199]) expect(px(fig, x, 5)).toEqual(grey(x));
    const inverted = greyImage({ ...panel().image, invert: true });
    expect(Array.from(inverted.subarray(37 * 4, 37 * 4 + 4))).toEqual(grey(37, true));
  });

  it('blends the heatmap over it as the layer does: colormap, opacity, the threshold hides low values', () => {
    const p = panel();
    const fig = composePanel(p);
    const table = p.heatmap!.table;
    const blend = (v: number, x: number) => {
      const e = tableIndex(v) * 4;
      return [0, 1, 2].map((k) => Math.round(table[e + k] * (128 / 255) + grey(x)[k] * (1 - 128 / 255)));
    };
    // map cell (row 0, column 1) = 0.2 covers x 60..79, y 20..39; (row 1, column 3) = 0.8 covers x 100..119, y 40..59
    expect(px(fig, 65, 25).slice(0, 3)).toEqual(blend(0.2, 65));
    expect(px(fig, 110, 50).slice(0, 3)).toEqual(blend(0.8, 110));
    expect(px(fig, 45, 25)).toEqual(grey(45)); // 0.1: not above the lower threshold 0.15
    expect(px(fig, 39, 25)).toEqual(grey(39)); // left of the rectangle: no value
    expect(px(fig, 65, 19)).toEqual(grey(65)); // above it
  });

  const BOX_RGB = rgbOf(BOX_COLOUR);

  it('draws the boxes: a green outline on the box edge, inside left alone', () => {
    const fig = composePanel(panel());
    const line = fig.layouts[0].line;
    expect(line).toBe(1);
    expect(px(fig, 20, 66).slice(0, 3)).toEqual([...BOX_RGB]); // top edge
    expect(px(fig, 6, 80).slice(0, 3)).toEqual([...BOX_RGB]); // left edge
    expect(px(fig, 36, 80).slice(0, 3)).toEqual([...BOX_RGB]); // right edge
    expect(px(fig, 20, 80)).toEqual(grey(20)); // inside
    // its dark halo just outside the line
    expect(px(fig, 20, 65)).toEqual(grey(20).map((g, k) => (k < 3 ? Math.round(g * 0.45) : g)));
  });

  it('draws each source\'s boxes in the viewer\'s colour for it: a VinDr reader\'s, a user\'s dashed', () => {
    const boxes = [
      { x: 6, y: 66, w: 30, h: 30, source: 'dataset', reader: 'R8' },
      { x: 50, y: 70, w: 40, h: 40, source: 'user', reader: 'alice' },
    ];
    const fig = composePanel(panel({ heatmap: null, boxes }));
    const [reader, user] = boxSources(boxes as never).map((s) => rgbOf(s.colour));
    expect(reader).not.toEqual(BOX_RGB);
    expect(px(fig, 20, 66).slice(0, 3)).toEqual(reader); // the reader's top edge, solid
    const top = Array.from({ length: 40 }, (_, i) => px(fig, 50 + i, 70).slice(0, 3));
    expect(top.filter((c) => c.every((v, k) => v === user[k])).length).toBeGreaterThan(10); // the user's, in its colour
    expect(top.filter((c) => !c.every((v, k) => v === user[k])).length).toBeGreaterThan(5); // with the dash's gaps
  });

  it('draws the caption band and the colorbar where the layout puts them', () => {
    const p = panel();
    const fig = composePanel(p);
    const { caption, colorbar, colorbarPanel } = fig.layouts[0];
    expect(caption.y + caption.height).toBe(H);
    expect(caption.width).toBe(W);
    // the band darkens the image under it
    const x = 20;
    const y = caption.y + 2;
    expect(px(fig, x, y).slice(0, 3)).toEqual(grey(x).slice(0, 3).map((g, k) => Math.round(BAND_RGB[k] * BAND_ALPHA + g * (1 - BAND_ALPHA))));
    // the ramp: the top row is the colormap's end, the bottom row its start, opaque
    const bar = colorbar!;
    const table = p.heatmap!.table;
    const cx = bar.x + Math.floor(bar.width / 2);
    expect(px(fig, cx, bar.y)).toEqual([table[255 * 4], table[255 * 4 + 1], table[255 * 4 + 2], 255]);
    expect(px(fig, cx, bar.y + bar.height - 1)).toEqual([table[0], table[1], table[2], 255]);
    const mid = bar.y + Math.round((bar.height - 1) / 2);
    const e = tableIndex(1 - (mid - bar.y) / (bar.height - 1)) * 4;
    expect(px(fig, cx, mid).slice(0, 3)).toEqual([table[e], table[e + 1], table[e + 2]]);
    // the panel behind it is darkened too; both sit above the caption band, inside the image
    const panelRect = colorbarPanel!;
    expect(panelRect.y + panelRect.height).toBeLessThanOrEqual(caption.y);
    expect(panelRect.x + panelRect.width).toBeLessThanOrEqual(W);
    // without a heatmap: no colorbar
    expect(composePanel(panel({ heatmap: null })).layouts[0].colorbar).toBeNull();
  });

  it('writes the caption (phrase, model and variant, the notice) in the band and the range labels by the bar', () => {
    const fig = composePanel(panel());
    const { caption, colorbar } = fig.layouts[0];
    const texts = fig.texts.map((t) => t.text);
    expect(texts.slice(0, 3)).toEqual(['“Small left pleural effusion”', 'demo · tuned', NOT_FOR_DIAGNOSTIC_USE]);
    for (const t of fig.texts.slice(0, 3)) {
      expect(t.y).toBeGreaterThan(caption.y);
      expect(t.y).toBeLessThan(H);
      expect(t.x).toBeGreaterThanOrEqual(0);
    }
    expect(fig.texts.slice(3).map((t) => t.text)).toEqual(['1.00', '0.50', '0.00']);
    const ticks = fig.texts.slice(3);
    expect(ticks[0].y).toBe(colorbar!.y);
    expect(ticks[2].y).toBe(colorbar!.y + colorbar!.height - 1);
    expect(ticks.every((t) => t.align === 'right' && t.x < colorbar!.x)).toBe(true);
    expect([formatTick(-2), formatTick(123.4)]).toEqual(['-2.00', '123']);
  });
});

describe('figure isolines', () => {
  it('draws the isolines as the layer does: a dark halo and a white line along the contour, nothing elsewhere', () => {
    const plain = composePanel(panel());
    const base = panel();
    const fig = composePanel({ ...base, heatmap: { ...base.heatmap!, isolines: [0.45] } });
    // the 4 x 2 map: 0.1-0.4 in its top row, 0.5-0.8 in the bottom one; between the cell centres 0.45 runs from
    // (70, 42.5) to (90, 37.5): through (79.5, 40.125), within half a pixel of the centre of pixel (79, 40)
    const line = fig.layouts[0].line;
    // one level: the halo (black, 0.5), then white at 0.55, over what the pixel was
    const under = px(plain, 79, 40);
    expect(px(fig, 79, 40)).toEqual([...under.slice(0, 3).map((c) => Math.round(255 * 0.55 + Math.round(c * 0.5) * 0.45)), 255]);
    expect(px(fig, 80, 30)).toEqual(px(plain, 80, 30)); // inside a cell, away from the line
    expect(px(fig, 80, 40 + Math.ceil(line * 1.25) + 1)).toEqual(px(plain, 80, 40 + Math.ceil(line * 1.25) + 1));
    expect(px(fig, 20, 40)).toEqual(px(plain, 20, 40)); // left of the map
    expect(composePanel({ ...base, heatmap: { ...base.heatmap!, isolines: [] } }).pixels).toEqual(plain.pixels);
  });
});

describe('figure layout', () => {
  it('fits the caption and colorbar inside images from small to large, the colorbar above the band', () => {
    for (const [w, h] of [
      [64, 48],
      [200, 160],
      [604, 551],
      [619, 664],
      [3000, 2500],
    ]) {
      const { layout, texts } = figureLayout(w, h, { phrase: 'Extensive right lower lung atelectasis with a very long tail of words', model: 'demo · frozen' }, ['1.00', '0.50', '0.00']);
      const inside = (r: { x: number; y: number; width: number; height: number }) => r.x >= 0 && r.y >= 0 && r.x + r.width <= w && r.y + r.height <= h;
      expect(inside(layout.caption)).toBe(true);
      expect(inside(layout.colorbarPanel!)).toBe(true);
      expect(inside(layout.colorbar!)).toBe(true);
      expect(layout.colorbarPanel!.y + layout.colorbarPanel!.height).toBeLessThanOrEqual(layout.caption.y);
      for (const t of texts) expect(t.y).toBeLessThanOrEqual(h);
    }
    expect(figureLayout(3000, 2500, { phrase: 'x', model: 'm' }, null).layout.font).toBe(64);
    expect(figureLayout(619, 664, { phrase: 'x', model: 'm' }, null).layout.font).toBe(16);
  });

  it('wraps a long phrase into two lines at most, with an ellipsis', () => {
    expect(wrapText('one two three', 40)).toEqual(['one two three']);
    expect(wrapText('one two three four five', 10)).toEqual(['one two', 'three fou…']);
    expect(wrapText('abcdefghijklmnop', 8)).toEqual(['abcdefg…']);
  });
});

describe('the Compare figure and the canvas step', () => {
  it('puts two panels side by side: twice the width, the second panel’s texts moved right', () => {
    const a = composePanel(panel());
    const b = composePanel(panel({ caption: { phrase: 'Small left pleural effusion', model: 'demo · frozen' } }));
    const fig = sideBySide([a, b]);
    expect([fig.width, fig.height]).toEqual([2 * W, H]);
    expect(px(fig, 65, 25)).toEqual(px(a, 65, 25));
    expect(px(fig, W + 65, 25)).toEqual(px(b, 65, 25));
    expect(fig.texts.filter((t) => t.text === 'demo · frozen')[0].x).toBe(W + a.texts[1].x);
    expect(fig.layouts.length).toBe(2);
    expect(() => sideBySide([a, composePanel(panel({ image: { ...panel().image, rows: 10, samples: new Uint16Array(W * 10) }, heatmap: null }))])).toThrow(/same height/);
  });

  it('paints the pixels, then every text item, onto a 2D context; names the file', () => {
    const fig = composePanel(panel());
    const calls: unknown[][] = [];
    const ctx = {
      font: '',
      fillStyle: '',
      textAlign: 'left',
      textBaseline: 'alphabetic',
      createImageData: (w: number, h: number) => ({ width: w, height: h, data: new Uint8ClampedArray(w * h * 4) }),
      putImageData: (img: { width: number; data: Uint8ClampedArray }, x: number, y: number) => calls.push(['put', img.width, img.data[(25 * W + 65) * 4], x, y]),
      fillText: (text: string, x: number, y: number) => calls.push(['text', text, x, y, ctx.font, ctx.textAlign]),
    };
    paintFigure(ctx as unknown as FigureContext, fig);
    expect(calls[0]).toEqual(['put', W, fig.pixels[(25 * W + 65) * 4], 0, 0]);
    expect(calls.filter((c) => c[0] === 'text').map((c) => c[1])).toEqual(fig.texts.map((t) => t.text));
    expect(calls[1][4]).toMatch(/^600 10px /); // the phrase in bold at the layout's size
    expect(figureFileName(['50372513', 'Extensive right lower lung atelectasis.', 'demo-tuned'])).toBe('sightline_50372513_extensive-right-lower-lung-atelectasis_demo-tuned.png');
    expect(figureFileName([null, ''])).toBe('sightline_figure.png');
  });
});
