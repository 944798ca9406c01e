// The imaging domain's public surface: decoding, and the header readers the import's probe uses.
export { decodeImageBuffer, decodeImageFile, sniffImageFormat } from './image-decode';
export type { SniffedFormat } from './image-decode';
export { preloadCodecs } from './dicom-codecs';
export { SUPPORTED_TRANSFER_SYNTAXES, describeTransferSyntax, transferSyntaxInfo } from './transfer-syntaxes';
export { DEFAULT_MAX_PIXELS, ImageDecodeError } from './types';
export type { DecodedImage, DecodeOptions, ImageFormat, ImageIdentifiers, Photometric, SampleEncoding, WindowPreset } from './types';
export { DicomTag } from './dicom-tags';
export { encapsulatedFramesPresent } from './dicom-decode';
export { parseDicom, dicomDamage, binaryChunks, num, nums, str } from './dicom-parse';
export type { DcmDict } from './dicom-parse';
export { dcmjs, readDicomFile, type Dcmjs, type NaturalDataSet } from './dcmjs';
export { endsWithEndMarker, readJpegHeader } from './codestream-header';
export { isPng } from './raster-decode';
export { decodeOnPool, type ImagingTasks } from './decode-tasks';
export { createImagingService, type ImagingServiceDeps } from './service';
