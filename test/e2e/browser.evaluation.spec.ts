// The benchmark results page in browser mode, end to end: a real `sightline serve` (the demo model through
// onnxruntime-node on the CPU) and real Chromium. The demo is imported, the oracle reference row is run on
// MS-CXR-loc (no model, fast) and the demo model on a 3-pair subset with the side-swap check; both appear side by side in Table 1 with the
// best marked, the charts draw (ECharts on a canvas under the app's CSP), the pairs sort by CNR, a pair opens in the
// viewer with its heatmap, and the table exports as LaTeX.
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, repoRoot, test } from './serve-fixture';
import { importDemo } from './demo-steps';
import { collectConsoleErrors, painted } from './page-checks';

const screens = path.join(repoRoot, 'test-results', 'screens');
mkdirSync(screens, { recursive: true });
const DEMO = 'sightline-demo-ldm';


test('benchmark runs: a reference row and a model subset side by side, charts, pairs, viewer, export', async ({ served, page }) => {
  test.setTimeout(420_000);
  const consoleErrors = collectConsoleErrors(page);
  await page.goto(served.loginUrl);
  await importDemo(page);

  await page.getByTestId('evaluation-button').click();
  await expect(page.getByTestId('evaluation-page')).toBeVisible();
  const benchmark = page.getByTestId('benchmark-select');
  await expect(benchmark.locator('option').first()).toHaveText(/^MS-CXR-loc\/.+ \(19 pairs\)$/);
  await expect(benchmark.locator('option')).toHaveCount(2); // MS-CXR-loc and VinDr-CXR of the demo's two datasets

  // the oracle row: no model, every pair
  await page.getByTestId('method-select').selectOption('oracle');
  await page.getByTestId('start-run').click();
  const runs = page.getByTestId('runs-table').locator('tbody tr');
  await expect(runs.first()).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
  await expect(runs.first()).toContainText('19 / 19');

  // the demo model on the first 3 pairs
  await page.getByTestId('method-select').selectOption('model');
  await page.getByTestId('limit-input').fill('3');
  await page.getByTestId('side-swap').check();
  await page.getByTestId('start-run').click();
  await expect(runs).toHaveCount(2);
  await expect(runs.first()).toContainText(`${DEMO} (frozen)`);
  await expect(runs.first()).toHaveAttribute('data-state', 'done', { timeout: 300_000 });
  await expect(runs.first()).toContainText('3 / 3');

  // Table 1: both runs, classes then the average, the best of each column in bold
  const table1 = page.getByTestId('table1');
  await expect(table1.locator('tbody tr')).toHaveCount(2);
  await expect(table1.locator('thead')).toContainText('Average');
  expect(await table1.locator('td.best').count()).toBeGreaterThan(0);
  await expect(table1.locator('tbody tr').first()).toContainText(/\d+\.\d\d \[-?\d+\.\d\d, -?\d+\.\d\d\]/);
  // the model run has the side-swap check (2 of its 3 prompts name a side): its drop with a CI beside it
  await expect(table1.locator('thead')).toContainText('Side-swap drop');
  await expect(table1.locator(`tr[data-run="${await runs.first().getAttribute('data-run')}"]`).getByTestId('swap-cnr')).toHaveText(/^-?\d+\.\d\d \[/);

  // the charts: ECharts draws its canvas with one bar series per run
  const chart = page.getByTestId('chart-cnr');
  await expect(chart).toHaveAttribute('data-series', '2');
  const canvas = chart.locator('canvas').first();
  await expect(canvas).toBeVisible();
  const size = await canvas.evaluate((c: HTMLCanvasElement) => ({ w: c.width, h: c.height }));
  expect(size.w).toBeGreaterThan(100);
  expect(size.h).toBeGreaterThan(100);
  expect(await painted(canvas)).toBeGreaterThan(1000);

  // the model run's pairs, sorted by CNR (descending)
  const modelRunId = await runs.first().getAttribute('data-run');
  await page.getByTestId(`show-pairs-${modelRunId}`).click();
  const rows = page.getByTestId('pairs-table').locator('tbody tr');
  await expect(rows).toHaveCount(3);
  const cnrs = async () => (await rows.getByTestId('pair-cnr').allTextContents()).map(Number);
  const first = await cnrs();
  expect(first).toEqual([...first].sort((a, b) => b - a));
  await page.getByTestId('sort-cnr').click();
  await expect.poll(cnrs).toEqual([...first].sort((a, b) => a - b));

  await page.screenshot({ path: path.join(screens, 'evaluation.png'), fullPage: true });

  // LaTeX export of Table 1
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-latex').click()]);
  const tex = readFileSync((await download.path())!, 'utf8');
  expect(tex).toContain('\\begin{tabular}');
  expect(tex).toContain(`${DEMO} (frozen)`);

  // a pair opens in the viewer: its study and image, the run's prompt grounded with the run's model (stored map)
  const prompt = (await rows.first().getByTestId('pair-prompt').textContent())!.trim();
  await rows.first().locator('td').first().click();
  await expect(page).toHaveURL(/#\/study\/\d+/);
  const viewer = page.getByTestId('viewer-canvas');
  await expect(viewer).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });
  await expect(viewer).toHaveAttribute('data-heatmap-state', 'shown', { timeout: 120_000 });
  await expect(page.getByTestId('grounding-item').first()).toContainText(prompt);

  expect(consoleErrors.filter((e) => /Content Security Policy|unsafe-eval/i.test(e))).toEqual([]);
});

