// Compare, small multiples and the exported figure in browser mode, end to end: a real `sightline serve` (the demo
// model through onnxruntime-node on the CPU) and real Chromium (WebGL2 through SwiftShader). A finding is grounded
// with the picker's model, compared with the demo's 'tuned' variant side by side (linked zoom and window/level),
// exported as a PNG at the image's resolution (twice its width in Compare), then every finding is shown as a small
// multiple; where the lead's `heatmaps.import` exists, an imported heatmap is compared too.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decode, type DecodedPng } from 'fast-png';
import type { Download, Locator, Page } from '@playwright/test';
import { openDatabase } from '../../main/db';
import { figureLayout } from '../../renderer/src/lib/figure-layout';
import { expect, repoRoot, rpc, test, type Served } from './serve-fixture';
import { importDemo } from './demo-steps';
import { collectConsoleErrors } from './page-checks';

const screens = path.join(repoRoot, 'test-results', 'screens');
mkdirSync(screens, { recursive: true });
const FINDING = 'Extensive right lower lung atelectasis.';
/** the shipped demo bundle's name (models/demo) */
const DEMO = 'sightline-demo-ldm';
/** the demo image of that study: 604 x 551, 8-bit */
const COLUMNS = 604;
const ROWS = 551;
const hasImport = readFileSync(path.join(repoRoot, 'common/contract/heatmaps.ts'), 'utf8').includes('heatmaps.import');

