// DICOM transfer syntaxes: which ones Sightline decodes and how.

export type PixelCodec =
  | 'native' // uncompressed, little or big endian (deflate is undone by the parser)
  | 'jpeg-baseline' // 8-bit DCT (processes 1, and 2/4 when the data is 8-bit), libjpeg-turbo
  | 'jpeg-lossless' // processes 14 (any predictor) and SV1, jpeg-lossless-decoder-js
  | 'jpeg-ls' // CharLS
  | 'jpeg-2000' // OpenJPEG
  | 'rle'; // DICOM RLE Lossless (PS3.5 Annex G)

export interface TransferSyntaxInfo {
  uid: string;
  name: string;
  codec: PixelCodec | null; // null: recognised but not supported
  bigEndian: boolean;
}

const table: TransferSyntaxInfo[] = [
  { uid: '1.2.840.10008.1.2', name: 'Implicit VR Little Endian', codec: 'native', bigEndian: false },
  { uid: '1.2.840.10008.1.2.1', name: 'Explicit VR Little Endian', codec: 'native', bigEndian: false },
  { uid: '1.2.840.10008.1.2.1.99', name: 'Deflated Explicit VR Little Endian', codec: 'native', bigEndian: false },
  { uid: '1.2.840.10008.1.2.2', name: 'Explicit VR Big Endian', codec: 'native', bigEndian: true },
  { uid: '1.2.840.10008.1.2.4.50', name: 'JPEG Baseline', codec: 'jpeg-baseline', bigEndian: false },
  { uid: '1.2.840.10008.1.2.4.51', name: 'JPEG Extended', codec: 'jpeg-baseline', bigEndian: false },
  { uid: '1.2.840.10008.1.2.4.57', name: 'JPEG Lossless', codec: 'jpeg-lossless', bigEndian: false },
  { uid: '1.2.840.10008.1.2.4.70', name: 'JPEG Lossless SV1', codec: 'jpeg-lossless', bigEndian: false },
  { uid: '1.2.840.10008.1.2.4.80', name: 'JPEG-LS Lossless', codec: 'jpeg-ls', bigEndian: false },
  { uid: '1.2.840.10008.1.2.4.81', name: 'JPEG-LS Near-Lossless', codec: 'jpeg-ls', bigEndian: false },
  { uid: '1.2.840.10008.1.2.4.90', name: 'JPEG 2000 Lossless', codec: 'jpeg-2000', bigEndian: false },
  { uid: '1.2.840.10008.1.2.4.91', name: 'JPEG 2000', codec: 'jpeg-2000', bigEndian: false },
  { uid: '1.2.840.10008.1.2.5', name: 'RLE Lossless', codec: 'rle', bigEndian: false },
  // Recognised, not supported: named in the error message.
  { uid: '1.2.840.10008.1.2.4.52', name: 'JPEG Extended (3,5)', codec: null, bigEndian: false },
  { uid: '1.2.840.10008.1.2.4.53', name: 'JPEG Spectral Selection', codec: null, bigEndian: false },
  { uid: '1.2.840.10008.1.2.4.55', name: 'JPEG Full Progression', codec: null, bigEndian: false },
  { uid: '1.2.840.10008.1.2.4.58', name: 'JPEG Lossless (15)', codec: null, bigEndian: false },
  { uid: '1.2.840.10008.1.2.4.92', name: 'JPEG 2000 Part 2 Lossless', codec: null, bigEndian: false },
  { uid: '1.2.840.10008.1.2.4.93', name: 'JPEG 2000 Part 2', codec: null, bigEndian: false },
  { uid: '1.2.840.10008.1.2.4.94', name: 'JPIP Referenced', codec: null, bigEndian: false },
  { uid: '1.2.840.10008.1.2.4.95', name: 'JPIP Referenced Deflate', codec: null, bigEndian: false },
  { uid: '1.2.840.10008.1.2.4.100', name: 'MPEG2', codec: null, bigEndian: false },
  { uid: '1.2.840.10008.1.2.4.101', name: 'MPEG2 High Level', codec: null, bigEndian: false },
  { uid: '1.2.840.10008.1.2.4.102', name: 'MPEG-4 AVC/H.264', codec: null, bigEndian: false },
  { uid: '1.2.840.10008.1.2.4.103', name: 'MPEG-4 AVC/H.264 BD', codec: null, bigEndian: false },
  { uid: '1.2.840.10008.1.2.4.104', name: 'MPEG-4 AVC/H.264 2D', codec: null, bigEndian: false },
  { uid: '1.2.840.10008.1.2.4.105', name: 'MPEG-4 AVC/H.264 3D', codec: null, bigEndian: false },
  { uid: '1.2.840.10008.1.2.4.106', name: 'MPEG-4 AVC/H.264 Stereo', codec: null, bigEndian: false },
  { uid: '1.2.840.10008.1.2.4.107', name: 'HEVC/H.265 Main', codec: null, bigEndian: false },
  { uid: '1.2.840.10008.1.2.4.108', name: 'HEVC/H.265 Main 10', codec: null, bigEndian: false },
  { uid: '1.2.840.10008.1.2.4.201', name: 'HTJ2K Lossless', codec: null, bigEndian: false },
  { uid: '1.2.840.10008.1.2.4.202', name: 'HTJ2K Lossless RPCL', codec: null, bigEndian: false },
  { uid: '1.2.840.10008.1.2.4.203', name: 'HTJ2K', codec: null, bigEndian: false },
  { uid: '1.2.840.10008.1.2.6.1', name: 'RFC 2557 MIME', codec: null, bigEndian: false },
  { uid: '1.2.840.10008.1.2.6.2', name: 'XML', codec: null, bigEndian: false },
];

const byUid = new Map(table.map((t) => [t.uid, t]));

export function transferSyntaxInfo(uid: string): TransferSyntaxInfo | undefined {
  return byUid.get(uid);
}

/** The transfer syntaxes decodeImage accepts. */
export const SUPPORTED_TRANSFER_SYNTAXES: readonly string[] = table.filter((t) => t.codec !== null).map((t) => t.uid);

export function describeTransferSyntax(uid: string): string {
  const info = byUid.get(uid);
  return info ? `${uid} (${info.name})` : `${uid} (unknown)`;
}
