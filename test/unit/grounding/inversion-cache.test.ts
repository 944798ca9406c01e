// The inversion cache: keys that change with everything the latents depend on, memory then disk, a damaged or
// half-written file recomputed instead of trusted, and the disk bound kept by evicting the least recently used.
import { existsSync, mkdtempSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InversionCache, inversionKey } from '../../../main/grounding/inversion-cache';
import { npyBytes } from '../../../main/grounding/map-files';

const base = { imageSha256: 'a'.repeat(64), bundleHash: 'b'.repeat(64), numInferenceSteps: 100, stepIndices: [40, 41], clipSample: false, inversionPrompt: '', imageSize: 128 };
const dir = () => mkdtempSync(path.join(os.tmpdir(), 'sightline-inv-'));
const latents = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * seed));

describe('inversionKey', () => {
  it('depends on the image, the bundle and every inversion setting, not on the order of the kept steps', () => {
    const k = inversionKey(base);
    expect(inversionKey({ ...base, stepIndices: [41, 40] })).toBe(k);
    for (const change of [
      { imageSha256: 'c'.repeat(64) },
      { bundleHash: 'd'.repeat(64) },
      { numInferenceSteps: 50 },
      { stepIndices: [40, 42] },
      { clipSample: true },
      { inversionPrompt: 'chest' },
      { imageSize: 512 },
    ]) {
      expect(inversionKey({ ...base, ...change }), JSON.stringify(change)).not.toBe(k);
    }
  });
});

describe('InversionCache', () => {
  it('serves from memory, then from disk in a new process, and rejects a damaged file', () => {
    const d = dir();
    const key = inversionKey(base);
    const value = latents(768, 3);
    new InversionCache({ dir: d }).set(key, value);
    const fresh = new InversionCache({ dir: d }); // as a new process: nothing in memory
    expect(Array.from(fresh.get(key)!)).toEqual(Array.from(value));
    const file = path.join(d, `${key}.inv`);
    const bytes = readFileSync(file);
    bytes[20] ^= 0xff; // one flipped bit in the latents
    writeFileSync(file, bytes);
    expect(new InversionCache({ dir: d }).get(key)).toBeNull();
    expect(existsSync(file)).toBe(false);
    writeFileSync(file, bytes.subarray(0, 100)); // a truncated write
    expect(new InversionCache({ dir: d }).get(key)).toBeNull();
  });

  it('keeps the folder within its bound, least recently used first, and clears temporary files of crashed writes', () => {
    const d = dir();
    const cache = new InversionCache({ dir: d, maxBytes: 3 * (10 + 1000 * 4 + 32) });
    writeFileSync(path.join(d, 'crashed.inv.123.tmp'), 'half');
    utimesSync(path.join(d, 'crashed.inv.123.tmp'), new Date(0), new Date(0));
    const keys = ['k1', 'k2', 'k3', 'k4'];
    keys.forEach((k, i) => {
      cache.set(k, latents(1000, i + 1));
      utimesSync(path.join(d, `${k}.inv`), new Date(1000 * (i + 1)), new Date(1000 * (i + 1)));
    });
    cache.set('k5', latents(1000, 9));
    expect(readdirSync(d).sort()).toEqual(['k3.inv', 'k4.inv', 'k5.inv']);
  });
});

describe('npyBytes', () => {
  it('writes NumPy format 1.0: 64-byte aligned header, little-endian float32, NaN kept', () => {
    const bytes = npyBytes(Float32Array.of(0, 0.5, NaN, 1, 0.25, 0.75), 2, 3);
    expect(bytes.subarray(0, 6).toString('latin1')).toBe('\x93NUMPY');
    const headerLength = bytes.readUInt16LE(8);
    expect((10 + headerLength) % 64).toBe(0);
    expect(bytes.subarray(10, 10 + headerLength).toString('latin1')).toMatch(/^\{'descr': '<f4', 'fortran_order': False, 'shape': \(2, 3\), \} *\n$/);
    const values = new Float32Array(bytes.buffer.slice(bytes.byteOffset + 10 + headerLength, bytes.byteOffset + bytes.byteLength));
    expect(Array.from(values).map((v) => (Number.isNaN(v) ? 'NaN' : v))).toEqual([0, 0.5, 'NaN', 1, 0.25, 0.75]);
  });
});
