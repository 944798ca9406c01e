// The Cluster page in browser mode, end to end: a real `sightline serve` and real Chromium. The demo is imported;
// Cluster (TopBar) -> the demo's MS-CXR-loc with limit 2 and one image per shard exported to a temp folder (the
// counts, job.json on disk); slurm.sh written by keyboard (its `#SBATCH --array=0-1`, `bash -n`); the status shows
// both shards pending and the bundle matching, `r` reads the folder again (a rank's progress file appears); a folder
// without a job is an error in words and nothing of the job stays shown; then a results folder made here the way
// the Python side writes it (shard 0 sealed, shard 1 not) is imported as a job: its progress to the end, the link to
// the benchmarks, and the maps stored as the app's own (the second import finds them all stored).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, repoRoot, rpc, test } from './serve-fixture';
import { importDemo } from './demo-steps';
import { collectConsoleErrors } from './page-checks';

const screens = path.join(repoRoot, 'test-results', 'screens');
mkdirSync(screens, { recursive: true });

interface Job {
  id: string;
  bundle: { hash: string };
  variants: { name: string; settings_key: string; settings: { otsu?: boolean } }[];
  images: { key: string; sha256: string; phrases: string[] }[];
  shards: number[][];
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** A float32 C-order .npy of size x size (format 1.0: the header padded to a multiple of 64 bytes). */
function npy(values: Float32Array, size: number): Buffer {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${size}, ${size}), }`;
  header += ' '.repeat(64 - ((10 + header.length + 1) % 64)) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head.writeUInt8(1, 6);
  head.writeUInt8(0, 7);
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(values.buffer)]);
}

/** Shard `k` sealed as the Python side seals it (batch-spec: shard.json, <variant>/index.csv, <variant>/<i>-<j>.npy). */
function sealShard(job: Job, resultsDir: string, k: number, size: number): number {
  const dir = path.join(resultsDir, 'shards', `shard-${String(k).padStart(5, '0')}`);
  const maps: Record<string, unknown>[] = [];
  for (const v of job.variants) {
    mkdirSync(path.join(dir, v.name), { recursive: true });
    const rows = ['dicom_id,label_text,file'];
    for (const i of job.shards[k]) {
      const image = job.images[i];
      image.phrases.forEach((phrase, j) => {
        const values = new Float32Array(size * size).map((_, n) => ((n % size) + Math.floor(n / size) + j) / (2 * size));
        const bytes = npy(values, size);
        const file = `${v.name}/${i}-${j}.npy`;
        writeFileSync(path.join(dir, file), bytes);
        rows.push(`${image.key},"${phrase.replace(/"/g, '""')}",${i}-${j}.npy`);
        maps.push({ image: i, key: image.key, image_sha256: image.sha256, variant: v.name, settings_key: v.settings_key, phrase, file, sha256: sha256(bytes), threshold: v.settings.otsu ? 0.5 : null });
      });
    }
    writeFileSync(path.join(dir, v.name, 'index.csv'), rows.join('\n') + '\n');
  }
  const provenance = { code_version: 'e2e', host: 'e2e-host', torch: '1.13', device: 'cpu', world_size: 1, started_at: '2026-12-04T00:00:00Z', finished_at: '2026-12-04T00:00:01Z', seconds: 1 };
  writeFileSync(path.join(dir, 'shard.json'), JSON.stringify({ format: 'sightline-batch-shard', version: 1, job_id: job.id, bundle_hash: job.bundle.hash, shard: k, size, maps, provenance }));
  return maps.length;
}

/** The stored image whose DICOM id is `key` (the job's image key), through the studies' procedures. */
async function imageIdOf(served: Parameters<typeof rpc>[0], key: string): Promise<number> {
  const list = (await rpc(served, 'studies.list', { limit: 1000 })) as { items: { id: number }[] };
  for (const study of list.items) {
    const detail = (await rpc(served, 'studies.get', { id: study.id })) as { images: { id: number; dicomId: string | null }[] };
    const hit = detail.images.find((i) => i.dicomId === key);
    if (hit) return hit.id;
  }
  throw new Error(`no stored image has the DICOM id ${key}`);
}

