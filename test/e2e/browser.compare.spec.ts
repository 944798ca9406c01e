// Compare, small multiples and the exported figure in browser mode, end to end: a real `sightline serve` (the demo
// model through onnxruntime-node on the CPU) and real Chromium (WebGL2 through SwiftShader). A finding is grounded
// with the picker's model, compared with the demo's 'tuned' variant side by side (linked zoom and window/level),
// exported as a PNG at the image's resolution (twice its width in Compare), then every finding is shown as a small
// multiple; where the lead's `heatmaps.import` exists, an imported heatmap is compared too (Compare's default when
// no choice is remembered; a model request Compare leaves is cancelled). With the attention cut into batches
// (SIGHTLINE_TEST_ATTENTION_CHUNKS, as in browser.grounding.spec.ts), Compare and a small multiple show a provisional
// map first, marked, then the final one. Shift+C toggles Compare, G the small multiples.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decode } from 'fast-png';
import type { Download, Page } from '@playwright/test';
import { openDatabase } from '../../main/db';
import { figureLayout } from '../../renderer/src/lib/figure-layout';
import { expect, repoRoot, rpc, startServe, test, type Served } from './serve-fixture';
import { importDemo } from './demo-steps';
import { collectConsoleErrors } from './page-checks';
import { area, changed, changedShifted, darkShare, rgb, settle } from './png-regions';

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

test('an imported heatmap of the phrase is Compare’s default; a request Compare leaves is cancelled; the keys', async ({ served, page }) => {
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
  // every finding queued behind it: a request Compare makes now waits, so the test sees it queued
  await page.getByTestId('grounding-all').click();

  // Shift+C opens Compare (the toolbar's title names the key); no choice remembered: the imported map, nothing requested
  await expect(page.getByTestId('compare-toggle')).toHaveAttribute('title', /\(Shift\+C\)$/);
  await page.keyboard.press('Shift+C');
  await expect(page.getByTestId('compare-toggle')).toHaveAttribute('aria-pressed', 'true');
  const choice = page.getByTestId('compare-choice');
  await expect(choice.locator('option:checked')).toHaveText('e2e-method (imported)');
  const tuned = page.locator('[data-testid="grounding-item"][data-variant="tuned"]');
  await expect(tuned).toHaveCount(0);
  // a model variant instead: requested, queued; back to the imported map: that request is cancelled
  await choice.selectOption({ label: `${DEMO} · tuned` });
  await expect(tuned).toHaveAttribute('data-state', /^(queued|computing)$/);
  await choice.selectOption({ label: 'e2e-method (imported)' });
  await expect(tuned).toHaveAttribute('data-state', 'cancelled');
  const second = page.getByTestId('compare-canvas');
  await expect(second).toHaveAttribute('data-heatmap-state', 'shown', { timeout: 30_000 });
  await expect(page.getByTestId('compare-caption')).toHaveText('e2e-method (imported)');
  // the main viewer's own request went on
  await expect(main).toHaveAttribute('data-heatmap-state', 'shown', { timeout: 240_000 });

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

  // Shift+C closes Compare; G opens and closes the small multiples
  await page.keyboard.press('Shift+C');
  await expect(page.getByTestId('compare-pane')).toHaveCount(0);
  await expect(page.getByTestId('multiples-toggle')).toHaveAttribute('title', /\(G\)$/);
  await page.keyboard.press('g');
  await expect(page.getByTestId('small-multiples')).toBeVisible();
  await expect(page.getByTestId('multiples-toggle')).toHaveAttribute('aria-pressed', 'true');
  await page.keyboard.press('g');
  await expect(page.getByTestId('small-multiples')).toHaveCount(0);
});

