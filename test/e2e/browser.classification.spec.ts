// The Classification page in browser mode, end to end: a real `sightline serve` (the demo model through
// onnxruntime-node on the CPU) and real Chromium. The demo is imported; Classification (TopBar) -> MS-CXR-loc of the
// demo, Pneumothorax, 4 draws per image: the plan counts positives, negatives and U-Net passes; Ctrl+Enter starts;
// the run's job progress shows, then the results table with AUROC values, the ROC curves and Figure 7's bars (ECharts
// on a canvas under the app's CSP), the per-sample table with links into the viewer, the JSON export (parsed back:
// the report's conditions and the samples), the delete dialog closed with Escape; a second run on the class with the
// most pairs has both mIoU halves; a longer run is cancelled and resumed to the end; a run deleted.
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, repoRoot, test } from './serve-fixture';
import { importDemo } from './demo-steps';
import { collectConsoleErrors, painted } from './page-checks';

const screens = path.join(repoRoot, 'test-results', 'screens');
mkdirSync(screens, { recursive: true });

test('classification: plan, start by keyboard, progress, results with ROC and Figure 7, samples, JSON export', async ({ served, page }) => {
  test.setTimeout(480_000);
  const consoleErrors = collectConsoleErrors(page);
  await page.goto(served.loginUrl);
  await importDemo(page);

  await page.getByTestId('classification-button').click();
  await expect(page).toHaveURL(/#\/classification$/);
  await expect(page.getByTestId('classification-page')).toBeVisible();
  await expect(page.getByTestId('cls-no-runs')).toBeVisible();

  // the demo's MS-CXR-loc, Pneumothorax: its pair count beside the class
  const benchmark = page.getByTestId('cls-benchmark');
  const benchmarkKeys = () => benchmark.locator('option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
  // the list fills once the page's benchmarks load (slower on a loaded machine)
  await expect.poll(async () => (await benchmarkKeys()).some((k) => k.startsWith('MS-CXR-loc/')), { timeout: 30_000 }).toBe(true);
  const keys = await benchmarkKeys();
  const msCxr = keys.find((k) => k.startsWith('MS-CXR-loc/'));
  expect(msCxr, `an MS-CXR-loc benchmark among ${keys.join(', ')}`).toBeTruthy();
  await benchmark.selectOption(msCxr!);
  await page.getByTestId('cls-positive').selectOption('Pneumothorax');
  await expect(page.getByTestId('cls-positive-count')).toHaveText(/^[1-9]\d* pneumothorax pairs?$/);
  await expect(page.getByTestId('cls-model')).toHaveValue('sightline-demo-ldm');
  await expect(page.getByTestId('cls-variants').locator('input[type=checkbox]:checked')).toHaveCount(1);
  await page.getByTestId('cls-samples').fill('4');

  // the plan: positives, negatives, U-Net passes, no problem; a bad field is a problem in words that disables Start
  await page.getByTestId('cls-advanced').locator('summary').click();
  await page.getByTestId('cls-limit').fill('0');
  await expect(page.getByTestId('cls-start-reason')).toHaveText('the limit is not a whole number of at least 1');
  await expect(page.getByTestId('cls-start')).toBeDisabled();
  await page.getByTestId('cls-limit').fill('');
  const summary = page.getByTestId('cls-plan-summary');
  // a fresh data dir has no heatmaps yet: the plan says how many the run grounds first
  await expect(summary).toHaveText(/^[1-9]\d* positives? · [1-9]\d* negatives? \(\d+ normal images? available\) · \d+ images · [\d,]+ U-Net passes · [1-9]\d* heatmaps? to ground first$/, { timeout: 30_000 });
  await expect(page.getByTestId('cls-plan-conditions')).toContainText('uniform · generic');
  await expect(page.getByTestId('cls-start')).toBeEnabled();
  await expect(page.getByTestId('cls-start-reason')).toHaveCount(0);
  console.log(`plan: ${await summary.textContent()}`);
  // the LUT row: a fourth row in the plan, or (the demo bundle has no LUT in its frame) the plan's problem naming the
  // LUT, which disables Start; off again for the run
  await page.getByTestId('cls-lut-row').check();
  const lutOutcome = async () => {
    if (await page.getByTestId('cls-plan-conditions').filter({ hasText: 'lut · located' }).count()) return 'row';
    const reason = page.getByTestId('cls-start-reason');
    return (await reason.count()) && /LUT/.test((await reason.textContent()) ?? '') ? 'problem' : 'pending';
  };
  await expect.poll(lutOutcome, { timeout: 30_000 }).not.toBe('pending');
  if ((await lutOutcome()) === 'problem') await expect(page.getByTestId('cls-start')).toBeDisabled();
  console.log(`LUT row: ${await lutOutcome()} (${await page.getByTestId('cls-plan').textContent()})`);
  await page.getByTestId('cls-lut-row').uncheck();
  await expect(page.getByTestId('cls-start')).toBeEnabled({ timeout: 30_000 });
  await expect(page.getByTestId('cls-plan-conditions')).not.toContainText('lut');

  // Ctrl+Enter starts; the run's job progress shows while it runs
  const started = Date.now();
  await page.getByTestId('cls-samples').focus();
  await page.keyboard.press('Control+Enter');
  const run = page.getByTestId('cls-runs').locator('tbody tr').first();
  await expect(run).toBeVisible();
  const runId = await run.getAttribute('data-run');
  await expect(run.getByTestId(`cls-progress-${runId}`)).toBeVisible();
  await expect(run.getByTestId(`cls-cancel-${runId}`)).toBeVisible();
  await expect(run).toHaveAttribute('data-state', 'done', { timeout: 400_000 });
  console.log(`run ${runId}: ${((Date.now() - started) / 1000).toFixed(1)} s`);

  // the results: a row per condition with an AUROC, the ROC curves and Figure 7's bars painted
  const results = page.getByTestId('cls-results');
  await expect(results).toHaveAttribute('data-run', runId!);
  const rows = page.getByTestId('cls-table').locator('tbody tr');
  await expect(rows.first()).toHaveAttribute('data-condition', 'uniform · generic', { timeout: 15_000 });
  const n = await rows.count();
  expect(n).toBeGreaterThanOrEqual(3); // uniform, then the default variant's generic and located rows
  for (const auroc of await page.getByTestId('cls-auroc').allTextContents()) expect(auroc).toMatch(/^\d\.\d{3}( \[\d\.\d{3}, \d\.\d{3}\])?$/);
  await expect(run).toContainText(/uniform · generic \d\.\d{3}/);
  const roc = page.getByTestId('cls-roc');
  await expect(roc).toHaveAttribute('data-series', String(n));
  const fig7 = page.getByTestId('cls-figure7');
  await expect(fig7).toHaveAttribute('data-categories', String(n));
  for (const chart of [roc, fig7]) {
    const canvas = chart.locator('canvas').first();
    await expect(canvas).toBeVisible();
    expect(await painted(canvas)).toBeGreaterThan(500);
  }
  await results.screenshot({ path: path.join(screens, 'classification-results.png') });

  // the per-sample table: filtered by row; an image opens its study in the viewer
  await page.getByTestId('cls-samples-toggle').click();
  const samples = page.getByTestId('cls-samples-table').locator('tbody tr');
  expect(await samples.count()).toBeGreaterThan(0);
  await page.getByTestId('cls-samples-condition').selectOption('uniform · generic');
  await expect(page.getByTestId('cls-samples-shown')).toHaveText(/^\d+ samples?/);
  await page.getByTestId('cls-samples-role').selectOption('negative');
  expect(await samples.count()).toBeGreaterThan(0);
  for (const role of await samples.evaluateAll((trs) => trs.map((t) => t.getAttribute('data-role')))) expect(role).toBe('negative');
  await expect(samples.first().getByTestId('cls-sample-image')).toHaveAttribute('href', /^#\/study\/\d+$/);

  // Export JSON: the download parses, with the report's conditions and every row's samples
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('cls-export-json').click()]);
  expect(download.suggestedFilename()).toBe(`classification-${runId}-pneumothorax.json`);
  const exported = JSON.parse(readFileSync((await download.path())!, 'utf8')) as { report: { conditions: { condition: { name: string }; auroc: number | null }[] }; samples: Record<string, unknown[]> };
  expect(exported.report.conditions).toHaveLength(n);
  expect(exported.report.conditions[0].condition.name).toBe('uniform · generic');
  expect(Object.keys(exported.samples).sort()).toEqual(exported.report.conditions.map((c) => c.condition.name).sort());
  const [csv] = await Promise.all([page.waitForEvent('download'), page.getByTestId('cls-export-csv').click()]);
  const lines = readFileSync((await csv.path())!, 'utf8').trimEnd().split('\n');
  expect(lines[0]).toBe('condition,role,image_id,study_id,pair_key,location,prompt,error_normal,error_pathology,score,miou');
  expect(lines.length - 1).toBe(Object.values(exported.samples).reduce((a, s) => a + s.length, 0));

  // Delete asks first; Escape closes the dialog and keeps the run
  await run.getByTestId(`cls-delete-${runId}`).click();
  const dialog = page.getByTestId('cls-delete-dialog');
  await expect(dialog).toBeVisible();
  await expect(page.getByTestId('cls-delete-confirm')).toBeFocused();
  await page.keyboard.press('Escape');
  await expect(dialog).toHaveCount(0);
  await expect(run.getByTestId(`cls-delete-${runId}`)).toBeFocused();
  await expect(page.getByTestId('cls-runs').locator('tbody tr')).toHaveCount(1);

  // the class with the most pairs (the demo has one pneumothorax pair: no halves): its heatmap rows have low- and
  // high-mIoU halves with the difference and a p-value; the plain classifier's row has none ("—")
  const options = await page.getByTestId('cls-positive').locator('option').evaluateAll((os) => os.map((o) => [(o as HTMLOptionElement).value, o.textContent ?? ''] as const));
  const [largest, text] = [...options].sort((a, b) => Number(/\((\d+) pair/.exec(b[1])![1]) - Number(/\((\d+) pair/.exec(a[1])![1]))[0];
  const pairs = Number(/\((\d+) pair/.exec(text)![1]);
  console.log(`largest class: ${text}`);
  await page.getByTestId('cls-positive').selectOption(largest);
  await expect(page.getByTestId('cls-start')).toBeEnabled({ timeout: 30_000 });
  await page.getByTestId('cls-start').click();
  const second = page.getByTestId('cls-runs').locator('tbody tr').first();
  await expect(second).not.toHaveAttribute('data-run', runId!);
  await expect(second).toHaveAttribute('data-state', 'done', { timeout: 400_000 });
  await expect(results).toHaveAttribute('data-run', (await second.getAttribute('data-run'))!);
  const secondRows = page.getByTestId('cls-table').locator('tbody tr');
  await expect(secondRows.first()).toHaveAttribute('data-condition', 'uniform · generic');
  await expect(secondRows.first().locator('td').nth(3)).toHaveText('—');
  if (pairs >= 2) {
    const located = page.getByTestId('cls-table').locator('tbody tr[data-condition$="· located"]').first();
    await expect(located.locator('td').nth(3)).toHaveText(/^\d\.\d{3} mIoU \d\.\d\d–\d\.\d\d$/);
    await expect(located.locator('td').nth(5)).toHaveText(/^[+-]\d\.\d{3}$/);
    await expect(located.locator('td').nth(6)).toHaveText(/^(<0\.001|\d\.\d{3})$/);
  }
  await results.screenshot({ path: path.join(screens, 'classification-halves.png') });
  await page.getByTestId('cls-runs').screenshot({ path: path.join(screens, 'classification-runs.png') });

  // a longer run is cancelled after its first images and resumed to the end (its scored images are kept)
  await page.getByTestId('cls-samples').fill('24');
  await expect(page.getByTestId('cls-start')).toBeEnabled({ timeout: 30_000 });
  await page.getByTestId('cls-start').click();
  const third = page.getByTestId('cls-runs').locator('tbody tr').first();
  await expect(page.getByTestId('cls-runs').locator('tbody tr')).toHaveCount(3);
  const thirdId = (await third.getAttribute('data-run'))!;
  await expect.poll(async () => Number(await third.getByTestId(`cls-progress-${thirdId}`).getAttribute('data-done')), { timeout: 120_000 }).toBeGreaterThan(0);
  await third.getByTestId(`cls-cancel-${thirdId}`).click();
  await expect(third).toHaveAttribute('data-state', 'cancelled', { timeout: 60_000 });
  await third.getByTestId(`cls-resume-${thirdId}`).click();
  await expect(third).toHaveAttribute('data-state', 'done', { timeout: 400_000 });
  await expect(results).toHaveAttribute('data-run', thirdId);
  await expect(page.getByTestId('cls-table').locator('tbody tr')).toHaveCount(n);

  // Delete, confirmed: the first run is gone
  await page.getByTestId(`cls-delete-${runId}`).click();
  await page.getByTestId('cls-delete-confirm').click();
  await expect(page.getByTestId('cls-runs').locator('tbody tr')).toHaveCount(2);
  await expect(page.getByTestId('cls-runs').locator(`tr[data-run="${runId}"]`)).toHaveCount(0);

  // a sample's image opens the viewer
  await page.getByTestId('cls-samples-toggle').click();
  await samples.first().getByTestId('cls-sample-image').click();
  await expect(page).toHaveURL(/#\/study\/\d+$/);
  expect(consoleErrors).toEqual([]);
});
