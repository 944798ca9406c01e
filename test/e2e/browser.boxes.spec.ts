// The box tool in browser mode, end to end: a real `sightline serve` and Chromium. On the demo's atelectasis study
// (604 x 551, its MS-CXR box 133,288 108x83) the dataset phrase is chosen, `n` enters box mode, a mouse drag draws
// a user box, a drag moves it, Ctrl+Z / Ctrl+Shift+Z undo and redo the move, Del deletes it, Ctrl+Z brings it back;
// after a reload the box is still there (every change was stored at once), with its source in the legend.
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Locator, Page } from '@playwright/test';
import { fitTransform } from '../../renderer/src/lib/view-transform';
import { expect, repoRoot, test } from './serve-fixture';
import { importDemo } from './demo-steps';
import { collectConsoleErrors } from './page-checks';

const IMAGE = { columns: 604, rows: 551 };
mkdirSync(path.join(repoRoot, 'test-results', 'screens'), { recursive: true });

test('draw, move, undo, redo, delete a box with keys and mouse; it persists across a reload', async ({ served, page }) => {
  test.setTimeout(240_000);
  const consoleErrors = collectConsoleErrors(page);
  await page.goto(served.loginUrl);
  await importDemo(page);
  await openAtelectasis(page);
  const canvas = page.getByTestId('viewer-canvas');
  const layer = page.getByTestId('boxes-layer');
  await expect(layer).toHaveAttribute('data-box-count', '1');
  await expect(page.getByTestId('boxes-legend-item')).toHaveCount(1);
  await expect(page.getByTestId('boxes-legend-item')).toHaveAttribute('data-key', 'dataset');

  const toPage = await imageToPage(canvas);
  // box mode, then a drag on empty image draws a box
  await page.keyboard.press('n');
  await expect(page.getByTestId('box-mode')).toBeVisible();
  await drag(page, toPage(300, 100), toPage(400, 180));
  const userBox = page.locator('[data-testid="gt-box"][data-source="user"]');
  await expect(userBox).toHaveCount(1);
  await expect(layer).toHaveAttribute('data-box-count', '2');
  const drawn = await rectOf(userBox);
  expect(Math.abs(drawn.x - 300)).toBeLessThanOrEqual(2);
  expect(Math.abs(drawn.w - 100)).toBeLessThanOrEqual(3);
  await expect(page.locator('[data-testid="boxes-legend-item"][data-key="user:user"]')).toBeVisible();
  await page.screenshot({ path: path.join(repoRoot, 'test-results', 'screens', 'boxes-drawn.png') });

  // drag its middle by 20, 10 image pixels: moved
  await drag(page, toPage(drawn.x + drawn.w / 2, drawn.y + drawn.h / 2), toPage(drawn.x + drawn.w / 2 + 20, drawn.y + drawn.h / 2 + 10));
  await expect.poll(async () => (await rectOf(userBox)).x).toBe(drawn.x + 20);
  expect((await rectOf(userBox)).y).toBe(drawn.y + 10);

  await page.keyboard.press('Control+z');
  await expect.poll(async () => (await rectOf(userBox)).x).toBe(drawn.x);
  await page.keyboard.press('Control+Shift+z');
  await expect.poll(async () => (await rectOf(userBox)).x).toBe(drawn.x + 20);

  // the moved box is selected: Del deletes it, Ctrl+Z brings it back
  await expect(userBox).toHaveAttribute('data-selected', 'true');
  await page.keyboard.press('Delete');
  await expect(userBox).toHaveCount(0);
  await expect(layer).toHaveAttribute('data-box-count', '1');
  await page.keyboard.press('Control+z');
  await expect(userBox).toHaveCount(1);
  expect(await rectOf(userBox)).toEqual({ x: drawn.x + 20, y: drawn.y + 10, w: drawn.w, h: drawn.h });

  // Esc: deselect, then box mode ends
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('box-mode')).toHaveAttribute('data-selected', '');
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('box-mode')).toBeHidden();

  // every change was stored: after a reload the box is there
  await page.reload();
  await expect(canvas).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });
  await page.getByTestId('dataset-phrase').filter({ hasText: /atelectasis/i }).first().click();
  await expect(layer).toHaveAttribute('data-box-count', '2');
  expect(await rectOf(userBox)).toEqual({ x: drawn.x + 20, y: drawn.y + 10, w: drawn.w, h: drawn.h });

  // the report panel exports the dataset's boxes as MS-CXR CSV: the v1.1.0 header, the dataset's and the user's box
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('boxes-export-mscxr').click()]);
  expect(download.suggestedFilename()).toBe('MS_CXR_Local_Alignment_v1.1.0.csv');
  const csv = readFileSync((await download.path())!, 'utf8').trim().split('\n');
  expect(csv[0]).toBe('dicom_id,category_name,label_text,path,x,y,w,h,image_width,image_height,split');
  expect(csv.filter((l) => l.includes('Extensive right lower lung atelectasis')).map((l) => l.split(',').slice(4, 8).join(','))).toEqual([
    '133,288,108,83',
    [drawn.x + 20, drawn.y + 10, drawn.w, drawn.h].join(','),
  ]);

  // a subset: this study's phrases as COCO JSON (one image; the user's box with its source and name)
  await page.getByTestId('boxes-export-scope').selectOption('study');
  const [coco] = await Promise.all([page.waitForEvent('download'), page.getByTestId('boxes-export-coco').click()]);
  const doc = JSON.parse(readFileSync((await coco.path())!, 'utf8')) as { images: unknown[]; annotations: { bbox: number[]; source: string; reader: string | null }[] };
  expect(doc.images).toHaveLength(1);
  expect(doc.annotations.filter((a) => a.source === 'user')).toEqual([expect.objectContaining({ bbox: [drawn.x + 20, drawn.y + 10, drawn.w, drawn.h], reader: 'user' })]);

  // agreement of the VinDr demo's three readers, in the report panel of a VinDr study
  await page.getByTestId('search-input').fill('');
  const vindr = page.getByTestId('dataset-filter').locator('option', { hasText: 'VinDr-CXR' });
  await page.getByTestId('dataset-filter').selectOption((await vindr.getAttribute('value'))!);
  await page.getByTestId('study-row').filter({ hasText: 'Pneumothorax' }).click();
  await expect(page.getByTestId('boxes-panel')).toContainText('VinDr-CXR');
  await page.getByTestId('boxes-agreement').click();
  const rows = page.getByTestId('boxes-agreement-row');
  await expect(rows).toHaveCount(3);
  await expect(rows.first()).toHaveAttribute('data-a', 'R1');
  await expect(rows.first()).toHaveAttribute('data-b', 'R6');
  await expect(rows.first()).toContainText('1.000');
  await expect(rows.first()).toContainText('0.800');
  await page.screenshot({ path: path.join(repoRoot, 'test-results', 'screens', 'boxes-agreement.png') });
  expect(consoleErrors).toEqual([]);
});


