// DICOM files built in the test: pixel-module corner cases (MONOCHROME1, masking, sign extension, HighBit,
// windows, VOI LUTs, spacing, colour, multi-frame, RLE) and clear rejections.
import { encode as encodeJpeg } from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import { decodeImageBuffer, ImageDecodeError } from '../../../main/imaging';
import type { DecodedImage, DecodeOptions } from '../../../main/imaging';
import type { El } from './helpers/dicom-builder';
import { buildDicom, deflateDataSet, imageElements, rleFrame, TS, u16Bytes } from './helpers/dicom-builder';
import { meanAbsDiff } from './helpers/test-data';

const decode = (bytes: Uint8Array, opts?: DecodeOptions): Promise<DecodedImage> => decodeImageBuffer(bytes, 'built.dcm', opts);

async function reject(bytes: Uint8Array, opts?: DecodeOptions): Promise<ImageDecodeError> {
  try {
    await decode(bytes, opts);
  } catch (err) {
    expect(err).toBeInstanceOf(ImageDecodeError);
    return err as ImageDecodeError;
  }
  throw new Error('decoded but should have been rejected');
}

const el = (tag: number, vr: string, value: El['value']): El => ({ tag, vr, value });

describe('grey pixel modules', () => {
  it('MONOCHROME1 16-bit with rescale keeps stored values and photometric; full range is in modality units', async () => {
    const stored = [0, 1000, 40000, 65535, 20000, 30000];
    const file = buildDicom(
      imageElements({
        rows: 2,
        columns: 3,
        photometric: 'MONOCHROME1',
        pixelData: u16Bytes(stored),
        extra: [el(0x00281052, 'DS', '-1024'), el(0x00281053, 'DS', '0.5'), el(0x00280030, 'DS', [0.2, 0.3])],
      }),
    );
    const im = await decode(file);
    expect(im.photometric).toBe('MONOCHROME1');
    expect(im.encoding).toBe('uint16');
    expect(Array.from(im.pixels)).toEqual(stored);
    expect([im.rescaleSlope, im.rescaleIntercept]).toEqual([0.5, -1024]);
    // modality -1024 .. 32767.5 - 1024
    expect(im.windows).toEqual([{ center: (-1024 + 31743.5) / 2, width: 32767.5, name: 'Full range' }]);
    expect(im.pixelSpacing).toEqual([0.2, 0.3]);
  });

  it('unsigned 12 of 16 bits: bits above BitsStored are masked off', async () => {
    const raw = [0x0000, 0x0fff, 0xf123, 0x8800, 0x1001];
    const im = await decode(buildDicom(imageElements({ rows: 1, columns: 5, bitsStored: 12, pixelData: u16Bytes(raw) })));
    expect(im.encoding).toBe('uint16');
    expect(im.bitsStored).toBe(12);
    expect(Array.from(im.pixels)).toEqual([0x000, 0xfff, 0x123, 0x800, 0x001]);
  });

  it('signed 12 of 16 bits: masked and sign-extended from bit 11', async () => {
    const raw = [0x0000, 0x07ff, 0x0800, 0x0fff, 0xf001, 0xa800, 0xffff];
    const im = await decode(buildDicom(imageElements({ rows: 1, columns: 7, bitsStored: 12, pixelRepresentation: 1, pixelData: u16Bytes(raw) })));
    expect(im.encoding).toBe('int16');
    expect(im.pixels).toBeInstanceOf(Int16Array);
    expect(Array.from(im.pixels)).toEqual([0, 2047, -2048, -1, 1, -2048, -1]);
  });

  it('signed 16 bits', async () => {
    const im = await decode(buildDicom(imageElements({ rows: 1, columns: 3, pixelRepresentation: 1, pixelData: u16Bytes([0x8000, 0xffff, 0x7fff]) })));
    expect(Array.from(im.pixels)).toEqual([-32768, -1, 32767]);
  });

  it('HighBit above BitsStored - 1 shifts the stored bits down', async () => {
    // 12 bits stored in bits 4..15
    const im = await decode(buildDicom(imageElements({ rows: 1, columns: 3, bitsStored: 12, highBit: 15, pixelData: u16Bytes([0xfff0, 0x0010, 0x800f]) })));
    expect(Array.from(im.pixels)).toEqual([0xfff, 0x001, 0x800]);
  });

  it('8-bit unsigned is uint8; 8-bit signed becomes int16; 8 stored of 16 allocated is uint8', async () => {
    const u8 = await decode(buildDicom(imageElements({ rows: 1, columns: 4, bitsAllocated: 8, pixelData: new Uint8Array([0, 1, 128, 255]) })));
    expect([u8.encoding, Array.from(u8.pixels)]).toEqual(['uint8', [0, 1, 128, 255]]);
    expect(u8.pixels).toBeInstanceOf(Uint8Array);
    const s8 = await decode(buildDicom(imageElements({ rows: 1, columns: 4, bitsAllocated: 8, pixelRepresentation: 1, pixelData: new Uint8Array([0, 1, 128, 255]) })));
    expect([s8.encoding, Array.from(s8.pixels)]).toEqual(['int16', [0, 1, -128, -1]]);
    const b8 = await decode(buildDicom(imageElements({ rows: 1, columns: 2, bitsStored: 8, pixelData: u16Bytes([0xff12, 0x00fe]) })));
    expect([b8.encoding, b8.bitsStored, Array.from(b8.pixels)]).toEqual(['uint8', 8, [0x12, 0xfe]]);
  });

  it('implicit VR little endian, explicit big endian and explicit little endian give the same pixels', async () => {
    const values = [1, 2, 300, 4000, 65535, 0x1234];
    const spec = { rows: 2, columns: 3, pixelData: u16Bytes(values) };
    const le = await decode(buildDicom(imageElements(spec), TS.explicitLE));
    const il = await decode(buildDicom(imageElements(spec), TS.implicitLE));
    const be = await decode(buildDicom(imageElements({ ...spec, pixelData: u16Bytes(values, false) }), TS.explicitBE));
    for (const im of [le, il, be]) expect(Array.from(im.pixels)).toEqual(values);
    expect(be.transferSyntaxUid).toBe(TS.explicitBE);
    // 8-bit samples in a big endian OW value are byte-swapped in pairs
    const be8 = await decode(buildDicom(imageElements({ rows: 1, columns: 4, bitsAllocated: 8, pixelVr: 'OW', pixelData: new Uint8Array([2, 1, 4, 3]) }), TS.explicitBE));
    expect(Array.from(be8.pixels)).toEqual([1, 2, 3, 4]);
  });

  it('deflated explicit little endian equals the plain encoding; a deflate bomb is stopped', async () => {
    const values = Array.from({ length: 64 * 48 }, (_, i) => (i * 37) & 0xfff);
    const spec = { rows: 48, columns: 64, bitsStored: 12, pixelData: u16Bytes(values) };
    const im = await decode(deflateDataSet(buildDicom(imageElements(spec), TS.deflated)));
    expect(im.transferSyntaxUid).toBe(TS.deflated);
    expect(Array.from(im.pixels)).toEqual(values);
    // 1 x 1 image claiming 80 MB of pixel data, which deflates to ~80 KB
    const bomb = deflateDataSet(buildDicom(imageElements({ rows: 1, columns: 1, pixelData: new Uint8Array(80 * 2 ** 20) }), TS.deflated));
    expect(bomb.length).toBeLessThan(200_000);
    expect((await reject(bomb, { maxPixels: 1000 })).message).toMatch(/deflated data set inflates to more than \d+ bytes/);
  });

  it('multi-frame native data: the first frame', async () => {
    const frames = [...[1, 2, 3, 4], ...[5, 6, 7, 8]];
    const im = await decode(buildDicom(imageElements({ rows: 2, columns: 2, frames: 2, pixelData: u16Bytes(frames) })));
    expect(Array.from(im.pixels)).toEqual([1, 2, 3, 4]);
  });
});

