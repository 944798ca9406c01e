// The viewer as a radiologist used to a PACS expects it (issue 12, "Viewing like a PACS"), in browser mode on the
// demo studies: OHIF's mouse (and the classic mapping as a preset, remembered), named window presets on stable keys
// (a key without one says so), each study at its default window with an indicator when it is not, carry as an
// option. Screenshots in test-results/screens/.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Locator, Page } from '@playwright/test';
import { expect, repoRoot, startServe, test } from './serve-fixture';

const screens = path.join(repoRoot, 'test-results', 'screens');
mkdirSync(screens, { recursive: true });

let served: Awaited<ReturnType<typeof startServe>>;
test.beforeAll(async () => {
  served = await startServe(); // a new data directory: the demo studies are imported at start
});
test.afterAll(() => {
  served?.process.kill('SIGTERM');
});

async function openViewer(page: Page): Promise<Locator> {
  await page.goto(served.loginUrl);
  await expect(page.getByTestId('study-count')).toHaveText('18', { timeout: 60_000 });
  const canvas = page.getByTestId('viewer-canvas');
  await expect(canvas).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });
  return canvas;
}

const wl = async (page: Page) => {
  const r = page.getByTestId('wl-readout');
  return { center: Number(await r.getAttribute('data-center')), width: Number(await r.getAttribute('data-width')) };
};
const zoom = async (page: Page) => Number((await page.getByTestId('zoom-readout').innerText()).replace(/\D+/g, ''));

async function drag(page: Page, canvas: Locator, button: 'left' | 'right' | 'middle', dx: number, dy: number): Promise<void> {
  const box = (await canvas.boundingBox())!;
  const x = box.x + box.width / 2;
  const y = box.y + box.height / 2;
  await page.mouse.move(x, y);
  await page.mouse.down({ button });
  await page.mouse.move(x + dx, y + dy, { steps: 6 });
  await page.mouse.up({ button });
}

test('OHIF mouse by default, the classic mapping as a remembered preset', async ({ page }) => {
  const canvas = await openViewer(page);
  const box = (await canvas.boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);

  // the wheel scrolls images (one image here: nothing moves), it does not zoom; Ctrl+wheel zooms
  const z0 = await zoom(page);
  await page.mouse.wheel(0, -300);
  await page.waitForTimeout(200);
  expect(await zoom(page)).toBe(z0);
  await page.keyboard.down('Control');
  await page.mouse.wheel(0, -300);
  await page.keyboard.up('Control');
  await expect.poll(() => zoom(page)).toBeGreaterThan(z0);
  await page.keyboard.press('Space');
  await expect.poll(() => zoom(page)).toBe(z0);

  // right-drag zooms, left-drag is window/level
  await drag(page, canvas, 'right', 0, 80);
  await expect.poll(() => zoom(page)).toBeGreaterThan(z0);
  const w0 = await wl(page);
  await drag(page, canvas, 'left', 60, 40);
  await expect.poll(async () => (await wl(page)).width).toBeGreaterThan(w0.width);
  await expect(page.getByTestId('display-modified')).toHaveAttribute('data-window', 'true');
  await page.keyboard.press('Space');
  await expect(page.getByTestId('display-modified')).toHaveCount(0);

  // the cheat sheet lists the mapping in effect
  await page.keyboard.press('?');
  await expect(page.getByTestId('mouse-gesture').filter({ hasText: /^\s*Left-drag/ })).toContainText('Window/level');
  await expect(page.getByTestId('mouse-gesture').filter({ hasText: 'Shift+Left-drag' })).toContainText('Magnifier');
  await expect(page.getByTestId('mouse-gesture').filter({ hasText: 'Wheel' }).first()).toBeVisible();
  await page.keyboard.press('Escape');

  // "Sightline classic" in the settings: right-drag window/level again, left-drag pan; remembered after a reload
  await page.getByTestId('settings-button').click();
  await page.getByTestId('mouse-preset-classic').click();
  await expect(page.getByTestId('mouse-slot-rightDrag')).toHaveValue('windowLevel');
  await expect(page.getByTestId('mouse-slot-wheel')).toHaveValue('zoom');
  await page.getByTestId('mouse-settings').screenshot({ path: path.join(screens, 'settings-mouse.png') });
  await page.keyboard.press('Escape');
  await page.goto(served.loginUrl); // a reload, through the login URL (the session cookie is per page)
  await expect(canvas).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });
  const w1 = await wl(page);
  await drag(page, canvas, 'right', 60, 0);
  await expect.poll(async () => (await wl(page)).width).toBeGreaterThan(w1.width);
  const z1 = await zoom(page);
  await drag(page, canvas, 'left', 40, 0); // pan: no zoom, no window change
  expect(await zoom(page)).toBe(z1);
  // one gesture changed on top of the preset
  await page.getByTestId('settings-button').click();
  await page.getByTestId('mouse-slot-wheel').selectOption('scroll');
  await expect(page.getByTestId('mouse-settings')).toContainText('changed');
  await page.getByTestId('mouse-preset-ohif').click();
  await expect(page.getByTestId('mouse-slot-leftDrag')).toHaveValue('windowLevel');
  await page.keyboard.press('Escape');
});

