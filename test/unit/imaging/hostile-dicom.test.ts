// Issue 12's hostile DICOMs: deflate bombs (inflated within what the header declares, kept up to the first frame),
// and damaged headers reported in user words instead of the DICOM library's internals.
// Memory and time of the bombs are measured by bench/dicom-bombs.bench.ts (never asserted as timings here); this
// test checks what bounds them: how much of the stream is kept, and where it stops.
import { describe, expect, it } from 'vitest';
import { decodeImageBuffer, ImageDecodeError, parseDicom, binaryChunks } from '../../../main/imaging';
import { buildDicom, deflateDataSet, imageElements, TS, u16Bytes } from './helpers/dicom-builder';
import { manyFramesBomb, overlongPixelDataBomb } from './helpers/dicom-bombs';

async function rejection(bytes: Uint8Array): Promise<string> {
  try {
    await decodeImageBuffer(bytes, 'hostile.dcm');
  } catch (err) {
    expect(err).toBeInstanceOf(ImageDecodeError);
    return (err as ImageDecodeError).reason;
  }
  throw new Error('decoded but should have been rejected');
}

describe('deflated DICOM bombs', () => {
  it('a 0.9 MB file whose pixel data inflates to 900 MB behind a 512x512 header stops past the declared size', async () => {
    const bomb = overlongPixelDataBomb();
    expect(bomb.length).toBeLessThan(1_000_000);
    const reason = await rejection(bomb);
    // the bound is the header's 512 KB plus a 1 MB margin, not a fixed gigabyte
    expect(reason).toMatch(/^deflated data set inflates to more than (\d+) bytes, but its header declares 512x512, 1 x 16-bit samples, 1 frame = 524288 bytes of pixel data$/);
    expect(Number(/more than (\d+)/.exec(reason)![1])).toBeLessThan(2 << 20);
  });

  it('a 0.6 MB file honestly declaring 300 frames (600 MB) keeps its first frame only and counts the rest', async () => {
    const bomb = manyFramesBomb();
    expect(bomb.length).toBeLessThan(700_000);
    const parsed = await parseDicom(bomb);
    const kept = binaryChunks(parsed.dict['7FE00010']?.Value).reduce((n, c) => n + c.length, 0);
    expect(kept).toBe(1024 * 1024 * 2);
    expect(parsed.pixelBytes).toBe(600 * 2 ** 20);
    const image = await decodeImageBuffer(bomb, 'frames.dcm');
    expect([image.columns, image.rows, image.pixels.length]).toEqual([1024, 1024, 1024 * 1024]);
  });

  it('a deflated file keeps its exact pixels, and one with frames missing reports how many bytes are there', async () => {
    const values = Array.from({ length: 2 * 6 * 4 }, (_, i) => i * 11);
    const ok = deflateDataSet(buildDicom(imageElements({ rows: 4, columns: 6, frames: 2, pixelData: u16Bytes(values) }), TS.deflated));
    const parsed = await parseDicom(ok);
    expect(parsed.pixelBytes).toBe(96);
    expect(Array.from((await decodeImageBuffer(ok, 'ok.dcm')).pixels)).toEqual(values.slice(0, 24));
    // header says 3 frames, the stream holds 2
    const short = deflateDataSet(buildDicom(imageElements({ rows: 4, columns: 6, frames: 3, pixelData: u16Bytes(values) }), TS.deflated));
    expect((await parseDicom(short)).pixelBytes).toBe(96);
  });

  it('a header over the pixel limit is refused before inflating the pixel data', async () => {
    const big = deflateDataSet(buildDicom(imageElements({ rows: 20000, columns: 20000, pixelData: new Uint8Array(16) }), TS.deflated));
    expect(await rejection(big)).toBe('image is 20000x20000 = 400000000 pixels, over the limit of 100000000');
  });
});

describe('damaged headers in user words', () => {
  const good = () => buildDicom(imageElements({ rows: 2, columns: 2, pixelData: u16Bytes([1, 2, 3, 4]), extra: [{ tag: 0x00081030, vr: 'LO', value: 'CHEST PA' }] }));

  it('an element whose length runs past the end of the file names the byte and the element', async () => {
    const bytes = good();
    // Study Description (0008,1030) LO: its 2-byte length made huge
    const at = indexOfTag(bytes, 0x0008, 0x1030);
    new DataView(bytes.buffer).setUint16(at + 6, 0xfff0, true);
    const reason = await rejection(bytes);
    expect(reason).toBe(`truncated DICOM file at byte ${at}: element (0008,1030) declares 65520 bytes but only ${bytes.length - at - 8} remain`);
    expect(reason).not.toMatch(/allocated buffer|is not a function|undefined/);
  });

  it('garbage where an element header should be is a damaged header at that byte', async () => {
    const bytes = good();
    const at = indexOfTag(bytes, 0x0008, 0x1030);
    bytes.set([0x08, 0x00, 0x30, 0x10, 0x01, 0x02], at); // VR bytes that are not letters
    expect(await rejection(bytes)).toBe(`damaged DICOM header at byte ${at}: element (0008,1030) has no valid value representation`);
  });

  it('a Specific Character Set written as a number is named, not "coding.replace is not a function"', async () => {
    const bytes = buildDicom(imageElements({ rows: 2, columns: 2, pixelData: u16Bytes([1, 2, 3, 4]), extra: [{ tag: 0x00080005, vr: 'US', value: 100 }] }));
    expect(await rejection(bytes)).toBe('damaged DICOM header: unreadable Specific Character Set (0008,0005)');
  });
});

function indexOfTag(bytes: Uint8Array, group: number, element: number): number {
  for (let i = 132; i + 4 <= bytes.length; i++) {
    if (bytes[i] === (group & 0xff) && bytes[i + 1] === group >> 8 && bytes[i + 2] === (element & 0xff) && bytes[i + 3] === element >> 8) return i;
  }
  throw new Error('tag not found');
}

describe('files that are not regular files', () => {
  it('viewing a path that has become a named pipe or a device is refused at once', async () => {
    const { execFileSync } = await import('node:child_process');
    const { mkdtempSync } = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const { decodeImageFile } = await import('../../../main/imaging');
    const pipe = path.join(mkdtempSync(path.join(os.tmpdir(), 'sightline-pipe-')), 'image.dcm');
    execFileSync('mkfifo', [pipe]);
    await expect(decodeImageFile(pipe)).rejects.toThrow(`${pipe}: not a regular file (named pipe)`);
    await expect(decodeImageFile('/dev/zero')).rejects.toThrow('/dev/zero: not a regular file (character device)');
  }, 10_000);
});