describe('windows and spacing', () => {
  it('multi-valued Window Center/Width with explanations, then VOI LUTs, then Full range', async () => {
    const file = buildDicom(
      imageElements({
        rows: 1,
        columns: 2,
        bitsStored: 12,
        pixelData: u16Bytes([100, 3000]),
        extra: [
          el(0x00281050, 'DS', [2048, 1500.5]),
          el(0x00281051, 'DS', [4096, 800]),
          el(0x00281055, 'LO', 'NORMAL\\LUNG'),
          el(0x00283010, 'SQ', [
            [el(0x00283002, 'US', [4096, 0, 12]), el(0x00283006, 'OW', u16Bytes(new Array(4096).fill(7)))],
            [el(0x00283002, 'US', [0, 0, 16]), el(0x00283006, 'OW', u16Bytes(new Array(16).fill(0)))],
          ]),
        ],
      }),
    );
    const im = await decode(file);
    expect(im.windows).toEqual([
      { center: 2048, width: 4096, name: 'NORMAL' },
      { center: 1500.5, width: 800, name: 'LUNG' },
      { center: 2047.5, width: 4095, name: 'VOI LUT 1' },
      { center: 32767.5, width: 65535, name: 'VOI LUT 2' }, // 0 entries means 65536
      { center: 1550, width: 2900, name: 'Full range' },
    ]);
  });

  it('VOI LUT first input value is signed for signed pixel data; invalid windows are dropped; names default', async () => {
    const file = buildDicom(
      imageElements({
        rows: 1,
        columns: 2,
        pixelRepresentation: 1,
        pixelData: u16Bytes([0xff00, 0x0100]),
        extra: [
          el(0x00281050, 'DS', [40, 0, 50]),
          el(0x00281051, 'DS', [400, 0, 350]),
          el(0x00283010, 'SQ', [[el(0x00283002, 'US', [4096, 63488, 16]), el(0x00283006, 'OW', u16Bytes(new Array(4096).fill(1)))]]),
        ],
      }),
    );
    const im = await decode(file);
    expect(im.windows).toEqual([
      { center: 40, width: 400, name: 'Window 1' },
      { center: 50, width: 350, name: 'Window 3' },
      { center: -0.5, width: 4095, name: 'VOI LUT 1' }, // -2048 .. 2047
      { center: 0, width: 512, name: 'Full range' },
    ]);
  });

  it('PixelSpacing wins over ImagerPixelSpacing; ImagerPixelSpacing is the fallback; none gives null', async () => {
    const px = u16Bytes([1]);
    const both = await decode(buildDicom(imageElements({ rows: 1, columns: 1, pixelData: px, extra: [el(0x00280030, 'DS', [0.1, 0.2]), el(0x00181164, 'DS', [0.15, 0.15])] })));
    expect(both.pixelSpacing).toEqual([0.1, 0.2]);
    const imager = await decode(buildDicom(imageElements({ rows: 1, columns: 1, pixelData: px, extra: [el(0x00181164, 'DS', [0.139, 0.14])] })));
    expect(imager.pixelSpacing).toEqual([0.139, 0.14]);
    const none = await decode(buildDicom(imageElements({ rows: 1, columns: 1, pixelData: px })));
    expect(none.pixelSpacing).toBeNull();
  });

  it('identifiers, modality, view position', async () => {
    const im = await decode(
      buildDicom(
        imageElements({
          rows: 1,
          columns: 1,
          pixelData: u16Bytes([1]),
          extra: [
            el(0x00185101, 'CS', 'PA'),
            el(0x0020000d, 'UI', '1.2.3.10'),
            el(0x0020000e, 'UI', '1.2.3.11'),
            el(0x00080020, 'DA', '20240102'),
            el(0x00080050, 'SH', 'ACC1'),
          ],
        }),
      ),
    );
    expect(im.modality).toBe('DX');
    expect(im.viewPosition).toBe('PA');
    expect(im.sopClassUid).toBe('1.2.840.10008.5.1.4.1.1.1.1');
    expect(im.identifiers).toEqual({
      patientId: 'T-1',
      patientName: 'SYNTHETIC^TEST',
      studyInstanceUid: '1.2.3.10',
      seriesInstanceUid: '1.2.3.11',
      sopInstanceUid: '1.2.826.0.1.3680043.2.1125.1',
      studyDate: '20240102',
      accessionNumber: 'ACC1',
    });
  });
});

