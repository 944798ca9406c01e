// PNG and JPEG: round trips through real encoders (fast-png, jpeg-js), colour to luma, corrupt and oversized input.
import { encode as encodePng } from 'fast-png';
import { encode as encodeJpeg } from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import { decodeImageBuffer, ImageDecodeError, sniffImageFormat } from '../../../main/imaging';
import { meanAbsDiff } from './helpers/test-data';

function pattern(w: number, h: number, max: number, seed = 1): number[] {
  const out: number[] = [];
  let s = seed;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      // a smooth gradient plus a little noise, covering the whole range
      out.push(Math.min(max, Math.round(((x + 2 * y) / (w + 2 * h - 3)) * max * 0.9 + (s % Math.max(2, Math.round(max / 10))))));
    }
  }
  return out;
}

async function rejects(bytes: Uint8Array, name: string, re: RegExp): Promise<void> {
  const p = decodeImageBuffer(bytes, name);
  await expect(p).rejects.toBeInstanceOf(ImageDecodeError);
  await expect(p).rejects.toThrow(re);
}

describe('PNG', () => {
  it('8-bit grey round trip is exact; window 0..255', async () => {
    const w = 61;
    const h = 47;
    const grey = pattern(w, h, 255);
    const png = encodePng({ width: w, height: h, data: Uint8Array.from(grey), depth: 8, channels: 1 });
    expect(sniffImageFormat(png)).toBe('png');
    const im = await decodeImageBuffer(png, 'grey8.png');
    expect([im.format, im.rows, im.columns, im.encoding, im.bitsStored, im.photometric]).toEqual(['png', h, w, 'uint8', 8, 'MONOCHROME2']);
    expect(im.pixels).toBeInstanceOf(Uint8Array);
    expect(Array.from(im.pixels)).toEqual(grey);
    expect(im.windows).toEqual([{ center: 127.5, width: 255, name: 'Full range' }]);
    expect([im.rescaleSlope, im.rescaleIntercept, im.pixelSpacing, im.modality, im.transferSyntaxUid]).toEqual([1, 0, null, null, null]);
    expect(Object.values(im.identifiers).every((v) => v === null)).toBe(true);
  });

  it('16-bit grey stays uint16 with bitsStored 16 and a min..max window', async () => {
    const w = 40;
    const h = 30;
    const grey = pattern(w, h, 65535, 3);
    const png = encodePng({ width: w, height: h, data: Uint16Array.from(grey), depth: 16, channels: 1 });
    const im = await decodeImageBuffer(png, 'grey16.png');
    expect([im.encoding, im.bitsStored]).toEqual(['uint16', 16]);
    expect(im.pixels).toBeInstanceOf(Uint16Array);
    expect(Array.from(im.pixels)).toEqual(grey);
    const min = Math.min(...grey);
    const max = Math.max(...grey);
    expect(im.windows).toEqual([{ center: (min + max) / 2, width: max - min, name: 'Full range' }]);
  });

  it('grey+alpha ignores alpha; RGB and RGBA become Rec.601 luma (8 and 16 bit)', async () => {
    const w = 9;
    const h = 7;
    const n = w * h;
    const r = pattern(w, h, 255, 5);
    const g = pattern(w, h, 255, 6).reverse();
    const b = pattern(w, h, 255, 7);
    const luma = r.map((_, i) => Math.round(0.299 * r[i]! + 0.587 * g[i]! + 0.114 * b[i]!));
    const ga = new Uint8Array(n * 2);
    r.forEach((v, i) => ga.set([v, 17], i * 2));
    expect(Array.from((await decodeImageBuffer(encodePng({ width: w, height: h, data: ga, depth: 8, channels: 2 }), 'ga.png')).pixels)).toEqual(r);
    const rgb = new Uint8Array(n * 3);
    const rgba = new Uint8Array(n * 4);
    for (let i = 0; i < n; i++) {
      rgb.set([r[i]!, g[i]!, b[i]!], i * 3);
      rgba.set([r[i]!, g[i]!, b[i]!, 99], i * 4);
    }
    const a = await decodeImageBuffer(encodePng({ width: w, height: h, data: rgb, depth: 8, channels: 3 }), 'rgb.png');
    const c = await decodeImageBuffer(encodePng({ width: w, height: h, data: rgba, depth: 8, channels: 4 }), 'rgba.png');
    expect([a.photometric, a.encoding]).toEqual(['MONOCHROME2', 'uint8']);
    expect(Array.from(a.pixels)).toEqual(luma);
    expect(Array.from(c.pixels)).toEqual(luma);
    const rgb16 = Uint16Array.from(rgb, (v) => v * 257);
    const d = await decodeImageBuffer(encodePng({ width: w, height: h, data: rgb16, depth: 16, channels: 3 }), 'rgb16.png');
    expect(d.encoding).toBe('uint16');
    expect(meanAbsDiff(d.pixels, luma.map((v) => v * 257)).max).toBeLessThan(257);
  });

  it('palette and low bit depth grey', async () => {
    const palette: [number, number, number][] = [
      [0, 0, 0],
      [255, 255, 255],
      [255, 0, 0],
      [10, 20, 30],
    ];
    const idx = Uint8Array.from([0, 1, 2, 3, 3, 2, 1, 0]);
    const pal = await decodeImageBuffer(encodePng({ width: 4, height: 2, data: idx, depth: 8, channels: 1, palette }), 'pal.png');
    const lum = palette.map(([r, g, b]) => Math.round(0.299 * r + 0.587 * g + 0.114 * b));
    expect(Array.from(pal.pixels)).toEqual(Array.from(idx, (i) => lum[i]));
    // 1-bit grey: one byte packs 8 pixels, MSB first
    const bits = Uint8Array.from([0b10110000, 0b01000000]);
    const one = await decodeImageBuffer(encodePng({ width: 4, height: 2, data: bits, depth: 1, channels: 1 }), 'one.png');
    expect(Array.from(one.pixels)).toEqual([255, 0, 255, 255, 0, 255, 0, 0]);
    // 4-bit grey
    const nib = Uint8Array.from([0x0f, 0x80]);
    const four = await decodeImageBuffer(encodePng({ width: 2, height: 2, data: nib, depth: 4, channels: 1 }), 'four.png');
    expect(Array.from(four.pixels)).toEqual([0, 255, 136, 0]);
  });

  it('corrupt, truncated and oversized PNGs are rejected', async () => {
    const png = encodePng({ width: 32, height: 32, data: Uint8Array.from(pattern(32, 32, 255)), depth: 8, channels: 1 });
    await rejects(png.slice(0, 20), 'short.png', /short\.png: PNG is truncated or corrupt/);
    await rejects(png.slice(0, png.length - 30), 'cut.png', /cut\.png: PNG is corrupt/);
    const badCrc = png.slice();
    badCrc[40] = badCrc[40]! ^ 0xff;
    await rejects(badCrc, 'crc.png', /PNG is corrupt/);
    // an IHDR claiming 60000 x 60000: rejected from the header, before inflating anything
    const huge = png.slice();
    const dv = new DataView(huge.buffer);
    dv.setUint32(16, 60000);
    dv.setUint32(20, 60000);
    await rejects(huge, 'huge.png', /huge\.png: image is 60000x60000 = 3600000000 pixels, over the limit of 100000000/);
    await expect(decodeImageBuffer(png, 'limit.png', { maxPixels: 1000 })).rejects.toThrow(/over the limit of 1000/);
  });
});