test('cluster: export, slurm.sh, status and refresh, errors in words, import of a results folder', async ({ served, page }) => {
  test.setTimeout(300_000);
  const consoleErrors = collectConsoleErrors(page);
  await page.goto(served.loginUrl);
  await importDemo(page);

  await page.getByTestId('batch-button').click();
  await expect(page).toHaveURL(/#\/batch$/);
  await expect(page.getByTestId('batch-page')).toBeVisible();

  // 1. export: the demo's MS-CXR-loc, 2 images, one per shard, into a temp folder
  const out = path.join(mkdtempSync(path.join(os.tmpdir(), 'sightline-batch-e2e-')), 'job one');
  const benchmark = page.getByTestId('batch-benchmark');
  // the list fills once the page's load() answers (slower on a loaded machine)
  await expect(benchmark.locator('option[value^="MS-CXR-loc/"]')).toHaveCount(1, { timeout: 30_000 });
  const keys = await benchmark.locator('option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
  const msCxr = keys.find((k) => k.startsWith('MS-CXR-loc/'));
  expect(msCxr, `an MS-CXR-loc benchmark among ${keys.join(', ')}`).toBeTruthy();
  await benchmark.selectOption(msCxr!);
  await expect(page.getByTestId('batch-model')).toHaveValue('sightline-demo-ldm');
  await expect(page.getByTestId('batch-variants').locator('input[type=checkbox]:checked')).toHaveCount(1);
  await page.getByTestId('batch-limit').fill('0');
  await expect(page.getByTestId('batch-export-reason')).toHaveText('the limit is not a whole number of at least 1');
  await expect(page.getByTestId('batch-export')).toBeDisabled();
  await page.getByTestId('batch-limit').fill('2');
  await page.getByTestId('batch-shard-size').fill('1');
  await page.getByTestId('batch-out').fill(out);
  await page.getByTestId('batch-out').press('Enter');
  const exported = page.getByTestId('batch-exported');
  await expect(exported).toHaveAttribute('data-images', '2', { timeout: 30_000 });
  await expect(exported).toHaveAttribute('data-shards', '2');
  await expect(page.getByTestId('batch-exported-counts')).toHaveText(/^2 images · [1-9]\d* phrases? · [1-9]\d* maps? · 2 shards \(frozen\)$/);
  console.log(`exported: ${await page.getByTestId('batch-exported-counts').textContent()}`);
  const job = JSON.parse(readFileSync(path.join(out, 'job.json'), 'utf8')) as Job;
  expect(job.images).toHaveLength(2);
  expect(job.shards).toEqual([[0], [1]]);
  await expect(page.getByTestId('batch-folder')).toHaveValue(out);

  // 3. status (read on export): both shards pending, the bundle is the app's
  const status = page.getByTestId('batch-status');
  await expect(status).toHaveAttribute('data-pending', '2');
  await expect(status).toHaveAttribute('data-sealed', '0');
  await expect(page.getByTestId('batch-shards').locator('[data-state=pending]')).toHaveCount(2);
  await expect(page.getByTestId('batch-bundle')).toHaveAttribute('data-ok', 'true');

  // 2. the cluster's paths, Enter writes slurm.sh: one array task per shard, a script bash accepts; the torchrun line
  await page.getByTestId('batch-slurm-dataRoot').fill('/cluster/data root');
  await page.getByTestId('batch-slurm-modelDir').fill('/cluster/models/demo');
  await page.getByTestId('batch-slurm-trainingDir').fill('/cluster/sightline/training');
  await page.getByTestId('batch-slurm-gpusPerTask').fill('2');
  await page.getByTestId('batch-slurm-time').fill('4h');
  await expect(page.getByTestId('batch-slurm-reason')).toContainText('[D-]HH:MM:SS');
  await page.getByTestId('batch-slurm-time').fill('01:30:00');
  await page.getByTestId('batch-slurm-time').press('Enter');
  const script = page.getByTestId('batch-slurm-script');
  await expect(script).toContainText('#SBATCH --array=0-1');
  await expect(page.getByTestId('batch-slurm')).toHaveAttribute('data-tasks', '2');
  const file = (await page.getByTestId('batch-slurm-file').textContent())!;
  expect(file).toBe(path.join(out, 'slurm.sh'));
  expect(readFileSync(file, 'utf8')).toBe(await script.textContent());
  execFileSync('bash', ['-n', file]);
  await expect(page.getByTestId('batch-torchrun')).toHaveText(`cd /cluster/sightline/training && python -m torch.distributed.run --standalone --nproc_per_node 2 --redirects 2 --tee 1 -m sightline_ldm.batch '${out}' --model /cluster/models/demo --data-root '/cluster/data root' --device cuda`);

  // Copy: the clipboard, or (refused) the line selected for Ctrl+C; either way it says so
  await page.getByTestId('batch-copy-torchrun').click();
  await expect(page.getByTestId('batch-copied')).toContainText('the torchrun line');

  // `r` (no field focused) reads the folder again: a rank's progress file shows
  const progressDir = path.join(out, 'results', 'progress');
  mkdirSync(progressDir, { recursive: true });
  writeFileSync(path.join(progressDir, 'all-rank0.jsonl'), JSON.stringify({ event: 'start', rank: 0, world: 1, images: 2, host: 'e2e', t: 1 }) + '\n');
  await expect(page.getByTestId('batch-no-ranks')).toBeVisible();
  await page.getByTestId('batch-page').locator('h1').click();
  await page.keyboard.press('r');
  await expect(page.getByTestId('batch-ranks').locator('tr')).toHaveCount(1);
  await expect(page.getByTestId('batch-ranks')).toContainText('rank 0 of 1: 0 / 2 images');
  await page.getByTestId('batch-page').screenshot({ path: path.join(screens, 'batch-page.png') });

  // another folder without a job: the server's error in words, nothing of the job left on the page
  const empty = mkdtempSync(path.join(os.tmpdir(), 'sightline-batch-empty-'));
  await page.getByTestId('batch-folder').fill(empty);
  await page.getByTestId('batch-folder').press('Enter');
  await expect(page.getByTestId('batch-status-error')).toContainText(empty);
  console.log(`no job: ${await page.getByTestId('batch-status-error').textContent()}`);
  await expect(status).toHaveCount(0);
  await expect(page.getByTestId('batch-slurm')).toHaveCount(0);
  await expect(exported).toHaveCount(0);
  await expect(page.getByTestId('batch-torchrun')).toContainText(`sightline_ldm.batch ${empty} `);

  // 4. a results folder: shard 0 sealed, shard 1 not; imported as a job to the end, then the link to the benchmarks
  const models = (await rpc(served, 'models.list', {})) as { name: string; imageSize: number }[];
  const size = models.find((m) => m.name === 'sightline-demo-ldm')!.imageSize;
  const mapsOfShard0 = sealShard(job, path.join(out, 'results'), 0, size);
  await page.getByTestId('batch-folder').fill(out);
  await page.getByTestId('batch-folder-open').click();
  await expect(status).toHaveAttribute('data-sealed', '1');
  await expect(status).toHaveAttribute('data-pending', '1');
  await expect(page.getByTestId('batch-status-error')).toHaveCount(0);
  await page.getByTestId('batch-import').click();
  const importJob = page.getByTestId('batch-import-job');
  await expect(importJob).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
  await expect(page.getByTestId('batch-import-state')).toContainText(`done · ${mapsOfShard0} / ${mapsOfShard0}`);
  await expect(page.getByTestId('batch-import-error')).toHaveCount(0);
  await expect(page.getByTestId('batch-benchmarks-link')).toHaveAttribute('href', '#/evaluation');
  const summary = page.getByTestId('batch-import-summary');
  await expect(summary).toHaveAttribute('data-imported', String(mapsOfShard0));
  await expect(summary).toContainText('not sealed yet: shard 1: 0 of 1 images done');
  // imported again: every map already stored
  await page.getByTestId('batch-import').click();
  await expect(summary).toHaveAttribute('data-existing', String(mapsOfShard0), { timeout: 60_000 });
  await expect(summary).toHaveAttribute('data-imported', '0');
  // a sealed file changed afterwards: the quick status still says sealed, Verify files hashes it and finds it bad
  const tampered = path.join(out, 'results', 'shards', 'shard-00000', `${job.variants[0].name}/0-0.npy`);
  writeFileSync(tampered, Buffer.concat([readFileSync(tampered).subarray(0, -4), Buffer.alloc(4)]));
  await page.getByTestId('batch-refresh').click();
  await expect(page.getByTestId('batch-verified')).toHaveAttribute('data-verified', 'false');
  await expect(status).toHaveAttribute('data-sealed', '1');
  await page.getByTestId('batch-verify').click();
  await expect(page.getByTestId('batch-verified')).toHaveAttribute('data-verified', 'true');
  await expect(status).toHaveAttribute('data-bad', '1');
  await expect(page.getByTestId('batch-shard-problems')).toContainText('0-0.npy');
  console.log(`verified: ${await page.getByTestId('batch-shard-problems').textContent()}`);

  // the maps are the app's own now: the first image's, of the job's variant, with the values written above
  const imageId = await imageIdOf(served, job.images[0].key);
  const stored = ((await rpc(served, 'heatmaps.list', { imageId })) as { id: number; phrase: string; source: string; variant: string }[]).filter((h) => h.source === 'model' && h.variant === job.variants[0].name);
  expect(stored.map((h) => h.phrase).sort()).toEqual([...job.images[0].phrases].sort());
  const first = stored.find((h) => h.phrase === job.images[0].phrases[0])!;
  const data = (await rpc(served, 'heatmaps.get', { id: first.id })) as { width: number; data: Uint8Array };
  expect(data.width).toBe(size);
  const values = new Float32Array(data.data.slice().buffer);
  expect(Array.from(values.slice(0, 3))).toEqual([0, 1, 2].map((n) => Math.fround(n / (2 * size))));
  await page.getByTestId('batch-benchmarks-link').scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(screens, 'batch-status-import.png') });
  await page.getByTestId('batch-benchmarks-link').click();
  await expect(page).toHaveURL(/#\/evaluation$/);

  expect(existsSync(path.join(out, 'slurm.sh'))).toBe(true);
  // the one failed call is the status of the folder without a job (answered 422, shown in words above)
  expect(consoleErrors.filter((e) => !/favicon/.test(e))).toEqual([expect.stringContaining('status of 422')]);
});