describe('colour to grey', () => {
  const rgb = [
    [255, 0, 0],
    [0, 255, 0],
    [0, 0, 255],
    [10, 200, 30],
  ];
  const luma = rgb.map(([r, g, b]) => Math.round(0.299 * r! + 0.587 * g! + 0.114 * b!));

  it('RGB interleaved and planar give Rec.601 luma as MONOCHROME2', async () => {
    const inter = new Uint8Array(rgb.flat());
    const planar = new Uint8Array([0, 1, 2].flatMap((c) => rgb.map((p) => p[c]!)));
    for (const [pc, data] of [
      [0, inter],
      [1, planar],
    ] as const) {
      const im = await decode(buildDicom(imageElements({ rows: 2, columns: 2, bitsAllocated: 8, samplesPerPixel: 3, photometric: 'RGB', planarConfiguration: pc, pixelData: data })));
      expect([im.photometric, im.encoding]).toEqual(['MONOCHROME2', 'uint8']);
      expect(Array.from(im.pixels)).toEqual(luma);
    }
  });

  it('YBR_FULL takes Y', async () => {
    const ybr = new Uint8Array([10, 128, 128, 20, 1, 2, 250, 3, 4, 77, 5, 6]);
    const im = await decode(buildDicom(imageElements({ rows: 2, columns: 2, bitsAllocated: 8, samplesPerPixel: 3, photometric: 'YBR_FULL', pixelData: ybr })));
    expect(Array.from(im.pixels)).toEqual([10, 20, 250, 77]);
  });

  it('PALETTE COLOR is rejected', async () => {
    const err = await reject(buildDicom(imageElements({ rows: 1, columns: 1, bitsAllocated: 8, photometric: 'PALETTE COLOR', pixelData: new Uint8Array([1, 0]) })));
    expect(err.message).toBe('built.dcm: unsupported photometric interpretation PALETTE COLOR');
  });
});

