// A reader study's analysis page in browser mode: a study with answers (fixture rows, maps stored through the
// grounding domain's store, three readers answering through the reader procedures) served by the real `sightline
// serve`; #/studies/1/analysis shows the tables and draws the Figure 6 scatter plots with ECharts on a canvas, with
// no Content-Security-Policy violation. The serve process computes no map inline (SIGHTLINE_TEST_ANALYSIS_INLINE_PIXELS=0),
// so the page's CNR / mIoU come from the reader-metrics job it starts through reader.analysisPrepare.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { procedures } from '../../common/contract';
import { defaultQuestions } from '../../common/contract/reader';
import { openDatabase } from '../../main/db';
import { findReader, listItems } from '../../main/db/reader-repo';
import { createReaderService } from '../../main/reader/service';
import { designOf, makeFixture } from '../unit/reader/fixture';
import { expect, repoRoot, rpc, startServe, test } from './serve-fixture';

const screens = path.join(repoRoot, 'test-results', 'screens');
mkdirSync(screens, { recursive: true });

/** The fixture's study with three readers' answers; `scale` multiplies the images, boxes and map geometries (60: CXR
 * size, ~1 s of scorePair per map) and gives every case a box of its own, so that each case x arm map is distinct. */
function answeredStudy(scale = 1, confidence = false) {
  const f = makeFixture(6);
  if (scale !== 1) {
    f.db.prepare('UPDATE images SET rows = rows * ?, columns = columns * ?').run(scale, scale);
    f.db.prepare('UPDATE boxes SET x = (x + id) * ?, y = y * ?, w = (w - id) * ?, h = h * ?').run(scale, scale, scale, scale);
    for (const h of f.db.prepare('SELECT id, geometry FROM heatmaps').all() as { id: number; geometry: string }[]) {
      const g = JSON.parse(h.geometry) as Record<string, number>;
      f.db.prepare('UPDATE heatmaps SET geometry = ? WHERE id = ?').run(JSON.stringify(Object.fromEntries(Object.entries(g).map(([k, v]) => [k, v * scale]))), h.id);
    }
  }
  f.db.close();
  const db = openDatabase(f.dataDir);
  const svc = createReaderService({ db, dataDir: f.dataDir });
  // `confidence`: an optional numeric question too, answered by R1 and R2 (the analysis page's question selector)
  const questions = confidence ? [...defaultQuestions(), { key: 'confidence', prompt: 'Confidence', required: false, kind: 'numeric', min: 0, max: 10 }] : undefined;
  const study = svc['reader.createStudy'](procedures['reader.createStudy'].input.parse({ design: designOf(f, questions ? { questions } : {}, true) })) as { id: number };
  for (const [r, reader] of ['R1', 'R2', 'R3'].entries()) {
    const { session } = svc['reader.signIn']({ studyId: study.id, reader }) as { session: string };
    for (const it of listItems(db, findReader(db, study.id, reader)!.id)) {
      const score = it.armIdx === 3 ? 5 : 1 + ((it.caseIdx + it.armIdx + (r === 2 ? 1 : 0)) % 5);
      svc['reader.answer']({ session, position: it.position, question: 'score', value: score, activeMs: 1500 + 10 * it.position });
      if (confidence && r < 2) svc['reader.answer']({ session, position: it.position, question: 'confidence', value: (it.caseIdx * 3 + it.armIdx) % 11, activeMs: 200 });
    }
  }
  db.close();
  return { f, study };
}

