// A heatmap as a DICOM Parametric Map: float32 values at the source image's size (Float Pixel Data), NaN (outside
// the model's square, or where an imported map has no value) written as the Float Pixel Padding Value, which lies
// below every value of the map, with a Real World Value Mapping saying the values are a heatmap in arbitrary units.
import { baseDataSet, code, contentIdentification, derivationImage, ds as dsValue, pixelMeasures, planeGeometry, referencedSeries, type ExportContext, type SourceRef } from './common';
import type { DataSet } from './part10';
import type { Algorithm } from './seg';

export const PMAP_SOP_CLASS = '1.2.840.10008.5.1.4.1.1.30';
/**
 * What NaN becomes: -1, below every value of the app's maps (0..1); an imported map may have negative values, then a
 * value further below its minimum (never one of its values, as DICOM readers mask every pixel equal to the padding).
 */
export function paddingValue(min: number): number {
  return min > -1 ? -1 : Math.fround(min - Math.max(1, Math.abs(min)));
}
/**
 * Derived from a projection radiograph, no contrast of its own. PROJECTION is not among the Image Flavor defined
 * terms (they describe cross-sectional images; dciodvfy warns), but it is what the frame is, as DX and CR say.
 */
const IMAGE_TYPE = ['DERIVED', 'PRIMARY', 'PROJECTION', 'NONE'];

export interface PmapInput {
  phrase: string;
  /** rows x columns, NaN where there is no value */
  values: Float32Array;
  /** named in the Derivation Description (the Parametric Map has no algorithm sequence of its own) */
  algorithm: Algorithm;
  derivation: string;
}

export function parametricMapDataSet(ctx: ExportContext, source: SourceRef, input: PmapInput): DataSet {
  if (input.values.length !== source.rows * source.columns) throw new Error(`a ${source.columns} x ${source.rows} parametric map cannot hold ${input.values.length} values`);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of input.values) {
    if (Number.isNaN(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo > hi) [lo, hi] = [0, 0];
  const padding = paddingValue(lo);
  const pixels = input.values.map((v) => (Number.isNaN(v) ? padding : v));
  const ds = baseDataSet(ctx, source, {
    key: 'pmap',
    sopClassUid: PMAP_SOP_CLASS,
    modality: 'OT',
    seriesNumber: 902,
    seriesDescription: `Sightline heatmap map: ${input.phrase}`,
  });
  Object.assign(ds, {
    FrameOfReferenceUID: source.frameOfReferenceUid,
    PositionReferenceIndicator: '',
    ImageType: IMAGE_TYPE,
    ...contentIdentification('HEATMAP', `heatmap: ${input.phrase}`),
    ContentQualification: 'RESEARCH',
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    Rows: source.rows,
    Columns: source.columns,
    BitsAllocated: 32,
    FloatPixelPaddingValue: padding,
    // a range of one value (dciodvfy requires the limit with the padding value)
    FloatPixelPaddingRangeLimit: padding,
    LossyImageCompression: '00',
    BurnedInAnnotation: 'NO',
    RecognizableVisualFeatures: 'NO',
    PresentationLUTShape: 'IDENTITY',
    NumberOfFrames: 1,
    AcquisitionContextSequence: [],
    ReferencedSeriesSequence: referencedSeries(source),
    DimensionOrganizationSequence: [{ DimensionOrganizationUID: ctx.uids.uid('pmap.dimensions') }],
    DimensionIndexSequence: [
      {
        DimensionOrganizationUID: ctx.uids.uid('pmap.dimensions'),
        DimensionIndexPointer: 0x00200032,
        FunctionalGroupPointer: 0x00209113,
        DimensionDescriptionLabel: 'ImagePositionPatient',
      },
    ],
    SharedFunctionalGroupsSequence: [
      {
        PixelMeasuresSequence: [pixelMeasures(source)],
        FrameAnatomySequence: [{ AnatomicRegionSequence: [code('51185008', 'SCT', 'Chest')], FrameLaterality: 'B' }],
        PixelValueTransformationSequence: [{ RescaleIntercept: 0, RescaleSlope: 1, RescaleType: 'US' }],
        FrameVOILUTSequence: [{ WindowCenter: dsValue((lo + hi) / 2), WindowWidth: dsValue(Math.max(hi - lo, 1e-6)), VOILUTFunction: 'LINEAR_EXACT' }],
        ParametricMapFrameTypeSequence: [{ FrameType: IMAGE_TYPE }],
        RealWorldValueMappingSequence: [
          {
            DoubleFloatRealWorldValueFirstValueMapped: lo,
            DoubleFloatRealWorldValueLastValueMapped: hi,
            RealWorldValueIntercept: 0,
            RealWorldValueSlope: 1,
            LUTExplanation: 'heatmap, arbitrary units',
            LUTLabel: 'HEATMAP',
            MeasurementUnitsCodeSequence: [code("[arb'U]", 'UCUM', 'arbitrary unit')],
            QuantityDefinitionSequence: [
              { ValueType: 'TEXT', ConceptNameCodeSequence: [code('246205007', 'SCT', 'Quantity')], TextValue: 'heatmap' },
            ],
          },
        ],
      },
    ],
    PerFrameFunctionalGroupsSequence: [
      {
        // the frame is the model's map resampled onto the image's grid (CID 7203 has no code for a model's map)
        DerivationImageSequence: [derivationImage(source, `${input.derivation}; ${input.algorithm.name} ${input.algorithm.version}; ${input.algorithm.parameters}`, code('113085', 'DCM', 'Spatial resampling'))],
        FrameContentSequence: [{ DimensionIndexValues: [1] }],
        ...planeGeometry(source),
      },
    ],
    FloatPixelData: [pixels.buffer],
  });
  return ds;
}

