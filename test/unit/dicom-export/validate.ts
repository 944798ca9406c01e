// What the export tests accept from dciodvfy: no error at all, and only the warnings listed here, each with why it is
// right for our objects; and every validated file is read whole by pydicom too (the issue: dcmjs and pydicom).
import { spawnSync } from 'node:child_process';
import { expect } from 'vitest';
import { dciodvfy } from './tools';

const PYTHON = process.env.SIGHTLINE_PYTHON ?? '/usr/bin/python3';
const HAS_PYDICOM = spawnSync(PYTHON, ['-c', 'import pydicom'], { encoding: 'utf8' }).status === 0;
if (!HAS_PYDICOM && process.env.CI) throw new Error(`[dicom-export tests] ${PYTHON} has no pydicom (python3-pydicom), which reads every written file back`);
const READ_ALL = 'import sys, pydicom\nds = pydicom.dcmread(sys.argv[1])\nprint(sum(1 for e in ds.iterall() if str(e.value) is not None), ds.SOPClassUID)';

const JUSTIFIED_WARNINGS: { pattern: RegExp; why: string }[] = [
  {
    // the demo's VinDr DICOMs have no study date, time or id, and a MIMIC-CXR-JPG study has no time in the app: the
    // exported objects carry the source's study unchanged (those Type 2 attributes empty), as objects of one study must
    pattern: /^Warning - <\/(StudyDate|StudyTime|StudyID)\([0-9a-f,]+\)> - Missing attribute or value that would be needed to build DICOMDIR$/,
    why: 'the source study has no date, time or id',
  },
  {
    // a phrase of a report is free text: its finding code is coined in our private scheme (a 99 designator, as
    // PS3.3 8.2 allows), which no validator knows; it is named in the Coding Scheme Identification Sequence
    pattern: /CodingSchemeDesignator\(0008,0102\)\[1\]> - Unrecognized defined term = <99SIGHTLINE>$/,
    why: 'private coding scheme of phrases',
  },
  {
    // the Parametric Map's Image Flavor: the defined terms describe cross-sectional images; a map over a chest
    // radiograph is a PROJECTION image, as the DX and CR image types say (main/dicom-export/pmap.ts)
    pattern: /(ImageType\(0008,0008\)|FrameType\(0008,9007\))\[3\]> - Unrecognized defined term = <PROJECTION>$/,
    why: 'Image Flavor of a projection image',
  },
];

/** Validates a written file with `dciodvfy -new`: it is checked as `iod`, without errors or unjustified warnings. */
export function expectValid(file: string, iod: string): void {
  const verdict = dciodvfy(file);
  expect(verdict.iod, verdict.output).toBe(iod);
  expect(verdict.errors, verdict.output).toEqual([]);
  const unjustified = verdict.warnings.filter((w) => !JUSTIFIED_WARNINGS.some((j) => j.pattern.test(w)));
  expect(unjustified, verdict.output).toEqual([]);
  if (HAS_PYDICOM) {
    const read = spawnSync(PYTHON, ['-c', READ_ALL, file], { encoding: 'utf8' });
    expect(read.status, `pydicom: ${read.stderr}`).toBe(0);
    expect(Number(read.stdout.split(' ')[0]), file).toBeGreaterThan(10);
  }
}