test('prompt corrections and subsets: the prompt of a pair corrected and undone, the pairs shown saved as a subset and run', async ({ served, page }) => {
  test.setTimeout(240_000);
  await page.goto(served.loginUrl);
  await importDemo(page);
  await page.getByTestId('evaluation-button').click();
  await page.getByTestId('method-select').selectOption('oracle');
  await page.getByTestId('start-run').click();
  const runs = page.getByTestId('runs-table').locator('tbody tr');
  await expect(runs.first()).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
  const runId = await runs.first().getAttribute('data-run');
  await page.getByTestId(`show-pairs-${runId}`).click();
  const rows = page.getByTestId('pairs-table').locator('tbody tr');
  await expect(rows).toHaveCount(19);

  // correct the first pair's prompt: locations from the vocabulary, pathology from the 8; the phrase's other pairs follow
  const row = rows.first();
  const scored = (await row.getByTestId('pair-prompt').textContent())!.trim();
  const editor = row.getByTestId('prompt-editor');
  await expect(editor.getByTestId('prompt-text')).toHaveText(scored);
  await editor.getByTestId('prompt-edit').click();
  const chips = editor.getByTestId('prompt-location');
  while ((await chips.count()) > 0) await chips.first().getByRole('button').click();
  await editor.getByTestId('prompt-add-location').selectOption('bibasilar');
  await editor.getByTestId('prompt-add-location').selectOption('lingular');
  await editor.getByTestId('prompt-pathology').selectOption('Atelectasis');
  await expect(editor.getByTestId('prompt-preview')).toHaveText('bibasilar and lingular atelectasis');
  await editor.getByTestId('prompt-save').click();
  await expect(editor.getByTestId('prompt-text')).toHaveText('bibasilar and lingular atelectasis');
  await expect(editor.getByTestId('prompt-corrected')).toBeVisible();
  await expect(page).not.toHaveURL(/#\/study\//); // editing does not open the pair
  await expect(row.getByTestId('pair-prompt')).toHaveText(scored); // the run keeps what it scored

  // the next run scores the correction and marks it
  await page.getByTestId('start-run').click();
  await expect(runs).toHaveCount(2);
  await expect(runs.first()).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
  await page.getByTestId(`show-pairs-${await runs.first().getAttribute('data-run')}`).click();
  await expect(page.getByTestId('pairs-table').getByTestId('pair-prompt').filter({ hasText: 'bibasilar and lingular atelectasis' }).first()).toBeVisible();

  // undo: the standardiser's prompt again
  const corrected = rows.filter({ has: page.getByTestId('prompt-corrected') }).first();
  await corrected.getByTestId('prompt-undo').click();
  await expect(rows.filter({ has: page.getByTestId('prompt-corrected') })).toHaveCount(0);

  // the pairs of one class, saved as a subset, then run on it
  const cls = page.getByTestId('pairs-class-filter');
  const firstClass = (await cls.locator('option').nth(1).getAttribute('value'))!;
  await cls.selectOption(firstClass);
  const shown = await rows.count();
  expect(shown).toBeGreaterThan(0);
  expect(shown).toBeLessThan(19);
  await page.getByTestId('subset-name').fill('e2e class');
  await page.getByTestId('subset-save').click();
  await expect(page.getByTestId('evaluation-notice')).toContainText(`subset "e2e class" saved: ${shown} pairs`);
  await page.getByTestId('subset-select').selectOption('e2e class');
  await page.getByTestId('start-run').click();
  await expect(runs).toHaveCount(3);
  await expect(runs.first()).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
  await expect(runs.first()).toContainText(`${shown} / ${shown}`);

  // the report panel's dataset phrases carry the same editors (folded): a pair opened in the viewer shows its phrase's
  const phraseText = (await rows.first().locator('td').nth(2).textContent())!.trim();
  await rows.first().locator('td').first().click();
  await expect(page).toHaveURL(/#\/study\/\d+/);
  const prompts = page.getByTestId('phrase-prompts');
  await prompts.locator('summary').click();
  const item = prompts.locator('li').filter({ hasText: phraseText }).first();
  await expect(item.getByTestId('prompt-editor')).toBeVisible();
  await expect(item.getByTestId('prompt-text')).not.toHaveText('');
});
