// Pixel checks on screenshots and exported figures (PNG decoded by fast-png) for the Compare tests: how many pixels
// of a region differ between two images, colours at a point, the dark share of a region; and waiting for a canvas
// to settle before a screenshot.
import type { DecodedPng } from 'fast-png';
import type { Locator } from '@playwright/test';

/** Waits until no frame is pending: a few animation frames. */
export async function settle(canvas: Locator): Promise<void> {
  await canvas.evaluate(() => new Promise<void>((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => requestAnimationFrame(() => resolve())))));
}

export interface Region {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export function area(r: Region): number {
  return (r.x1 - r.x0) * (r.y1 - r.y0);
}

function differs(a: DecodedPng, i: number, b: DecodedPng, j: number): boolean {
  return Math.abs(a.data[i] - b.data[j]) > 3 || Math.abs(a.data[i + 1] - b.data[j + 1]) > 3 || Math.abs(a.data[i + 2] - b.data[j + 2]) > 3;
}

/** Pixels of the region whose colour differs by more than 3 in any channel. */
export function changed(a: DecodedPng, b: DecodedPng, r: Region): number {
  let count = 0;
  for (let y = r.y0; y < r.y1; y++)
    for (let x = r.x0; x < r.x1; x++) if (differs(a, (y * a.width + x) * a.channels, b, (y * b.width + x) * b.channels)) count++;
  return count;
}

/** Pixels of the region that differ from the same region `dx` to the right (the two halves of a Compare figure). */
export function changedShifted(png: DecodedPng, r: Region, dx: number): number {
  let count = 0;
  for (let y = r.y0; y < r.y1; y++)
    for (let x = r.x0; x < r.x1; x++) if (differs(png, (y * png.width + x) * png.channels, png, (y * png.width + x + dx) * png.channels)) count++;
  return count;
}

export function rgb(png: DecodedPng, x: number, y: number): number[] {
  const i = (y * png.width + x) * png.channels;
  return [png.data[i], png.data[i + 1], png.data[i + 2]];
}

/** The share of a region's pixels darker than `level` (0-1). */
export function darkShare(png: DecodedPng, r: Region, level: number): number {
  let dark = 0;
  for (let y = r.y0; y < r.y1; y++)
    for (let x = r.x0; x < r.x1; x++) {
      const [red, green, blue] = rgb(png, x, y);
      if ((red + green + blue) / 3 < level * 255) dark++;
    }
  return dark / area(r);
}
