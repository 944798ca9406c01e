// DICOM (CR / DX / Secondary Capture and friends) to a DecodedImage: first frame, one grey stored value per pixel.

import { endsWithEndMarker, jpegAssumeRgb, readJ2kHeader, readJpegHeader, unwrapJp2 } from './codestream-header';
import type { CodecFrame } from './dicom-codecs';
import { decodeJpeg2000, decodeJpeg8, decodeJpegLossless, decodeJpegLs } from './dicom-codecs';
import type { DcmDict } from './dicom-parse';
import { binaryChunks, concatChunks, dicomDamage, explicitVrMismatch, num, nums, parseDicom, patientOrientation, sequenceItems, str, strs } from './dicom-parse';
import type { ColourModel, GreyPixels, RawSamples } from './pixel-samples';
import { colourToGrey, minMax, readNativeSamples, toStoredValues, ybr422ToGrey } from './pixel-samples';
import { decodeRleFrame } from './rle-decode';
import { describeTransferSyntax, transferSyntaxInfo } from './transfer-syntaxes';
import type { PixelCodec } from './transfer-syntaxes';
import type { DecodedImage, DecodeOptions, Photometric, SampleEncoding, WindowPreset } from './types';
import { DEFAULT_MAX_PIXELS, DecodeProblem } from './types';
import { fullRangeWindow, windowFromVoiLut, windowsFromCenterWidth } from './window-presets';
import { DicomTag as T } from './dicom-tags';


const COLOUR_PHOTOMETRICS = new Set(['RGB', 'YBR_FULL', 'YBR_FULL_422', 'YBR_PARTIAL_422', 'YBR_PARTIAL_420', 'YBR_ICT', 'YBR_RCT']);

interface PixelModule {
  rows: number;
  columns: number;
  samplesPerPixel: number;
  photometric: string;
  planar: boolean;
  frames: number;
  bitsAllocated: 8 | 16;
  bitsStored: number;
  highBit: number;
  signed: boolean;
}

function readPixelModule(dict: DcmDict, maxPixels: number): PixelModule {
  const rows = num(dict, T.Rows);
  const columns = num(dict, T.Columns);
  if (rows === null || columns === null) throw new DecodeProblem('image has no Rows/Columns');
  if (!Number.isInteger(rows) || !Number.isInteger(columns) || rows < 1 || columns < 1) {
    throw new DecodeProblem(`image has invalid dimensions ${rows}x${columns}`);
  }
  if (rows * columns > maxPixels) {
    throw new DecodeProblem(`image is ${columns}x${rows} = ${rows * columns} pixels, over the limit of ${maxPixels}`);
  }
  const samplesPerPixel = num(dict, T.SamplesPerPixel) ?? 1;
  const photometric = (str(dict, T.PhotometricInterpretation) ?? (samplesPerPixel === 1 ? 'MONOCHROME2' : '')).toUpperCase();
  const bitsAllocated = num(dict, T.BitsAllocated);
  if (bitsAllocated !== 8 && bitsAllocated !== 16) {
    throw new DecodeProblem(`BitsAllocated ${bitsAllocated ?? 'missing'} is not supported (8 or 16)`);
  }
  const bitsStored = num(dict, T.BitsStored) ?? bitsAllocated;
  if (!Number.isInteger(bitsStored) || bitsStored < 1 || bitsStored > bitsAllocated) {
    throw new DecodeProblem(`BitsStored ${bitsStored} is invalid for BitsAllocated ${bitsAllocated}`);
  }
  let highBit = num(dict, T.HighBit) ?? bitsStored - 1;
  if (!Number.isInteger(highBit) || highBit < bitsStored - 1 || highBit >= bitsAllocated) highBit = bitsStored - 1;
  const signed = (num(dict, T.PixelRepresentation) ?? 0) === 1;

  if (samplesPerPixel === 1) {
    if (photometric !== 'MONOCHROME1' && photometric !== 'MONOCHROME2') {
      throw new DecodeProblem(`unsupported photometric interpretation ${photometric || '(missing)'}`);
    }
  } else if (samplesPerPixel === 3) {
    if (!COLOUR_PHOTOMETRICS.has(photometric)) {
      throw new DecodeProblem(`unsupported photometric interpretation ${photometric || '(missing)'} with 3 samples per pixel`);
    }
  } else {
    throw new DecodeProblem(`SamplesPerPixel ${samplesPerPixel} is not supported (1 or 3)`);
  }
  const framesValue = num(dict, T.NumberOfFrames);
  const frames = framesValue !== null && Number.isInteger(framesValue) && framesValue > 0 ? framesValue : 1;
  return {
    rows,
    columns,
    samplesPerPixel,
    photometric,
    planar: (num(dict, T.PlanarConfiguration) ?? 0) === 1,
    frames,
    bitsAllocated,
    bitsStored,
    highBit,
    signed,
  };
}

