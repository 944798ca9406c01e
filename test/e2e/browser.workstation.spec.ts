// The workstation in browser mode, end to end: a real `sightline serve` on a fresh data directory, real
// Chromium (WebGL2 through SwiftShader), the bundled demo studies imported through the UI.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decode, type DecodedPng } from 'fast-png';
import type { Locator } from '@playwright/test';
import { openDatabase } from '../../main/db';
import { expect, repoRoot, startServe, test } from './serve-fixture';

const screens = path.join(repoRoot, 'test-results', 'screens');
mkdirSync(screens, { recursive: true });

test('requires the session token on every request', async ({ served, request }) => {
  expect((await request.get(served.url)).status()).toBe(401);
  expect((await request.post(`${served.url}rpc/studies.list`, { data: {} })).status()).toBe(401);
  expect((await request.post(`${served.url}rpc/studies.list`, { data: {}, headers: { authorization: 'Bearer wrong' } })).status()).toBe(401);
  const ok = await request.post(`${served.url}rpc/studies.list`, { data: {}, headers: { authorization: `Bearer ${served.token}` } });
  expect(ok.status()).toBe(200);
});

test('import the demo, open a study, window/level by left-drag, pick a phrase', async ({ served, page }) => {
  const consoleErrors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  const outbound: string[] = [];
  page.on('request', (req) => {
    if (!req.url().startsWith(served.url)) outbound.push(req.url());
  });

  await page.goto(served.loginUrl);
  await expect(page.getByTestId('empty-state')).toBeVisible();
  expect(page.url()).not.toContain('token=');
  await page.screenshot({ path: path.join(screens, 'empty-state.png') });

  await page.getByTestId('import-button').click();
  await expect(page.getByTestId('import-dialog')).toBeVisible();
  await page.getByTestId('import-demo').click();
  await expect(page.getByTestId('import-summary')).toBeVisible({ timeout: 60_000 });
  // resources/demo: 16 MIMIC-CXR-JPG studies with reports + 2 VinDr DICOMs, all synthetic; its sidecar files
  // (MS-CXR, VinDr and ImaGenome CSVs, truth.jsonl, ...) are skipped, not listed as rejected
  await expect(page.getByTestId('import-imported')).toHaveText('18');
  await expect(page.getByTestId('import-rejected-count')).toHaveText('0');
  await expect(page.getByTestId('import-rejected')).toHaveCount(0);
  await page.screenshot({ path: path.join(screens, 'import-summary.png') });
  await page.getByTestId('import-done').click();

  const rows = page.getByTestId('study-row');
  await expect(rows.first()).toBeVisible();
  await expect(page.getByTestId('study-count')).toHaveText('18');

  // Every report says it is synthetic (the 2 DICOM studies have none).
  await page.getByTestId('search-input').fill('synthetic');
  await expect(page.getByTestId('study-count')).toHaveText('16 matching');

  // A MIMIC-layout study has a report; find one through the report-text search (3 reports mention atelectasis;
  // the rows show their impressions).
  await page.getByTestId('search-input').fill('atelectasis');
  await expect(page.getByTestId('study-count')).toHaveText('3 matching');
  const atelectasisStudy = rows.filter({ hasText: 'Extensive right lower lung atelectasis.' });
  await expect(atelectasisStudy).toHaveCount(1);
  await atelectasisStudy.click();
  await expect(page.getByTestId('study-header')).toBeVisible();
  await expect(page.getByTestId('sentence').first()).toHaveText('Sightline synthetic world phantom, not a patient (no patient data).');

  const canvas = page.getByTestId('viewer-canvas');
  await expect(canvas).toBeVisible();
  await expect(canvas).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });
  await expect(page.getByTestId('sentence').first()).toBeVisible();
  const before = decodePng(await canvas.screenshot());
  const wlBefore = await page.getByTestId('wl-readout').textContent();
  expect(meanLuminance(before)).toBeGreaterThan(5); // something is drawn

  const box = (await canvas.boundingBox())!;
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  let frames = await renderCount(canvas);
  // OHIF's mouse: left-drag is window/level
  await page.mouse.move(cx, cy);
  await page.mouse.down({ button: 'left' });
  await page.mouse.move(cx + 150, cy + 120, { steps: 10 });
  await page.mouse.up({ button: 'left' });
  await expect(page.getByTestId('wl-readout')).not.toHaveText(wlBefore ?? '');
  await waitForFrame(canvas, frames);
  const after = decodePng(await canvas.screenshot());
  expect(differingPixels(before, after)).toBeGreaterThan(0.05 * before.width * before.height);

  // the pixel readout follows the cursor
  await page.mouse.move(cx + 10, cy + 10);
  await expect(page.getByTestId('pixel-readout')).toContainText(/\d/);
  await page.screenshot({ path: path.join(screens, 'viewer-window-level.png') });

  // invert with the keyboard changes the picture again
  frames = await renderCount(canvas);
  await page.keyboard.press('i');
  await expect(page.getByTestId('invert-readout')).toHaveText('Inverted');
  await waitForFrame(canvas, frames);
  const inverted = decodePng(await canvas.screenshot());
  expect(differingPixels(after, inverted)).toBeGreaterThan(0.05 * after.width * after.height);
  await page.keyboard.press('i');

  // a sentence of the report becomes the active phrase
  const sentence = page.getByTestId('sentence').filter({ hasText: /atelectasis/i }).first();
  const sentenceText = (await sentence.textContent())!.trim();
  await sentence.click();
  await expect(page.getByTestId('active-phrase')).toHaveText(sentenceText);

  // a free-text phrase replaces it
  await page.getByTestId('phrase-input').fill('left apical pneumothorax');
  await page.getByTestId('phrase-input').press('Enter');
  await expect(page.getByTestId('active-phrase')).toHaveText('left apical pneumothorax');
  await page.screenshot({ path: path.join(screens, 'workstation.png') });

  // the cheat sheet
  await page.locator('body').click({ position: { x: 5, y: 5 } });
  await page.keyboard.press('?');
  await expect(page.getByTestId('cheat-sheet')).toBeVisible();
  await page.screenshot({ path: path.join(screens, 'cheat-sheet.png') });
  await page.keyboard.press('Escape');

  // light theme from the settings: the page and the viewer's background change, the viewer redraws
  await page.getByTestId('settings-button').click();
  await expect(page.getByTestId('settings-dialog')).toBeVisible();
  const html = page.locator('html');
  await expect(html).toHaveAttribute('data-theme', 'dark');
  const bodyBackground = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  const stageBackground = () => canvas.evaluate((el) => getComputedStyle(el.parentElement!).backgroundColor);
  const darkBody = await bodyBackground();
  const darkStage = await stageBackground();
  frames = await renderCount(canvas);
  await page.getByTestId('theme-light').click();
  await expect(html).toHaveAttribute('data-theme', 'light');
  await expect(page.getByTestId('theme-light')).toHaveAttribute('aria-checked', 'true');
  await expect.poll(bodyBackground).not.toBe(darkBody);
  expect(luminance(await bodyBackground())).toBeGreaterThan(luminance(darkBody) + 100); // light grey page, not dark
  expect(await stageBackground()).not.toBe(darkStage);
  await waitForFrame(canvas, frames); // the canvas is cleared with the light theme's viewer colour
  await page.screenshot({ path: path.join(screens, 'settings.png') });
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('settings-dialog')).toHaveCount(0);
  await page.screenshot({ path: path.join(screens, 'workstation-light.png') });

  expect(outbound, 'no request leaves the app origin').toEqual([]);
  expect(consoleErrors.filter((e) => !/favicon/.test(e))).toEqual([]);
});