test('compare two variants side by side, linked zoom, export the figure, small multiples', async ({ served, page }) => {
  test.setTimeout(480_000);
  const consoleErrors = collectConsoleErrors(page);
  await page.goto(served.loginUrl);
  await importDemo(page);
  await openStudy(page);
  const main = page.getByTestId('viewer-canvas');

  // the picker: the demo model (its check state shown) and its variants; new requests use the choice
  await expect(page.getByTestId('grounding-model')).toHaveValue(DEMO);
  await expect(page.getByTestId('grounding-variant')).toHaveValue('frozen');
  await expect(page.getByTestId('grounding-variant').locator('option')).toContainText(['frozen', 'tuned']);
  await expect(page.getByTestId('grounding-model-state')).toHaveText(/verified|unverified/);

  await page.locator('[data-testid="sentence"][data-finding="true"]', { hasText: FINDING }).first().click();
  await expect(main).toHaveAttribute('data-heatmap-state', 'shown', { timeout: 240_000 });
  await expect(page.getByTestId('grounding-item').first().getByTestId('grounding-item-model')).toHaveText(`${DEMO} · frozen`);
  const frozenId = await main.getAttribute('data-heatmap-id');

  // Compare with the demo's tuned variant: requested like the first, shown beside it
  await page.getByTestId('compare-toggle').click();
  const pane = page.getByTestId('compare-pane');
  await expect(pane).toBeVisible();
  await page.getByTestId('compare-choice').selectOption({ label: `${DEMO} · tuned` });
  const second = page.getByTestId('compare-canvas');
  await expect(second).toHaveAttribute('data-state', 'ready');
  await expect(second).toHaveAttribute('data-heatmap-state', 'shown', { timeout: 240_000 });
  await expect(main).toHaveAttribute('data-heatmap-state', 'shown');
  await expect(main).toHaveAttribute('data-heatmap-id', frozenId!);
  const tunedId = await second.getAttribute('data-heatmap-id');
  expect(tunedId).not.toBe(frozenId);
  await expect(page.getByTestId('compare-caption')).toHaveText(`${DEMO} · tuned`);
  await expect(page.locator('[data-testid="grounding-item"][data-variant="tuned"]')).toHaveAttribute('data-state', 'done');

  // the two viewports are the same size and show the same image with different heatmaps
  await settle(main);
  await settle(second);
  const left = decode(await main.screenshot());
  const right = decode(await second.screenshot());
  expect([right.width, right.height]).toEqual([left.width, left.height]);
  const lungs = { x0: Math.round(left.width * 0.2), y0: Math.round(left.height * 0.2), x1: Math.round(left.width * 0.8), y1: Math.round(left.height * 0.75) };
  expect(changed(left, right, lungs)).toBeGreaterThan(0.01 * area(lungs));
  await page.screenshot({ path: path.join(screens, 'compare.png') });

  // zoom the second one: the main viewer follows (its zoom readout), and back
  const zoomOf = async (testId: string) => Number((await page.getByTestId(testId).innerText()).replace(/\D+/g, ''));
  const before = await zoomOf('zoom-readout');
  expect(await zoomOf('compare-zoom-readout')).toBe(before);
  const box = (await second.boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.keyboard.down('Control'); // the wheel alone scrolls images (OHIF); Ctrl+wheel zooms
  await page.mouse.wheel(0, -500);
  await page.keyboard.up('Control');
  await expect.poll(() => zoomOf('compare-zoom-readout')).toBeGreaterThan(before);
  await expect.poll(() => zoomOf('zoom-readout')).toBe(await zoomOf('compare-zoom-readout'));
  // window/level dragged in the second viewer is the one window/level of both
  const width = Number(await page.getByTestId('wl-readout').getAttribute('data-width'));
  await page.mouse.down({ button: 'left' });
  await page.mouse.move(box.x + box.width / 2 + 80, box.y + box.height / 2, { steps: 4 });
  await page.mouse.up({ button: 'left' });
  await expect.poll(async () => Number(await page.getByTestId('wl-readout').getAttribute('data-width'))).toBeGreaterThan(width);
  await page.getByTestId('viewer-reset').click();
  await expect.poll(() => zoomOf('compare-zoom-readout')).toBe(before);

  // export: both side by side, each at the image's resolution
  const compareFigure = await download(page, () => page.getByTestId('export-figure').click());
  expect(compareFigure.suggestedFilename()).toMatch(/^sightline_50372513_extensive-right-lower-lung-atelectasis_sightline-demo-ldm-frozen_vs-sightline-demo-ldm-tuned\.png$/);
  const both = decode(readFileSync((await compareFigure.path())!));
  expect([both.width, both.height]).toEqual([2 * COLUMNS, ROWS]);
  await compareFigure.saveAs(path.join(screens, 'figure-compare.png'));
  const half = { x0: 150, y0: 120, x1: 450, y1: 380 };
  expect(changedShifted(both, half, COLUMNS)).toBeGreaterThan(0.01 * area(half)); // frozen vs tuned
  // in each half, where the layout puts them: the colorbar (inferno, brightest on top) and the dark caption band
  const { layout } = figureLayout(COLUMNS, ROWS, { phrase: FINDING, model: `${DEMO} · frozen` }, ['1.00', '0.50', '0.00']);
  const bar = layout.colorbar!;
  for (const x0 of [0, COLUMNS]) {
    expect(rgb(both, x0 + bar.x + Math.floor(bar.width / 2), bar.y)).toEqual([252, 255, 164]);
    expect(rgb(both, x0 + bar.x + Math.floor(bar.width / 2), bar.y + bar.height - 1)).toEqual([0, 0, 4]);
    const band = { x0: x0 + 1, y0: layout.caption.y + 1, x1: x0 + COLUMNS - 1, y1: ROWS - 1 };
    expect(darkShare(both, band, 0.35)).toBeGreaterThan(0.6); // text is a small part of it
  }

  // close Compare; `e` exports the main viewer alone at the image's size
  await page.getByTestId('compare-close').click();
  await expect(pane).toHaveCount(0);
  const single = await download(page, () => page.keyboard.press('e'));
  const png = decode(readFileSync((await single.path())!));
  expect([png.width, png.height]).toEqual([COLUMNS, ROWS]);
  await single.saveAs(path.join(screens, 'figure.png'));

  // "DICOM…": the shown heatmap as SEG + Parametric Map and the finding's MS-CXR box as an SR (this JPEG first as a
  // Secondary Capture) into a typed folder; the files listed are on disk
  const dicomOut = path.join(mkdtempSync(path.join(os.tmpdir(), 'sightline-e2e-dicom-')), 'out');
  await page.getByTestId('export-dicom').click();
  await expect(page.getByTestId('dicom-export-heatmap')).toBeChecked();
  await page.getByTestId('dicom-export-out').fill(dicomOut);
  await page.getByTestId('dicom-export-write').click();
  const written = page.getByTestId('dicom-export-file');
  await expect(written.first()).toBeVisible({ timeout: 30_000 });
  const objects = await written.evaluateAll((li) => li.map((e) => e.getAttribute('data-object')));
  expect(objects).toEqual(['sc', 'seg', 'pmap', 'overlay', 'sr']);
  for (const text of await written.locator('code').allInnerTexts()) expect(existsSync(text), text).toBe(true);
  // again de-identified, dates shifted: the JPEG's Secondary Capture de-identified first, a warning that its pixels
  // may carry burned-in text
  await page.getByTestId('dicom-export-deidentify').check();
  await page.getByTestId('dicom-export-dates').selectOption('shift');
  await page.getByTestId('dicom-export-out').fill(`${dicomOut}-deidentified`);
  await page.getByTestId('dicom-export-write').click();
  await expect(page.getByTestId('dicom-export-warning').first()).toContainText('burned-in text', { timeout: 30_000 });
  expect(await written.evaluateAll((li) => li.map((e) => e.getAttribute('data-object')))).toEqual(['sc', 'seg', 'pmap', 'overlay', 'sr']);
  for (const text of await written.locator('code').allInnerTexts()) expect(text.startsWith(`${dicomOut}-deidentified`), text).toBe(true);
  await page.screenshot({ path: path.join(screens, 'dicom-export.png') });
  await page.getByTestId('dicom-export-close').click();
  await expect(page.getByTestId('dicom-export-dialog')).toHaveCount(0);

  // small multiples: every grounded finding, each with its heatmap; a click shows it in the main viewer
  await page.getByTestId('grounding-all').click();
  await expect(page.locator('[data-testid="grounding-item"][data-state="done"]')).toHaveCount(5, { timeout: 180_000 });
  await page.getByTestId('multiples-toggle').click();
  const tiles = page.getByTestId('multiple-tile');
  await expect(tiles).toHaveCount(5);
  for (const tile of await tiles.all()) await expect(tile).toHaveAttribute('data-heatmap-state', 'shown', { timeout: 30_000 });
  await page.screenshot({ path: path.join(screens, 'small-multiples.png') });
  const pick = tiles.nth(2);
  const pickedId = await pick.getAttribute('data-heatmap-id');
  const pickedPhrase = await pick.getByTestId('multiple-phrase').innerText();
  await pick.click();
  await expect(main).toHaveAttribute('data-heatmap-id', pickedId!);
  await expect(main).toHaveAttribute('data-heatmap-state', 'shown');
  await expect(page.getByTestId('active-phrase')).toHaveText(pickedPhrase);
  await expect(pick).toHaveAttribute('aria-pressed', 'true');

  expect(consoleErrors.filter((e) => !/favicon/.test(e))).toEqual([]);
});

test('an imported heatmap of the phrase is a choice to compare with', async ({ served, page }) => {
  test.skip(!hasImport, 'heatmaps.import is not in the contract yet');
  test.setTimeout(360_000);
  await page.goto(served.loginUrl);
  await importDemo(page);
  await importHeatmap(served);
  await openStudy(page);
  const main = page.getByTestId('viewer-canvas');
  await expect(page.locator('[data-testid="grounding-item"][data-source="imported"]')).toHaveCount(1);
  await expect(page.locator('[data-testid="grounding-item"][data-source="imported"]').getByTestId('grounding-item-model')).toHaveText('e2e-method (imported)');
  await page.locator('[data-testid="sentence"][data-finding="true"]', { hasText: FINDING }).first().click();
  await expect(main).toHaveAttribute('data-heatmap-state', 'shown', { timeout: 240_000 });
  await page.getByTestId('compare-toggle').click();
  await page.getByTestId('compare-choice').selectOption({ label: 'e2e-method (imported)' });
  const second = page.getByTestId('compare-canvas');
  await expect(second).toHaveAttribute('data-heatmap-state', 'shown', { timeout: 30_000 });
  await expect(page.getByTestId('compare-caption')).toHaveText('e2e-method (imported)');
  // its NaN half has no value: the left half of the image is the image alone
  await settle(second);
  const shot = decode(await second.screenshot());
  await page.screenshot({ path: path.join(screens, 'compare-imported.png') });
  const strip = { x0: Math.round(shot.width * 0.3), y0: Math.round(shot.height * 0.3), x1: Math.round(shot.width * 0.45), y1: Math.round(shot.height * 0.6) };
  const rightStrip = { ...strip, x0: Math.round(shot.width * 0.55), x1: Math.round(shot.width * 0.7) };
  await page.getByTestId('heatmap-toggle').click(); // hide both: the plain image
  await settle(main);
  const image = decode(await main.screenshot());
  expect(changed(image, shot, strip)).toBeLessThan(0.01 * area(strip));
  expect(changed(image, shot, rightStrip)).toBeGreaterThan(0.2 * area(rightStrip));
});


async function openStudy(page: Page): Promise<void> {
  await page.getByTestId('search-input').fill('atelectasis');
  const study = page.getByTestId('study-row').filter({ hasText: FINDING });
  await expect(study).toHaveCount(1);
  await study.click();
  await expect(page.getByTestId('viewer-canvas')).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });
  await expect(page.getByText(`${COLUMNS}×${ROWS} · 8-bit uint8`)).toBeVisible();
}

