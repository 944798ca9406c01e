// Reads what the study database needs from an image file's header, without decoding pixels, and catches the
// common kinds of damage cheaply (wrong magic, truncation, missing pixel data, unsupported transfer syntax).
// Full pixel decoding (main/imaging) happens when an image is viewed, or at import when `verify` is given.
import zlib from 'node:zlib';
import {
  DicomTag as T,
  binaryChunks,
  dicomDamage,
  encapsulatedFramesPresent,
  describeTransferSyntax,
  endsWithEndMarker,
  isPng,
  num,
  nums,
  parseDicom,
  readJpegHeader,
  str,
  transferSyntaxInfo,
  type ImageFormat,
} from '../imaging';
import type { StoredImage } from '../db/images-repo';

/**
 * What an import learns from a file's header. `photometric` is as in the file: MONOCHROME1/MONOCHROME2 (grey
 * PNG/JPEG: MONOCHROME2), RGB, YBR_FULL_422, PALETTE COLOR.
 */
export interface ProbedImage
  extends Pick<
    StoredImage,
    | 'format'
    | 'rows'
    | 'columns'
    | 'bitsStored'
    | 'photometric'
    | 'samplesPerPixel'
    | 'frames'
    | 'pixelSpacing'
    | 'modality'
    | 'viewPosition'
    | 'transferSyntaxUid'
    | 'sopInstanceUid'
    | 'sopClassUid'
    | 'seriesUid'
  > {
  studyUid: string | null;
  studyDate: string | null;
  /** protected health information: hashed before storage, never stored */
  patientId: string | null;
  /** an identifier: stored as a pseudonym (main/studies/study-names.ts) */
  accession: string | null;
  /** kept only when clean (study-names.ts) */
  studyDescription: string | null;
  /** read only to check the description; never stored */
  patientName: string | null;
  /** PatientIdentityRemoved = YES */
  identityRemoved: boolean;
}

/** A file that is not a usable image; `message` is the rejection reason shown to the user. */
export class ProbeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProbeError';
  }
}

const PNG_IEND = [0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82];

function blank(format: ImageFormat): Omit<ProbedImage, 'rows' | 'columns' | 'bitsStored' | 'photometric' | 'samplesPerPixel'> {
  return {
    format,
    frames: 1,
    pixelSpacing: null,
    modality: null,
    viewPosition: null,
    sopClassUid: null,
    transferSyntaxUid: null,
    sopInstanceUid: null,
    seriesUid: null,
    studyUid: null,
    studyDate: null,
    patientId: null,
    accession: null,
    studyDescription: null,
    patientName: null,
    identityRemoved: false,
  };
}

/** `head`: the first bytes of the file (>= 33); `tail`: its last 12+ bytes. */
export function probePng(head: Uint8Array, tail: Uint8Array): ProbedImage {
  if (!isPng(head)) throw new ProbeError('not a PNG file (bad signature)');
  if (head.length < 33) throw new ProbeError('truncated PNG (no IHDR chunk)');
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const type = String.fromCharCode(head[12], head[13], head[14], head[15]);
  if (view.getUint32(8) !== 13 || type !== 'IHDR') throw new ProbeError('corrupt PNG (first chunk is not IHDR)');
  const crc = view.getUint32(29);
  if (zlib.crc32(head.subarray(12, 29)) !== crc) throw new ProbeError('corrupt PNG (IHDR checksum mismatch)');
  const columns = view.getUint32(16);
  const rows = view.getUint32(20);
  const bitDepth = head[24];
  const colorType = head[25];
  if (!rows || !columns) throw new ProbeError('corrupt PNG (zero width or height)');
  const samples: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
  if (!(colorType in samples) || ![1, 2, 4, 8, 16].includes(bitDepth)) {
    throw new ProbeError(`corrupt PNG (colour type ${colorType}, bit depth ${bitDepth})`);
  }
  // IEND at the very end, or followed by a few stray bytes (some writers pad files)
  let hasEnd = false;
  for (let at = tail.length - 12; at >= 0 && !hasEnd; at--) hasEnd = PNG_IEND.every((b, i) => tail[at + i] === b);
  if (!hasEnd) throw new ProbeError('truncated PNG (no IEND chunk at the end)');
  const grey = colorType === 0 || colorType === 4;
  return {
    ...blank('png'),
    rows,
    columns,
    bitsStored: bitDepth === 16 ? 16 : 8,
    photometric: grey ? 'MONOCHROME2' : colorType === 3 ? 'PALETTE COLOR' : 'RGB',
    samplesPerPixel: samples[colorType],
  };
}