describe('RLE lossless (our decoder, data from an independent PackBits encoder)', () => {
  function splitBytes16(values: number[]): [Uint8Array, Uint8Array] {
    return [Uint8Array.from(values, (v) => (v >> 8) & 0xff), Uint8Array.from(values, (v) => v & 0xff)];
  }

  it('16-bit signed, long runs and literals, equals the native encoding', async () => {
    const rows = 37;
    const columns = 53;
    const values: number[] = [];
    for (let i = 0; i < rows * columns; i++) values.push(i % 97 < 40 ? 0xfc00 : (i * 7919) & 0xffff); // runs + noise
    const native = await decode(buildDicom(imageElements({ rows, columns, pixelRepresentation: 1, pixelData: u16Bytes(values) })));
    const rle = await decode(
      buildDicom(imageElements({ rows, columns, pixelRepresentation: 1, encapsulated: true, pixelData: rleFrame(splitBytes16(values)) }), TS.rle),
    );
    expect(rle.transferSyntaxUid).toBe(TS.rle);
    expect(Array.from(rle.pixels)).toEqual(Array.from(native.pixels));
  });

  it('8-bit RGB (planar segments) gives luma', async () => {
    const r = Uint8Array.from([255, 0, 0, 10]);
    const g = Uint8Array.from([0, 255, 0, 200]);
    const b = Uint8Array.from([0, 0, 255, 30]);
    const im = await decode(
      buildDicom(imageElements({ rows: 2, columns: 2, bitsAllocated: 8, samplesPerPixel: 3, photometric: 'RGB', encapsulated: true, pixelData: rleFrame([r, g, b]) }), TS.rle),
    );
    expect(Array.from(im.pixels)).toEqual([76, 150, 29, 124]); // round(.299r + .587g + .114b)
  });

  it('wrong segment count and truncated segments are rejected', async () => {
    const values = Array.from({ length: 64 }, (_, i) => i * 1000);
    const [hi, lo] = splitBytes16(values);
    const oneSegment = rleFrame([hi]);
    expect((await reject(buildDicom(imageElements({ rows: 8, columns: 8, encapsulated: true, pixelData: oneSegment }), TS.rle))).message).toMatch(
      /RLE: header declares 1 segments, expected 2/,
    );
    const full = rleFrame([hi, lo]);
    const cut = full.slice(0, full.length - 20);
    expect((await reject(buildDicom(imageElements({ rows: 8, columns: 8, encapsulated: true, pixelData: cut }), TS.rle))).message).toMatch(
      /RLE: segment 2 (decodes to \d+ bytes, expected 64|offset \d+ is outside)/,
    );
  });
});

describe('encapsulated JPEG baseline built from a jpeg-js encoding', () => {
  function greyRamp(w: number, h: number): Uint8Array {
    const out = new Uint8Array(w * h);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[y * w + x] = Math.round(((x + y) / (w + h - 2)) * 255);
    return out;
  }

  it('decodes close to the source, also when the frame is split into fragments', async () => {
    const w = 48;
    const h = 40;
    const grey = greyRamp(w, h);
    const rgba = new Uint8Array(w * h * 4);
    grey.forEach((v, i) => rgba.set([v, v, v, 255], i * 4));
    const jpeg = new Uint8Array(encodeJpeg({ width: w, height: h, data: rgba }, 95).data);
    const spec = { rows: h, columns: w, bitsAllocated: 8, samplesPerPixel: 3, photometric: 'YBR_FULL_422', encapsulated: true, pixelData: jpeg };
    const one = await decode(buildDicom(imageElements(spec), TS.jpegBaseline));
    expect(meanAbsDiff(one.pixels, grey).max).toBeLessThanOrEqual(3);
    // three fragments of one frame
    const els = imageElements(spec).map((e) =>
      e.tag === 0x7fe00010 ? { ...e, value: [jpeg.subarray(0, 100), jpeg.subarray(100, 300), jpeg.subarray(300)] } : e,
    );
    const split = await decode(buildDicom(els, TS.jpegBaseline));
    expect(Array.from(split.pixels)).toEqual(Array.from(one.pixels));
    // a truncated codestream is reported, not decoded into garbage
    const cut = imageElements({ ...spec, pixelData: jpeg.subarray(0, jpeg.length - 200) });
    expect((await reject(buildDicom(cut, TS.jpegBaseline))).message).toMatch(/truncated or corrupt \(no end-of-image marker\)/);
  });

  it('a codestream whose size differs from Rows/Columns is rejected before decoding', async () => {
    const rgba = new Uint8Array(16 * 16 * 4).fill(200);
    const jpeg = new Uint8Array(encodeJpeg({ width: 16, height: 16, data: rgba }, 90).data);
    const err = await reject(buildDicom(imageElements({ rows: 32, columns: 16, bitsAllocated: 8, samplesPerPixel: 3, photometric: 'YBR_FULL_422', encapsulated: true, pixelData: jpeg }), TS.jpegBaseline));
    expect(err.message).toMatch(/JPEG frame is 16x16 but the DICOM header says 16x32/);
  });
});

