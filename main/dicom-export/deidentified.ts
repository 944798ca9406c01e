// A de-identified export (`deidentify` in the request, `--deidentify` on the command line; main/deidentify/README.md):
// the source image goes into the folder de-identified by the PS3.15 Basic Profile, and the objects derived from it
// are built on the de-identified source: its remapped UIDs (Study, Series, SOP Instance, Frame of Reference) and its
// cleaned Patient and Study attributes. One Deidentifier per export keeps the references between the files intact.
// The profile is not run over the derived objects themselves: it removes Content Sequence (X), which would empty the
// TID 1500 report, and what they add of their own (the phrase, the algorithm, the export's time) is not the patient's.
import fs from 'node:fs';
import { Deidentifier, DeidentifyError, deidentifyPart10, type DatesOption, type TagDict } from '../deidentify';
import { dcmjs } from '../imaging';
import type { SourceRef } from './common';
import { part10Bytes, type DataSet } from './part10';
import { DicomExportError } from './source';

/** the Deidentifiers of recent sessions (a dialog's requests of one Write), the oldest forgotten first */
const sessions = new Map<string, Deidentifier>();
const SESSIONS_KEPT = 16;

/** A new Deidentifier, or the session's (the same one for every request of the session and dates option). */
export function deidentifierFor(options: { dates: DatesOption; session?: string }, softwareVersion: string): Deidentifier {
  const make = () => new Deidentifier({ dates: options.dates, software: `Sightline ${softwareVersion}` });
  if (!options.session) return make();
  const key = `${options.session}\n${options.dates}`;
  let d = sessions.get(key);
  if (!d) {
    sessions.set(key, (d = make()));
    if (sessions.size > SESSIONS_KEPT) sessions.delete(sessions.keys().next().value!);
  }
  return d;
}

/** The source as the derived objects refer to it, after de-identification (the same mapping as the source's file). */
export function deidentifiedSourceRef(source: SourceRef, d: Deidentifier): SourceRef {
  const { DicomMetaDictionary } = dcmjs().data;
  const cleaned = d.dataset(DicomMetaDictionary.denaturalizeDataset(source.patientStudy) as TagDict).dict;
  return {
    ...source,
    sopInstanceUid: d.uid(source.sopInstanceUid),
    seriesInstanceUid: d.uid(source.seriesInstanceUid),
    frameOfReferenceUid: d.uid(source.frameOfReferenceUid),
    patientStudy: DicomMetaDictionary.naturalizeDataset(cleaned),
  };
}

/** The source image's file de-identified: the DICOM file itself, or the Secondary Capture made of a PNG/JPEG. */
export function deidentifiedSourceFile(d: Deidentifier, dicomPath: string | null, secondaryCapture: DataSet | null): { bytes: Buffer; warnings: string[] } {
  try {
    if (secondaryCapture) return deidentifyPart10(part10Bytes(secondaryCapture), d, 'the Secondary Capture of the image');
    return deidentifyPart10(fs.readFileSync(dicomPath!), d, dicomPath!);
  } catch (error) {
    if (error instanceof DeidentifyError) throw new DicomExportError(`${error.message}; it cannot be de-identified`);
    throw error;
  }
}