test('named window presets on keys 1-5, a key without one says so; each study opens at its default window', async ({ page }) => {
  const canvas = await openViewer(page);
  // the MIMIC-CXR-JPG studies of the demo (8-bit), after its two VinDr DICOMs (16-bit): one pixel format throughout
  await page.getByTestId('study-row').nth(2).click();
  await expect(canvas).toHaveAttribute('data-state', 'ready');
  await expect(page.getByTestId('preset-1')).toHaveAttribute('title', /^Default \(from file\)/);
  // the patient's sides at the edges (a PA view: standard display assumed, and said so) and the image's view
  await expect(page.getByTestId('orientation-left')).toHaveText('R');
  await expect(page.getByTestId('orientation-right')).toHaveText('L');
  await expect(page.getByTestId('orientation-right')).toHaveAttribute('title', /PA view/);
  await expect(page.getByTestId('image-info')).toContainText('PA');
  await page.getByTestId('main-pane').screenshot({ path: path.join(screens, 'viewer-orientation.png') });
  await expect(page.locator('[data-testid^="preset-"]').filter({ has: page.locator('kbd') })).toHaveText([/1\s*Def\.$/, /2\s*Lung$/, /3\s*Med\.$/, /4\s*Bone$/, /5\s*Full$/]);
  const byDefault = await wl(page);
  await expect(page.getByTestId('preset-1')).toHaveAttribute('aria-pressed', 'true');

  await canvas.click();
  await page.keyboard.press('2');
  await expect(page.getByTestId('preset-2')).toHaveAttribute('aria-pressed', 'true');
  const lung = await wl(page);
  expect(lung).not.toEqual(byDefault);
  await expect(page.getByTestId('wl-preset')).toHaveText('· Lung');
  await expect(page.getByTestId('display-modified')).toHaveText('W/L changed');
  await page.screenshot({ path: path.join(screens, 'viewer-preset-lung.png') });
  await page.keyboard.press('3');
  await expect(page.getByTestId('preset-3')).toHaveAttribute('aria-pressed', 'true');
  expect((await wl(page)).center).toBeGreaterThan(lung.center); // mediastinum sits higher in the range

  await page.keyboard.press('6');
  await expect(page.getByTestId('toast-message').filter({ hasText: 'No window preset on key 6' })).toBeVisible();

  // invert too, then the next study: back to its default, not inverted, no indicator
  await page.keyboard.press('i');
  await expect(page.getByTestId('display-modified')).toHaveText('W/L changed · inverted');
  await page.screenshot({ path: path.join(screens, 'viewer-display-modified.png') });
  const firstImage = await canvas.getAttribute('data-image-id');
  await page.keyboard.press('ArrowDown');
  await expect(canvas).not.toHaveAttribute('data-image-id', firstImage!);
  await expect(canvas).toHaveAttribute('data-state', 'ready');
  await expect(page.getByTestId('display-modified')).toHaveCount(0);
  await expect(page.getByTestId('invert-readout')).toHaveText('Normal');
  await expect(page.getByTestId('preset-1')).toHaveAttribute('aria-pressed', 'true');

  // carry on (settings): the window and invert follow to the next study
  await page.getByTestId('settings-button').click();
  await page.getByTestId('carry-display').check();
  await page.getByTestId('window-preset-settings').screenshot({ path: path.join(screens, 'settings-window-presets.png') });
  await page.keyboard.press('Escape');
  await canvas.click();
  await page.keyboard.press('4');
  await page.keyboard.press('i');
  const bone = await wl(page);
  await page.keyboard.press('ArrowDown');
  await expect(canvas).toHaveAttribute('data-state', 'ready');
  await expect(page.getByTestId('display-modified')).toHaveText('W/L changed · inverted');
  expect(await wl(page)).toEqual(bone);
});

