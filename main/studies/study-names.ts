// What names a DICOM study in the study list besides its UID (issue 12: "studies named by accession / study date /
// description before the UID"), kept without letting an identifier into the database:
// - AccessionNumber is an identifier (PS3.15 Annex E lists it for removal). Stored as a salted-hash pseudonym
//   'A-' + 10 hex digits (the same salt as PatientID's, main/db/patients-repo.ts), so the studies of one accession
//   still group and sort together; as given only when the file says PatientIdentityRemoved = YES (de-identified
//   data, where the accession is already a study code).
// - StudyDescription is free text (PS3.15 lists it for removal unless cleaned: the "Clean Descriptors" option). We
//   keep it only when it holds nothing that looks like an identifier: none of the patient's name parts, ID or
//   accession, no run of 5+ digits, no date; otherwise it is dropped (null), never stored in part.
import type { Db } from '../db/database';
import { hashPatientId } from '../db/patients-repo';

export interface StudyNameSource {
  accession: string | null;
  description: string | null;
  /** PatientIdentityRemoved (0012,0062) is YES */
  identityRemoved: boolean;
  /** read only to check the description; never stored */
  patientName: string | null;
  patientId: string | null;
}

const MAX_DESCRIPTION = 64;

/** The accession the database may hold: the pseudonym, or the value of a de-identified file. */
export function storedAccession(db: Db, s: Pick<StudyNameSource, 'accession' | 'identityRemoved'>): string | null {
  if (!s.accession) return null;
  if (s.identityRemoved) return s.accession.slice(0, MAX_DESCRIPTION);
  return `A-${hashPatientId(db, 'accession', s.accession).slice(0, 10)}`;
}

/** The description when it is clean (see the top of this file), else null. */
export function cleanDescription(s: StudyNameSource): string | null {
  const d = s.description?.replace(/\s+/g, ' ').trim();
  if (!d || d.length > MAX_DESCRIPTION) return null;
  // 5+ digits in one run, spaces and separators allowed between them (a phone number, an MRN, an accession)
  if ((d.match(/\d[\d\s./:-]*\d/g) ?? []).some((run) => run.replace(/\D/g, '').length >= 5)) return null;
  if (/\b\d{1,4}[./-]\d{1,2}[./-]\d{1,4}\b/.test(d)) return null;
  const lower = d.toLowerCase();
  const parts = [s.patientId, s.accession, ...(s.patientName ?? '').split(/[\^=\s,]+/)]
    .map((p) => p?.trim().toLowerCase())
    .filter((p): p is string => !!p && p.length >= 2);
  if (parts.some((p) => new RegExp(`(^|[^\\p{L}\\p{N}])${escapeRegExp(p)}($|[^\\p{L}\\p{N}])`, 'u').test(lower))) return null;
  return d;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
