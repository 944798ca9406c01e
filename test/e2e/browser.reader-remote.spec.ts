// A remote reader in browser mode (issue 11, "Several readers, several machines"): the coordinator makes a code with
// the real CLI (`sightline study credentials`), starts `sightline serve --readers --host 127.0.0.1`; a browser without
// the session token gets the login page, signs in with the code, lands in the reading view (image through
// reader.pixels, map through reader.stimulus) and reads 2 cases with the keyboard; the same session is refused a
// coordinator's procedure; the long CSV export (real CLI) holds exactly the answers given. The Share panel writes a
// package and an answers file by path and, with no path, for download through the browser; both are given back by
// upload ("Choose file…"): imported, merged.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { demoImageIds, makeStudy } from './reader-steps';
import { expect, repoRoot, rpc, startServe, test } from './serve-fixture';

const cli = (...args: string[]) => spawnSync(process.execPath, [path.join(repoRoot, 'bin/sightline.cjs'), ...args], { encoding: 'utf8', timeout: 120_000 });

const makeRemoteStudy = async (dataDir: string) =>
  makeStudy(dataDir, await demoImageIds(dataDir, 2), { name: 'Remote pilot', seed: 'remote', phrasePrefix: 'remote finding', readers: ['R1', 'R2'] });

test('a reader signs in with a code on serve --readers and reads 2 cases', async ({ page }) => {
  test.setTimeout(300_000);
  let served = await startServe();
  const studyId = await makeRemoteStudy(served.dataDir);
  served.process.kill('SIGTERM');
  await new Promise((r) => served.process.once('exit', r));
  const made = cli('study', 'credentials', '--study', String(studyId), '--reader', 'R2', '--data-dir', served.dataDir);
  expect(made.status, made.stderr).toBe(0);
  const code = /sign-in code for R2: (\S+)/.exec(made.stdout)![1];

  served = await startServe(['--no-demo', '--readers', '--host', '127.0.0.1'], served.dataDir);
  const given = new Map<number, number>();
  // the reading page alone: nothing of the workstation's shell calls what the session may not
  const refused: string[] = [];
  page.on('response', (r) => {
    const { pathname } = new URL(r.url());
    if (r.status() === 401 && (pathname.startsWith('/rpc/') || pathname === '/events') && pathname !== '/rpc/reader.listStudies') refused.push(pathname);
  });
  try {
    await page.goto(served.url);
    await expect(page.getByTestId('reader-code-form')).toBeVisible();
    await page.getByTestId('reader-code').fill('1-WRON-GCOD-EXXX');
    await page.getByTestId('reader-code-submit').click();
    await expect(page.getByTestId('reader-code-error')).toContainText('not valid');
    await page.getByTestId('reader-code').fill(code.toLowerCase());
    await page.getByTestId('reader-code-submit').click();

    const canvas = page.getByTestId('reader-canvas');
    for (let n = 0; n < 4; n++) {
      await expect(page.getByTestId('reader-progress')).toHaveText(`${n + 1} / 4`);
      await expect(canvas).toHaveAttribute('data-heatmap-state', 'shown');
      await expect(canvas).toHaveAttribute('data-state', 'ready');
      const position = Number(await canvas.getAttribute('data-position'));
      const score = (n % 5) + 2;
      await page.keyboard.press(String(score));
      await expect(page.getByTestId('reader-item-state')).toHaveAttribute('data-complete', 'true');
      given.set(position, score);
      await page.keyboard.press('Enter');
    }
    await expect(page.getByTestId('reader-done')).toBeVisible();
    // the page's token is R2's reading session: a coordinator's procedure is refused
    const status = await page.evaluate(async () => {
      const token = sessionStorage.getItem('sightline.token');
      const r = await fetch('/rpc/reader.listStudies', { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: '{}' });
      return r.status;
    });
    expect(status).toBe(401);
    expect(refused).toEqual([]);
    await expect(page.getByTestId('dataset-filter')).toHaveCount(0);
    // #/ is the coordinator's: the router keeps the reader on the reading view
    await page.evaluate(() => (window.location.hash = '#/evaluation'));
    await expect(page).toHaveURL(/#\/read$/);
    // signing out shows the sign-in page again (not the name form), and the same code signs in again
    await page.getByTestId('reader-signout').click();
    await expect(page.getByTestId('reader-code-form')).toBeVisible();
    await page.getByTestId('reader-code').fill(code);
    await page.getByTestId('reader-code-submit').click();
    await expect(page.getByTestId('reader-done')).toBeVisible();
    expect(refused).toEqual([]);
  } finally {
    served.process.kill('SIGTERM');
    await new Promise((r) => served.process.once('exit', r));
  }
  const out = path.join(served.dataDir, 'answers.csv');
  const exported = cli('study', 'export', '--study', String(studyId), '--format', 'long', '--out', out, '--data-dir', served.dataDir);
  expect(exported.status, exported.stderr).toBe(0);
  const rows = fs.readFileSync(out, 'utf8').trimEnd().split('\n').slice(1).map((l) => l.split(','));
  const scores = rows.filter((f) => f[0] === 'R2' && f[6] === 'score').map((f) => [Number(f[1]) - 1, Number(f[7])] as const);
  expect(new Map(scores)).toEqual(given);
});

test("the studies list's Share panel: a code, the package, a reading copy, its answers merged back, by path and through the browser", async ({ page }) => {
  test.setTimeout(300_000);
  const served = await startServe();
  // what the browser downloads, and then uploads (a folder of the test's, not the server's)
  const browserFiles = fs.mkdtempSync(path.join(os.tmpdir(), 'sightline-browser-files-'));
  try {
    const studyId = await makeRemoteStudy(served.dataDir);
    await page.goto(served.loginUrl);
    await page.evaluate(() => (window.location.hash = '#/studies'));
    await page.getByTestId(`study-share-${studyId}`).click();
    const panel = page.getByTestId(`study-remote-${studyId}`);
    await panel.getByTestId('remote-new-code').click();
    await expect(panel.getByTestId('remote-message')).toContainText(/Sign-in code for R1: \d+-[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}/);

    // no path: the package goes into the app's exports folder and comes out as the browser's download
    await expect(panel.getByTestId('remote-package-path')).toHaveValue('');
    await panel.getByTestId('remote-package').click();
    await expect(panel.getByTestId('remote-message')).toContainText(/Wrote .*exports.*Remote pilot\.slpkg: 7 members, .* content hash [0-9a-f]{64}/, { timeout: 60_000 });
    const [packageDownload] = await Promise.all([page.waitForEvent('download'), panel.getByTestId('remote-download').click()]);
    expect(packageDownload.suggestedFilename()).toBe('Remote pilot.slpkg');
    const downloadedPackage = path.join(browserFiles, 'Remote pilot.slpkg');
    await packageDownload.saveAs(downloadedPackage);
    await expect(panel.getByTestId('remote-message')).toHaveText('Downloaded Remote pilot.slpkg');
    expect(fs.readFileSync(downloadedPackage).subarray(0, 8).toString('latin1')).toBe('SLPKG01\n');
    // ... and is imported by upload ("Choose file…"), a progress bar while it travels
    await page.getByTestId('studies-package-upload').setInputFiles(downloadedPackage);
    await expect(page.getByTestId('studies-imported')).toContainText(/^Imported: reading copy #(\d+)/);
    const copyId = Number(/#(\d+)/.exec((await page.getByTestId('studies-imported').textContent())!)![1]);
    await expect(page.getByTestId(`study-copy-${copyId}`)).toBeVisible();

    // a path on the workstation still works: the same content, so the copy made from the upload
    const pkg = path.join(served.dataDir, 'ui.slpkg');
    await panel.getByTestId('remote-package-path').fill(pkg);
    await panel.getByTestId('remote-package').click();
    await expect(panel.getByTestId('remote-message')).toContainText(/Wrote .*ui\.slpkg: 7 members, .* content hash [0-9a-f]{64}/, { timeout: 60_000 });
    await expect(panel.getByTestId('remote-download')).toHaveCount(0);
    await page.getByTestId('studies-package-file').fill(pkg);
    await page.getByTestId('studies-import-package').click();
    await expect(page.getByTestId('studies-imported')).toContainText(`Already imported: reading copy #${copyId}`);

    await page.getByTestId(`study-share-${copyId}`).click();
    const copyPanel = page.getByTestId(`study-remote-${copyId}`);
    const answers = path.join(served.dataDir, 'ui-answers.json');
    await copyPanel.getByTestId('remote-answers-path').fill(answers);
    await copyPanel.getByTestId('remote-export-answers').click();
    await expect(copyPanel.getByTestId('remote-message')).toContainText(/Wrote 0 answers of R1 to .*ui-answers\.json/);
    await page.getByTestId(`study-share-${studyId}`).click();
    await panel.getByTestId('remote-merge-paths').fill(answers);
    await panel.getByTestId('remote-merge').click();
    await expect(panel.getByTestId('remote-message')).toHaveText('1 of 1 file(s) applied');
    await expect(panel.getByTestId('remote-merge-results')).toContainText('applied: 0 merged, 0 duplicate, 0 conflicting');

    // R1 answers one item on the reading copy; the answers file is downloaded there and merged here by upload
    const { session } = (await rpc(served, 'reader.signIn', { studyId: copyId, reader: 'R1' })) as { session: string };
    await rpc(served, 'reader.answer', { session, position: 0, question: 'score', value: 4, activeMs: 1200 });
    await page.getByTestId(`study-share-${copyId}`).click();
    await copyPanel.getByTestId('remote-answers-path').fill('');
    await copyPanel.getByTestId('remote-export-answers').click();
    await expect(copyPanel.getByTestId('remote-message')).toContainText(/Wrote 1 answers of R1 to .*exports.*Remote pilot R1 answers\.json/);
    const [answersDownload] = await Promise.all([page.waitForEvent('download'), copyPanel.getByTestId('remote-download').click()]);
    expect(answersDownload.suggestedFilename()).toBe('Remote pilot R1 answers.json');
    const downloadedAnswers = path.join(browserFiles, 'Remote pilot R1 answers.json');
    await answersDownload.saveAs(downloadedAnswers);
    await page.getByTestId(`study-share-${studyId}`).click();
    await panel.getByTestId('remote-merge-upload').setInputFiles(downloadedAnswers);
    await expect(panel.getByTestId('remote-merge-results')).toContainText('Remote pilot R1 answers.json (R1)');
    await expect(panel.getByTestId('remote-merge-results')).toContainText('applied: 1 merged, 0 duplicate, 0 conflicting');
    await expect(panel.getByTestId('remote-message')).toHaveText('1 of 1 file(s) applied');
    await expect(panel.getByTestId('remote-error')).toHaveCount(0);
  } finally {
    served.process.kill('SIGTERM');
    await new Promise((r) => served.process.once('exit', r));
    fs.rmSync(browserFiles, { recursive: true, force: true });
  }
});