interface GreyResult {
  pixels: GreyPixels;
  encoding: SampleEncoding;
  bitsStored: number;
  colour: boolean;
}

function greyFromSamples(raw: RawSamples, pm: PixelModule, layout: 'interleaved' | 'planar', components: number, model: ColourModel, highBit: number): GreyResult {
  const count = pm.rows * pm.columns;
  if (components === 3) {
    const bits = Math.min(pm.bitsStored, raw.BYTES_PER_ELEMENT * 8);
    const { pixels, encoding } = colourToGrey(raw, count, layout, model, bits);
    return { pixels, encoding, bitsStored: bits, colour: true };
  }
  if (raw.length < count) throw new DecodeProblem(`decoded frame has ${raw.length} samples, expected ${count}`);
  const { pixels, encoding } = toStoredValues(raw, count, pm.bitsStored, highBit, pm.signed);
  return { pixels, encoding, bitsStored: pm.bitsStored, colour: false };
}

function decodeNative(pixelValue: unknown, pm: PixelModule, bigEndian: boolean, vr: string | undefined): GreyResult {
  let bytes = concatChunks(binaryChunks(pixelValue));
  const count = pm.rows * pm.columns;
  if (pm.samplesPerPixel === 3 && (pm.photometric === 'YBR_FULL_422' || pm.photometric === 'YBR_PARTIAL_422')) {
    if (pm.bitsAllocated !== 8) throw new DecodeProblem(`${pm.photometric} with BitsAllocated ${pm.bitsAllocated} is not supported`);
    const need = Math.ceil(pm.columns / 2) * 4 * pm.rows;
    if (bytes.length < need) throw new DecodeProblem(`pixel data is ${bytes.length} bytes, expected at least ${need} for one ${pm.columns}x${pm.rows} frame (truncated?)`);
    return { pixels: ybr422ToGrey(bytes, pm.rows, pm.columns), encoding: 'uint8', bitsStored: Math.min(8, pm.bitsStored), colour: true };
  }
  const sampleCount = count * pm.samplesPerPixel;
  const need = sampleCount * (pm.bitsAllocated / 8);
  if (bytes.length < need) {
    throw new DecodeProblem(`pixel data is ${bytes.length} bytes, expected at least ${need} for one ${pm.columns}x${pm.rows} frame (truncated?)`);
  }
  if (bigEndian && pm.bitsAllocated === 8 && vr === 'OW') {
    // 8-bit samples in a big endian OW value: bytes are swapped in pairs.
    const swapped = new Uint8Array(need + (need & 1));
    for (let i = 0; i + 1 < swapped.length && i + 1 < bytes.length; i += 2) {
      swapped[i] = bytes[i + 1]!;
      swapped[i + 1] = bytes[i]!;
    }
    bytes = swapped;
  }
  const raw = readNativeSamples(bytes, pm.bitsAllocated, sampleCount, bigEndian);
  const model: ColourModel = pm.photometric === 'RGB' ? 'rgb' : 'ybr';
  return greyFromSamples(raw, pm, pm.planar ? 'planar' : 'interleaved', pm.samplesPerPixel, model, pm.highBit);
}

/** The encapsulated fragments of the first frame. */
function firstFrameFragments(pixelValue: unknown, pm: PixelModule, codec: PixelCodec): Uint8Array {
  if (!Array.isArray(pixelValue) || pixelValue.length === 0) throw new DecodeProblem('encapsulated pixel data has no fragments');
  const items = pixelValue.map((v) => binaryChunks(v));
  if (pm.frames === 1) return concatChunks(items.flat());
  // Several frames: with a Basic Offset Table dcmjs groups fragments per frame; without one each item is a
  // fragment, and a frame ends with the fragment that ends with an EOI/EOC marker.
  if (items.length <= pm.frames || codec === 'rle') return concatChunks(items[0]!);
  const parts: Uint8Array[] = [];
  for (const item of items) {
    parts.push(...item);
    const last = item[item.length - 1];
    if (last && endsWithEndMarker(last)) break;
  }
  return concatChunks(parts);
}