async function openAtelectasis(page: Page): Promise<void> {
  await page.getByTestId('search-input').fill('atelectasis');
  const study = page.getByTestId('study-row').filter({ hasText: 'Extensive right lower lung atelectasis.' });
  await expect(study).toHaveCount(1);
  await study.click();
  await expect(page.getByTestId('viewer-canvas')).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });
  await expect(page.getByText(`${IMAGE.columns}×${IMAGE.rows} · 8-bit`)).toBeVisible();
  await page.getByTestId('dataset-phrase').filter({ hasText: /atelectasis/i }).first().click();
}

/** Image pixel -> page coordinates, for the fitted view (margin 8, as the main viewer). */
async function imageToPage(canvas: Locator): Promise<(ix: number, iy: number) => { x: number; y: number }> {
  const box = (await canvas.boundingBox())!;
  const fit = fitTransform(IMAGE.columns, IMAGE.rows, box.width, box.height, 8);
  return (ix, iy) => ({ x: box.x + fit.tx + ix * fit.scale, y: box.y + fit.ty + iy * fit.scale });
}

async function drag(page: Page, from: { x: number; y: number }, to: { x: number; y: number }): Promise<void> {
  await page.mouse.move(from.x, from.y);
  await page.mouse.down();
  for (let i = 1; i <= 5; i++) await page.mouse.move(from.x + ((to.x - from.x) * i) / 5, from.y + ((to.y - from.y) * i) / 5);
  await page.mouse.up();
}

async function rectOf(rect: Locator): Promise<{ x: number; y: number; w: number; h: number }> {
  const [x, y, w, h] = await rect.evaluate((el) => ['x', 'y', 'width', 'height'].map((a) => Number(el.getAttribute(a))));
  return { x, y, w, h };
}
