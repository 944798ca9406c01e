// The demo data in resources/demo (synthetic world output, see its README.md): every image decodes as its ground
// truth says, the DICOMs display like the same case's JPEG (MONOCHROME1 inverted), and every file with room for
// free text says SYNTHETIC.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeImageFile } from '../../../main/imaging';
import type { DecodedImage } from '../../../main/imaging';
import { applyWindow, effectiveInvert, modalityValue, sampleStats } from '../../../renderer/src/lib/window-level';
import { DEFAULT_PRESETS, resolvePreset } from '../../../renderer/src/lib/window-presets';
import { DEMO_CONTACT_SHEET, DEMO_DIR } from './helpers/test-data';

interface Truth {
  case_index: number;
  seed: number;
  synthetic: boolean;
  width: number;
  height: number;
  ids: { subject_id: number; study_id: number; dicom_id: string; vindr_image_id: string };
  paths: { mimic_jpg: string; mimic_report: string; vindr_dicom: string };
  dicom: { bits_stored: number; photometric: 'MONOCHROME1' | 'MONOCHROME2'; modality: 'CR' | 'DX' };
  splits: { vindr: 'train' | 'test' };
  report: string;
  findings: { finding: string }[];
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

const rel = (f: string) => path.relative(DEMO_DIR, f).split(path.sep).join('/');
const manifest = JSON.parse(readFileSync(path.join(DEMO_DIR, 'world', 'manifest.json'), 'utf8')) as Record<string, unknown>;
const truth = readFileSync(path.join(DEMO_DIR, 'world', 'truth.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as Truth);
const files = walk(DEMO_DIR);
const jpegs = files.filter((f) => f.endsWith('.jpg'));
const dicoms = files.filter((f) => f.endsWith('.dicom'));
const withDicom = truth.filter((t) => dicoms.some((f) => rel(f) === `vindr-cxr/${t.paths.vindr_dicom}`));

/** The JPEG comment (COM segment) before the first scan. */
function jpegComment(bytes: Buffer): string | null {
  let i = 2;
  while (i + 4 <= bytes.length && bytes[i] === 0xff) {
    const marker = bytes[i + 1];
    const length = bytes.readUInt16BE(i + 2);
    if (marker === 0xfe) return bytes.subarray(i + 4, i + 2 + length).toString('latin1');
    if (marker === 0xda) return null;
    i += 2 + length;
  }
  return null;
}

/** What the viewer shows, in [0, 1]: modality values through the default window, inverted for MONOCHROME1. */
function displayed(im: DecodedImage, userInvert = false): Float64Array {
  // the viewer's "Default (from file)" preset: the file's first window (the decoder adds the full range when none)
  const window = resolvePreset(DEFAULT_PRESETS[0], { ...im, stats: sampleStats(im.pixels) });
  const invert = effectiveInvert(im.photometric, userInvert);
  const out = new Float64Array(im.pixels.length);
  for (let i = 0; i < out.length; i++) {
    const v = applyWindow(modalityValue(im.pixels[i], im.rescaleSlope, im.rescaleIntercept), window.center, window.width);
    out[i] = invert ? 1 - v : v;
  }
  return out;
}

function correlation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sa = 0;
  let sb = 0;
  const n = a.length;
  for (let i = 0; i < n; i++) {
    sa += a[i];
    sb += b[i];
  }
  const ma = sa / n;
  const mb = sb / n;
  let cab = 0;
  let caa = 0;
  let cbb = 0;
  for (let i = 0; i < n; i++) {
    cab += (a[i] - ma) * (b[i] - mb);
    caa += (a[i] - ma) ** 2;
    cbb += (b[i] - mb) ** 2;
  }
  return cab / Math.sqrt(caa * cbb);
}

describe('demo data (synthetic world output)', () => {
  it('is the generator output the README describes, marked synthetic, and small', () => {
    expect(manifest).toMatchObject({ synthetic: true, generator: 'sightline_world', seed: 69, preset: 'small', cases: 16, vindr_max: 2 });
    const readme = readFileSync(path.join(DEMO_DIR, 'README.md'), 'utf8');
    expect(readme).toMatch(/^# .*SYNTHETIC, no patient data/);
    expect(readme).toContain('/usr/bin/python3 -m sightline_world.generate --out ../resources/demo --cases 16 --seed 69 --preset small --vindr-max 2');
    const total = files.reduce((n, f) => n + statSync(f).size, 0) + statSync(DEMO_CONTACT_SHEET).size;
    expect(total).toBeLessThan(3.5e6);
    expect(truth).toHaveLength(16);
    expect(truth.every((t) => t.synthetic === true && t.seed === 69)).toBe(true);
    expect(jpegs.map(rel).sort()).toEqual(truth.map((t) => `mimic-cxr-jpg/${t.paths.mimic_jpg}`).sort());
    expect(files.filter((f) => f.endsWith('.txt')).map(rel).sort()).toEqual(truth.map((t) => `mimic-cxr-jpg/${t.paths.mimic_report}`).sort());
    expect(withDicom.map((t) => t.case_index)).toEqual([0, 1]);
    expect(dicoms).toHaveLength(2);
    // one of each photometric interpretation, at different bit depths
    expect(withDicom.map((t) => [t.dicom.photometric, t.dicom.bits_stored, t.dicom.modality]).sort()).toEqual([
      ['MONOCHROME1', 16, 'CR'],
      ['MONOCHROME2', 14, 'DX'],
    ]);
    expect(files.filter((f) => f.endsWith('.png')), 'the contact sheet is kept beside the imported folder').toEqual([]);
  });

  it('the contact sheet beside it says SYNTHETIC', () => {
    const png = readFileSync(DEMO_CONTACT_SHEET);
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(png.toString('latin1')).toMatch(/Description\0SYNTHETIC: Sightline synthetic world phantom/);
  });

  it.each(truth.map((t) => [t.paths.mimic_jpg, t] as const))('MIMIC %s decodes, says SYNTHETIC, and has its report', async (jpg, t) => {
    const file = path.join(DEMO_DIR, 'mimic-cxr-jpg', jpg);
    const im = await decodeImageFile(file);
    expect([im.format, im.encoding, im.bitsStored, im.photometric]).toEqual(['jpeg', 'uint8', 8, 'MONOCHROME2']);
    expect([im.columns, im.rows]).toEqual([t.width, t.height]);
    expect(jpegComment(readFileSync(file))).toBe(
      `SYNTHETIC: Sightline synthetic world phantom, not a patient (no patient data) [sightline_world seed 69, case ${t.case_index}]`,
    );
    const report = readFileSync(path.join(DEMO_DIR, 'mimic-cxr-jpg', t.paths.mimic_report), 'utf8');
    expect(report).toBe(t.report);
    expect(report.split('\n')[0]).toBe(' SYNTHETIC:  Sightline synthetic world phantom, not a patient (no patient data).');
    expect(report).toMatch(/\n\s+FINAL REPORT\n/);
    expect(report).toMatch(/\n FINDINGS: \n[\s\S]+\n IMPRESSION: \n \n \S/);
  });

  it('MIMIC metadata lists every demo JPEG with its size and PA view', () => {
    const lines = readFileSync(path.join(DEMO_DIR, 'mimic-cxr-jpg', 'mimic-cxr-2.0.0-metadata.csv'), 'utf8').trim().split('\n');
    expect(lines[0]).toBe(
      'dicom_id,subject_id,study_id,PerformedProcedureStepDescription,ViewPosition,Rows,Columns,StudyDate,StudyTime,ProcedureCodeSequence_CodeMeaning,ViewCodeSequence_CodeMeaning,PatientOrientationCodeSequence_CodeMeaning',
    );
    expect(lines).toHaveLength(truth.length + 1);
    for (const t of truth) {
      expect(lines.filter((l) => l.startsWith(`${t.ids.dicom_id},${t.ids.subject_id},${t.ids.study_id},`) && l.includes(`,PA,${t.height},${t.width},`))).toHaveLength(1);
    }
  });

  it.each(withDicom.map((t) => [t.paths.vindr_dicom, t] as const))('VinDr %s decodes as its truth says and is marked SYNTHETIC', async (dcm, t) => {
    const im = await decodeImageFile(path.join(DEMO_DIR, 'vindr-cxr', dcm));
    expect(im.format).toBe('dicom');
    expect(im.transferSyntaxUid).toBe('1.2.840.10008.1.2.1');
    expect(im.identifiers.patientName).toBe('SYNTHETIC^PHANTOM');
    expect(im.identifiers.patientId).toBe(`SYNTHETIC-${t.ids.vindr_image_id.slice(0, 12)}`);
    expect([im.modality, im.photometric, im.bitsStored, im.viewPosition]).toEqual([t.dicom.modality, t.dicom.photometric, t.dicom.bits_stored, 'PA']);
    expect([im.columns, im.rows, im.encoding]).toEqual([t.width, t.height, 'uint16']);
    expect([im.rescaleSlope, im.rescaleIntercept]).toEqual([1, 0]);
    expect(im.pixelSpacing![0]).toBeGreaterThan(0.3);
    expect(im.windows.length).toBeGreaterThanOrEqual(2); // the file's Window Center/Width, then 'Full range'
    expect(sampleStats(im.pixels).max).toBeLessThan(2 ** t.dicom.bits_stored);
    const text = readFileSync(path.join(DEMO_DIR, 'vindr-cxr', dcm)).toString('latin1');
    expect(text).toContain('SYNTHETIC: Sightline synthetic world phantom, not a patient (no patient data)'); // ImageComments
  });

  it.each(withDicom.map((t) => [t.dicom.photometric, t] as const))(
    'the %s DICOM is displayed like the same case as JPEG (photometric handling)',
    async (photometric, t) => {
      const dicom = await decodeImageFile(path.join(DEMO_DIR, 'vindr-cxr', t.paths.vindr_dicom));
      const jpeg = await decodeImageFile(path.join(DEMO_DIR, 'mimic-cxr-jpg', t.paths.mimic_jpg));
      expect([dicom.columns, dicom.rows]).toEqual([jpeg.columns, jpeg.rows]);
      const reference = Float64Array.from(jpeg.pixels, (v) => v / 255);
      // stored values: MONOCHROME1 keeps dense anatomy LOW, so the raw samples run opposite to the JPEG
      const raw = correlation(Float64Array.from(dicom.pixels), reference);
      if (photometric === 'MONOCHROME1') expect(raw).toBeLessThan(-0.95);
      else expect(raw).toBeGreaterThan(0.95);
      // what the viewer shows matches the JPEG; the user's invert toggle turns it into a negative
      expect(correlation(displayed(dicom), reference)).toBeGreaterThan(0.95);
      expect(correlation(displayed(dicom, true), reference)).toBeLessThan(-0.95);
    },
  );
});
