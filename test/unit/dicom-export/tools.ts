// dicom3tools' dciodvfy for the DICOM export tests: validates a written file against its IOD and the modules' rules
// (`-new`: the current standard's attributes too) and returns its errors and warnings, each as the tool prints it.
// Without dciodvfy the tests skip with a printed reason, except with CI set, where they fail (.ci/run installs
// dicom3tools; scripts/test-all.cjs names the package).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const DCIODVFY = process.env.SIGHTLINE_DCIODVFY || '/usr/bin/dciodvfy';
const WHY = `dciodvfy not found (${DCIODVFY}): sudo apt-get install dicom3tools (or set SIGHTLINE_DCIODVFY)`;

/** Whether to skip the validating tests here (printing why); under CI a missing dciodvfy throws instead. */
export function skipWithoutDciodvfy(): boolean {
  if (existsSync(DCIODVFY)) return false;
  if (process.env.CI) throw new Error(`[dicom-export tests] ${WHY} (CI is set, so this fails rather than skips)`);
  console.warn(`[dicom-export tests] SKIPPED: ${WHY}`);
  return true;
}

export interface Verdict {
  /** the IOD dciodvfy checked the file against, as it names it (e.g. "Segmentation") */
  iod: string;
  errors: string[];
  warnings: string[];
  /** everything it printed, for a failing assertion's message */
  output: string;
}

/** Runs `dciodvfy -new FILE`; its messages go to stderr, one per line, starting "Error - " or "Warning - ". */
export function dciodvfy(file: string): Verdict {
  const run = spawnSync(DCIODVFY, ['-new', file], { encoding: 'utf8' });
  if (run.error) throw new Error(`${DCIODVFY} ${file}: ${run.error.message}`);
  const output = `${run.stdout}${run.stderr}`;
  const lines = output.split('\n').map((l) => l.trim());
  return {
    iod: lines.find((l) => l && !/^(Error|Warning)\b/.test(l)) ?? '',
    errors: lines.filter((l) => l.startsWith('Error')),
    warnings: lines.filter((l) => l.startsWith('Warning')),
    output,
  };
}
