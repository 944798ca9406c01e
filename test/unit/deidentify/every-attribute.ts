// A DICOM file that carries every attribute of PS3.15 Table E.1-1 (each with a value of its VR from dcmjs's
// dictionary; every sequence with one item holding a name, a referenced UID and a code), plus private attributes, a
// curve and an overlay: what the issue asks the de-identification to be tested on.
import { createRequire } from 'node:module';
import { PROFILE_TABLE } from '../../../main/deidentify/profile-table';
import type { TagDict } from '../../../main/deidentify';

const dcmjs = createRequire(import.meta.url)('dcmjs');
const dictionary = dcmjs.data.DicomMetaDictionary.dictionary as Record<string, { vr: string }>;

export const ORIGINAL = {
  name: 'DOE^JANE',
  patientId: 'MRN-0042',
  date: '20200315',
  dateTime: '20200315101112',
  time: '101112',
  nestedName: 'NESTED^NAME',
  nestedUid: '1.2.826.0.1.3680043.9.7777.1',
  code: 'KEEP-CODE',
};

export const vrOf = (tag: string) => dictionary[`(${tag.slice(0, 4)},${tag.slice(4)})`]?.vr.split(' or ')[0];
export const uidOf = (n: number) => `1.2.826.0.1.3680043.9.1000.${n}`;
const bytes = () => new Uint8Array([1, 2, 3, 4]).buffer;

function valueOf(vr: string, n: number): unknown[] {
  switch (vr) {
    case 'PN': return [{ Alphabetic: ORIGINAL.name }];
    case 'DA': return [ORIGINAL.date];
    case 'DT': return [ORIGINAL.dateTime];
    case 'TM': return [ORIGINAL.time];
    case 'UI': return [uidOf(n)];
    case 'AE': return ['HOSPITAL_AE'];
    case 'AS': return ['045Y'];
    case 'CS': return ['SECRET'];
    case 'DS': return [12.5];
    case 'IS': return [3];
    case 'US': case 'SS': case 'UL': case 'SL': return [7];
    case 'FL': case 'FD': return [1.5];
    case 'UR': return ['http://hospital.example/record/42'];
    case 'OB': case 'OW': case 'UN': return [bytes()];
    case 'SQ':
      return [{
        '00100010': { vr: 'PN', Value: [{ Alphabetic: ORIGINAL.nestedName }] },
        '00081155': { vr: 'UI', Value: [ORIGINAL.nestedUid] },
        '00080100': { vr: 'SH', Value: [ORIGINAL.code] },
      }];
    default: return [`secret ${vr} ${n}`];
  }
}

/** the table's attributes (tag -> element) and the extras; the SOP header of a Secondary Capture */
export function everyAttribute(): { meta: TagDict; dict: TagDict; tags: string[] } {
  const dict: TagDict = {};
  const tags: string[] = [];
  PROFILE_TABLE.forEach(([tag], n) => {
    if (tag.includes('X')) return;
    const vr = vrOf(tag);
    if (!vr) throw new Error(`no VR for ${tag} in dcmjs's dictionary`);
    dict[tag] = { vr, Value: valueOf(vr, n) };
    tags.push(tag);
  });
  dict['00100020'] = { vr: 'LO', Value: [ORIGINAL.patientId] };
  dict['00080016'] = { vr: 'UI', Value: ['1.2.840.10008.5.1.4.1.1.7'] };
  dict['00090010'] = { vr: 'LO', Value: ['ACME PRIVATE'] };
  dict['00091001'] = { vr: 'LO', Value: ['private secret'] };
  dict['50003000'] = { vr: 'OW', Value: [bytes()] };
  dict['60003000'] = { vr: 'OW', Value: [bytes()] };
  dict['60004000'] = { vr: 'LT', Value: ['overlay comment'] };
  dict['00082218'] = { vr: 'SQ', Value: valueOf('SQ', 0) }; // Anatomic Region Sequence: not in the table, kept
  const meta: TagDict = {
    '00020001': { vr: 'OB', Value: [new Uint8Array([0, 1]).buffer] },
    '00020002': { vr: 'UI', Value: ['1.2.840.10008.5.1.4.1.1.7'] },
    '00020003': { vr: 'UI', Value: [dict['00080018'].Value![0] as string] },
    '00020010': { vr: 'UI', Value: ['1.2.840.10008.1.2.1'] },
    '00020012': { vr: 'UI', Value: ['1.2.826.0.1.3680043.9.1'] },
    '00020016': { vr: 'AE', Value: ['SENDER_AE'] },
  };
  return { meta, dict, tags };
}

export function part10(meta: TagDict, dict: TagDict): Buffer {
  const out = new dcmjs.data.DicomDict(meta);
  out.dict = dict;
  return Buffer.from(out.write());
}

export function read(bytes: Uint8Array): { meta: TagDict; dict: TagDict } {
  return dcmjs.data.DicomMessage.readFile(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}
