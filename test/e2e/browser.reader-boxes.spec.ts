// Ground-truth boxes on the reading pane (issue 11), in browser mode on the real `sightline serve` with the demo's
// dataset phrases: a study without showBoxes and a practice case draws no box until the practice item is answered,
// then exactly its feedback boxes (the coordinate lines stay), none on its scored item; a showBoxes study draws each
// item's dataset boxes at their image coordinates through the viewer's boxes layer; `b` hides and shows them.
// Screenshot: test-results/screens/reader-boxes.png.
import path from 'node:path';
import type { Page } from '@playwright/test';
import { openDatabase } from '../../main/db';
import { datasetBoxes, phraseOnImage } from '../../main/db/reader-repo';
import { makeStudy, waitForDemo } from './reader-steps';
import { expect, repoRoot, startServe, test } from './serve-fixture';

type Geometry = { x: number; y: number; w: number; h: number };

/** The first four (image, dataset phrase) pairs with a dataset box, once the demo import is done. */
const demoPhrases = (dataDir: string) =>
  waitForDemo(dataDir, 4, (db) =>
    db
      .prepare(
        `SELECT b.image_id AS imageId, p.text AS phrase FROM phrases p JOIN boxes b ON b.phrase_id = p.id AND b.source = 'dataset'
         GROUP BY p.id, b.image_id ORDER BY p.id, b.image_id LIMIT 4`,
      )
      .all() as { imageId: number; phrase: string }[],
  );

/** The dataset boxes the server resolves for a case (image + phrase text), as the reader service does. */
function expectedBoxes(dataDir: string, imageId: number, phrase: string): Geometry[] {
  const db = openDatabase(dataDir);
  try {
    const phraseId = phraseOnImage(db, imageId, phrase);
    return phraseId === null ? [] : datasetBoxes(db, phraseId, imageId);
  } finally {
    db.close();
  }
}

const stage = (page: Page) => page.locator('.stage:has([data-testid="reader-canvas"])');
/** The boxes drawn in the reading pane (a hidden layer's rectangles are not visible). */
const drawn = (page: Page) => stage(page).locator('[data-testid="boxes-layer"] [data-testid="gt-box"]:visible');

async function expectDrawn(page: Page, boxes: Geometry[]): Promise<void> {
  await expect(drawn(page)).toHaveCount(boxes.length);
  await expect(page.getByTestId('reader-canvas')).toHaveAttribute('data-box-count', String(boxes.length));
  const got = await drawn(page).evaluateAll((rs) => rs.map((r) => ['x', 'y', 'width', 'height'].map((a) => Number(r.getAttribute(a)))));
  expect(got).toEqual(boxes.map((b) => [b.x, b.y, b.w, b.h]));
}

async function signIn(page: Page, label: string): Promise<void> {
  await expect(page.getByTestId('reader-signin')).toBeVisible();
  await page.getByTestId('reader-study').selectOption({ label });
  await page.getByTestId('reader-name').fill('R1');
  await page.getByTestId('reader-signin-submit').click();
}

test('the reading pane draws the boxes the design or a practice item\'s feedback gives, and `b` toggles them', async ({ page }) => {
  test.setTimeout(300_000);
  const served = await startServe();
  try {
    const pairs = await demoPhrases(served.dataDir);
    expect(pairs).toHaveLength(4);
    makeStudy(served.dataDir, [], {
      name: 'Blind with practice',
      seed: 'boxes-b',
      phrasePrefix: '',
      readers: ['R1'],
      cases: [pairs[2]],
      practice: [{ ...pairs[3], arm: 'tuned arm', expected: 3 }],
    });
    makeStudy(served.dataDir, [], { name: 'Boxes shown', seed: 'boxes-a', phrasePrefix: '', readers: ['R1'], cases: pairs.slice(0, 2), showBoxes: true });
    const practiceBoxes = expectedBoxes(served.dataDir, pairs[3].imageId, pairs[3].phrase);
    expect(practiceBoxes.length).toBeGreaterThan(0);

    await page.goto(served.loginUrl);
    await page.evaluate(() => (window.location.hash = '#/read'));
    await signIn(page, 'Blind with practice (v1)');
    const canvas = page.getByTestId('reader-canvas');

    // the practice item: no box before it is answered (the server gives none), the feedback's boxes after
    await expect(page.getByTestId('reader-progress')).toHaveText('practice 1 / 1');
    await expect(canvas).toHaveAttribute('data-heatmap-state', 'shown');
    await expectDrawn(page, []);
    await expect(page.locator('.bar')).not.toContainText('b boxes');
    await page.keyboard.press('3');
    await expect(page.getByTestId('reader-feedback-box')).toHaveCount(practiceBoxes.length);
    await expectDrawn(page, practiceBoxes);
    await expect(page.locator('.bar')).toContainText('b boxes');
    await page.keyboard.press('b');
    await expectDrawn(page, []);
    await expect(page.getByTestId('reader-feedback-box')).toHaveCount(practiceBoxes.length); // the text stays
    await page.keyboard.press('b');
    await expectDrawn(page, practiceBoxes);

    // its scored items: the design does not show boxes, so none is drawn
    for (let n = 1; n <= 2; n++) {
      await page.keyboard.press('Enter');
      await expect(page.getByTestId('reader-progress')).toHaveText(`${n} / 2`);
      await expect(canvas).toHaveAttribute('data-heatmap-state', 'shown');
      await expectDrawn(page, []);
      await page.keyboard.press('4');
      await expect(page.getByTestId('reader-item-state')).toHaveAttribute('data-complete', 'true');
    }
    await page.keyboard.press('Enter');
    await expect(page.getByTestId('reader-done')).toBeVisible();

    // a showBoxes design: every item's dataset boxes, at their image coordinates
    await page.getByTestId('reader-signout').click();
    await signIn(page, 'Boxes shown (v1)');
    for (let n = 1; n <= 4; n++) {
      await expect(page.getByTestId('reader-progress')).toHaveText(`${n} / 4`);
      await expect(canvas).toHaveAttribute('data-heatmap-state', 'shown');
      const imageId = Number(await canvas.getAttribute('data-image-id'));
      const phrase = (await page.getByTestId('reader-phrase').textContent())!.trim();
      const boxes = expectedBoxes(served.dataDir, imageId, phrase);
      expect(boxes.length).toBeGreaterThan(0);
      await expectDrawn(page, boxes);
      if (n === 1) {
        await expect(page.locator('.bar')).toContainText('b boxes');
        await page.screenshot({ path: path.join(repoRoot, 'test-results/screens/reader-boxes.png') });
        await page.keyboard.press('b');
        await expectDrawn(page, []);
        await page.keyboard.press('b');
        await expectDrawn(page, boxes);
      }
      await page.keyboard.press('4');
      await expect(page.getByTestId('reader-item-state')).toHaveAttribute('data-complete', 'true');
      await page.keyboard.press('Enter');
    }
    await expect(page.getByTestId('reader-done')).toBeVisible();
  } finally {
    served.process.kill('SIGTERM');
  }
});
