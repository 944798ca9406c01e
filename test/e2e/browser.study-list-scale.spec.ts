// The study browser over 100,000 images (50,000 studies): the DOM stays small, a jump to the middle and a
// report search show the right rows. Frame times of a scripted scroll are printed, not asserted.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, repoRoot, startServe, test } from './serve-fixture';

test('the study list stays small and correct at 100,000 images', async ({ page }) => {
  test.setTimeout(240_000);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'sightline-e2e-100k-'));
  execFileSync(process.execPath, ['--require', 'tsx/cjs', path.join(repoRoot, 'bench/fill-studies.ts'), '--data-dir', dataDir, '--images', '100000'], {
    cwd: repoRoot,
    stdio: 'inherit',
  });
  const served = await startServe(['--no-demo'], dataDir);
  try {
    await page.goto(served.loginUrl);
    await expect(page.getByTestId('study-count')).toHaveText('50,000');
    const list = page.getByTestId('study-list');
    const rows = page.getByTestId('study-row');
    await expect(rows.first()).toContainText('50000000');

    // Jump to the middle: only the rows around the viewport exist, and they show the studies of that position.
    await list.evaluate((el) => {
      el.scrollTop = el.scrollHeight / 2;
      el.dispatchEvent(new Event('scroll'));
    });
    const middle = rows.filter({ hasText: /5002\d{4}/ }).first();
    await expect(middle).toBeVisible({ timeout: 20_000 });
    const indices = await rows.evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-index'))));
    expect(indices.length).toBeLessThan(120);
    expect(Math.min(...indices)).toBeGreaterThan(20_000);
    expect(Math.max(...indices)).toBeLessThan(30_000);

    // A scripted fling: the frame times say how smooth it is (printed for the record).
    const frames = await list.evaluate(async (el) => {
      const times: number[] = [];
      let last = performance.now();
      for (let i = 0; i < 120; i++) {
        el.scrollTop += 400;
        await new Promise(requestAnimationFrame);
        const now = performance.now();
        times.push(now - last);
        last = now;
      }
      times.sort((a, b) => a - b);
      return { median: times[Math.floor(times.length / 2)], p95: times[Math.floor(times.length * 0.95)] };
    });
    console.log(`[study list 100k] scripted scroll frame time: median ${frames.median.toFixed(1)} ms, p95 ${frames.p95.toFixed(1)} ms (headless SwiftShader)`);
    expect(await rows.count()).toBeLessThan(120);

    // Report-text search over all 50,000 reports.
    await page.getByTestId('search-input').fill('"case 4242"');
    await expect(page.getByTestId('study-count')).toHaveText('1 matching');
    await expect(rows).toHaveCount(1);
    await page.screenshot({ path: path.join(repoRoot, 'test-results', 'screens', 'study-list-100k.png') });
  } finally {
    served.process.kill('SIGTERM');
  }
});
