// What every exported object shares: the source image it refers to (SourceRef), the patient and study it belongs to,
// a new series, the equipment (Sightline), and the "not for diagnostic use" labelling. Type 2 attributes the source
// lacks are written empty, as the IODs require.
import type { DataSet } from './part10';
import { nameUid, type UidMap } from './uids';

export const NOT_FOR_DIAGNOSTIC_USE = 'not for diagnostic use';
export const MANUFACTURER = 'Sightline';
/** dates and times are written in UTC (dicomDate, dicomTime), and say so */
export const TIMEZONE_UTC = '+0000';

/** The image an exported object refers to: a DICOM source itself, or the Secondary Capture made of a PNG/JPEG. */
export interface SourceRef {
  sopClassUid: string;
  sopInstanceUid: string;
  seriesInstanceUid: string;
  frameOfReferenceUid: string;
  /** the source's ImagePositionPatient and ImageOrientationPatient, when it has them within its own Frame of Reference */
  plane: { position: number[]; orientation: number[] } | null;
  rows: number;
  columns: number;
  /** [row, column] spacing in mm when the source says (PixelSpacing, else ImagerPixelSpacing) */
  pixelSpacing: [number, number] | null;
  /** Patient and General Study module attributes, copied into every object of the export */
  patientStudy: DataSet;
}

export interface ExportContext {
  uids: UidMap;
  softwareVersion: string;
  /** the creation time of every object of this export */
  now: Date;
}

/**
 * The Frame of Reference of objects derived from an image that has none (a projection radiograph, a Secondary
 * Capture), named after the image's SOP Instance UID: every export of one image shares it, so a SEG written today and
 * an SR written tomorrow are registered to each other.
 */
export function frameOfReferenceOf(sopInstanceUid: string): string {
  return nameUid(`sightline frame of reference ${sopInstanceUid}`);
}

export function dicomDate(d: Date): string {
  return d.toISOString().slice(0, 10).replace(/-/g, '');
}

export function dicomTime(d: Date): string {
  return d.toISOString().slice(11, 19).replace(/:/g, '');
}

/** A code sequence item. */
export function code(value: string, scheme: string, meaning: string): DataSet {
  return { CodeValue: value, CodingSchemeDesignator: scheme, CodeMeaning: meaning };
}

/**
 * LO and friends cap their length (dciodvfy counts UTF-8 bytes): a longer phrase is cut at a character boundary
 * and ends in "..." (the full text goes in an ST/UT or the SR).
 */
export function clip(text: string, max: number): string {
  const clean = text.replace(/[\\\r\n\t]/g, ' ');
  if (Buffer.byteLength(clean) <= max) return clean;
  let out = '';
  for (const ch of clean) {
    if (Buffer.byteLength(out + ch) > max - 3) break;
    out += ch;
  }
  return `${out}...`;
}

/** The attributes from the source's Patient and General Study modules (the Type 2 ones written empty when absent). */
export function patientStudyOf(source: DataSet): DataSet {
  const keep = ['PatientName', 'PatientID', 'PatientBirthDate', 'PatientSex', 'PatientIdentityRemoved', 'DeidentificationMethod', 'StudyInstanceUID', 'StudyDate', 'StudyTime', 'ReferringPhysicianName', 'StudyID', 'AccessionNumber', 'StudyDescription'];
  const out: DataSet = { PatientName: '', PatientID: '', PatientBirthDate: '', PatientSex: '', StudyDate: '', StudyTime: '', ReferringPhysicianName: '', StudyID: '', AccessionNumber: '' };
  for (const k of keep) if (source[k] !== undefined && source[k] !== null) out[k] = source[k];
  return out;
}

/**
 * SOP Common, Patient, Study, a new Series (numbered after the source's series), General Equipment, Enhanced General
 * Equipment, and content date/time, for an object of `sopClassUid` whose UIDs are keyed `key` in the export.
 */
export function baseDataSet(ctx: ExportContext, source: SourceRef, p: { key: string; sopClassUid: string; modality: string; seriesNumber: number; seriesDescription: string }): DataSet {
  const date = dicomDate(ctx.now);
  const time = dicomTime(ctx.now);
  return {
    SpecificCharacterSet: 'ISO_IR 192',
    SOPClassUID: p.sopClassUid,
    SOPInstanceUID: ctx.uids.uid(`${p.key}.instance`),
    InstanceCreationDate: date,
    InstanceCreationTime: time,
    TimezoneOffsetFromUTC: TIMEZONE_UTC,
    ...source.patientStudy,
    Modality: p.modality,
    SeriesInstanceUID: ctx.uids.uid(`${p.key}.series`),
    SeriesNumber: p.seriesNumber,
    SeriesDate: date,
    SeriesTime: time,
    SeriesDescription: clip(`${p.seriesDescription} (${NOT_FOR_DIAGNOSTIC_USE})`, 64),
    Manufacturer: MANUFACTURER,
    ManufacturerModelName: 'Sightline',
    DeviceSerialNumber: '0',
    SoftwareVersions: ctx.softwareVersion,
    InstanceNumber: 1,
    ContentDate: date,
    ContentTime: time,
    _vrMap: {},
  };
}

/** Content Identification macro: label, the "not for diagnostic use" description, creator. */
export function contentIdentification(label: string, description: string): DataSet {
  return {
    ContentLabel: label,
    ContentDescription: clip(`${description}; ${NOT_FOR_DIAGNOSTIC_USE}`, 64),
    ContentCreatorName: 'Sightline^',
  };
}

/** The source image as a Referenced Series Sequence item (Common Instance Reference module). */
export function referencedSeries(source: SourceRef): DataSet[] {
  return [
    {
      SeriesInstanceUID: source.seriesInstanceUid,
      ReferencedInstanceSequence: [{ ReferencedSOPClassUID: source.sopClassUid, ReferencedSOPInstanceUID: source.sopInstanceUid }],
    },
  ];
}

/** A Derivation Image Sequence item: this frame was derived from the source image by `derivation`. */
export function derivationImage(source: SourceRef, description: string, derivation: DataSet): DataSet {
  return {
    DerivationDescription: clip(description, 1024),
    DerivationCodeSequence: [derivation],
    SourceImageSequence: [
      {
        ReferencedSOPClassUID: source.sopClassUid,
        ReferencedSOPInstanceUID: source.sopInstanceUid,
        PurposeOfReferenceCodeSequence: [code('121322', 'DCM', 'Source image for image processing operation')],
      },
    ],
  };
}

/** Pixel Measures for the shared functional groups; a projection image without spacing gets 1 mm (stated in the README). */
export function pixelMeasures(source: SourceRef): DataSet {
  return { PixelSpacing: source.pixelSpacing ?? [1, 1], SliceThickness: 1 };
}

/**
 * Plane Position and Orientation (required with a Frame of Reference): the source's own when it has them; a
 * radiograph has no patient geometry, so its frame lies at the origin of the Frame of Reference named after it, rows
 * along x and columns along y (what dcmqi / 3D Slicer need to place a frame over the image).
 */
export function planeGeometry(source: SourceRef): DataSet {
  return {
    PlanePositionSequence: [{ ImagePositionPatient: source.plane?.position ?? [0, 0, 0] }],
    PlaneOrientationSequence: [{ ImageOrientationPatient: source.plane?.orientation ?? [1, 0, 0, 0, 1, 0] }],
  };
}

/** A DS value short enough for its 16 characters. */
export function ds(v: number): number {
  return Number(v.toPrecision(8));
}
