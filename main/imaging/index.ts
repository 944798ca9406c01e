// The imaging domain's public surface.
export { decodeImageBuffer, decodeImageFile, sniffImageFormat } from './image-decode';
export type { SniffedFormat } from './image-decode';
export { preloadCodecs } from './dicom-codecs';
export { SUPPORTED_TRANSFER_SYNTAXES, describeTransferSyntax } from './transfer-syntaxes';
export { DEFAULT_MAX_PIXELS, ImageDecodeError } from './types';
export type { DecodedImage, DecodeOptions, ImageFormat, ImageIdentifiers, Photometric, SampleEncoding, WindowPreset } from './types';