describe('rejections', () => {
  it('unsupported transfer syntax is named', async () => {
    const err = await reject(buildDicom(imageElements({ rows: 2, columns: 2, encapsulated: true, pixelData: new Uint8Array(8) }), TS.mpeg2));
    expect(err.message).toBe('built.dcm: unsupported transfer syntax 1.2.840.10008.1.2.4.100 (MPEG2)');
    expect(err.file).toBe('built.dcm');
    const unknown = await reject(buildDicom(imageElements({ rows: 2, columns: 2, pixelData: new Uint8Array(8) }), '1.2.3.4.5.6.7'));
    expect(unknown.message).toBe('built.dcm: unsupported transfer syntax 1.2.3.4.5.6.7 (unknown)');
  });

  it('huge dimensions are rejected before any pixel buffer is allocated', async () => {
    const t0 = performance.now();
    const err = await reject(buildDicom(imageElements({ rows: 65535, columns: 65535, pixelData: new Uint8Array(4) })));
    expect(err.message).toBe('built.dcm: image is 65535x65535 = 4294836225 pixels, over the limit of 100000000');
    expect(performance.now() - t0).toBeLessThan(1000);
    const small = await reject(buildDicom(imageElements({ rows: 100, columns: 100, pixelData: new Uint8Array(20000) })), { maxPixels: 9999 });
    expect(small.message).toMatch(/over the limit of 9999/);
  });

  it('pixel data shorter than one frame', async () => {
    const err = await reject(buildDicom(imageElements({ rows: 10, columns: 10, pixelData: new Uint8Array(150) })));
    expect(err.message).toBe('built.dcm: pixel data is 150 bytes, expected at least 200 for one 10x10 frame (truncated?)');
  });

  it('no pixel data, zero or missing dimensions, odd BitsAllocated, SamplesPerPixel 4', async () => {
    const noPixels = imageElements({ rows: 2, columns: 2, pixelData: new Uint8Array(8) }).filter((e) => e.tag !== 0x7fe00010);
    expect((await reject(buildDicom(noPixels))).message).toMatch(/no pixel data \(not an image: modality DX/);
    expect((await reject(buildDicom(imageElements({ rows: 0, columns: 2, pixelData: new Uint8Array(8) })))).message).toMatch(/invalid dimensions 0x2/);
    const noRows = imageElements({ rows: 2, columns: 2, pixelData: new Uint8Array(8) }).filter((e) => e.tag !== 0x00280010);
    expect((await reject(buildDicom(noRows))).message).toMatch(/no Rows\/Columns/);
    expect((await reject(buildDicom(imageElements({ rows: 2, columns: 2, bitsAllocated: 12, pixelData: new Uint8Array(8) })))).message).toMatch(
      /BitsAllocated 12 is not supported/,
    );
    expect((await reject(buildDicom(imageElements({ rows: 1, columns: 1, bitsAllocated: 8, samplesPerPixel: 4, photometric: 'ARGB', pixelData: new Uint8Array(4) })))).message).toMatch(
      /SamplesPerPixel 4 is not supported/,
    );
    expect((await reject(buildDicom(imageElements({ rows: 1, columns: 1, bitsStored: 17, pixelData: new Uint8Array(2) })))).message).toMatch(
      /BitsStored 17 is invalid for BitsAllocated 16/,
    );
  });
});
