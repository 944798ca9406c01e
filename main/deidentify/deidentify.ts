// De-identification by the DICOM PS3.15 Basic Application Level Confidentiality Profile (Annex E, Table E.1-1), with
// the Retain Longitudinal Temporal Information options, on dcmjs's tag dictionaries. One Deidentifier is one export:
// its UIDs and pseudonyms are consistent across every file it sees and unlinkable to another export's (a keyed hash
// with a secret drawn per export). README.md in this folder says how each action is read and what is not done.
import { createHmac, randomBytes } from 'node:crypto';
import { PROFILE_TABLE } from './profile-table';

/** dcmjs's element: its VR and values (sequences: arrays of dictionaries); `_rawValue` is the read's original text. */
export interface Element {
  vr: string;
  Value?: unknown[];
  _rawValue?: unknown;
  InlineBinary?: unknown;
}
export type TagDict = Record<string, Element>;

/** 'remove': the Basic Profile's own dates (most removed or emptied); 'keep': the Full Dates Option;
 *  'shift': the Modified Dates Option, every date moved by the same whole number of days. */
export type DatesOption = 'remove' | 'keep' | 'shift';

export interface DeidentifyOptions {
  dates: DatesOption;
  /** the shift of the 'shift' option in days (default: drawn per export, 1 to 10 years back) */
  shiftDays?: number;
  /** written in De-identification Method, e.g. "Sightline 0.1.0" */
  software: string;
  /** the per-export key of the UID and pseudonym hashes (tests give one; default random) */
  secret?: Uint8Array;
}

export interface Deidentified {
  dict: TagDict;
  meta?: TagDict;
  /** what the profile cannot do for this file: pixel data that may carry burned-in text */
  warnings: string[];
}

const ACTIONS = new Map(PROFILE_TABLE.filter(([tag]) => !tag.includes('X')).map(([tag, action, dates]) => [tag, { action, dates }]));
const PATTERNS = PROFILE_TABLE.filter(([tag]) => tag.includes('X')).map(([tag, action]) => ({ test: new RegExp(`^${tag.replace(/X/g, '[0-9A-F]')}$`), action }));

const PATIENT_NAME = '00100010';
const PATIENT_ID = '00100020';
const SOP_CLASS = '00080016';
const IMAGE_TYPE = '00080008';
const BURNED_IN = '00280301';
const MEDIA_SOP_INSTANCE = '00020003';
const SOURCE_AE_TITLE = '00020016';
const SECONDARY_CAPTURE_CLASSES = '1.2.840.10008.5.1.4.1.1.7';

/** the Profile's action for a tag of the data set, after the chosen dates option ('' = not in the table: keep) */
function actionFor(tag: string, dates: DatesOption): string {
  const entry = ACTIONS.get(tag);
  if (entry) {
    if (entry.dates && dates === 'keep') return 'K';
    if (entry.dates && dates === 'shift') return 'C';
    return entry.action;
  }
  return PATTERNS.find((p) => p.test.test(tag))?.action ?? '';
}

const isPrivate = (tag: string) => parseInt(tag.slice(0, 4), 16) % 2 === 1;

const DUMMY: Record<string, unknown> = {
  AE: 'ANONYMIZED',
  AS: '000Y',
  CS: 'ANONYMIZED',
  DA: '19000101',
  DT: '19000101000000',
  TM: '000000',
  DS: 0,
  IS: 0,
  PN: { Alphabetic: 'ANONYMIZED' },
  FL: 0,
  FD: 0,
  SL: 0,
  SS: 0,
  UL: 0,
  US: 0,
  SV: 0,
  UV: 0,
};
const TEXT_VRS = new Set(['LO', 'SH', 'ST', 'LT', 'UT', 'UC', 'UR']);

export class Deidentifier {
  private readonly secret: Uint8Array;
  private readonly shiftDays: number;
  private readonly uids = new Map<string, string>();

  constructor(private readonly options: DeidentifyOptions) {
    this.secret = options.secret ?? randomBytes(32);
    const drawn = 365 + (this.keyed('shift').readUInt32BE(0) % (9 * 365));
    this.shiftDays = options.shiftDays ?? -drawn;
  }

  private keyed(text: string): Buffer {
    return createHmac('sha256', this.secret).update(text).digest();
  }

  /** the export's UID for an original UID: 2.25 + 128 bits of the keyed hash (PS3.5 B.2), the same for the same UID */
  uid(original: string): string {
    let mapped = this.uids.get(original);
    if (!mapped) {
      mapped = `2.25.${BigInt(`0x${this.keyed(`uid:${original}`).subarray(0, 16).toString('hex')}`).toString()}`;
      this.uids.set(original, mapped);
    }
    return mapped;
  }

  /** a patient's pseudonym, the same for the same Patient ID within the export */
  pseudonym(patientId: string): string {
    return `ANON-${this.keyed(`patient:${patientId}`).subarray(0, 5).toString('hex').toUpperCase()}`;
  }

  /** De-identifies a data set (and its file meta) in place of a copy; the originals are not changed. */
  dataset(dict: TagDict, meta?: TagDict): Deidentified {
    const warnings = burnedInWarnings(dict);
    const patientId = String(dict[PATIENT_ID]?.Value?.[0] ?? '');
    const out = this.clean(copyOf(dict), this.pseudonym(patientId));
    this.mark(out);
    let cleanMeta: TagDict | undefined;
    if (meta) {
      cleanMeta = copyOf(meta);
      const sop = cleanMeta[MEDIA_SOP_INSTANCE];
      if (sop?.Value?.length) set(sop, [this.uid(String(sop.Value[0]))]);
      delete cleanMeta[SOURCE_AE_TITLE]; // the sending station's name
    }
    return { dict: out, meta: cleanMeta, warnings };
  }

