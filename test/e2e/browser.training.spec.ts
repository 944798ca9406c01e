// The Training page in browser mode, end to end: a real `sightline serve`, real Chromium, the real Python
// (SIGHTLINE_PYTHON, else /usr/bin/python3 with torch). The demo is imported; Training (TopBar) -> the demo's MIMIC
// dataset: the kept pairs per location and pathology are drawn (ECharts on a canvas), a bar filters the table; a
// pair is excluded, undone with Ctrl+Z and redone with Ctrl+Shift+Z; a sentence's prompt is edited and the edit
// undone; the environment check names torch; the Slurm script shows in its dialog; a tiny tuning run (4 steps, 10
// DDIM steps) finishes with a loss curve, its validation points and a registered variant; a
// 60-step run is cancelled after its first steps and resumed to the end; the results page's ?runs= pre-selection.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Locator } from '@playwright/test';
import { expect, repoRoot, test } from './serve-fixture';
import { importDemo } from './demo-steps';
import { collectConsoleErrors, painted } from './page-checks';

const screens = path.join(repoRoot, 'test-results', 'screens');
mkdirSync(screens, { recursive: true });
const PYTHON = process.env.SIGHTLINE_PYTHON ?? '/usr/bin/python3';
const TINY = { num_inference_steps: 10, tune_steps: [5, 6], eval_steps: [5, 6], val_images: 1, val_boot: 20, threads: 1, log_every: 1 };

const count = async (l: Locator) => Number((await l.textContent())!.replace(/,/g, ''));