test('room for the image at 1280x720: narrower panels, collapsible and resizable (remembered), F maximises', async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 720 });
  const canvas = await openViewer(page);
  const share = async () => Math.round((1000 * (await canvas.boundingBox())!.width) / 1280) / 10;
  const figures: Record<string, number> = {};

  // before: the panels as wide as the old fixed layout (300 px and 360 px)
  await page.evaluate(() => localStorage.setItem('sightline.layout.v1', JSON.stringify({ studiesWidth: 300, reportWidth: 360 })));
  await page.goto(served.loginUrl); // a reload, through the login URL (the session cookie is per page)
  await expect(canvas).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });
  figures['old widths (300 + 360 px)'] = await share();
  // the defaults now: a share of the window
  await page.getByTestId('resize-studies').dblclick();
  await expect.poll(share).toBeGreaterThan(figures['old widths (300 + 360 px)']);
  figures['default'] = await share();
  // all five presets fit the toolbar at this width (none clipped under the layout buttons)
  const p5 = (await page.getByTestId('preset-5').boundingBox())!;
  expect(p5.x + p5.width).toBeLessThanOrEqual((await page.getByTestId('compare-toggle').boundingBox())!.x);
  await page.screenshot({ path: path.join(screens, 'layout-1280-default.png') });

  // drag the report narrower
  const handle = (await page.getByTestId('resize-report').boundingBox())!;
  await page.mouse.move(handle.x + 2, handle.y + 200);
  await page.mouse.down();
  await page.mouse.move(handle.x + 60, handle.y + 200, { steps: 5 });
  await page.mouse.up();
  await expect.poll(share).toBeGreaterThan(figures['default']);
  const reportWidth = (await page.getByTestId('report-panel').boundingBox())!.width;

  // collapse the study list with its key, remembered after a reload
  await canvas.click();
  await page.keyboard.press('[');
  await expect(page.getByTestId('studies-panel')).toBeHidden();
  figures['study list hidden'] = await share();
  await page.goto(served.loginUrl); // a reload, through the login URL (the session cookie is per page)
  await expect(canvas).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });
  await expect(page.getByTestId('studies-panel')).toBeHidden();
  expect(Math.abs((await page.getByTestId('report-panel').boundingBox())!.width - reportWidth)).toBeLessThanOrEqual(1);
  await page.getByTestId('toggle-studies').click();
  await expect(page.getByTestId('studies-panel')).toBeVisible();

  // F: maximised, and back
  await canvas.click();
  await page.keyboard.press('f');
  await expect(page.getByTestId('report-panel')).toBeHidden();
  await expect(page.getByTestId('studies-panel')).toBeHidden();
  await expect.poll(share).toBeGreaterThan(95);
  figures['maximised (F)'] = await share();
  await expect(canvas).toHaveAttribute('data-state', 'ready');
  await page.screenshot({ path: path.join(screens, 'layout-1280-maximised.png') });
  await page.keyboard.press('f');
  await expect(page.getByTestId('report-panel')).toBeVisible();
  console.log(`viewer share of the width at 1280x720 (%): ${JSON.stringify(figures)}`);
});

