// Grounding in browser mode, end to end: a real `sightline serve` (the demo model through onnxruntime-node on the
// CPU), real Chromium (WebGL2 through SwiftShader): click a finding of the report, the heatmap is computed as a
// job and drawn over the image (the server answering other requests meanwhile); `h` hides it, the colormap changes
// it, `b` toggles the ground-truth boxes. With the attention cut into batches (the test hook
// SIGHTLINE_TEST_ATTENTION_CHUNKS: the demo's job is otherwise one batch), a provisional map comes first, marked.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { decode, type DecodedPng } from 'fast-png';
import type { Locator, Page } from '@playwright/test';
import { fitTransform } from '../../renderer/src/lib/view-transform';
import { expect, repoRoot, startServe, test } from './serve-fixture';
import { importDemo } from './demo-steps';

const screens = path.join(repoRoot, 'test-results', 'screens');
mkdirSync(screens, { recursive: true });

test('ground a finding of the report: heatmap over the image, h hides it, colormaps, boxes, the list', async ({ served, page }) => {
  test.setTimeout(300_000);
  const consoleErrors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  const outbound: string[] = [];
  page.on('request', (req) => {
    if (!req.url().startsWith(served.url)) outbound.push(req.url());
  });

  await page.goto(served.loginUrl);
  await importDemo(page, async (p) => {
    // the demo's ground truth: 19 MS-CXR pairs and 3 VinDr-CXR findings, 22 + 7 boxes
    await expect(p.getByTestId('import-dataset-phrases')).toHaveText('22');
    await expect(p.getByTestId('import-dataset-boxes')).toHaveText('29');
  });

  // the demo study whose report finds "Extensive right lower lung atelectasis" (the demo's MS-CXR CSV has its box,
  // 133,288 108x83, stored by the import as a dataset phrase of that FINDINGS sentence)
  await page.getByTestId('search-input').fill('atelectasis');
  const study = page.getByTestId('study-row').filter({ hasText: 'Extensive right lower lung atelectasis.' });
  await expect(study).toHaveCount(1);
  await study.click();
  const canvas = page.getByTestId('viewer-canvas');
  await expect(canvas).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });
  await expect(canvas).toHaveAttribute('data-heatmap-state', 'none');
  await expect(page.getByTestId('grounding-empty')).toBeVisible();

  // headers and the synthetic-data notice are not findings: clicking them chooses nothing
  const notice = page.getByTestId('sentence').first();
  await expect(notice).toHaveText('Sightline synthetic world phantom, not a patient (no patient data).');
  await expect(notice).toHaveAttribute('data-finding', 'false');
  await notice.click();
  await expect(page.getByTestId('active-phrase-empty')).toBeVisible();
  await expect(page.getByTestId('grounding-item')).toHaveCount(0);

  await settle(canvas);
  const before = decode(await canvas.screenshot());

  // click the finding: it becomes the active phrase and is grounded on the image; other requests are answered
  // meanwhile (app.info from the page, between two jobs.list that both show the grounding job running)
  await startRpcSampler(page, served.token);
  const finding = page.locator('[data-testid="sentence"][data-finding="true"]', { hasText: 'Extensive right lower lung atelectasis.' }).first();
  await finding.click();
  await expect(page.getByTestId('active-phrase')).toHaveText('Extensive right lower lung atelectasis.');
  const item = page.getByTestId('grounding-item').first();
  await expect(item).toBeVisible();
  await expect(canvas).toHaveAttribute('data-heatmap-state', /computing|shown/);
  await expect(canvas).toHaveAttribute('data-heatmap-state', 'shown', { timeout: 240_000 });
  await expect(item).toHaveAttribute('data-state', 'done');
  const samples = await stopRpcSampler(page);
  const during = samples.filter((x) => x.during);
  expect(samples.every((x) => x.ok), 'every app.info call answered').toBe(true);
  expect(during.length, 'app.info calls made while the grounding job ran').toBeGreaterThan(0);
  const ms = during.map((x) => x.ms).sort((a, b) => a - b);
  console.log(`[e2e grounding] app.info while grounding: ${ms.length} calls, median ${ms[ms.length >> 1].toFixed(1)} ms, max ${ms[ms.length - 1].toFixed(1)} ms`);
  // requested with the picker's model and variant (the demo bundle's first variant by default), which the item shows
  await expect(item.getByTestId('grounding-item-model')).toHaveText('sightline-demo-ldm · frozen');
  const heatmapId = await canvas.getAttribute('data-heatmap-id');
  expect(Number(heatmapId)).toBeGreaterThan(0);
  await expect(item).toHaveAttribute('data-heatmap-id', heatmapId!);
  await expect(page.getByTestId('heatmap-colorbar')).toHaveAttribute('data-colormap', 'inferno');

  // its ground-truth box (MS-CXR) is drawn on top; `b` hides it
  await expect(page.getByTestId('boxes-layer')).toHaveAttribute('data-box-count', '1');
  await expect(page.getByTestId('boxes-layer')).toBeVisible();
  await page.screenshot({ path: path.join(screens, 'grounding.png') });
  await page.keyboard.press('b');
  await expect(page.getByTestId('boxes-toggle')).toHaveAttribute('aria-pressed', 'false');
  await expect(page.getByTestId('boxes-layer')).toBeHidden();

  // the heatmap changed the picture inside the image (the lungs), and only there where it has values
  await settle(canvas);
  const shown = decode(await canvas.screenshot());
  const region = lungRegion(shown);
  expect(changed(before, shown, region)).toBeGreaterThan(0.01 * area(region));
  // the 604 x 551 image: the map covers the centred 551 x 551 square (left 26); the strips beside it have no values
  await expect(page.getByText('604×551 · 8-bit uint8')).toBeVisible();
  const fit = fitTransform(604, 551, shown.width, shown.height, 8);
  const strip = (x0: number, x1: number): Region => ({ x0: Math.ceil(fit.tx + x0 * fit.scale) + 1, x1: Math.floor(fit.tx + x1 * fit.scale) - 1, y0: Math.round(shown.height * 0.3), y1: Math.round(shown.height * 0.7) });
  // with the variant's Otsu threshold off the whole map is drawn: exactly the centred square, not the strips
  await expect(page.getByTestId('heatmap-otsu')).toHaveAttribute('aria-pressed', 'true');
  await page.getByTestId('heatmap-otsu').click();
  await settle(canvas);
  const whole = decode(await canvas.screenshot());
  for (const outside of [strip(0, 26), strip(577, 604)]) expect(changed(before, whole, outside)).toBeLessThan(0.005 * area(outside));
  for (const inside of [strip(26, 52), strip(551, 577)]) expect(changed(before, whole, inside)).toBeGreaterThan(0.2 * area(inside));
  expect(changed(before, whole, region)).toBeGreaterThan(changed(before, shown, region)); // Otsu had hidden part of it
  await page.getByTestId('heatmap-otsu').click();
  await settle(canvas);

  // `h` hides it: the picture is the image alone again
  await page.keyboard.press('h');
  await expect(canvas).toHaveAttribute('data-heatmap-state', 'hidden');
  await expect(page.getByTestId('heatmap-colorbar')).toHaveCount(0);
  await settle(canvas);
  const hidden = decode(await canvas.screenshot());
  expect(changed(before, hidden, region)).toBeLessThan(0.001 * area(region));

  // `h` again, then another colormap: the heatmap's colours change
  await page.keyboard.press('h');
  await expect(canvas).toHaveAttribute('data-heatmap-state', 'shown');
  await page.getByTestId('heatmap-colormap-viridis').click();
  await expect(page.getByTestId('heatmap-colormap')).toHaveAttribute('data-colormap', 'viridis');
  await expect(page.getByTestId('heatmap-colorbar')).toHaveAttribute('data-colormap', 'viridis');
  await settle(canvas);
  const viridis = decode(await canvas.screenshot());
  expect(changed(shown, viridis, region)).toBeGreaterThan(0.005 * area(region));

  // isolines of the map, as SVG over it
  await page.getByTestId('heatmap-isolines').click();
  await expect(page.getByTestId('isolines-layer')).toHaveAttribute('data-heatmap-id', heatmapId!);
  expect(Number(await page.getByTestId('isolines-layer').getAttribute('data-isoline-count'))).toBeGreaterThan(0);
  await page.keyboard.press('b');
  await expect(page.getByTestId('boxes-layer')).toBeVisible();
  await page.screenshot({ path: path.join(screens, 'grounding-viridis-isolines.png') });

  // the settings persist across a reload; the answered request is shown at once from the store
  await page.reload();
  await expect(canvas).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });
  await expect(page.getByTestId('heatmap-colormap')).toHaveAttribute('data-colormap', 'viridis');
  await expect(page.getByTestId('heatmap-isolines')).toHaveAttribute('aria-pressed', 'true');
  await expect(page.getByTestId('grounding-item')).toHaveCount(1); // listed from storage
  await page.locator('[data-testid="sentence"][data-finding="true"]', { hasText: 'Extensive right lower lung atelectasis.' }).first().click();
  await expect(canvas).toHaveAttribute('data-heatmap-state', 'shown', { timeout: 15_000 });
  await expect(canvas).toHaveAttribute('data-heatmap-id', heatmapId!);

  // a typed phrase is grounded too; "Ground all findings" queues the report's other findings behind it (one
  // computes at a time per image); the last in the queue is cancelled before its turn, then tried again
  await page.getByTestId('phrase-input').fill('right pleural effusion');
  await page.getByTestId('phrase-input').press('Enter');
  const items = page.getByTestId('grounding-item');
  await expect(items).toHaveCount(2);
  await page.getByTestId('grounding-all').click();
  await expect(items).toHaveCount(5); // + 3: the report's 4 finding texts, one already done
  const last = items.last();
  await expect(last).toHaveAttribute('data-state', 'queued');
  await last.getByTestId('grounding-cancel').click();
  await expect(last).toHaveAttribute('data-state', 'cancelled');
  await expect(page.locator('[data-testid="grounding-item"][data-state="done"]')).toHaveCount(4, { timeout: 60_000 });
  await expect(last).toHaveAttribute('data-state', 'cancelled');
  await page.screenshot({ path: path.join(screens, 'grounding-list.png') });
  await last.getByTestId('grounding-retry').click();
  await expect(last).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
  // clicking a done item shows its heatmap and makes its phrase the active one
  await last.click();
  await expect(page.getByTestId('active-phrase')).toHaveText('There is no pulmonary vascular congestion or edema.');
  await expect(canvas).toHaveAttribute('data-heatmap-id', (await last.getAttribute('data-heatmap-id'))!);
  await expect(canvas).toHaveAttribute('data-heatmap-state', 'shown');

  expect(outbound, 'no request leaves the app origin').toEqual([]);
  expect(consoleErrors.filter((e) => !/favicon/.test(e))).toEqual([]);
});