test('reader study analysis: tables, agreement, Figure 6 scatter plots under the CSP', async ({ page }) => {
  test.setTimeout(240_000);
  const { f, study } = answeredStudy(1, true);
  // no map computed inline: the page must go through reader.analysisPrepare and the reader-metrics job first
  const served = await startServe(['--no-demo'], f.dataDir, { SIGHTLINE_TEST_ANALYSIS_INLINE_PIXELS: '0' });
  try {
    const prepared: string[] = [];
    page.on('request', (r) => {
      if (new URL(r.url()).pathname.endsWith('/rpc/reader.analysisPrepare')) prepared.push(r.url());
    });
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
    // the metrics came from the job (the fixture's distinct maps, tiny here), which ended: its progress block is gone
    expect(prepared.length).toBeGreaterThan(0);
    const jobs = (await rpc(served, 'jobs.list', {})) as { kind: string; state: string; done: number; total: number | null }[];
    const metricJobs = jobs.filter((j) => j.kind === 'reader-metrics');
    expect(metricJobs).toEqual([expect.objectContaining({ state: 'done' })]);
    expect(metricJobs[0].total).toBeGreaterThan(0);
    expect(metricJobs[0].done).toBe(metricJobs[0].total);
    await expect(page.getByTestId('analysis-metrics-job')).toHaveCount(0);
    // the other analysable question: R1 and R2 answered it
    const pick = page.getByTestId('analysis-question');
    await expect(pick.locator('option')).toHaveText(['score · How well does the heatmap localise the phrase?', 'confidence · Confidence']);
    await pick.selectOption('confidence');
    await expect(page.getByTestId('analysis-summary')).toContainText('(numeric 0–10), 6 cases × 4 arms, 3 readers, 48 answers');
    await expect(page.getByTestId('scatter-cnr')).toHaveAttribute('data-points', '48');
    await pick.selectOption('score');
    await expect(page.getByTestId('analysis-summary')).toContainText('3 readers, 72 answers');
    await page.getByTestId('scatter-cnr').scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(screens, 'reader-analysis.png') });
    expect(consoleErrors.filter((e) => /Content Security Policy|unsafe-eval/i.test(e))).toEqual([]);
  } finally {
    served.process.kill('SIGTERM');
  }
});


test('reader study analysis of full-size maps: the metrics job shows progress, cancels and resumes', async ({ page }) => {
  test.setTimeout(240_000);
  // 24 distinct maps at 2400 x 3000: above what reader.analysis computes inline, so the page runs the job
  const { f, study } = answeredStudy(60);
  const served = await startServe(['--no-demo'], f.dataDir);
  try {
    await page.goto(served.loginUrl);
    await page.evaluate((id) => (window.location.hash = `#/studies/${id}/analysis`), study.id);
    const block = page.getByTestId('analysis-metrics-job');
    await expect(block).toContainText('Computing CNR and mIoU of 24 maps', { timeout: 30_000 });
    await expect(page.getByTestId('analysis-metrics-count')).toContainText('/ 24');
    await page.getByTestId('analysis-metrics-cancel').click();
    await expect(page.getByTestId('analysis-metrics-state')).toContainText('cancelled');
    const stoppedAt = Number((await page.getByTestId('analysis-metrics-count').innerText()).split('/')[0]);
    expect(stoppedAt).toBeLessThan(24);
    await expect(page.getByTestId('analysis-summary')).toHaveCount(0);
    await page.screenshot({ path: path.join(screens, 'reader-analysis-metrics-cancelled.png') });
    await page.getByTestId('analysis-metrics-resume').click();
    await expect(page.getByTestId('analysis-summary')).toContainText('6 cases × 4 arms, 3 readers, 72 answers', { timeout: 180_000 });
    await expect(block).toHaveCount(0);
    const jobs = (await rpc(served, 'jobs.list', {})) as { kind: string; state: string; done: number; total: number | null; message: string }[];
    // one job, resumed under its id; the maps computed before the cancel came from the cache, not computed again
    const metricJobs = jobs.filter((j) => j.kind === 'reader-metrics');
    expect(metricJobs).toEqual([expect.objectContaining({ state: 'done', done: 24, total: 24 })]);
    const [, computed, cached] = /computed CNR and mIoU of (\d+) maps? \((\d+) were cached\)/.exec(metricJobs[0].message)!.map(Number);
    expect(cached).toBeGreaterThanOrEqual(stoppedAt);
    expect(computed + cached).toBe(24);
  } finally {
    served.process.kill('SIGTERM');
  }
});