/**
 * Another method's heatmap of the finding through `heatmaps.import`: a .npy at the image's size on its own scale
 * (-1..3), NaN over the left half (no value there).
 */
async function importHeatmap(served: Served): Promise<void> {
  const db = openDatabase(served.dataDir);
  let imageKey: string;
  try {
    ({ imageKey } = db.prepare("SELECT COALESCE(i.dicom_id, i.image_key) AS imageKey FROM images i JOIN studies s ON s.id = i.study_id WHERE s.study_key = '50372513'").get() as { imageKey: string });
  } finally {
    db.close();
  }
  const folder = mkdtempSync(path.join(os.tmpdir(), 'sightline-import-'));
  const values = new Float32Array(COLUMNS * ROWS);
  for (let r = 0; r < ROWS; r++) for (let c = 0; c < COLUMNS; c++) values[r * COLUMNS + c] = c < COLUMNS / 2 ? NaN : -1 + 4 * (r / ROWS);
  writeFileSync(path.join(folder, 'map.npy'), npy(values, ROWS, COLUMNS));
  writeFileSync(path.join(folder, 'index.csv'), `dicom_id,label_text,file\n${imageKey},${FINDING},map.npy\n`);
  const { jobId } = (await rpc(served, 'heatmaps.import', { folder, source: 'e2e-method' })) as { jobId: string };
  await expect
    .poll(async () => ((await rpc(served, 'jobs.list', {})) as { jobId: string; state: string }[]).find((j) => j.jobId === jobId)?.state, { timeout: 60_000 })
    .toBe('done');
}