test('an import interrupted by a crash is offered for resuming, and resumes to the full summary', async ({ page }) => {
  // the data directory of an app that was killed mid-import: its job row is 'running' under a dead process
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'sightline-e2e-'));
  const db = openDatabase(dataDir);
  const deadPid = spawnSync(process.execPath, ['-e', '0']).pid!;
  db.prepare("INSERT INTO jobs (id, kind, state, params, progress, pid) VALUES ('import-crashed-1', 'import', 'running', ?, ?, ?)").run(
    JSON.stringify({ paths: [path.join(repoRoot, 'resources', 'demo')], dataset: 'demo' }),
    JSON.stringify({ done: 7, total: 34, message: '7 of 34 files' }),
    deadPid,
  );
  db.close();
  const served = await startServe(['--no-demo'], dataDir);
  try {
    await page.goto(served.loginUrl);
    await expect(page.getByTestId('toast-message').filter({ hasText: /interrupted/ })).toBeVisible();
    await page.getByTestId('import-button').click();
    await expect(page.getByTestId('import-resumable')).toContainText('was interrupted after 7 of 34 files');
    await page.screenshot({ path: path.join(screens, 'import-resume.png') });
    await page.getByTestId('import-resume').click();
    await expect(page.getByTestId('import-summary')).toBeVisible({ timeout: 60_000 });
    await expect(page.getByTestId('import-state')).toHaveText('Import finished');
    await expect(page.getByTestId('import-imported')).toHaveText('18');
    await page.getByTestId('import-done').click();
    await expect(page.getByTestId('study-count')).toHaveText('18');
  } finally {
    served.process.kill('SIGTERM');
  }
});

test('a new data directory opens on the demo studies', async ({ page }) => {
  const served = await startServe();
  try {
    await page.goto(served.loginUrl);
    await expect(page.getByTestId('study-row').first()).toBeVisible({ timeout: 60_000 });
    await expect(page.getByTestId('study-count')).toHaveText('18', { timeout: 60_000 });
  } finally {
    served.process.kill('SIGTERM');
  }
});

/** Frames the viewer has drawn (its canvas's data-render-count). */
async function renderCount(canvas: Locator): Promise<number> {
  return Number(await canvas.getAttribute('data-render-count'));
}

/**
 * Waits until the viewer has drawn a frame after `before` frames, then one animation frame more, so that a frame
 * scheduled by the last of several changes (a drag) is on the canvas too.
 */
async function waitForFrame(canvas: Locator, before: number): Promise<void> {
  await expect.poll(() => renderCount(canvas)).toBeGreaterThan(before);
  await canvas.evaluate(() => new Promise<void>((resolve) => requestAnimationFrame(() => resolve())));
}

/** 'rgb(233, 235, 239)' -> sum of the channels / 3 */
function luminance(css: string): number {
  const [r, g, b] = (css.match(/\d+/g) ?? []).map(Number);
  return (r + g + b) / 3;
}

function decodePng(bytes: Buffer): DecodedPng {
  return decode(bytes);
}

function meanLuminance(png: DecodedPng): number {
  let sum = 0;
  for (let i = 0; i < png.data.length; i += png.channels) sum += png.data[i];
  return sum / (png.width * png.height);
}

function differingPixels(a: DecodedPng, b: DecodedPng): number {
  expect([a.width, a.height]).toEqual([b.width, b.height]);
  let count = 0;
  for (let i = 0; i < a.data.length; i += a.channels) if (Math.abs(a.data[i] - b.data[i]) > 2) count++;
  return count;
}
