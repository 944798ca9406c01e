import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodeImageFile, ImageDecodeError } from '../../../main/imaging';
import { DecodePool } from '../../../main/services/decode-pool';

const demoDicom = path.resolve(__dirname, '../../../resources/demo/dicom');
const files = readdirSync(demoDicom, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.dcm')).map((f) => path.join(demoDicom, f));

describe('decode pool (worker threads)', () => {
  const pool = new DecodePool(2);
  afterAll(() => pool.close());

  it('decodes in workers exactly what the in-thread decoder produces', async () => {
    expect(files.length).toBeGreaterThan(0);
    const [pooled, direct] = await Promise.all([Promise.all(files.map((f) => pool.decode(f))), Promise.all(files.map((f) => decodeImageFile(f)))]);
    for (let i = 0; i < files.length; i++) {
      expect(pooled[i].rows).toBe(direct[i].rows);
      expect(pooled[i].photometric).toBe(direct[i].photometric);
      expect(Buffer.from(pooled[i].pixels.buffer).equals(Buffer.from(direct[i].pixels.buffer))).toBe(true);
    }
  });

  it('rejects a corrupt file with an error naming it, and keeps working', async () => {
    const bad = path.join(mkdtempSync(path.join(os.tmpdir(), 'sightline-pool-')), 'bad.dcm');
    writeFileSync(bad, Buffer.concat([Buffer.alloc(128), Buffer.from('DICM'), Buffer.from([1, 2, 3])]));
    const error = await pool.decode(bad).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageDecodeError);
    expect((error as Error).message).toContain('bad.dcm');
    await expect(pool.decode(files[0])).resolves.toMatchObject({ format: 'dicom' });
  });
});

describe('pixel source errors', () => {
  it('says plainly when a referenced file has gone, and names a damaged one', async () => {
    const { createPixelSource } = await import('../../../main/services/pixel-data');
    const pool = new DecodePool(1);
    try {
      const pixels = createPixelSource((file) => pool.decode(file));
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