test('Compare and a small multiple show a provisional map first, marked, then the final one', async ({ page }) => {
  test.setTimeout(300_000);
  // ten attention batches per job: provisional maps after the first nine (a large model's default is four)
  const served = await startServe([], undefined, { SIGHTLINE_TEST_ATTENTION_CHUNKS: '10' });
  try {
    const consoleErrors = collectConsoleErrors(page);
    await page.goto(served.loginUrl);
    await expect(page.getByTestId('study-count')).toHaveText('18', { timeout: 60_000 });
    await openStudy(page);
    const main = page.getByTestId('viewer-canvas');
    await page.locator('[data-testid="sentence"][data-finding="true"]', { hasText: FINDING }).first().click();
    await expect(main).toHaveAttribute('data-heatmap-state', 'shown', { timeout: 120_000 });

    // every state the page passes through, however briefly (a provisional map is replaced within a second here)
    await page.evaluate(() => {
      const seen: Record<string, string | null>[] = [];
      (window as unknown as { __seen: typeof seen }).__seen = seen;
      const q = (selector: string) => document.querySelector(selector);
      const snapshot = () =>
        seen.push({
          compareCanvas: q('[data-testid="compare-canvas"]')?.getAttribute('data-heatmap-provisional') ?? null,
          compareStatus: q('[data-testid="compare-status"]')?.getAttribute('data-provisional') ?? null,
          compareText: q('[data-testid="compare-status"]')?.textContent?.trim() ?? null,
          tile: q('[data-testid="multiple-tile"][data-provisional]')?.getAttribute('data-provisional') ?? null,
          tileText: q('[data-testid="multiple-provisional"]')?.textContent?.trim() ?? null,
          tileCanvas: q('[data-testid="multiple-tile"][data-provisional] [data-testid="multiple-canvas"]')?.getAttribute('data-heatmap-provisional') ?? null,
        });
      new MutationObserver(snapshot).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
    });
    const seen = () => page.evaluate(() => (window as unknown as { __seen: Record<string, string | null>[] }).__seen);

    // Compare: its default, the demo's other variant, is requested; its provisional map comes first
    await page.keyboard.press('Shift+C');
    const second = page.getByTestId('compare-canvas');
    await expect(page.getByTestId('compare-caption')).toHaveText(`${DEMO} · tuned`);
    await expect(second).toHaveAttribute('data-heatmap-state', 'shown', { timeout: 120_000 });
    const compared = (await seen()).filter((x) => x.compareStatus !== null);
    expect(compared.length, 'Compare marked a provisional map').toBeGreaterThan(0);
    const steps = /^(\d+)\/20$/.exec(compared[0].compareStatus!)![1];
    expect(compared[0].compareText).toBe(`provisional ${steps} of 20 steps · grounding with ${DEMO} · tuned…`);
    expect(compared.some((x) => x.compareCanvas === `${steps}/20`)).toBe(true); // the map the pane holds is the provisional one
    await expect(second).not.toHaveAttribute('data-heatmap-provisional', /.*/);
    await expect(page.getByTestId('compare-status')).toHaveCount(0);
    expect(Number(await second.getAttribute('data-heatmap-id'))).toBeGreaterThan(0);
    await page.keyboard.press('Shift+C');

    // small multiples: the two maps so far; another finding grounded meanwhile gets a tile with its provisional map
    await page.keyboard.press('g');
    const tiles = page.getByTestId('multiple-tile');
    await expect(tiles).toHaveCount(2);
    await page.locator('[data-testid="sentence"][data-finding="true"]').filter({ hasNotText: FINDING }).first().click();
    await expect(tiles).toHaveCount(3, { timeout: 120_000 });
    await expect(main).toHaveAttribute('data-heatmap-state', 'shown', { timeout: 120_000 });
    for (const tile of await tiles.all()) await expect(tile).toHaveAttribute('data-heatmap-state', 'shown', { timeout: 30_000 });
    const tiled = (await seen()).filter((x) => x.tile !== null);
    expect(tiled.length, 'a small multiple marked a provisional map').toBeGreaterThan(0);
    expect(tiled[0].tileText).toBe(`provisional ${tiled[0].tile!.split('/')[0]} of 20 steps`);
    expect(tiled.some((x) => x.tileCanvas === tiled[0].tile)).toBe(true);
    await expect(page.locator('[data-testid="multiple-tile"][data-provisional]')).toHaveCount(0);
    await page.screenshot({ path: path.join(screens, 'small-multiples-final.png') });
    expect(consoleErrors.filter((e) => !/favicon/.test(e))).toEqual([]);
  } finally {
    served.process.kill('SIGTERM');
  }
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