  private clean(dict: TagDict, pseudonym: string): TagDict {
    for (const [tag, element] of Object.entries(dict)) {
      if (isPrivate(tag)) {
        delete dict[tag];
        continue;
      }
      const action = actionFor(tag, this.options.dates);
      if (tag === PATIENT_ID || tag === PATIENT_NAME) {
        // Z allows a dummy: a pseudonym keeps one patient's studies together within the export
        // as the family name, with the component separator: a PN without one reads as the retired form
        set(element, [element.vr === 'PN' ? { Alphabetic: `${pseudonym}^` } : pseudonym]);
      } else if (action === 'X') delete dict[tag];
      else if (action === 'Z' || action === 'X/Z') set(element, []);
      else if (action === 'U') set(element, (element.Value ?? []).map((v) => this.uid(String(v))));
      else if (action === 'C') this.shiftDates(element);
      else if (action.includes('D') && element.vr !== 'SQ') this.dummy(element);
      else if (element.vr === 'SQ') {
        // kept, dummied or X/Z/U* sequences: the profile applies to the attributes of their items too
        for (const item of (element.Value ?? []) as TagDict[]) this.clean(item, pseudonym);
      }
    }
    return dict;
  }

  private dummy(element: Element): void {
    if (!element.Value?.length) return; // an empty value stays empty: a dummy only replaces what was there
    if (element.vr === 'UI') set(element, element.Value.map((v) => this.uid(String(v))));
    else if (element.vr in DUMMY) set(element, [DUMMY[element.vr]]);
    else if (TEXT_VRS.has(element.vr)) set(element, ['ANONYMIZED']);
    else set(element, []); // binary values (OB, OW, UN ...): no meaningful dummy, emptied
  }

  private shiftDates(element: Element): void {
    if (element.vr !== 'DA' && element.vr !== 'DT') {
      if (element.vr !== 'TM') set(element, []); // a time of day is kept by a whole-day shift; other VRs emptied
      return;
    }
    set(element, (element.Value ?? []).map((v) => shiftDate(String(v), this.shiftDays)));
  }

  private mark(dict: TagDict): void {
    const { dates, software } = this.options;
    const codes = [['113100', 'Basic Application Confidentiality Profile']];
    if (dates === 'keep') codes.push(['113106', 'Retain Longitudinal Temporal Information Full Dates Option']);
    if (dates === 'shift') codes.push(['113107', 'Retain Longitudinal Temporal Information Modified Dates Option']);
    dict['00120062'] = { vr: 'CS', Value: ['YES'] };
    dict['00120063'] = { vr: 'LO', Value: [software.slice(0, 64), 'DICOM PS3.15 E.1 Basic Profile', ...(dates === 'remove' ? [] : [`Dates: ${dates === 'keep' ? 'full' : 'shifted'}`])] };
    dict['00120064'] = {
      vr: 'SQ',
      Value: codes.map(([value, meaning]) => ({ '00080100': { vr: 'SH', Value: [value] }, '00080102': { vr: 'SH', Value: ['DCM'] }, '00080104': { vr: 'LO', Value: [meaning] } })),
    };
    dict['00280303'] = { vr: 'CS', Value: [dates === 'keep' ? 'UNMODIFIED' : dates === 'shift' ? 'MODIFIED' : 'REMOVED'] };
  }
}

/** a copy deep enough to edit: dictionaries, elements and value arrays (dcmjs's values carry accessors that
 *  structuredClone refuses; binary values are shared, never edited) */
function copyOf(dict: TagDict): TagDict {
  const copy: TagDict = {};
  for (const [tag, element] of Object.entries(dict)) {
    const value = element.vr === 'SQ' ? (element.Value ?? []).map((item) => copyOf(item as TagDict)) : element.Value?.slice();
    copy[tag] = { ...element, Value: value };
  }
  return copy;
}

function set(element: Element, value: unknown[]): void {
  element.Value = value;
  delete element._rawValue;
  delete element.InlineBinary;
}

/** YYYYMMDD (or a DT starting with it) moved by whole days; an unparsable date is emptied rather than kept */
export function shiftDate(value: string, days: number): string {
  const m = /^(\d{4})(\d{2})(\d{2})(.*)$/.exec(value.trim());
  if (!m) return '';
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  if (Number.isNaN(d.getTime())) return '';
  d.setUTCDate(d.getUTCDate() + days);
  const iso = d.toISOString();
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${m[4]}`;
}

/** PS3.15 leaves text burned into the pixels to the Clean Pixel Data option, which this does not do: say so (also
 *  for the reader packages, which carry pixels but no header) */
export function burnedInWarnings(dict: TagDict): string[] {
  const warnings: string[] = [];
  const burned = String(dict[BURNED_IN]?.Value?.[0] ?? '').toUpperCase();
  const sopClass = String(dict[SOP_CLASS]?.Value?.[0] ?? '');
  const imageType = (dict[IMAGE_TYPE]?.Value ?? []).map((v) => String(v).toUpperCase());
  if (burned === 'YES') warnings.push('Burned In Annotation is YES: the pixels carry text that de-identification does not remove');
  else if (sopClass.startsWith(SECONDARY_CAPTURE_CLASSES)) warnings.push('a Secondary Capture: its pixels may carry burned-in text that de-identification does not remove');
  else if (imageType.includes('SECONDARY') && burned !== 'NO') warnings.push('Image Type SECONDARY without Burned In Annotation NO: the pixels may carry burned-in text');
  return warnings;
}