test('training page: pairs and their chart, exclude / edit + undo/redo, environment check, a tiny run to a variant, cancel and resume', async ({ served, page }) => {
  test.setTimeout(600_000);
  const consoleErrors = collectConsoleErrors(page);
  await page.goto(served.loginUrl);
  await importDemo(page);

  await page.getByTestId('training-button').click();
  await expect(page.getByTestId('training-page')).toBeVisible();
  await expect(page.getByTestId('training-no-dataset')).toBeVisible();
  await expect(page.getByTestId('training-start-reason')).toHaveText('choose a dataset');

  // the demo's report dataset (not VinDr-CXR, whose findings are labels)
  const picker = page.getByTestId('training-dataset');
  const names = await picker.locator('option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value).filter(Boolean));
  const dataset = names.find((n) => !/vindr/i.test(n)) ?? names[0];
  await picker.selectOption(dataset);
  const kept = page.getByTestId('training-kept');
  await expect(kept).toHaveText(/^\d[\d,]*$/, { timeout: 60_000 });
  const keptBefore = await count(kept);
  expect(keptBefore).toBeGreaterThan(0);
  const total = await count(page.getByTestId('training-total'));
  expect(total).toBeGreaterThanOrEqual(keptBefore);

  // the environment (checked on opening with the default interpreter): a missing interpreter is a problem in words
  // that disables Start; then the interpreter that has torch
  await page.getByTestId('training-python').fill('/nonexistent/python3');
  await page.getByTestId('training-check').click();
  const env = page.getByTestId('training-env');
  const problem = page.getByTestId('training-env-problem');
  await expect(problem).toContainText('/nonexistent/python3', { timeout: 60_000 });
  await expect(env).toHaveAttribute('data-ok', 'false');
  await expect(page.getByTestId('training-start-reason')).toHaveText((await problem.textContent())!);
  await expect(page.getByTestId('training-start')).toBeDisabled();
  await page.getByTestId('training-python').fill(PYTHON);
  await page.getByTestId('training-check').click();
  await expect(env).toHaveAttribute('data-ok', 'true', { timeout: 60_000 });
  await expect(env).toContainText(/torch \d+\.\d+/);

  // the chart of kept pairs per location: bars drawn on a canvas; a bar filters the table to its kept pairs
  const byLocation = page.getByTestId('counts-location');
  expect(Number(await byLocation.getAttribute('data-bars'))).toBeGreaterThan(0);
  const canvas = byLocation.locator('canvas').first();
  await expect(canvas).toBeVisible();
  expect(await painted(canvas)).toBeGreaterThan(500);
  const firstBar = byLocation.locator('[data-bar]').first();
  const [barName, barCount] = (await firstBar.textContent())!.trim().split(/ (?=\d+$)/);
  await firstBar.click();
  await expect(page.getByTestId('pairs-shown')).toContainText(`${barCount} shown`);
  for (const prompt of await page.getByTestId('pairs-table').getByTestId('pair-prompt').allTextContents()) expect(prompt).toContain(barName.split(' ')[0]);
  await page.getByTestId('pairs-clear-bars').click();
  await page.getByTestId('pairs-status').selectOption('');
  await expect(page.getByTestId('pairs-shown')).toContainText(`${total} shown`);
  await page.screenshot({ path: path.join(screens, 'training-data.png') });

  // exclude one kept pair, undo (Ctrl+Z), redo (Ctrl+Shift+Z), undo again
  const row = page.getByTestId('pairs-table').locator('tbody tr[data-dropped=""]').first();
  const key = (await row.getAttribute('data-pair'))!;
  const theRow = page.locator(`tr[data-pair="${key}"]`);
  await theRow.locator('input[type="checkbox"]').check();
  await page.getByTestId('pairs-exclude').click();
  await expect(theRow).toHaveAttribute('data-dropped', 'excluded');
  await expect(kept).toHaveText(String(keptBefore - 1));
  await expect(page.getByTestId('training-drops')).toContainText('excluded 1');
  await page.locator('body').click({ position: { x: 5, y: 300 } });
  await page.keyboard.press('Control+z');
  await expect(theRow).toHaveAttribute('data-dropped', '');
  await expect(kept).toHaveText(String(keptBefore));
  await page.keyboard.press('Control+Shift+Z');
  await expect(theRow).toHaveAttribute('data-dropped', 'excluded');
  await page.getByTestId('pairs-undo').click();
  await expect(kept).toHaveText(String(keptBefore));

  // edit a report sentence's prompt (it becomes a phrase's pair, marked ✎), then undo it (the revert)
  const table = page.getByTestId('pairs-table');
  const sentence = table.locator('tbody tr[data-dropped=""][data-pair^="s"]').first();
  const sKey = (await sentence.getAttribute('data-pair'))!;
  const sText = (await sentence.locator('td.text').getAttribute('title'))!;
  const sPrompt = (await sentence.getByTestId('pair-prompt').textContent())!;
  const pathology = /pneumothorax/i.test(sPrompt) ? 'Edema' : 'Pneumothorax';
  await sentence.getByTestId('pair-edit').click();
  await page.getByTestId('pair-editor-pathology').selectOption(pathology);
  await page.getByTestId('pair-editor-save').click();
  const edited = table.locator('tbody tr', { has: page.locator(`td.text[title=${JSON.stringify(sText)}]`) }).filter({ hasText: '✎' });
  await expect(edited).toHaveCount(1);
  await expect(edited.getByTestId('pair-prompt')).toContainText(pathology.toLowerCase());
  await expect(page.locator(`tr[data-pair="${sKey}"]`)).toHaveCount(0);
  await page.keyboard.press('Control+z');
  await expect(page.locator(`tr[data-pair="${sKey}"]`).getByTestId('pair-prompt')).toHaveText(sPrompt);
  await expect(edited).toHaveCount(0);

  // a tiny run: 4 steps on the CPU, one thread
  await page.getByTestId('hp-steps').fill('4');
  await page.locator('.advanced summary').click();
  await page.getByTestId('hp-advanced').fill(JSON.stringify(TINY));
  await page.getByTestId('hp-steps').fill('x');
  await expect(page.getByTestId('training-start-reason')).toHaveText('steps: "x" is not a number');
  await page.getByTestId('hp-steps').fill('4');
  await expect(page.getByTestId('training-start-reason')).toHaveCount(0);
  // the Slurm script for these settings, in a dialog (nothing is run)
  await page.getByTestId('training-slurm').click();
  await expect(page.getByTestId('slurm-script')).toContainText('#SBATCH', { timeout: 30_000 });
  await page.getByTestId('slurm-dialog').getByRole('button', { name: 'Close' }).last().click();
  await expect(page.getByTestId('slurm-dialog')).toHaveCount(0);
  await page.getByTestId('training-start').click();
  const state = page.getByTestId('training-run-state');
  await expect(state).toBeVisible();
  await expect(state).toHaveAttribute('data-state', 'done', { timeout: 480_000 });
  await expect(page.getByTestId('training-run-lr')).toHaveText(/^lr \d/);
  const loss = page.getByTestId('curve-loss');
  await expect(loss).toHaveAttribute('data-points', '4');
  expect(await painted(loss.locator('canvas').first())).toBeGreaterThan(500);
  // validation on the boxed MS-CXR phrases of one image (the demo's sentence pairs of that image are held out)
  await expect(page.getByTestId('training-run-pairs')).toHaveText(/^\d+ training \/ \d+ validation pairs$/);
  const valPairs = Number(/(\d+) validation/.exec((await page.getByTestId('training-run-pairs').textContent())!)![1]);
  expect(valPairs).toBeGreaterThan(0);
  expect(Number(await page.getByTestId('curve-validation').getAttribute('data-points'))).toBeGreaterThanOrEqual(1);
  await expect(page.getByTestId('training-run-variant')).toBeVisible();
  const runRow = page.getByTestId('training-runs').locator('tbody tr').first();
  await expect(runRow).toHaveAttribute('data-state', 'done');
  await expect(runRow.getByTestId('training-runs-variant')).not.toHaveText('');
  await expect(runRow).toContainText('4 / 4');
  await page.getByTestId('training-runs').scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(screens, 'training-run.png') });

  // a longer run cancelled after its first steps (the job stops at a checkpoint), resumed to the end: one point per
  // step on the loss curve although the steps after the checkpoint ran twice
  await page.getByTestId('hp-steps').fill('60');
  await expect(page.getByTestId('training-start')).toBeEnabled();
  await page.getByTestId('training-start').click();
  // the start checks the interpreter and writes the run's files first: slow on a loaded machine
  await expect(page.getByTestId('training-runs').locator('tbody tr')).toHaveCount(2, { timeout: 90_000 });
  await expect(state).toHaveAttribute('data-state', 'running');
  await expect.poll(async () => Number(await page.getByTestId('training-progress').getAttribute('data-step')), { timeout: 120_000 }).toBeGreaterThanOrEqual(2);
  await page.getByTestId('training-cancel').click();
  await expect(state).toHaveAttribute('data-state', 'cancelled', { timeout: 90_000 });
  const stoppedAt = Number(await page.getByTestId('training-progress').getAttribute('data-step'));
  expect(stoppedAt).toBeLessThan(60);
  await page.getByTestId('training-resume').click();
  await expect(state).toHaveAttribute('data-state', 'done', { timeout: 300_000 });
  await expect(loss).toHaveAttribute('data-points', '60');
  await expect(page.getByTestId('training-runs').locator('tbody tr[data-state="done"]')).toHaveCount(2);

  // the results page pre-selects the runs its link names (?runs=, the before/after benchmark link): an oracle run
  // is compared by default, and not when the link names another run
  await page.getByTestId('evaluation-button').click();
  await page.getByTestId('method-select').selectOption('oracle');
  await page.getByTestId('start-run').click();
  const benchRun = page.getByTestId('runs-table').locator('tbody tr').first();
  await expect(benchRun).toHaveAttribute('data-state', 'done', { timeout: 120_000 });
  const benchId = (await benchRun.getAttribute('data-run'))!;
  await page.goto(`${served.url}#/evaluation?runs=${benchId}`);
  await expect(page.getByTestId('table1').locator('tbody tr')).toHaveCount(1);
  await page.goto(`${served.url}#/evaluation?runs=${Number(benchId) + 100}`);
  await expect(page.getByTestId('runs-table').locator('tbody tr')).toHaveCount(1);
  await expect(page.getByTestId('table1')).toHaveCount(0);

  expect(consoleErrors.filter((e) => !/favicon/i.test(e))).toEqual([]);
});