test('a provisional map comes before the final one, marked provisional in the list and the viewer, and is replaced', async ({ page }) => {
  test.setTimeout(240_000);
  // ten attention batches per job: provisional maps after the first nine (a large model's default is four)
  const served = await startServe([], undefined, { SIGHTLINE_TEST_ATTENTION_CHUNKS: '10' });
  try {
    const consoleErrors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    await page.goto(served.loginUrl);
    await expect(page.getByTestId('study-count')).toHaveText('18', { timeout: 60_000 });
    await page.getByTestId('search-input').fill('atelectasis');
    await page.getByTestId('study-row').filter({ hasText: 'Extensive right lower lung atelectasis.' }).click();
    const canvas = page.getByTestId('viewer-canvas');
    await expect(canvas).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });

    // every state the page passes through, however briefly (a provisional map is replaced within a second here)
    await page.evaluate(() => {
      const seen: Record<string, string | null>[] = [];
      (window as unknown as { __seen: typeof seen }).__seen = seen;
      const q = (id: string) => document.querySelector(`[data-testid="${id}"]`);
      const snapshot = () =>
        seen.push({
          layer: q('viewer-canvas')?.getAttribute('data-heatmap-state') ?? null,
          canvas: q('viewer-canvas')?.getAttribute('data-heatmap-provisional') ?? null,
          list: q('grounding-provisional')?.textContent ?? null,
          item: q('grounding-item')?.getAttribute('data-provisional') ?? null,
          status: q('heatmap-status')?.getAttribute('data-provisional') ?? null,
          statusText: q('heatmap-status')?.textContent?.trim() ?? null,
        });
      new MutationObserver(snapshot).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
    });
    await page.locator('[data-testid="sentence"][data-finding="true"]', { hasText: 'Extensive right lower lung atelectasis.' }).first().click();
    const item = page.getByTestId('grounding-item').first();
    await expect(canvas).toHaveAttribute('data-heatmap-state', 'shown', { timeout: 120_000 });
    await expect(item).toHaveAttribute('data-state', 'done');

    const seen = await page.evaluate(() => (window as unknown as { __seen: Record<string, string | null>[] }).__seen);
    const provisional = seen.filter((x) => x.list !== null);
    expect(provisional.length, 'a provisional map was listed').toBeGreaterThan(0);
    const first = provisional[0];
    expect(first.list).toMatch(/^provisional: \d+ of 20 steps$/);
    const steps = /(\d+) of 20/.exec(first.list!)![1];
    expect(first.item).toBe(`${steps}/20`);
    expect(first.canvas).toBe(`${steps}/20`); // the map the viewer holds is the provisional one
    expect(first.status).toBe(`${steps}/20`);
    expect(first.statusText).toMatch(new RegExp(`^provisional ${steps} of 20 steps · grounding`));
    const drawn = seen.some((x) => x.layer === 'provisional');
    console.log(`[e2e grounding] provisional maps listed: ${[...new Set(provisional.map((x) => x.list))].join(', ')}; drawn before the final one: ${drawn}`);

    // the final map replaced it
    await expect(canvas).not.toHaveAttribute('data-heatmap-provisional', /.*/);
    await expect(page.getByTestId('grounding-provisional')).toHaveCount(0);
    await expect(page.getByTestId('heatmap-status')).toHaveCount(0);
    const heatmapId = await canvas.getAttribute('data-heatmap-id');
    expect(Number(heatmapId)).toBeGreaterThan(0);
    await expect(item).toHaveAttribute('data-heatmap-id', heatmapId!);
    expect(consoleErrors.filter((e) => !/favicon/.test(e))).toEqual([]);
  } finally {
    served.process.kill('SIGTERM');
  }
});

