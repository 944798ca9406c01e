// Real files for import tests and the bench: grey PNGs (fast-png), JPEGs (jpeg-js), minimal but valid DICOM
// Part 10 files (explicit VR little endian, written byte by byte), MIMIC-style reports and folder layouts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { encode as encodePng } from 'fast-png';
import jpeg from 'jpeg-js';

const created: string[] = [];
let cleanupRegistered = false;

/** Removes the folders tempDir made so far (test files call it in afterAll). */
export function cleanupTempDirs(): void {
  if (process.env.SIGHTLINE_KEEP_TMP) return;
  for (const d of created.splice(0)) {
    try {
      fs.rmSync(d, { recursive: true, force: true });
    } catch {
      /* still open on Windows: leave it */
    }
  }
}

/** A fresh temporary folder, removed when the process exits (set SIGHTLINE_KEEP_TMP=1 to keep them). */
export function tempDir(prefix = 'sightline-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  created.push(dir);
  if (!cleanupRegistered && !process.env.SIGHTLINE_KEEP_TMP) {
    cleanupRegistered = true;
    process.on('exit', cleanupTempDirs);
  }
  return dir;
}

export function pngBytes(width: number, height: number, seed = 0, depth: 8 | 16 = 8): Uint8Array {
  const n = width * height;
  const data = depth === 8 ? new Uint8Array(n) : new Uint16Array(n);
  for (let i = 0; i < n; i++) data[i] = (i * 7 + seed * 13) % (depth === 8 ? 256 : 4096);
  return encodePng({ width, height, data, depth, channels: 1 });
}

const jpegCache = new Map<string, Buffer>();

/** A JPEG (jpeg-js, encoded once per size) made distinct per `seed` by a COM segment after SOI. */
export function jpegBytes(width: number, height: number, seed = 0): Uint8Array {
  const key = `${width}x${height}`;
  let base = jpegCache.get(key);
  if (!base) {
    const data = Buffer.alloc(width * height * 4);
    for (let i = 0; i < width * height; i++) {
      const v = (i * 5) % 256;
      data[i * 4] = data[i * 4 + 1] = data[i * 4 + 2] = v;
      data[i * 4 + 3] = 255;
    }
    base = Buffer.from(jpeg.encode({ data, width, height }, 90).data);
    jpegCache.set(key, base);
  }
  const text = Buffer.from(`seed ${seed}`, 'latin1');
  const com = Buffer.alloc(4);
  com.writeUInt16BE(0xfffe, 0);
  com.writeUInt16BE(text.length + 2, 2);
  return new Uint8Array(Buffer.concat([base.subarray(0, 2), com, text, base.subarray(2)]));
}

export interface DicomSpec {
  studyUid: string;
  seriesUid?: string;
  sopUid: string;
  patientId?: string;
  patientName?: string;
  modality?: string;
  viewPosition?: string;
  rows?: number;
  columns?: number;
  photometric?: 'MONOCHROME1' | 'MONOCHROME2';
  pixelSpacing?: [number, number];
  studyDate?: string;
  accession?: string;
  studyDescription?: string;
  /** PatientIdentityRemoved (0012,0062) = YES */
  identityRemoved?: boolean;
  seed?: number;
}

type El = { group: number; element: number; vr: string; value: Buffer };

function padEven(b: Buffer, pad: number): Buffer {
  return b.length % 2 ? Buffer.concat([b, Buffer.from([pad])]) : b;
}
function strEl(group: number, element: number, vr: string, s: string): El {
  return { group, element, vr, value: padEven(Buffer.from(s, 'latin1'), vr === 'UI' ? 0 : 0x20) };
}
function usEl(group: number, element: number, v: number): El {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(v);
  return { group, element, vr: 'US', value: b };
}
function ulEl(group: number, element: number, v: number): El {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return { group, element, vr: 'UL', value: b };
}
const LONG_VR = new Set(['OB', 'OW', 'OF', 'SQ', 'UT', 'UN']);
function encodeEls(els: El[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of [...els].sort((a, b) => a.group - b.group || a.element - b.element)) {
    const long = LONG_VR.has(e.vr);
    const h = Buffer.alloc(long ? 12 : 8);
    h.writeUInt16LE(e.group, 0);
    h.writeUInt16LE(e.element, 2);
    h.write(e.vr, 4, 'latin1');
    if (long) h.writeUInt32LE(e.value.length, 8);
    else h.writeUInt16LE(e.value.length, 6);
    parts.push(h, e.value);
  }
  return Buffer.concat(parts);
}

export const SOP_CLASS_DX = '1.2.840.10008.5.1.4.1.1.1.1';
export const EXPLICIT_LE = '1.2.840.10008.1.2.1';

