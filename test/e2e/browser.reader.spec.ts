// A reader study end to end in browser mode: the real `sightline serve` on a data directory with the demo studies,
// a small study (4 cases x 2 arms, maps stored through the grounding domain's store), read with the keyboard only;
// the server is killed with SIGKILL mid-study (after the answer at KILL_AFTER was committed); it restarts on the
// same data directory; the reader signs in again, is at the next unanswered item, and finishes; the long CSV export
// (the real CLI) holds exactly the answers given.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { Page } from '@playwright/test';
import { demoImageIds, makeStudy } from './reader-steps';
import { expect, repoRoot, startServe, test } from './serve-fixture';

const KILL_AFTERS = (process.env.SIGHTLINE_READER_KILL_AFTER ?? '2,5').split(',').map(Number);

async function signIn(page: Page, loginUrl: string): Promise<void> {
  await page.goto(loginUrl);
  await page.evaluate(() => (window.location.hash = '#/read'));
  await expect(page.getByTestId('reader-signin')).toBeVisible();
  await page.getByTestId('reader-name').fill('R1');
  await page.getByTestId('reader-signin-submit').click();
}

/** Answers the item on screen with the keyboard: its score, then Enter. Returns the position answered. */
async function readOne(page: Page, score: number, expectProgress: string): Promise<number> {
  const canvas = page.getByTestId('reader-canvas');
  await expect(page.getByTestId('reader-progress')).toHaveText(expectProgress);
  await expect(canvas).toHaveAttribute('data-heatmap-state', 'shown');
  const position = Number(await canvas.getAttribute('data-position'));
  await page.keyboard.press(String(score));
  await expect(page.locator(`[data-testid="reader-choice"][data-value="${score}"]`)).toHaveClass(/chosen/);
  await expect(page.getByTestId('reader-item-state')).toHaveAttribute('data-complete', 'true');
  return position;
}

for (const killAfter of KILL_AFTERS) {
  test(`read a study with the keyboard, SIGKILL after item ${killAfter + 1}, resume, finish, export`, async ({ page }) => {
    test.setTimeout(300_000);
    let served = await startServe();
    const imageIds = await demoImageIds(served.dataDir, 4);
    const studyId = makeStudy(served.dataDir, imageIds, { name: 'E2E pilot', seed: 'e2e', phrasePrefix: 'e2e finding', readers: ['R1'] });
    const total = 8;
    const given = new Map<number, number>();
    const scoreFor = (n: number) => (n % 5) + 1;

    await signIn(page, served.loginUrl);
    // `h` hides and shows the overlay; `f` flags (a flag is not an answer)
    await expect(page.getByTestId('reader-canvas')).toHaveAttribute('data-heatmap-state', 'shown');
    await page.keyboard.press('h');
    await expect(page.getByTestId('reader-canvas')).toHaveAttribute('data-heatmap-state', 'hidden');
    await page.keyboard.press('h');
    await page.keyboard.press('f');
    await expect(page.getByTestId('reader-flagged')).toBeVisible();
    for (let n = 0; n <= killAfter; n++) {
      const p = await readOne(page, scoreFor(n), `${n + 1} / ${total}`);
      given.set(p, scoreFor(n));
      if (n < killAfter) await page.keyboard.press('Enter');
    }
    // Backspace goes back; a change is allowed and replaces the answer
    if (killAfter >= 1) {
      await page.keyboard.press('Backspace');
      await expect(page.getByTestId('reader-canvas')).toHaveAttribute('data-position', String(killAfter - 1));
      await page.keyboard.press('1');
      await expect(page.locator('[data-testid="reader-choice"][data-value="1"]')).toHaveClass(/chosen/);
      given.set(killAfter - 1, 1);
    }

    served.process.kill('SIGKILL');
    await new Promise((r) => served.process.once('exit', r));
    served = await startServe(['--no-demo'], served.dataDir);
    await signIn(page, served.loginUrl);
    await expect(page.getByTestId('reader-canvas')).toHaveAttribute('data-position', String(killAfter + 1));
    for (let n = killAfter + 1; n < total; n++) {
      const p = await readOne(page, scoreFor(n), `${n + 1} / ${total}`);
      expect(p).toBe(n);
      given.set(p, scoreFor(n));
      await page.keyboard.press('Enter');
    }
    await expect(page.getByTestId('reader-done')).toBeVisible();
    served.process.kill('SIGTERM');
    await new Promise((r) => served.process.once('exit', r));

    const out = path.join(served.dataDir, 'answers.csv');
    const cli = spawnSync(process.execPath, [path.join(repoRoot, 'bin/sightline.cjs'), 'study', 'export', '--study', String(studyId), '--format', 'long', '--out', out, '--data-dir', served.dataDir], { encoding: 'utf8', timeout: 120_000 });
    expect(cli.status, cli.stderr).toBe(0);
    const lines = (await import('node:fs')).readFileSync(out, 'utf8').trimEnd().split('\n').slice(1);
    const scores = lines.map((l) => l.split(',')).filter((f) => f[6] === 'score').map((f) => [Number(f[1]) - 1, Number(f[7])]);
    expect(new Map(scores.map(([p, v]) => [p, v]))).toEqual(given);
    expect(lines.some((l) => l.split(',')[6] === 'flag')).toBe(true);
  });
}