/**
 * How many whole frames encapsulated pixel data holds (at most `declared`): with a Basic Offset Table dcmjs gives
 * one item per frame; without one, one item per fragment, and a JPEG/JPEG-LS/JPEG 2000 frame ends with the fragment
 * that ends with an EOI/EOC marker (an RLE frame is one fragment).
 */
export function encapsulatedFramesPresent(pixelValue: unknown, declared: number, codec: PixelCodec): number {
  if (!Array.isArray(pixelValue)) return 0;
  const items = pixelValue.map((v) => binaryChunks(v)).filter((chunks) => chunks.some((c) => c.length > 0));
  if (items.length <= declared || codec === 'rle') return Math.min(items.length, declared);
  return Math.min(declared, items.filter((chunks) => endsWithEndMarker(chunks[chunks.length - 1]!)).length);
}

function checkFrameSize(kind: string, rows: number, columns: number, pm: PixelModule): void {
  if (rows !== pm.rows || columns !== pm.columns) {
    throw new DecodeProblem(`${kind} frame is ${columns}x${rows} but the DICOM header says ${pm.columns}x${pm.rows}`);
  }
}

function requireEndMarker(frame: Uint8Array): void {
  if (!endsWithEndMarker(frame)) throw new DecodeProblem('compressed frame is truncated or corrupt (no end-of-image marker)');
}

async function decodeEncapsulated(frame: Uint8Array, pm: PixelModule, codec: PixelCodec): Promise<GreyResult> {
  if (codec === 'rle') {
    const { samples } = decodeRleFrame(frame, pm.rows, pm.columns, pm.samplesPerPixel, pm.bitsAllocated / 8);
    const model: ColourModel = pm.photometric === 'RGB' ? 'rgb' : 'ybr';
    return greyFromSamples(samples, pm, 'planar', pm.samplesPerPixel, model, pm.bitsStored - 1);
  }
  if (frame.length === 0) throw new DecodeProblem('compressed frame is empty');

  let decoded: CodecFrame;
  let dct = false;
  if (codec === 'jpeg-2000') {
    const stream = unwrapJp2(frame);
    const h = readJ2kHeader(stream);
    checkFrameSize('JPEG 2000', h.rows, h.columns, pm);
    if (h.precision > 16) throw new DecodeProblem(`JPEG 2000 precision ${h.precision} is not supported`);
    requireEndMarker(stream);
    decoded = await decodeJpeg2000(stream);
  } else {
    // The SOF marker decides the decoder (files sometimes carry a codestream other than their transfer syntax says).
    const h = readJpegHeader(frame);
    checkFrameSize(h.kind === 'jpeg-ls' ? 'JPEG-LS' : 'JPEG', h.rows, h.columns, pm);
    if (h.kind === 'jpeg' && [0xc0, 0xc1, 0xc2].includes(h.sofMarker) && h.precision !== 8) {
      throw new DecodeProblem(`${h.precision}-bit DCT JPEG (JPEG Extended) is not supported, only 8-bit`);
    }
    requireEndMarker(frame);
    if (h.kind === 'jpeg-ls') {
      decoded = await decodeJpegLs(frame);
    } else if (h.sofMarker === 0xc3 || h.sofMarker === 0xc7) {
      decoded = decodeJpegLossless(frame);
    } else if (h.sofMarker === 0xc0 || h.sofMarker === 0xc1 || h.sofMarker === 0xc2) {
      // DICOM RGB means "no colour transform"; tell libjpeg when the codestream itself does not say.
      decoded = await decodeJpeg8(pm.photometric === 'RGB' ? jpegAssumeRgb(frame) : frame);
      dct = true;
    } else {
      throw new DecodeProblem(`JPEG process with SOF marker 0xFF${h.sofMarker.toString(16).toUpperCase()} (hierarchical or arithmetic coding) is not supported`);
    }
  }
  checkFrameSize('decoded', decoded.height, decoded.width, pm);
  if (decoded.components !== 1 && decoded.components !== 3) {
    throw new DecodeProblem(`compressed frame has ${decoded.components} components (1 or 3 supported)`);
  }
  // libjpeg converts YCbCr to RGB; OpenJPEG undoes the RCT/ICT; other codecs return the stored colour space.
  const ybr = pm.photometric.startsWith('YBR_FULL') || pm.photometric.startsWith('YBR_PARTIAL');
  const model: ColourModel = dct || !ybr ? 'rgb' : 'ybr';
  return greyFromSamples(decoded.data, pm, decoded.layout, decoded.components, model, pm.bitsStored - 1);
}

