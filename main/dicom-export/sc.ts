// A PNG/JPEG source (MIMIC-CXR-JPG, a folder of images) has no DICOM UIDs to refer to: it is first written as a
// Secondary Capture of the grey image itself. Its UIDs are named, so that every export of the image refers to the
// same instance: the study by the app's dataset, study key and patient pseudonym (the images of one study share it),
// the series and instance by the image's sha256. The patient is named by the app's pseudonym only.
import type { DecodedImage } from '../imaging';
import { clip, dicomDate, dicomTime, frameOfReferenceOf, MANUFACTURER, NOT_FOR_DIAGNOSTIC_USE, TIMEZONE_UTC, type ExportContext, type SourceRef } from './common';
import type { DataSet } from './part10';
import { nameUid } from './uids';

export const SC_SOP_CLASS = '1.2.840.10008.5.1.4.1.1.7';

export interface ScPatient {
  /** the app's pseudonym of the patient (MIMIC subject id, or P- and a hash prefix) */
  pseudonym: string;
  /** the app's dataset of the study */
  dataset: string;
  /** the app's study key (MIMIC study id, file stem) */
  studyKey: string;
  /** YYYY-MM-DD or YYYYMMDD when known */
  studyDate: string | null;
}

function dateOf(text: string | null): string {
  const digits = (text ?? '').replace(/-/g, '');
  return /^\d{8}$/.test(digits) ? digits : '';
}

/** The Secondary Capture data set and the SourceRef the other objects use to refer to it. */
export function secondaryCapture(ctx: ExportContext, image: DecodedImage, sha256: string, patient: ScPatient): { dataSet: DataSet; source: SourceRef } {
  const bits = image.encoding === 'uint8' ? 8 : 16;
  const name = (what: string) => nameUid(`sightline secondary capture ${sha256} ${what}`);
  const sopInstanceUid = name('instance');
  const patientStudy: DataSet = {
    // the pseudonym as the family name: a name without a component separator reads as the retired PN form
    PatientName: `${clip(patient.pseudonym, 63)}^`,
    PatientID: clip(patient.pseudonym, 64),
    PatientBirthDate: '',
    PatientSex: '',
    PatientIdentityRemoved: 'YES',
    DeidentificationMethod: 'Sightline pseudonym; no patient name',
    StudyInstanceUID: nameUid(`sightline study ${JSON.stringify([patient.dataset, patient.studyKey, patient.pseudonym])}`),
    StudyDate: dateOf(patient.studyDate),
    StudyTime: '',
    ReferringPhysicianName: '',
    StudyID: clip(patient.studyKey, 16),
    AccessionNumber: '',
  };
  const source: SourceRef = {
    sopClassUid: SC_SOP_CLASS,
    sopInstanceUid,
    seriesInstanceUid: name('series'),
    frameOfReferenceUid: frameOfReferenceOf(sopInstanceUid),
    plane: null,
    rows: image.rows,
    columns: image.columns,
    pixelSpacing: null,
    patientStudy,
  };
  const date = dicomDate(ctx.now);
  const time = dicomTime(ctx.now);
  // Pixel Data has an even length: an odd count of 8-bit samples gets one zero byte
  const raw = new Uint8Array(image.pixels.buffer, image.pixels.byteOffset, image.pixels.byteLength);
  const pixels = new Uint8Array(raw.length + (raw.length % 2));
  pixels.set(raw);
  const dataSet: DataSet = {
    SpecificCharacterSet: 'ISO_IR 192',
    SOPClassUID: SC_SOP_CLASS,
    SOPInstanceUID: source.sopInstanceUid,
    InstanceCreationDate: date,
    InstanceCreationTime: time,
    TimezoneOffsetFromUTC: TIMEZONE_UTC,
    ...source.patientStudy,
    Modality: 'OT',
    SeriesInstanceUID: source.seriesInstanceUid,
    SeriesNumber: 900,
    // a chest radiograph: an unpaired body part, so General Series needs no Laterality
    BodyPartExamined: 'CHEST',
    SeriesDescription: clip(`Sightline copy of a ${image.format.toUpperCase()} image (${NOT_FOR_DIAGNOSTIC_USE})`, 64),
    Manufacturer: MANUFACTURER,
    ConversionType: 'WSD',
    SecondaryCaptureDeviceManufacturer: MANUFACTURER,
    SecondaryCaptureDeviceSoftwareVersions: ctx.softwareVersion,
    InstanceNumber: 1,
    ContentDate: date,
    ContentTime: time,
    PatientOrientation: image.patientOrientation ?? '',
    ImageType: ['DERIVED', 'SECONDARY'],
    DerivationDescription: clip(`the grey samples of a ${image.format.toUpperCase()} file, unchanged (colour converted to luma)`, 1024),
    ImageComments: `${NOT_FOR_DIAGNOSTIC_USE}: a research copy made by Sightline`,
    BurnedInAnnotation: 'NO',
    LossyImageCompression: image.format === 'jpeg' ? '01' : '00',
    ...(image.format === 'jpeg' ? { LossyImageCompressionMethod: 'ISO_10918_1' } : {}),
    SamplesPerPixel: 1,
    PhotometricInterpretation: image.photometric === 'MONOCHROME1' ? 'MONOCHROME1' : 'MONOCHROME2',
    Rows: image.rows,
    Columns: image.columns,
    BitsAllocated: bits,
    BitsStored: image.bitsStored,
    HighBit: image.bitsStored - 1,
    PixelRepresentation: image.encoding === 'int16' ? 1 : 0,
    PixelData: [pixels.buffer],
    _vrMap: { PixelData: bits === 8 ? 'OB' : 'OW' },
  };
  return { dataSet, source };
}