test('rotate and flip (every layer and the R/L markers follow, reset restores), the mm ruler, the magnifier', async ({ page }) => {
  const canvas = await openViewer(page);
  await page.getByTestId('study-row').nth(2).click(); // a MIMIC PA view with pixel spacing
  await expect(canvas).toHaveAttribute('data-state', 'ready');
  const left = page.getByTestId('orientation-left');
  const right = page.getByTestId('orientation-right');
  await expect(left).toHaveText('R');
  // the corner names the study date (MIMIC metadata's StudyDate) before the view
  const rowDate = await page.getByTestId('study-row').nth(2).getByTestId('row-date').innerText();
  await expect(page.getByTestId('image-info')).toContainText(`${rowDate} · PA`);
  await canvas.click({ position: { x: 5, y: 5 } });

  // Shift+H mirrors left-right: the patient's right is now on the right edge
  const frames = Number(await canvas.getAttribute('data-render-count'));
  await page.keyboard.press('Shift+H');
  await expect(left).toHaveText('L');
  await expect(right).toHaveText('R');
  await expect(page.getByTestId('view-orient')).toHaveText('mirrored');
  await expect.poll(async () => Number(await canvas.getAttribute('data-render-count'))).toBeGreaterThan(frames);
  await page.getByTestId('main-pane').screenshot({ path: path.join(screens, 'viewer-flipped.png') });
  // r rotates right: the head goes to the right edge (mirrored: the top is the patient's left)
  await page.keyboard.press('Shift+H');
  await page.keyboard.press('r');
  await expect(left).toHaveText('F');
  await expect(right).toHaveText('H');
  await expect(page.getByTestId('orientation-top')).toHaveText('R');
  await expect(page.getByTestId('view-orient')).toHaveText('rotated 90°');
  await page.getByTestId('main-pane').screenshot({ path: path.join(screens, 'viewer-rotated.png') });
  await page.keyboard.press('l');
  await page.keyboard.press('v');
  await expect(left).toHaveText('R');
  await expect(page.getByTestId('orientation-top')).toHaveText('F');
  await page.keyboard.press('Space');
  await expect(left).toHaveText('R');
  await expect(page.getByTestId('view-orient')).toHaveCount(0);
  await expect(page.getByTestId('orientation-top')).toHaveCount(0);

  // the ruler: M; a JPEG has no pixel spacing: lengths in px, and the note says so
  await page.keyboard.press('m');
  await expect(page.getByTestId('ruler-mode')).toHaveAttribute('data-unit', 'px');
  await expect(page.getByTestId('ruler-mode')).toContainText('no pixel spacing');
  // a DICOM of the demo (VinDr) has one: a left-drag measures in mm; rotated, the measurement stays on the image
  await page.getByTestId('study-row').nth(0).click();
  await expect(canvas).toHaveAttribute('data-state', 'ready');
  await expect(page.getByTestId('ruler-mode')).toHaveAttribute('data-unit', 'mm');
  // the new study's panels settle first: a refit during the drag would map its two ends with different transforms
  const layout = async () => JSON.stringify([await canvas.boundingBox(), await page.getByTestId('zoom-readout').innerText()]);
  await expect.poll(async () => {
    const before = await layout();
    await page.waitForTimeout(300);
    return before === (await layout());
  }).toBe(true);
  const box = (await canvas.boundingBox())!;
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  await page.mouse.move(cx - 100, cy);
  await page.mouse.down();
  await page.mouse.move(cx + 100, cy, { steps: 8 });
  await page.mouse.up();
  const measure = page.getByTestId('ruler-measure');
  await expect(measure).toHaveCount(1);
  await expect(measure).toHaveAttribute('data-unit', 'mm');
  const mm = Number(await measure.getAttribute('data-length'));
  // its length on screen (the SVG line, CSS px) at the zoom shown, times the spacing
  const line = measure.locator('line').first();
  const onScreen = Math.hypot(
    Number(await line.getAttribute('x2')) - Number(await line.getAttribute('x1')),
    Number(await line.getAttribute('y2')) - Number(await line.getAttribute('y1')),
  );
  const zoomPct = Number((await page.getByTestId('zoom-readout').innerText()).replace(/\D+/g, ''));
  const info = await page.getByTestId('image-info').innerText();
  const spacing = Number(/([\d.]+)(?: x [\d.]+)? mm\/px/.exec(info)![1]);
  expect(onScreen).toBeGreaterThan(50); // 200 px when drawn; the fitted view may have been resized since
  expect(Math.abs(mm - (onScreen / (zoomPct / 100)) * spacing) / mm).toBeLessThan(0.02);
  await expect(measure.locator('text')).toHaveText(/^\d+\.\d mm$/);
  expect(Math.abs(Number(await line.getAttribute('y1')) - Number(await line.getAttribute('y2')))).toBeLessThan(1); // drawn level
  await page.keyboard.press('r');
  // rotated right about the centre: the horizontal measurement is now vertical
  await expect.poll(async () => Math.abs(Number(await line.getAttribute('x1')) - Number(await line.getAttribute('x2')))).toBeLessThan(1);
  await page.getByTestId('main-pane').screenshot({ path: path.join(screens, 'viewer-ruler.png') });
  await page.keyboard.press('Space');
  // a click on it deletes it
  await page.mouse.click(cx, cy);
  await expect(measure).toHaveCount(0);
  await page.keyboard.press('m');
  await expect(page.getByTestId('ruler-mode')).toHaveCount(0);

  // the magnifier: a loupe while Shift+left is held
  await page.mouse.move(cx, cy);
  await page.keyboard.down('Shift');
  await page.mouse.down();
  await page.mouse.move(cx + 30, cy + 20, { steps: 3 });
  const loupe = page.getByTestId('magnifier');
  await expect(loupe).toBeVisible();
  await expect(loupe).toHaveAttribute('data-magnification', '3');
  // the element layers are in it too, copied without their test ids; the wheel while held sets the power
  const layers = await page.getByTestId('main-pane').locator('.layers > svg').count();
  expect(layers).toBeGreaterThan(0);
  await expect(page.getByTestId('magnifier-layers').locator(':scope > svg')).toHaveCount(layers);
  await page.mouse.wheel(0, -100);
  await expect(loupe).toHaveAttribute('data-magnification', '4');
  await page.getByTestId('main-pane').screenshot({ path: path.join(screens, 'viewer-magnifier.png') });
  const w0 = await wl(page);
  await page.mouse.up();
  await page.keyboard.up('Shift');
  await expect(loupe).toHaveCount(0);
  expect(await wl(page)).toEqual(w0); // it did not change the window
});
