import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodeImageFile, decodeOnPool, ImageDecodeError } from '../../../main/imaging';
import { createPixelSource } from '../../../main/imaging/pixel-data';
import { appWorkerScript, type AppTasks } from '../../../main/workers/app-tasks';
import { WorkerPool } from '../../../main/workers/pool';

// The demo's VinDr-CXR DICOMs (one MONOCHROME1 16-bit CR, one MONOCHROME2 14-bit DX) and one of its MIMIC JPEGs.
const demoVindr = path.resolve(__dirname, '../../../resources/demo/vindr-cxr');
const demoJpeg = path.resolve(__dirname, '../../../resources/demo/mimic-cxr-jpg/files');
const files = [
  ...readdirSync(demoVindr, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.dicom')).map((f) => path.join(demoVindr, f)).sort(),
  ...readdirSync(demoJpeg, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.jpg')).map((f) => path.join(demoJpeg, f)).sort().slice(0, 1),
];

const imagePool = (size: number) => new WorkerPool<AppTasks>({ name: 'image decoder', size, script: appWorkerScript() });

describe('image decoding on the worker pool (the app worker script)', () => {
  const pool = imagePool(2);
  afterAll(() => pool.close());

  it('decodes in workers exactly what the in-thread decoder produces', async () => {
    expect(files.map((f) => path.extname(f))).toEqual(['.dicom', '.dicom', '.jpg']);
    const [pooled, direct] = await Promise.all([Promise.all(files.map((f) => decodeOnPool(pool, f))), Promise.all(files.map((f) => decodeImageFile(f)))]);
    for (let i = 0; i < files.length; i++) {
      expect(pooled[i].rows).toBe(direct[i].rows);
      expect(pooled[i].photometric).toBe(direct[i].photometric);
      expect(pooled[i].encoding).toBe(direct[i].encoding);
      expect(Buffer.from(pooled[i].pixels.buffer).equals(Buffer.from(direct[i].pixels.buffer))).toBe(true);
    }
    expect(pooled.map((p) => p.photometric).sort()).toEqual(['MONOCHROME1', 'MONOCHROME2', 'MONOCHROME2']);
  });

  it('rejects a corrupt file with an error naming it, and keeps working', async () => {
    const bad = path.join(mkdtempSync(path.join(os.tmpdir(), 'sightline-pool-')), 'bad.dcm');
    writeFileSync(bad, Buffer.concat([Buffer.alloc(128), Buffer.from('DICM'), Buffer.from([1, 2, 3])]));
    const error = await decodeOnPool(pool, bad).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageDecodeError);
    expect((error as Error).message).toContain('bad.dcm');
    await expect(decodeOnPool(pool, files[0])).resolves.toMatchObject({ format: 'dicom' });
  });
});

describe('pixel source errors', () => {
  it('says plainly when a referenced file has gone, and names a damaged one', async () => {
    const pool = imagePool(1);
    try {
      const pixels = createPixelSource((file) => decodeOnPool(pool, file));
      const gone = path.join(os.tmpdir(), 'sightline-no-such-dir', 'image.dcm');
      await expect(pixels(1, gone)).rejects.toMatchObject({ code: 'not_found', message: expect.stringMatching(/no longer there/) });
      const bad = path.join(mkdtempSync(path.join(os.tmpdir(), 'sightline-pixels-')), 'bad.png');
      writeFileSync(bad, 'not a png');
      await expect(pixels(2, bad)).rejects.toMatchObject({ code: 'bad_file', message: expect.stringContaining('bad.png') });
      const good = await pixels(3, files[0]);
      expect(good.data.byteLength).toBe(good.rows * good.columns * (good.encoding === 'uint8' ? 1 : 2));
    } finally {
      await pool.close();
    }
  });
});
