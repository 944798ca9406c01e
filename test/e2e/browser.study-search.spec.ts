// The reading room's study list, search and set-up in browser mode (issue 12): the page without the token, the
// demo's dataset names, the first screen on a study with a report, report search counting positive mentions only
// with the words marked and the matching sentence shown, "no match" clearing the viewer, the end of the list,
// sorting and finding labels, and the report's text size.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { expect, repoRoot, test } from './serve-fixture';

const screens = path.join(repoRoot, 'test-results', 'screens');
mkdirSync(screens, { recursive: true });

test('study list, report search and readability on the demo', async ({ served, page }) => {
  // a bookmark of the bare address: one page saying what to do
  await page.goto(served.url);
  await expect(page.getByTestId('login-help')).toContainText('sightline serve');
  await page.screenshot({ path: path.join(screens, 'login-help.png') });

  await page.goto(served.loginUrl);
  await expect(page.getByTestId('empty-state')).toBeVisible();
  await page.getByTestId('empty-import-demo').click();
  await expect(page.getByTestId('import-summary')).toBeVisible({ timeout: 60_000 });
  await page.getByTestId('import-done').click();
  await expect(page.getByTestId('study-count')).toHaveText('18');

  // datasets named for what they are
  const options = await page.getByTestId('dataset-filter').locator('option').allTextContents();
  expect(options.join(' | ')).toContain('MIMIC-CXR (synthetic demo)');
  expect(options.join(' | ')).toContain('VinDr-CXR (synthetic demo)');

  // the first screen opens a study with a report (the VinDr DICOMs, imported first, have none)
  await expect(page.getByTestId('sentence').first()).toBeVisible();
  await expect(page.getByTestId('report-empty')).toHaveCount(0);

  // report search: 12 reports have the word, 5 state an effusion
  await page.getByTestId('search-input').fill('effusion');
  await expect(page.getByTestId('study-count')).toHaveText('5 matching');
  await expect(page.getByTestId('positive-note')).toHaveText('positive mentions of Pleural Effusion');
  const rows = page.getByTestId('study-row');
  await expect(rows).toHaveCount(5);
  for (const match of await page.getByTestId('row-match').allTextContents()) {
    expect(match.toLowerCase()).toContain('effusion');
    expect(match).not.toMatch(/\bno\b/i);
  }
  await expect(rows.first().getByTestId('search-hit').first()).toHaveText(/^effusions?$/i);
  await expect(page.getByTestId('study-list-end')).toHaveText(/End of list · 5 studies matching/);
  await page.getByTestId('positive-only').uncheck();
  await expect(page.getByTestId('study-count')).toHaveText('12 matching');
  await page.getByTestId('positive-only').check();
  await expect(page.getByTestId('study-count')).toHaveText('5 matching');

  // the row's matching sentence is outlined in the report, its word marked
  await rows.nth(1).click();
  const matched = page.locator('[data-testid="sentence"][data-matched="true"]');
  await expect(matched).toHaveCount(1);
  await expect(matched.getByTestId('search-hit').first()).toBeVisible();
  expect((await matched.textContent())!.trim()).toBe((await rows.nth(1).getByTestId('row-match').textContent())!.trim());
  await expect(page.getByTestId('viewer-canvas')).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });
  await page.screenshot({ path: path.join(screens, 'study-search-positive.png') });

  // no match: says so, and the viewer shows nothing
  await page.getByTestId('search-input').fill('xylophone');
  await expect(page.getByTestId('study-list-empty')).toHaveText('No report or id matches “xylophone”.');
  await expect(page.getByTestId('sentence')).toHaveCount(0);
  await expect(page.getByTestId('viewer-canvas')).not.toHaveAttribute('data-state', 'ready');
  await page.screenshot({ path: path.join(screens, 'study-search-no-match.png') });

  // clearing the search opens a study again; sort by date, newest first; CheXpert labels on the rows
  await page.getByTestId('search-input').fill('');
  await expect(page.getByTestId('study-count')).toHaveText('18');
  await expect(page.getByTestId('sentence').first()).toBeVisible();
  await page.getByTestId('study-sort').selectOption('date');
  await page.getByTestId('study-sort-direction').click();
  await expect(page.getByTestId('study-sort-direction')).toHaveAttribute('title', 'Descending');
  // the list reloads in the new order: wait for its rows
  await expect.poll(async () => (await page.getByTestId('row-date').allTextContents()).length).toBeGreaterThanOrEqual(16);
  const dates = await page.getByTestId('row-date').allTextContents();
  expect(dates).toEqual([...dates].sort().reverse());
  expect((await page.getByTestId('row-labels').allTextContents()).join(' ')).toContain('Pleural Effusion');

  // report text: 15 px by default, larger on A+
  await expect(page.getByTestId('report-font-size')).toHaveText('15 px');
  await page.getByTestId('report-font-larger').click();
  await expect(page.getByTestId('report-font-size')).toHaveText('16 px');
  expect(await page.getByTestId('report-content').evaluate((el) => getComputedStyle(el).fontSize)).toBe('16px');
  await page.screenshot({ path: path.join(screens, 'study-list-sorted-labels.png') });
});