/** A numpy v1.0 file of little-endian float32, C order. */
function npy(values: Float32Array, rows: number, columns: number): Buffer {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${columns}), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(values.buffer)]);
}

async function download(page: Page, action: () => Promise<unknown>): Promise<Download> {
  const [d] = await Promise.all([page.waitForEvent('download', { timeout: 60_000 }), action()]);
  return d;
}

/** Waits until no frame is pending: a few animation frames. */
async function settle(canvas: Locator): Promise<void> {
  await canvas.evaluate(() => new Promise<void>((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => requestAnimationFrame(() => resolve())))));
}

interface Region {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

function area(r: Region): number {
  return (r.x1 - r.x0) * (r.y1 - r.y0);
}

function differs(a: DecodedPng, i: number, b: DecodedPng, j: number): boolean {
  return Math.abs(a.data[i] - b.data[j]) > 3 || Math.abs(a.data[i + 1] - b.data[j + 1]) > 3 || Math.abs(a.data[i + 2] - b.data[j + 2]) > 3;
}

/** Pixels of the region whose colour differs by more than 3 in any channel. */
function changed(a: DecodedPng, b: DecodedPng, r: Region): number {
  let count = 0;
  for (let y = r.y0; y < r.y1; y++)
    for (let x = r.x0; x < r.x1; x++) if (differs(a, (y * a.width + x) * a.channels, b, (y * b.width + x) * b.channels)) count++;
  return count;
}

/** Pixels of the region that differ from the same region `dx` to the right (the two halves of a Compare figure). */
function changedShifted(png: DecodedPng, r: Region, dx: number): number {
  let count = 0;
  for (let y = r.y0; y < r.y1; y++)
    for (let x = r.x0; x < r.x1; x++) if (differs(png, (y * png.width + x) * png.channels, png, (y * png.width + x + dx) * png.channels)) count++;
  return count;
}

function rgb(png: DecodedPng, x: number, y: number): number[] {
  const i = (y * png.width + x) * png.channels;
  return [png.data[i], png.data[i + 1], png.data[i + 2]];
}

/** The share of a region's pixels darker than `level` (0-1). */
function darkShare(png: DecodedPng, r: Region, level: number): number {
  let dark = 0;
  for (let y = r.y0; y < r.y1; y++)
    for (let x = r.x0; x < r.x1; x++) {
      const [red, green, blue] = rgb(png, x, y);
      if ((red + green + blue) / 3 < level * 255) dark++;
    }
  return dark / area(r);
}
