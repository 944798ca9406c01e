// The desktop app under Playwright's Electron driver. Needs the Electron binary (`npm run electron:fetch`);
// where there is none (offline CI, locked-down networks) every test here reports itself as skipped, loudly.
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { _electron as electron, expect, test } from '@playwright/test';

const repoRoot = path.resolve(__dirname, '../..');

function electronBinary(): string | null {
  try {
    // the electron package's main export is the binary's path (a require: it is CommonJS and has no ESM form)
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const binary = require('electron') as unknown;
    return typeof binary === 'string' && existsSync(binary) ? binary : null;
  } catch {
    return null;
  }
}

const binary = electronBinary();
const noDisplay = process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY;
const skipReason = !binary
  ? 'SKIPPED: no Electron binary on this machine (run `npm run electron:fetch` where the network allows)'
  : noDisplay
    ? 'SKIPPED: no display (run under xvfb-run)'
    : null;
if (skipReason) console.log(`[electron e2e] ${skipReason}`);

test.describe('Electron app', () => {
  test.skip(!!skipReason, skipReason ?? '');

  test('opens a locked-down window on the app origin with the contract bridge', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'sightline-electron-'));
    const app = await electron.launch({ executablePath: binary!, args: [repoRoot], env: { ...process.env, SIGHTLINE_DATA_DIR: dataDir } });
    const window = await app.firstWindow();
    await expect(window).toHaveURL(/^app:\/\/sightline\//);
    const surface = await window.evaluate(() => ({
      hasRequire: typeof (globalThis as { require?: unknown }).require,
      hasProcess: typeof (globalThis as { process?: unknown }).process,
      namespaces: Object.keys((window as unknown as { sightline: object }).sightline).sort(),
    }));
    expect(surface.hasRequire).toBe('undefined');
    expect(surface.hasProcess).toBe('undefined');
    expect(surface.namespaces).toContain('studies');
    await window.screenshot({ path: path.join(repoRoot, 'test-results/screens/electron-main.png') });
    await app.close();
  });
});