describe('JPEG', () => {
  function rgbaFromGrey(grey: number[]): Uint8Array {
    const out = new Uint8Array(grey.length * 4);
    grey.forEach((v, i) => out.set([v, v, v, 255], i * 4));
    return out;
  }

  it('grey image through jpeg-js (YCbCr JPEG) decodes to grey within tolerance', async () => {
    const w = 96;
    const h = 64;
    const grey = pattern(w, h, 255, 11);
    const jpg = new Uint8Array(encodeJpeg({ width: w, height: h, data: rgbaFromGrey(grey) }, 95).data);
    expect(sniffImageFormat(jpg)).toBe('jpeg');
    const im = await decodeImageBuffer(jpg, 'g.jpg');
    expect([im.format, im.rows, im.columns, im.encoding, im.bitsStored, im.photometric]).toEqual(['jpeg', h, w, 'uint8', 8, 'MONOCHROME2']);
    expect(im.windows).toEqual([{ center: 127.5, width: 255, name: 'Full range' }]);
    const d = meanAbsDiff(im.pixels, grey);
    expect(d.mean).toBeLessThan(3);
    expect(d.max).toBeLessThan(30);
  });

  it('colour JPEG becomes luma', async () => {
    const w = 32;
    const h = 16;
    const rgba = new Uint8Array(w * h * 4);
    for (let i = 0; i < w * h; i++) rgba.set([200, 40, 90, 255], i * 4);
    const im = await decodeImageBuffer(new Uint8Array(encodeJpeg({ width: w, height: h, data: rgba }, 100).data), 'c.jpg');
    const expected = Math.round(0.299 * 200 + 0.587 * 40 + 0.114 * 90);
    expect(meanAbsDiff(im.pixels, new Array(w * h).fill(expected)).max).toBeLessThanOrEqual(2);
  });

  it('truncated, garbage and oversized JPEGs are rejected', async () => {
    const jpg = new Uint8Array(encodeJpeg({ width: 64, height: 64, data: rgbaFromGrey(pattern(64, 64, 255)) }, 90).data);
    await rejects(jpg.slice(0, jpg.length - 100), 'cut.jpg', /cut\.jpg: JPEG is truncated/);
    await rejects(jpg.slice(0, 30), 'head.jpg', /head\.jpg: JPEG codestream/);
    // SOF claiming 65000 x 65000
    const huge = jpg.slice();
    for (let i = 2; i < huge.length - 9; i++) {
      if (huge[i] === 0xff && huge[i + 1] === 0xc0) {
        huge.set([0xfd, 0xe8, 0xfd, 0xe8], i + 5);
        break;
      }
    }
    await rejects(huge, 'huge.jpg', /image is 65000x65000 = 4225000000 pixels, over the limit/);
  });
});
