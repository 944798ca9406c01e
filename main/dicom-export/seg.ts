// A heatmap as a binary DICOM Segmentation: one frame, one segment (named by the phrase), the mask at the source
// image's size, referencing the source image frame by frame (Derivation Image) and as a whole (Referenced Series).
import { baseDataSet, code, contentIdentification, derivationImage, pixelMeasures, planeGeometry, referencedSeries, clip, type ExportContext, type SourceRef } from './common';
import type { DataSet } from './part10';

export const SEG_SOP_CLASS = '1.2.840.10008.5.1.4.1.1.66.4';

export interface Algorithm {
  /** the model's name (or the imported method's) */
  name: string;
  version: string;
  /** e.g. `variant=...; bundle=<sha256>; threshold=...` */
  parameters: string;
}

export interface SegInput {
  phrase: string;
  /** rows x columns, 1 inside the segment, 0 outside */
  mask: Uint8Array;
  algorithm: Algorithm;
  derivation: string;
}

/** Bits packed as DICOM wants them for BitsAllocated 1: pixel i is bit i % 8 of byte i / 8 (least significant first), padded to an even length. */
export function packBits(mask: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(Math.ceil(Math.ceil(mask.length / 8) / 2) * 2);
  for (let i = 0; i < mask.length; i++) if (mask[i]) bytes[i >> 3] |= 1 << (i & 7);
  return bytes;
}

export function unpackBits(bytes: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (bytes[i >> 3] >> (i & 7)) & 1;
  return out;
}

/** The algorithm's identification (Algorithm Identification macro). */
export function algorithmIdentification(a: Algorithm): DataSet {
  return {
    AlgorithmFamilyCodeSequence: [code('123110', 'DCM', 'Artificial Intelligence')],
    AlgorithmName: clip(a.name, 64),
    AlgorithmVersion: clip(a.version || 'unknown', 64),
    AlgorithmParameters: clip(a.parameters, 10240),
  };
}

export function segmentationDataSet(ctx: ExportContext, source: SourceRef, input: SegInput): DataSet {
  if (input.mask.length !== source.rows * source.columns) throw new Error(`a ${source.columns} x ${source.rows} segmentation cannot hold ${input.mask.length} pixels`);
  const ds = baseDataSet(ctx, source, {
    key: 'seg',
    sopClassUid: SEG_SOP_CLASS,
    modality: 'SEG',
    seriesNumber: 901,
    seriesDescription: `Sightline heatmap SEG: ${input.phrase}`,
  });
  Object.assign(ds, {
    FrameOfReferenceUID: source.frameOfReferenceUid,
    PositionReferenceIndicator: '',
    ImageType: ['DERIVED', 'PRIMARY'],
    ...contentIdentification('HEATMAP', `heatmap above threshold: ${input.phrase}`),
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    Rows: source.rows,
    Columns: source.columns,
    BitsAllocated: 1,
    BitsStored: 1,
    HighBit: 0,
    PixelRepresentation: 0,
    LossyImageCompression: '00',
    SegmentationType: 'BINARY',
    NumberOfFrames: 1,
    ReferencedSeriesSequence: referencedSeries(source),
    SegmentSequence: [
      {
        SegmentNumber: 1,
        SegmentLabel: clip(input.phrase, 64),
        SegmentDescription: clip(input.phrase, 1024),
        SegmentAlgorithmType: 'AUTOMATIC',
        SegmentAlgorithmName: clip(input.algorithm.name, 64),
        SegmentationAlgorithmIdentificationSequence: [algorithmIdentification(input.algorithm)],
        SegmentedPropertyCategoryCodeSequence: [code('404684003', 'SCT', 'Clinical finding')],
        SegmentedPropertyTypeCodeSequence: [code('404684003', 'SCT', 'Clinical finding')],
        RecommendedDisplayCIELabValue: [40000, 50000, 50000],
      },
    ],
    DimensionOrganizationSequence: [{ DimensionOrganizationUID: ctx.uids.uid('seg.dimensions') }],
    DimensionIndexSequence: [
      {
        DimensionOrganizationUID: ctx.uids.uid('seg.dimensions'),
        DimensionIndexPointer: 0x0062000b,
        FunctionalGroupPointer: 0x0062000a,
        DimensionDescriptionLabel: 'ReferencedSegmentNumber',
      },
      {
        DimensionOrganizationUID: ctx.uids.uid('seg.dimensions'),
        DimensionIndexPointer: 0x00200032,
        FunctionalGroupPointer: 0x00209113,
        DimensionDescriptionLabel: 'ImagePositionPatient',
      },
    ],
    SharedFunctionalGroupsSequence: [{ PixelMeasuresSequence: [pixelMeasures(source)] }],
    PerFrameFunctionalGroupsSequence: [
      {
        DerivationImageSequence: [derivationImage(source, input.derivation, code('113076', 'DCM', 'Segmentation'))],
        FrameContentSequence: [{ DimensionIndexValues: [1, 1] }],
        ...planeGeometry(source),
        SegmentIdentificationSequence: [{ ReferencedSegmentNumber: 1 }],
      },
    ],
    PixelData: [packBits(input.mask).buffer],
  });
  (ds._vrMap as Record<string, string>).PixelData = 'OB';
  return ds;
}
