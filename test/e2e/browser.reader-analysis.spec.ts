// A reader study's analysis page in browser mode: a study with answers (fixture rows, maps stored through the
// grounding domain's store, three readers answering through the reader procedures) served by the real `sightline
// serve`; #/studies/1/analysis shows the tables and draws the Figure 6 scatter plots with ECharts on a canvas, with
// no Content-Security-Policy violation.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { procedures } from '../../common/contract';
import { openDatabase } from '../../main/db';
import { findReader, listItems } from '../../main/db/reader-repo';
import { createReaderService } from '../../main/reader/service';
import { designOf, makeFixture } from '../unit/reader/fixture';
import { expect, repoRoot, startServe, test } from './serve-fixture';

const screens = path.join(repoRoot, 'test-results', 'screens');
mkdirSync(screens, { recursive: true });

test('reader study analysis: tables, agreement, Figure 6 scatter plots under the CSP', async ({ page }) => {
  test.setTimeout(240_000);
  const f = makeFixture(6);
  f.db.close();
  const db = openDatabase(f.dataDir);
  const svc = createReaderService({ db, dataDir: f.dataDir });
  const study = svc['reader.createStudy'](procedures['reader.createStudy'].input.parse({ design: designOf(f, {}, true) })) as { id: number };
  for (const [r, reader] of ['R1', 'R2', 'R3'].entries()) {
    const { session } = svc['reader.signIn']({ studyId: study.id, reader }) as { session: string };
    for (const it of listItems(db, findReader(db, study.id, reader)!.id)) {
      const score = it.armIdx === 3 ? 5 : 1 + ((it.caseIdx + it.armIdx + (r === 2 ? 1 : 0)) % 5);
      svc['reader.answer']({ session, position: it.position, question: 'score', value: score, activeMs: 1500 + 10 * it.position });
    }
  }
  db.close();

  const served = await startServe(['--no-demo'], f.dataDir);
  try {
    const consoleErrors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    await page.goto(served.loginUrl);
    await page.evaluate((id) => (window.location.hash = `#/studies/${id}/analysis`), study.id);
    await expect(page.getByTestId('analysis-page')).toBeVisible();
    await expect(page.getByTestId('analysis-summary')).toContainText('6 cases × 4 arms, 3 readers, 72 answers');
    // 4 arms x (all + 3 readers)
    await expect(page.getByTestId('scores-table').locator('tbody tr')).toHaveCount(16);
    await expect(page.getByTestId('agreement-table').locator('tbody tr')).toHaveCount(5);
    await expect(page.getByTestId('kappa-table').locator('tbody tr')).toHaveCount(3);
    await expect(page.getByTestId('deltas-table').locator('tbody tr')).toHaveCount(6);
    for (const metric of ['cnr', 'miou']) {
      const scatter = page.getByTestId(`scatter-${metric}`);
      await expect(scatter).toHaveAttribute('data-points', '72');
      await expect(scatter.locator('canvas').first()).toBeVisible();
      const box = await scatter.locator('canvas').first().boundingBox();
      expect(box!.width).toBeGreaterThan(200);
      await expect(page.getByTestId(`rho-${metric}`).locator('tbody tr')).toHaveCount(5);
    }
    await page.getByTestId('scatter-cnr').scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(screens, 'reader-analysis.png') });
    expect(consoleErrors.filter((e) => /Content Security Policy|unsafe-eval/i.test(e))).toEqual([]);
  } finally {
    served.process.kill('SIGTERM');
  }
});