export function probeJpeg(head: Uint8Array, tail: Uint8Array): ProbedImage {
  let h;
  try {
    h = readJpegHeader(head);
  } catch (err) {
    throw new ProbeError((err as Error).message.replace('compressed frame is not', 'not'));
  }
  if (!h.rows || !h.columns) throw new ProbeError('corrupt JPEG (zero width or height)');
  if (!endsWithEndMarker(tail)) throw new ProbeError('truncated JPEG (no end-of-image marker)');
  return {
    ...blank('jpeg'),
    rows: h.rows,
    columns: h.columns,
    bitsStored: h.precision,
    photometric: h.components === 1 ? 'MONOCHROME2' : 'RGB',
    samplesPerPixel: h.components,
  };
}

/** Parses the whole DICOM file (pixel data located, not decoded). */
export async function probeDicom(bytes: Uint8Array): Promise<ProbedImage> {
  let parsed;
  try {
    parsed = await parseDicom(bytes);
  } catch (err) {
    throw new ProbeError((err as Error).message);
  }
  const { meta, dict } = parsed;
  const ts = str(meta, T.TransferSyntaxUID);
  const rows = num(dict, T.Rows);
  const columns = num(dict, T.Columns);
  const pixelData = dict[T.PixelData];
  if (!rows || !columns || !pixelData) {
    // dcmjs may stop silently at a damaged element: say where, rather than "no pixel data"
    const damage = dicomDamage(bytes);
    if (damage) throw new ProbeError(damage);
  }
  if (!rows || !columns) throw new ProbeError('DICOM object has no image (no Rows/Columns)');
  if (!pixelData) throw new ProbeError('DICOM object has no pixel data');
  if (!ts) throw new ProbeError('no transfer syntax in the file meta information');
  const info = transferSyntaxInfo(ts);
  if (!info || !info.codec) throw new ProbeError(`unsupported transfer syntax ${describeTransferSyntax(ts)}`);
  const samplesPerPixel = num(dict, T.SamplesPerPixel) ?? 1;
  const bitsAllocated = num(dict, T.BitsAllocated) ?? 16;
  const bitsStored = num(dict, T.BitsStored) ?? bitsAllocated;
  const frames = Math.max(1, num(dict, T.NumberOfFrames) ?? 1);
  // a deflated data set is kept up to its first frame; the parser counted the rest
  const actual = parsed.pixelBytes ?? binaryChunks(pixelData.Value).reduce((n, c) => n + c.byteLength, 0);
  const frameCount = (n: number) => (n === 1 ? '1 frame' : `${n} frames`);
  if (info.codec === 'native') {
    const frameBytes = Math.ceil((rows * columns * samplesPerPixel * bitsAllocated) / 8);
    const expected = frameBytes * frames;
    if (actual < expected) {
      const whole = Math.floor(actual / frameBytes);
      throw new ProbeError(`truncated pixel data: the header declares ${frameCount(frames)} (${expected} bytes), the file holds ${actual} bytes (${frameCount(whole)})`);
    }
  } else if (actual === 0) {
    throw new ProbeError('compressed pixel data is empty');
  } else {
    const present = encapsulatedFramesPresent(pixelData.Value, frames, info.codec);
    if (present < frames) throw new ProbeError(`truncated pixel data: the header declares ${frameCount(frames)}, the file holds ${frameCount(present)}`);
  }
  const spacing = nums(dict, T.PixelSpacing);
  const imagerSpacing = nums(dict, T.ImagerPixelSpacing);
  const ps = spacing.length >= 2 ? spacing : imagerSpacing;
  return {
    format: 'dicom',
    rows,
    columns,
    bitsStored,
    photometric: str(dict, T.PhotometricInterpretation) ?? 'MONOCHROME2',
    samplesPerPixel,
    frames,
    pixelSpacing: ps.length >= 2 && ps[0] > 0 && ps[1] > 0 ? [ps[0], ps[1]] : null,
    modality: str(dict, T.Modality),
    viewPosition: str(dict, T.ViewPosition),
    sopClassUid: str(dict, T.SOPClassUID) ?? str(meta, T.MediaStorageSOPClassUID),
    transferSyntaxUid: ts,
    sopInstanceUid: str(dict, T.SOPInstanceUID) ?? str(meta, T.MediaStorageSOPInstanceUID),
    seriesUid: str(dict, T.SeriesInstanceUID),
    studyUid: str(dict, T.StudyInstanceUID),
    studyDate: str(dict, T.StudyDate),
    patientId: str(dict, T.PatientID),
    accession: str(dict, T.AccessionNumber),
    studyDescription: str(dict, T.StudyDescription),
    patientName: str(dict, T.PatientName),
    identityRemoved: str(dict, T.PatientIdentityRemoved)?.toUpperCase() === 'YES',
  };
}
