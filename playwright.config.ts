import { defineConfig } from '@playwright/test';

// Browser mode always runs, in the system's Chromium (Playwright's own browser download is not possible
// offline). The Electron project runs where an Electron binary exists and reports itself skipped otherwise.
export const CHROMIUM = process.env.SIGHTLINE_CHROMIUM ?? '/usr/lib/chromium/chromium';

export default defineConfig({
  testDir: 'test/e2e',
  outputDir: 'test-results/e2e',
  timeout: 120_000,
  expect: { timeout: 15_000 },
  workers: 1,
  reporter: [['list']],
  use: { trace: 'off', screenshot: 'only-on-failure' },
  projects: [
    {
      name: 'browser',
      testMatch: /browser\..*\.spec\.ts/,
      use: {
        browserName: 'chromium',
        viewport: { width: 1440, height: 900 },
        launchOptions: {
          executablePath: CHROMIUM,
          args: [
            '--no-sandbox',
            '--use-angle=swiftshader',
            '--enable-unsafe-swiftshader',
            '--ignore-gpu-blocklist',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
            '--no-first-run',
            '--disable-quic',
          ],
        },
      },
    },
    { name: 'electron', testMatch: /electron\..*\.spec\.ts/ },
  ],
});