interface RpcSample {
  ms: number;
  ok: boolean;
  /** a grounding job was running both before and after the call */
  during: boolean;
}

/**
 * In the page, app.info calls one after another until stopped, each between two jobs.list calls: the requests the
 * server must answer while a grounding job runs on its worker thread.
 */
async function startRpcSampler(page: Page, token: string): Promise<void> {
  await page.evaluate((token) => {
    const w = window as unknown as { __rpc: RpcSample[]; __rpcStop: boolean };
    w.__rpc = [];
    w.__rpcStop = false;
    const call = async (name: string): Promise<unknown> => {
      const r = await fetch(`/rpc/${name}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: '{}' });
      if (!r.ok) throw new Error(`${name}: HTTP ${r.status}`);
      const bytes = new Uint8Array(await r.arrayBuffer());
      const n = new DataView(bytes.buffer).getUint32(0, true); // common/wire.ts: [u32 json length][json]...
      return JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + n)));
    };
    const running = async () => new Set(((await call('jobs.list')) as { jobId: string; kind: string; state: string }[]).filter((j) => j.kind === 'grounding' && j.state === 'running').map((j) => j.jobId));
    void (async () => {
      while (!w.__rpcStop) {
        const before = await running();
        const t = performance.now();
        const ok = await call('app.info').then(
          (info) => typeof (info as { version?: unknown }).version === 'string',
          () => false,
        );
        const ms = performance.now() - t;
        const after = await running();
        w.__rpc.push({ ms, ok, during: [...before].some((id) => after.has(id)) });
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
  }, token);
}

async function stopRpcSampler(page: Page): Promise<RpcSample[]> {
  return page.evaluate(() => {
    const w = window as unknown as { __rpc: RpcSample[]; __rpcStop: boolean };
    w.__rpcStop = true;
    return w.__rpc;
  });
}


/** Waits until no frame is pending: two animation frames without a new frame drawn. */
async function settle(canvas: Locator): Promise<void> {
  await canvas.evaluate(
    () => new Promise<void>((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => requestAnimationFrame(() => resolve())))),
  );
}

interface Region {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** The middle of the viewport, where the fitted chest's lungs are (clear of the corner overlays and the colorbar). */
function lungRegion(png: DecodedPng): Region {
  return { x0: Math.round(png.width * 0.2), y0: Math.round(png.height * 0.15), x1: Math.round(png.width * 0.8), y1: Math.round(png.height * 0.8) };
}

function area(r: Region): number {
  return (r.x1 - r.x0) * (r.y1 - r.y0);
}

/** Pixels of the region whose colour differs by more than 3 in any channel. */
function changed(a: DecodedPng, b: DecodedPng, r: Region): number {
  expect([a.width, a.height]).toEqual([b.width, b.height]);
  let count = 0;
  for (let y = r.y0; y < r.y1; y++)
    for (let x = r.x0; x < r.x1; x++) {
      const i = (y * a.width + x) * a.channels;
      if (Math.abs(a.data[i] - b.data[i]) > 3 || Math.abs(a.data[i + 1] - b.data[i + 1]) > 3 || Math.abs(a.data[i + 2] - b.data[i + 2]) > 3) count++;
    }
  return count;
}
