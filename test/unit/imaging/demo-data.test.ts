// The demo data in resources/demo (written by scripts/make-demo-data.py) decodes, and says it is synthetic.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeImageFile } from '../../../main/imaging';
import { DEMO_DIR } from './helpers/test-data';

interface ManifestImage {
  path: string;
  kind: 'mimic-cxr-jpg' | 'dicom';
  width: number;
  height: number;
  modality?: string;
  photometric?: string;
  bits_stored?: number;
  subject_id?: number;
  study_id?: number;
  dicom_id?: string;
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

const manifest = JSON.parse(readFileSync(path.join(DEMO_DIR, 'manifest.json'), 'utf8')) as { synthetic: boolean; images: ManifestImage[] };
const files = walk(DEMO_DIR);
const images = files.filter((f) => /\.(jpg|dcm)$/.test(f));

describe('demo data', () => {
  it('is marked synthetic, small, and the manifest lists every image', () => {
    expect(manifest.synthetic).toBe(true);
    expect(readFileSync(path.join(DEMO_DIR, 'README.md'), 'utf8')).toMatch(/synthetic/i);
    const total = files.reduce((n, f) => n + statSync(f).size, 0);
    expect(total).toBeLessThan(2.2e6);
    expect(images.map((f) => path.relative(DEMO_DIR, f).split(path.sep).join('/')).sort()).toEqual(manifest.images.map((i) => i.path).sort());
    expect(images.filter((f) => f.endsWith('.jpg'))).toHaveLength(6);
    expect(images.filter((f) => f.endsWith('.dcm'))).toHaveLength(2);
  });

  it.each(manifest.images.map((i) => [i.path, i] as const))('%s decodes', async (rel, info) => {
    const im = await decodeImageFile(path.join(DEMO_DIR, rel));
    expect([im.columns, im.rows]).toEqual([info.width, info.height]);
    expect(im.pixels.length).toBe(info.width * info.height);
    if (info.kind === 'mimic-cxr-jpg') {
      expect(rel).toMatch(/^mimic-cxr-jpg\/files\/p10\/p\d{8}\/s\d{8}\/[0-9a-f]{8}(-[0-9a-f]{8}){4}\.jpg$/);
      expect([im.format, im.encoding, im.bitsStored, im.photometric]).toEqual(['jpeg', 'uint8', 8, 'MONOCHROME2']);
      expect(info.width).not.toBe(info.height);
      const report = readFileSync(path.join(DEMO_DIR, path.dirname(rel) + '.txt'), 'utf8');
      expect(report).toMatch(/SYNTHETIC/);
      expect(report).toMatch(/FINDINGS:/);
      expect(report).toMatch(/IMPRESSION:/);
      expect(report).toMatch(/No pneumothorax\./);
    } else {
      expect(im.format).toBe('dicom');
      expect(im.transferSyntaxUid).toBe('1.2.840.10008.1.2.1');
      expect(im.identifiers.patientName).toBe('SYNTHETIC^DEMO');
      expect(im.modality).toBe(info.modality);
      expect(im.photometric).toBe(info.photometric);
      expect(im.bitsStored).toBe(info.bits_stored);
      expect(im.viewPosition).toBe('PA');
      if (info.modality === 'DX') {
        expect(im.encoding).toBe('uint16');
        expect(im.windows.map((w) => w.name)).toEqual(['NORMAL', 'LUNG', 'Full range']);
        expect(im.pixelSpacing).toEqual([0.7, 0.7]);
        expect(Array.from(im.pixels).reduce((m, v) => Math.max(m, v), 0)).toBeLessThan(4096);
      } else {
        expect([im.rescaleSlope, im.rescaleIntercept]).toEqual([0.5, -1024]);
        expect(im.pixelSpacing).toEqual([0.68, 0.68]);
      }
    }
  });

  it('MIMIC metadata lists every demo JPEG with its size', () => {
    const lines = readFileSync(path.join(DEMO_DIR, 'mimic-cxr-jpg', 'mimic-cxr-2.0.0-metadata.csv'), 'utf8').trim().split('\n');
    expect(lines[0]).toBe(
      'dicom_id,subject_id,study_id,PerformedProcedureStepDescription,ViewPosition,Rows,Columns,StudyDate,StudyTime,ProcedureCodeSequence_CodeMeaning,ViewCodeSequence_CodeMeaning,PatientOrientationCodeSequence_CodeMeaning',
    );
    const jpgs = manifest.images.filter((i) => i.kind === 'mimic-cxr-jpg');
    expect(lines).toHaveLength(jpgs.length + 1);
    for (const i of jpgs) expect(lines).toContain(lines.find((l) => l.startsWith(`${i.dicom_id},${i.subject_id},${i.study_id},`) && l.includes(`,PA,${i.height},${i.width},`)));
  });
});
