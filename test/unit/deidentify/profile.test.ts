// The PS3.15 Basic Profile on a file that carries every attribute of Table E.1-1: each attribute ends as its action
// says, through real Part 10 bytes (dcmjs write -> de-identify -> dcmjs read), under each dates option; the UIDs
// are consistent within an export and differ across exports; pydicom reads the result.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Deidentifier, deidentifyPart10, shiftDate, type DatesOption, type TagDict } from '../../../main/deidentify';
import { PROFILE_TABLE } from '../../../main/deidentify/profile-table';
import { everyAttribute, ORIGINAL, part10, read } from './every-attribute';

const SECRET = new Uint8Array(32).fill(7);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'sightline-deid-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function run(dates: DatesOption, secret = SECRET, shiftDays?: number) {
  const source = everyAttribute();
  const deidentifier = new Deidentifier({ dates, software: 'Sightline test', secret, shiftDays });
  const { bytes, warnings } = deidentifyPart10(part10(source.meta, source.dict), deidentifier, 'every-attribute.dcm');
  return { source, deidentifier, warnings, bytes, out: read(bytes) };
}

const values = (dict: TagDict, tag: string) => dict[tag]?.Value ?? [];
/** dcmjs reads a zero-length value as [''] (text) or [an empty ArrayBuffer] (binary) */
const isEmpty = (dict: TagDict, tag: string) => values(dict, tag).every((v) => v === '' || (v instanceof ArrayBuffer && v.byteLength === 0));
const first = (dict: TagDict, tag: string) => values(dict, tag)[0];
const textOf = (v: unknown) => (typeof v === 'object' && v !== null && 'Alphabetic' in v ? (v as { Alphabetic: string }).Alphabetic : v);

describe('the Basic Profile on every attribute of Table E.1-1', () => {
  const { source, deidentifier, warnings, out } = run('remove');
  const pseudonym = deidentifier.pseudonym(ORIGINAL.patientId);

  it('applies each attribute\'s action', () => {
    const table = new Map(PROFILE_TABLE.map(([tag, action]) => [tag, action]));
    const checked: Record<string, number> = {};
    for (const tag of source.tags) {
      const action = table.get(tag)!;
      const before = source.dict[tag];
      const after = out.dict[tag];
      checked[action] = (checked[action] ?? 0) + 1;
      if (tag === '00100010' || tag === '00100020') {
        expect(textOf(first(out.dict, tag)), tag).toBe(tag === '00100010' ? `${pseudonym}^` : pseudonym);
      } else if (action === 'X') {
        expect(after, `${tag} (X) should be removed`).toBeUndefined();
      } else if (action === 'Z' || action === 'X/Z') {
        expect(after, `${tag} (${action}) should be present`).toBeDefined();
        expect(isEmpty(out.dict, tag), `${tag} (${action}) should be empty`).toBe(true);
      } else if (action === 'U') {
        expect(first(out.dict, tag), tag).toBe(deidentifier.uid(String(before.Value![0])));
        expect(String(first(out.dict, tag))).toMatch(/^2\.25\.\d+$/);
      } else if (before.vr === 'SQ') {
        // dummied and X/Z/U* sequences keep their items, cleaned: the name pseudonymised, the UID remapped, the code kept
        const item = first(out.dict, tag) as TagDict;
        expect(textOf(first(item, '00100010')), tag).toBe(`${pseudonym}^`);
        expect(first(item, '00081155'), tag).toBe(deidentifier.uid(ORIGINAL.nestedUid));
        expect(first(item, '00080100'), tag).toBe(ORIGINAL.code);
      } else {
        expect(action, tag).toMatch(/D/);
        expect(after, `${tag} (${action}) should be present`).toBeDefined();
        if (['OB', 'OW', 'UN'].includes(before.vr)) expect(isEmpty(out.dict, tag), tag).toBe(true);
        else expect(textOf(first(out.dict, tag)), `${tag} (${action}) should be replaced`).not.toEqual(textOf(before.Value![0]));
      }
    }
    console.info(`[deidentify] attributes checked by action: ${JSON.stringify(checked)}`);
    expect(Object.values(checked).reduce((a, b) => a + b, 0)).toBe(source.tags.length);
    expect(source.tags.length).toBeGreaterThan(600);
  });

  it('removes private attributes, curves and overlays; keeps what the table does not name, cleaned inside', () => {
    for (const tag of ['00090010', '00091001', '50003000', '60003000', '60004000']) expect(out.dict[tag], tag).toBeUndefined();
    const kept = first(out.dict, '00082218') as TagDict;
    expect(textOf(first(kept, '00100010'))).toBe(`${pseudonym}^`);
    expect(first(kept, '00080100')).toBe(ORIGINAL.code);
    expect(first(out.dict, '00080016')).toBe('1.2.840.10008.5.1.4.1.1.7');
  });

  it('says what it did: Patient Identity Removed, the method and its codes, dates removed', () => {
    expect(first(out.dict, '00120062')).toBe('YES');
    expect(values(out.dict, '00120063')).toContain('DICOM PS3.15 E.1 Basic Profile');
    expect((values(out.dict, '00120064') as TagDict[]).map((item) => first(item, '00080100'))).toEqual(['113100']);
    expect(first(out.dict, '00280303')).toBe('REMOVED');
  });

  it('remaps the file meta\'s SOP Instance UID with the data set\'s and drops the sender\'s AE title', () => {
    expect(first(out.meta, '00020003')).toBe(first(out.dict, '00080018'));
    expect(out.meta['00020016']).toBeUndefined();
    expect(first(out.meta, '00020010')).toBe('1.2.840.10008.1.2.1');
  });

  it('warns that a Secondary Capture may carry burned-in text', () => {
    expect(warnings.join(' ')).toMatch(/Secondary Capture/);
  });

  it('is consistent within an export and unlinkable across exports', () => {
    const again = run('remove');
    expect(first(again.out.dict, '0020000D')).toBe(first(out.dict, '0020000D'));
    const other = run('remove', new Uint8Array(32).fill(9));
    expect(first(other.out.dict, '0020000D')).not.toBe(first(out.dict, '0020000D'));
    expect(textOf(first(other.out.dict, '00100010'))).not.toBe(`${pseudonym}^`);
    // within one export two files of the same study keep one Study Instance UID
    const second = deidentifier.dataset(everyAttribute().dict);
    expect(first(second.dict, '0020000D')).toBe(first(out.dict, '0020000D'));
  });
});