function readWindows(dict: DcmDict, signed: boolean): WindowPreset[] {
  const windows = windowsFromCenterWidth(nums(dict, T.WindowCenter), nums(dict, T.WindowWidth), strs(dict, T.WindowExplanation));
  sequenceItems(dict, T.VOILUTSequence).forEach((item, i) => {
    const d = nums(item, T.LUTDescriptor);
    if (d.length < 2) return;
    let first = d[1]!;
    if (signed && first > 32767) first -= 65536; // SS stored as US
    const w = windowFromVoiLut({ entries: d[0]!, firstInput: first }, i);
    if (w) windows.push(w);
  });
  return windows;
}

function readSpacing(dict: DcmDict): [number, number] | null {
  for (const key of [T.PixelSpacing, T.ImagerPixelSpacing]) {
    const v = nums(dict, key);
    if (v.length >= 2 && v[0]! > 0 && v[1]! > 0 && Number.isFinite(v[0]) && Number.isFinite(v[1])) return [v[0]!, v[1]!];
  }
  return null;
}

export async function decodeDicom(bytes: Uint8Array, opts: DecodeOptions = {}): Promise<DecodedImage> {
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  // A deflated data set inflates within what its header declares, and only up to its first frame is kept.
  const { meta, dict } = await parseDicom(bytes, { maxPixels });
  const transferSyntaxUid = str(meta, T.TransferSyntaxUID);
  const sopClassUid = str(dict, T.SOPClassUID) ?? str(meta, T.MediaStorageSOPClassUID);
  const modality = str(dict, T.Modality);

  const pixelElement = dict[T.PixelData];
  if (!pixelElement || !Array.isArray(pixelElement.Value) || pixelElement.Value.length === 0) {
    if (dict[T.FloatPixelData] || dict[T.DoubleFloatPixelData]) throw new DecodeProblem('float pixel data is not supported');
    if (explicitVrMismatch(bytes, transferSyntaxUid)) {
      throw new DecodeProblem(`malformed DICOM file (the data set is implicit VR but the file meta declares ${describeTransferSyntax(transferSyntaxUid ?? '')})`);
    }
    const damage = dicomDamage(bytes);
    if (damage) throw new DecodeProblem(damage);
    throw new DecodeProblem(`no pixel data (not an image${modality ? `: modality ${modality}` : ''}${sopClassUid ? `, SOP class ${sopClassUid}` : ''})`);
  }
  if (!transferSyntaxUid) throw new DecodeProblem('no transfer syntax in the file meta information');
  const ts = transferSyntaxInfo(transferSyntaxUid);
  if (!ts || ts.codec === null) throw new DecodeProblem(`unsupported transfer syntax ${describeTransferSyntax(transferSyntaxUid)}`);

  const pm = readPixelModule(dict, maxPixels);
  const grey =
    ts.codec === 'native'
      ? decodeNative(pixelElement.Value, pm, ts.bigEndian, pixelElement.vr)
      : await decodeEncapsulated(firstFrameFragments(pixelElement.Value, pm, ts.codec), pm, ts.codec);

  let rescaleSlope = num(dict, T.RescaleSlope) ?? 1;
  if (rescaleSlope === 0) rescaleSlope = 1;
  const rescaleIntercept = num(dict, T.RescaleIntercept) ?? 0;
  const photometric: Photometric = grey.colour ? 'MONOCHROME2' : (pm.photometric as Photometric);
  const { min, max } = minMax(grey.pixels);
  const windows = [...readWindows(dict, pm.signed), fullRangeWindow(min, max, rescaleSlope, rescaleIntercept)];

  return {
    format: 'dicom',
    rows: pm.rows,
    columns: pm.columns,
    bitsStored: grey.bitsStored,
    encoding: grey.encoding,
    pixels: grey.pixels,
    photometric,
    rescaleSlope,
    rescaleIntercept,
    windows,
    pixelSpacing: readSpacing(dict),
    modality,
    viewPosition: str(dict, T.ViewPosition),
    patientOrientation: patientOrientation(dict),
    sopClassUid,
    transferSyntaxUid,
    identifiers: {
      patientId: str(dict, T.PatientID),
      patientName: str(dict, T.PatientName),
      studyInstanceUid: str(dict, T.StudyInstanceUID),
      seriesInstanceUid: str(dict, T.SeriesInstanceUID),
      sopInstanceUid: str(dict, T.SOPInstanceUID),
      studyDate: str(dict, T.StudyDate),
      accessionNumber: str(dict, T.AccessionNumber),
    },
  };
}
