// The coordinator designs a reader study in the UI and a reader reads it (issue 11), in browser mode on the real
// `sightline serve` with the demo's images and dataset phrases: Reader studies (TopBar) -> New study; an empty design
// shows its problems inline; 3 dataset cases x 2 model-variant arms (stored maps of the first four demo phrases), the
// paper's score plus accept / reject, one practice case with an expected score; created, listed "0 / 6"; "Start reading": the practice case first ("practice
// 1 / 1", feedback after the answer), then the 6 scored items with the keyboard; the list reads "6 / 6"; the analysis
// page shows 3 cases x 2 arms and 6 answers (the practice answer left out); "Edit" makes version 2.
import { storeVariantMaps, waitForDemo } from './reader-steps';
import { expect, startServe, test } from './serve-fixture';

/** The first four (image, dataset phrase) pairs with a dataset box, once the demo import is done. */
const demoPhrases = (dataDir: string) =>
  waitForDemo(dataDir, 4, (db) =>
    db
      .prepare(
        `SELECT b.image_id AS imageId, p.text FROM phrases p JOIN boxes b ON b.phrase_id = p.id AND b.source = 'dataset'
         GROUP BY p.id, b.image_id ORDER BY p.id, b.image_id LIMIT 4`,
      )
      .all() as { imageId: number; text: string }[],
  );

test('a coordinator designs a 3-case x 2-arm study with a practice case; a reader reads it; the analysis shows it', async ({ page }) => {
  test.setTimeout(300_000);
  const served = await startServe();
  try {
    const pairs = await demoPhrases(served.dataDir);
    storeVariantMaps(served.dataDir, pairs.map((p) => ({ imageId: p.imageId, phrase: p.text })), 'design-model', 'd');
    await page.goto(served.loginUrl);
    await page.getByTestId('reader-studies-button').click();
    await expect(page.getByTestId('studies-page')).toBeVisible();
    await page.getByTestId('studies-new').click();
    await expect(page.getByTestId('design-page')).toBeVisible();

    // an empty design: the problems next to their fields, nothing sent
    await page.getByTestId('design-create').click();
    await expect(page.getByTestId('design-error-name')).toHaveText('give the study a name');
    await expect(page.getByTestId('design-error-cases')).toHaveText('pick at least one case');
    await expect(page.getByTestId('design-error-readers')).toHaveText('add at least one reader');

    await page.getByTestId('design-name').fill('Designed in the UI');
    await page.getByTestId('design-seed').fill('ui-seed');
    for (const p of pairs.slice(0, 3)) {
      await page.getByTestId('design-case-option').filter({ hasText: `image ${p.imageId} — ${p.text}` }).first().locator('input').check();
    }
    await expect(page.getByTestId('design-cases').locator('h2')).toContainText('3 picked');
    await page.getByTestId('design-add-model').click();
    await page.getByTestId('design-add-model').click();
    await page.getByTestId('design-arm-name-0').fill('Frozen');
    await page.getByTestId('design-arm-name-1').fill('Tuned');
    await page.getByTestId('design-arm-source-1').selectOption('design-model|tuned');
    await page.getByTestId('design-practice-pick').selectOption({ label: `image ${pairs[3].imageId} — ${pairs[3].text}` });
    await page.getByTestId('design-practice-add').click();
    await page.getByTestId('design-practice-arm-0').selectOption('Tuned');
    await page.getByTestId('design-practice-expected-0').fill('4');
    await page.getByTestId('design-q-accept').check();
    await page.getByTestId('design-readers').fill('R1');
    await page.getByTestId('design-create').click();

    await expect(page.getByTestId('studies-page')).toBeVisible();
    const row = page.getByTestId('studies-table').locator('tbody tr');
    await expect(row).toHaveCount(1);
    await expect(row).toContainText('Designed in the UI');
    await expect(row).toContainText('3 × 2');
    const id = Number(await row.getAttribute('data-study'));
    await expect(page.getByTestId(`study-progress-${id}`)).toHaveText('0 / 6');

    await page.getByTestId('studies-read').click();
    await expect(page.getByTestId('reader-signin')).toBeVisible();
    await page.getByTestId('reader-name').fill('R1');
    await page.getByTestId('reader-signin-submit').click();
    const canvas = page.getByTestId('reader-canvas');
    await expect(page.getByTestId('reader-progress')).toHaveText('practice 1 / 1');
    await expect(page.getByTestId('reader-practice')).toBeVisible();
    await expect(page.getByTestId('reader-phrase')).toHaveText(pairs[3].text);
    await expect(canvas).toHaveAttribute('data-heatmap-state', 'shown');
    await expect(page.getByTestId('reader-feedback')).toHaveCount(0);
    await page.keyboard.press('2');
    await expect(page.getByTestId('reader-item-state')).toHaveAttribute('data-complete', 'false');
    await page.keyboard.press('a');
    await expect(page.getByTestId('reader-feedback-expected')).toHaveText('Expected score: 4 (yours: 2)');
    await expect(page.getByTestId('reader-feedback-box').first()).toContainText('Ground-truth box');
    await page.keyboard.press('Enter');

    for (let n = 0; n < 6; n++) {
      await expect(page.getByTestId('reader-progress')).toHaveText(`${n + 1} / 6`);
      await expect(canvas).toHaveAttribute('data-position', String(n + 1));
      await expect(canvas).toHaveAttribute('data-heatmap-state', 'shown');
      await expect(page.getByTestId('reader-practice')).toHaveCount(0);
      await page.keyboard.press(String((n % 5) + 1));
      await page.keyboard.press(n % 2 ? 'a' : 'r');
      await expect(page.getByTestId('reader-accept-accept')).toHaveClass(n % 2 ? /chosen/ : /^$/);
      await expect(page.getByTestId('reader-item-state')).toHaveAttribute('data-complete', 'true');
      await page.keyboard.press('Enter');
    }
    await expect(page.getByTestId('reader-done')).toBeVisible();

    await page.evaluate(() => (window.location.hash = '#/studies'));
    await expect(page.getByTestId(`study-progress-${id}`)).toHaveText('6 / 6');
    await expect(page.getByTestId(`study-state-${id}`)).toHaveText('reading (frozen)');
    await page.getByTestId(`study-analysis-${id}`).click();
    await expect(page.getByTestId('analysis-summary')).toContainText('3 cases × 2 arms, 1 readers, 6 answers', { timeout: 60_000 });

    // edit = a new version, prefilled from the stored design
    await page.getByTestId('analysis-back').click();
    await page.getByTestId(`study-edit-${id}`).click();
    await expect(page.getByTestId('design-name')).toHaveValue('Designed in the UI');
    await expect(page.getByTestId('design-practice-row')).toHaveCount(1);
    await page.getByTestId('design-readers').fill('R1\nR2');
    await page.getByTestId('design-create').click();
    await expect(page.getByTestId('studies-table').locator('tbody tr')).toHaveCount(2);
    await expect(page.getByTestId('studies-table').locator('tbody tr').nth(1)).toContainText(`v2 (from #${id})`);
  } finally {
    served.process.kill('SIGTERM');
  }
});