/** A 12-bit DX image in a DICOM Part 10 file (explicit VR little endian). */
export function dicomBytes(spec: DicomSpec): Buffer {
  const rows = spec.rows ?? 32;
  const columns = spec.columns ?? 32;
  const pixels = Buffer.alloc(rows * columns * 2);
  for (let i = 0; i < rows * columns; i++) pixels.writeUInt16LE((i * 17 + (spec.seed ?? 0) * 101) % 4096, i * 2);
  const meta = encodeEls([
    { group: 2, element: 1, vr: 'OB', value: Buffer.from([0, 1]) },
    strEl(2, 2, 'UI', SOP_CLASS_DX),
    strEl(2, 3, 'UI', spec.sopUid),
    strEl(2, 0x10, 'UI', EXPLICIT_LE),
    strEl(2, 0x12, 'UI', '1.2.826.0.1.3680043.9.7433.1'),
  ]);
  const metaWithLength = Buffer.concat([encodeEls([ulEl(2, 0, meta.length)]), meta]);
  const els: El[] = [
    strEl(8, 0x16, 'UI', SOP_CLASS_DX),
    strEl(8, 0x18, 'UI', spec.sopUid),
    strEl(8, 0x20, 'DA', spec.studyDate ?? '21800101'),
    ...(spec.accession ? [strEl(8, 0x50, 'SH', spec.accession)] : []),
    strEl(8, 0x60, 'CS', spec.modality ?? 'DX'),
    ...(spec.studyDescription ? [strEl(8, 0x1030, 'LO', spec.studyDescription)] : []),
    strEl(0x10, 0x10, 'PN', spec.patientName ?? 'Doe^Jane'),
    strEl(0x10, 0x20, 'LO', spec.patientId ?? 'PID-0001'),
    ...(spec.identityRemoved ? [strEl(0x12, 0x62, 'CS', 'YES')] : []),
    strEl(0x18, 0x5101, 'CS', spec.viewPosition ?? 'PA'),
    strEl(0x20, 0x0d, 'UI', spec.studyUid),
    strEl(0x20, 0x0e, 'UI', spec.seriesUid ?? `${spec.studyUid}.1`),
    usEl(0x28, 0x02, 1),
    strEl(0x28, 0x04, 'CS', spec.photometric ?? 'MONOCHROME2'),
    usEl(0x28, 0x10, rows),
    usEl(0x28, 0x11, columns),
    strEl(0x28, 0x30, 'DS', (spec.pixelSpacing ?? [0.139, 0.139]).join('\\')),
    usEl(0x28, 0x100, 16),
    usEl(0x28, 0x101, 12),
    usEl(0x28, 0x102, 11),
    usEl(0x28, 0x103, 0),
    { group: 0x7fe0, element: 0x10, vr: 'OW', value: pixels },
  ];
  return Buffer.concat([Buffer.alloc(128), Buffer.from('DICM', 'latin1'), metaWithLength, encodeEls(els)]);
}

export const SAMPLE_REPORT = `                                 FINAL REPORT
 EXAMINATION:  CHEST (PA AND LAT)
 
 INDICATION:  ___F with new onset ascites  // eval for infection
 
 TECHNIQUE:  Chest PA and lateral
 
 COMPARISON:  None.
 
 FINDINGS: 
 
 There is no focal consolidation, pleural effusion or pneumothorax.  Bilateral
 nodular opacities that most likely represent nipple shadows. The
 cardiomediastinal silhouette is normal.  Clips project over the left lung,
 potentially within the breast. The imaged upper abdomen is unremarkable.
 Chronic deformity of the posterior left sixth and seventh ribs are noted.
 
 IMPRESSION: 
 
 No acute cardiopulmonary process.
`;

const FINDINGS = [
  'There is a small left pleural effusion.',
  'Moderate right pleural effusion with adjacent atelectasis.',
  'The heart size is mildly enlarged.',
  'Patchy opacity in the right lower lobe concerning for pneumonia.',
  'No pneumothorax is seen.',
  'There is mild pulmonary vascular congestion.',
  'Left basilar atelectasis is present.',
  'Endotracheal tube terminates 4.5 cm above the carina.',
  'The lungs are clear.',
  'Stable cardiomegaly.',
  'A right PICC line ends in the mid SVC.',
  'Interval improvement of the right upper lobe consolidation.',
];

/** A MIMIC-style report whose findings are picked by `seed`. */
export function syntheticReport(seed: number): string {
  const f = [FINDINGS[seed % FINDINGS.length], FINDINGS[(seed * 7 + 3) % FINDINGS.length], FINDINGS[(seed * 5 + 1) % FINDINGS.length]];
  return `                                 FINAL REPORT
 EXAMINATION:  CHEST (PA AND LAT)

 INDICATION:  ___M with shortness of breath, case ${seed}

 COMPARISON:  ___.

 FINDINGS:

 ${f[0]}  ${f[1]}
 ${f[2]}

 IMPRESSION:

 ${f[0]}
`;
}

let nextSeed = 1;

/** Writes a MIMIC-CXR-JPG tree: root/files/p1x/p{subject}/s{study}/{dicom_id}.jpg (+ s{study}.txt). */
export function writeMimicTree(
  root: string,
  studies: { subject: string; study: string; images: string[]; report?: string | null; png?: boolean }[],
): string[] {
  const written: string[] = [];
  for (const s of studies) {
    const studyDir = path.join(root, 'files', `p${s.subject.slice(0, 2)}`, `p${s.subject}`, `s${s.study}`);
    fs.mkdirSync(studyDir, { recursive: true });
    for (const dicomId of s.images) {
      const f = path.join(studyDir, `${dicomId}.jpg`);
      fs.writeFileSync(f, jpegBytes(24, 20, nextSeed++));
      written.push(f);
    }
    if (s.report !== null) {
      const f = `${studyDir}.txt`;
      fs.writeFileSync(f, s.report ?? syntheticReport(Number(s.study) % 1000));
      written.push(f);
    }
  }
  return written;
}
