// Heatmap colormaps: d3-scale-chromatic's perceptual ramps sampled into 256-entry RGBA tables, the form the
// heatmap layer uploads as its lookup texture and the colorbar draws. Entry i is the ramp at t = i / 255.

import { interpolateGreys, interpolateInferno, interpolateTurbo, interpolateViridis } from 'd3-scale-chromatic';

export const COLORMAPS = ['inferno', 'viridis', 'turbo', 'grey'] as const;
export type ColormapName = (typeof COLORMAPS)[number];

export const COLORMAP_LABELS: Readonly<Record<ColormapName, string>> = {
  inferno: 'Inferno',
  viridis: 'Viridis',
  turbo: 'Turbo',
  grey: 'Grey',
};

const RAMPS: Readonly<Record<ColormapName, (t: number) => string>> = {
  inferno: interpolateInferno,
  viridis: interpolateViridis,
  turbo: interpolateTurbo,
  // d3's Greys run from white to black; a heatmap's grey runs from black (0) to white (1)
  grey: (t) => interpolateGreys(1 - t),
};

export const TABLE_SIZE = 256;

export function isColormap(v: unknown): v is ColormapName {
  return typeof v === 'string' && (COLORMAPS as readonly string[]).includes(v);
}

/** d3's colour strings ('#rrggbb' or 'rgb(r, g, b)') -> [r, g, b], 0-255. */
export function parseColor(css: string): [number, number, number] {
  const hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(css.trim());
  if (hex) return [parseInt(hex[1], 16), parseInt(hex[2], 16), parseInt(hex[3], 16)];
  const rgb = /^rgba?\(\s*([\d.]+)\s*,\s*([\d.]+)\s*,\s*([\d.]+)/i.exec(css.trim());
  if (rgb) return [Math.round(Number(rgb[1])), Math.round(Number(rgb[2])), Math.round(Number(rgb[3]))];
  throw new Error(`unsupported colour: ${css}`);
}

const tables = new Map<ColormapName, Uint8Array>();

/** The 256 x RGBA table of a colormap (alpha 255), cached. */
export function colormapTable(name: ColormapName): Uint8Array {
  const cached = tables.get(name);
  if (cached) return cached;
  const ramp = RAMPS[name];
  const table = new Uint8Array(TABLE_SIZE * 4);
  for (let i = 0; i < TABLE_SIZE; i++) {
    const [r, g, b] = parseColor(ramp(i / (TABLE_SIZE - 1)));
    table.set([r, g, b, 255], i * 4);
  }
  tables.set(name, table);
  return table;
}

/** The table entry for t in [0, 1] (clamped): index round(t * 255), as the shader does. */
export function tableIndex(t: number): number {
  const c = Number.isFinite(t) ? Math.min(1, Math.max(0, t)) : 0;
  return Math.floor(c * (TABLE_SIZE - 1) + 0.5);
}

export function colormapColor(name: ColormapName, t: number): [number, number, number] {
  const table = colormapTable(name);
  const i = tableIndex(t) * 4;
  return [table[i], table[i + 1], table[i + 2]];
}

/** A CSS linear-gradient of the table (bottom = 0, top = 1 for 'to top'), `stops` evenly spaced entries. */
export function cssGradient(name: ColormapName, direction = 'to top', stops = 17): string {
  const parts: string[] = [];
  for (let k = 0; k < stops; k++) {
    const t = k / (stops - 1);
    const [r, g, b] = colormapColor(name, t);
    parts.push(`rgb(${r}, ${g}, ${b}) ${(t * 100).toFixed(1)}%`);
  }
  return `linear-gradient(${direction}, ${parts.join(', ')})`;
}
