// Boxes of a phrase as a Comprehensive SR following TID 1500 (Measurement Report): one Planar ROI measurement group
// (TID 1410) per box, its rectangle a SCOORD POLYLINE (closed: five points, (column, row) with the top left corner
// of the top left pixel at 0,0) selected from the source image, the finding the phrase. SR's SCOORD has no RECTANGLE
// (its graphic types are POINT, MULTIPOINT, POLYLINE, CIRCLE, ELLIPSE): a box is a closed POLYLINE, as TID 1410 says.
import { createHash } from 'node:crypto';
import { baseDataSet, clip, code, MANUFACTURER, type ExportContext, type SourceRef } from './common';
import type { DataSet } from './part10';
import { nameUid } from './uids';

export const COMPREHENSIVE_SR_SOP_CLASS = '1.2.840.10008.5.1.4.1.1.88.33';
/**
 * The phrase is free text: its finding code is coined in a private scheme (named in the Coding Scheme Identification
 * Sequence), its meaning the phrase, its value a hash of the phrase (the same phrase gets the same code in every export).
 */
export const PHRASE_SCHEME = '99SIGHTLINE';

export function phraseCode(phrase: string): string {
  return `P${createHash('sha256').update(phrase.trim().toLowerCase()).digest('hex').slice(0, 15).toUpperCase()}`;
}

export interface SrBox {
  /** original pixels: left, top, width, height */
  x: number;
  y: number;
  w: number;
  h: number;
  /** who drew it (a dataset reader id, a user), when known */
  reader?: string | null;
  /** the dataset's box or the user's */
  source: 'dataset' | 'user';
}

export interface SrInput {
  phrase: string;
  boxes: SrBox[];
}

const DCM = (value: string, meaning: string) => code(value, 'DCM', meaning);

function item(relationship: string, valueType: string, concept: DataSet, rest: DataSet = {}): DataSet {
  return { RelationshipType: relationship, ValueType: valueType, ConceptNameCodeSequence: [concept], ...rest };
}

function imageReference(source: SourceRef): DataSet {
  return { ReferencedSOPSequence: [{ ReferencedSOPClassUID: source.sopClassUid, ReferencedSOPInstanceUID: source.sopInstanceUid }] };
}

/** The closed rectangle as SCOORD graphic data: x0,y0 x1,y0 x1,y1 x0,y1 x0,y0. */
export function rectangle(b: SrBox): number[] {
  const [x0, y0, x1, y1] = [b.x, b.y, b.x + b.w, b.y + b.h];
  return [x0, y0, x1, y0, x1, y1, x0, y1, x0, y0];
}

export function measurementReportDataSet(ctx: ExportContext, source: SourceRef, input: SrInput): DataSet {
  if (!input.boxes.length) throw new Error(`no boxes of "${input.phrase}" to export`);
  const ds = baseDataSet(ctx, source, {
    key: 'sr',
    sopClassUid: COMPREHENSIVE_SR_SOP_CLASS,
    modality: 'SR',
    seriesNumber: 903,
    seriesDescription: `Sightline boxes: ${input.phrase}`,
  });
  delete ds.PatientOrientation; // General Image only
  const finding = code(phraseCode(input.phrase), PHRASE_SCHEME, clip(input.phrase, 64));
  const groups = input.boxes.map((b, i) =>
    item('CONTAINS', 'CONTAINER', DCM('125007', 'Measurement Group'), {
      ContinuityOfContent: 'SEPARATE',
      ContentTemplateSequence: [{ MappingResource: 'DCMR', TemplateIdentifier: '1410' }],
      ContentSequence: [
        item('HAS OBS CONTEXT', 'TEXT', DCM('112039', 'Tracking Identifier'), { TextValue: clip(`${b.source} box ${i + 1}${b.reader ? ` (${b.reader})` : ''}`, 64) }),
        item('HAS OBS CONTEXT', 'UIDREF', DCM('112040', 'Tracking Unique Identifier'), { UID: ctx.uids.uid(`sr.box.${i}`) }),
        item('CONTAINS', 'CODE', DCM('121071', 'Finding'), { ConceptCodeSequence: [finding] }),
        item('CONTAINS', 'SCOORD', DCM('111030', 'Image Region'), {
          GraphicType: 'POLYLINE',
          GraphicData: rectangle(b),
          ContentSequence: [{ RelationshipType: 'SELECTED FROM', ValueType: 'IMAGE', ...imageReference(source) }],
        }),
      ],
    }),
  );
  Object.assign(ds, {
    CodingSchemeIdentificationSequence: [{ CodingSchemeDesignator: PHRASE_SCHEME, CodingSchemeName: 'Sightline report phrases', CodingSchemeResponsibleOrganization: MANUFACTURER }],
    ReferencedPerformedProcedureStepSequence: [],
    CompletionFlag: 'COMPLETE',
    VerificationFlag: 'UNVERIFIED',
    PerformedProcedureCodeSequence: [],
    CurrentRequestedProcedureEvidenceSequence: [
      {
        StudyInstanceUID: source.patientStudy.StudyInstanceUID,
        ReferencedSeriesSequence: [{ SeriesInstanceUID: source.seriesInstanceUid, ReferencedSOPSequence: imageReference(source).ReferencedSOPSequence }],
      },
    ],
    ValueType: 'CONTAINER',
    ConceptNameCodeSequence: [DCM('126000', 'Imaging Measurement Report')],
    ContinuityOfContent: 'SEPARATE',
    ContentTemplateSequence: [{ MappingResource: 'DCMR', TemplateIdentifier: '1500' }],
    ContentSequence: [
      item('HAS CONCEPT MOD', 'CODE', DCM('121049', 'Language of Content Item and Descendants'), { ConceptCodeSequence: [code('en-US', 'RFC5646', 'English (United States)')] }),
      item('HAS OBS CONTEXT', 'CODE', DCM('121005', 'Observer Type'), { ConceptCodeSequence: [DCM('121007', 'Device')] }),
      item('HAS OBS CONTEXT', 'UIDREF', DCM('121012', 'Device Observer UID'), { UID: nameUid('sightline device observer') }),
      item('HAS OBS CONTEXT', 'TEXT', DCM('121013', 'Device Observer Name'), { TextValue: 'Sightline' }),
      item('HAS CONCEPT MOD', 'CODE', DCM('121058', 'Procedure reported'), { ConceptCodeSequence: [code('168731009', 'SCT', 'Chest X-ray')] }),
      item('CONTAINS', 'CONTAINER', DCM('111028', 'Image Library'), {
        ContinuityOfContent: 'SEPARATE',
        ContentSequence: [
          item('CONTAINS', 'CONTAINER', DCM('126200', 'Image Library Group'), {
            ContinuityOfContent: 'SEPARATE',
            ContentSequence: [{ RelationshipType: 'CONTAINS', ValueType: 'IMAGE', ...imageReference(source) }],
          }),
        ],
      }),
      item('CONTAINS', 'CONTAINER', DCM('126010', 'Imaging Measurements'), { ContinuityOfContent: 'SEPARATE', ContentSequence: groups }),
    ],
  });
  return ds;
}
