// De-identification of real encodings: every pydicom test file dcmjs can read, in every transfer syntax (deflated,
// big endian, JPEG, JPEG-LS, JPEG 2000, RLE), decodes to the same pixels after de-identification; the demo's DICOMs
// gain no dciodvfy error; a file that is not DICOM is refused naming it.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Deidentifier, DeidentifyError, deidentifyPart10 } from '../../../main/deidentify';
import { decodeImageBuffer } from '../../../main/imaging';
import { DEMO_DIR, HAS_PYDICOM, PYDICOM_DIR, PYDICOM_MISSING, skipBecause } from '../imaging/helpers/test-data';
import { dciodvfy, skipWithoutDciodvfy } from '../dicom-export/tools';
import { read } from './every-attribute';

const noDciodvfy = skipWithoutDciodvfy();
const tmp = mkdtempSync(path.join(os.tmpdir(), 'sightline-deid-real-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const deidentifier = () => new Deidentifier({ dates: 'remove', software: 'Sightline test' });


describe.skipIf(skipBecause(!HAS_PYDICOM, PYDICOM_MISSING))('pydicom test files', () => {
  it('decode to the same pixels after de-identification, in every transfer syntax', async () => {
    const d = deidentifier();
    const syntaxes = new Set<string>();
    let images = 0;
    const refused: string[] = [];
    for (const name of readdirSync(PYDICOM_DIR).filter((f) => f.endsWith('.dcm')).sort()) {
      const bytes = readFileSync(path.join(PYDICOM_DIR, name));
      let out: Buffer;
      try {
        out = deidentifyPart10(bytes, d, name).bytes;
      } catch (error) {
        // no preamble or file meta, or truncated: refused with the file's name, never written half-cleaned
        expect(error, name).toBeInstanceOf(DeidentifyError);
        expect((error as Error).message.startsWith(`${name}: `)).toBe(true);
        refused.push(name);
        continue;
      }
      const back = read(out);
      expect(back.dict['00120062']?.Value, name).toEqual(['YES']);
      syntaxes.add(String(back.meta['00020010']?.Value?.[0]));
      const before = await decodeImageBuffer(bytes, name).catch(() => null);
      if (!before) continue; // not an image the app decodes (RT plans, SRs, broken pixels): its header is still cleaned
      const after = await decodeImageBuffer(out, `${name} (de-identified)`);
      expect([after.rows, after.columns], name).toEqual([before.rows, before.columns]);
      expect(Buffer.from(after.pixels.buffer, after.pixels.byteOffset, after.pixels.byteLength).equals(Buffer.from(before.pixels.buffer, before.pixels.byteOffset, before.pixels.byteLength)), name).toBe(true);
      images++;
    }
    console.info(`[deidentify] ${images} images decode identically; transfer syntaxes: ${[...syntaxes].sort().join(' ')}; refused: ${refused.join(' ')}`);
    expect(images).toBeGreaterThanOrEqual(25);
    expect(refused.length).toBeLessThanOrEqual(12);
    for (const ts of ['1.2.840.10008.1.2', '1.2.840.10008.1.2.2', '1.2.840.10008.1.2.5', '1.2.840.10008.1.2.4.50', '1.2.840.10008.1.2.4.80', '1.2.840.10008.1.2.4.90']) {
      expect(syntaxes, ts).toContain(ts);
    }
  });
});

const errorsOf = (file: string) => dciodvfy(file).errors;

describe.skipIf(noDciodvfy)('the demo\'s DICOMs', () => {
  it('gain no dciodvfy error and carry no patient name or ID of the original', () => {
    const folder = path.join(DEMO_DIR, 'vindr-cxr', 'train');
    const files = readdirSync(folder).filter((f) => f.endsWith('.dicom')).slice(0, 3);
    expect(files.length).toBeGreaterThan(0);
    const d = deidentifier();
    for (const name of files) {
      const source = path.join(folder, name);
      const bytes = readFileSync(source);
      const out = path.join(tmp, name);
      writeFileSync(out, deidentifyPart10(bytes, d, name).bytes);
      expect(errorsOf(out), name).toEqual(errorsOf(source));
      const before = read(bytes).dict;
      const after = read(readFileSync(out)).dict;
      expect(after['00100020'].Value).not.toEqual(before['00100020'].Value);
      expect(after['0020000D'].Value).toEqual([d.uid(String(before['0020000D'].Value![0]))]);
    }
  });
});

it('refuses a file that is not DICOM, naming it', () => {
  expect(() => deidentifyPart10(new TextEncoder().encode('hello, not a DICOM file'), deidentifier(), 'notes.txt')).toThrow(DeidentifyError);
  expect(() => deidentifyPart10(new TextEncoder().encode('hello'), deidentifier(), 'notes.txt')).toThrow(/^notes\.txt: not a readable DICOM Part 10 file/);
});