describe('the Retain Longitudinal Temporal Information options', () => {
  const datedTags = PROFILE_TABLE.filter(([, , dates]) => dates).map(([tag]) => tag);

  it('Full Dates keeps every date and time the option names', () => {
    const { source, out } = run('keep');
    for (const tag of datedTags) expect(first(out.dict, tag), tag).toEqual(first(source.dict, tag));
    expect(first(out.dict, '00280303')).toBe('UNMODIFIED');
    expect((values(out.dict, '00120064') as TagDict[]).map((item) => first(item, '00080100'))).toEqual(['113100', '113106']);
  });

  it('Modified Dates moves every date by the same number of days and keeps times of day', () => {
    const { source, out } = run('shift', SECRET, -400);
    for (const tag of datedTags) {
      const vr = source.dict[tag].vr;
      const expected = vr === 'DA' ? '20190209' : vr === 'DT' ? '20190209101112' : vr === 'TM' ? ORIGINAL.time : undefined;
      if (expected === undefined) expect(isEmpty(out.dict, tag), tag).toBe(true);
      else expect(first(out.dict, tag), tag).toBe(expected);
    }
    expect(first(out.dict, '00280303')).toBe('MODIFIED');
  });

  it('shifts across months, leap days and years; an unparsable date is emptied', () => {
    expect(shiftDate('20200315', -400)).toBe('20190209');
    expect(shiftDate('20240301', -1)).toBe('20240229');
    expect(shiftDate('20200101120000.5+0100', -1)).toBe('20191231120000.5+0100');
    expect(shiftDate('not a date', -1)).toBe('');
  });
});

const PYTHON = process.env.SIGHTLINE_PYTHON ?? '/usr/bin/python3';
const hasPydicom = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import pydicom'], { encoding: 'utf8' }).status === 0;
if (!hasPydicom && process.env.CI) throw new Error(`the de-identification tests read their output with pydicom: ${PYTHON} has none`);

describe('read back', () => {
  it.skipIf(!hasPydicom)('pydicom reads every element of the de-identified file', () => {
    const file = path.join(tmp, 'every-attribute.dcm');
    writeFileSync(file, run('shift').bytes);
    const script = `import sys, pydicom
ds = pydicom.dcmread(sys.argv[1])
n = 0
for el in ds.iterall():
    str(el.value); n += 1
print(n, ds.PatientIdentityRemoved, str(ds.PatientName), ds.LongitudinalTemporalInformationModified)`;
    const r = spawnSync(PYTHON, ['-c', script, file], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const [count, removed, name, longitudinal] = r.stdout.trim().split(' ');
    expect(Number(count)).toBeGreaterThan(300);
    expect([removed, longitudinal]).toEqual(['YES', 'MODIFIED']);
    expect(name).toMatch(/^ANON-[0-9A-F]{10}\^$/);
  });
});
