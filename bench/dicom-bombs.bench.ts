// Memory and time of hostile deflated DICOMs (issue 12).  Run: npx tsx bench/dicom-bombs.bench.ts
// Builds the two bombs of test/unit/imaging/helpers/dicom-bombs.ts in a temporary folder and measures, each in a
// fresh child process (peak RSS is per process): viewing (decodeImageFile, what images.pixels and the import's
// full decode check do) and importing (runImport: read, hash, header probe, write). Prints one line per case and
// the baseline RSS of a child that does nothing. Target: < 300 MB peak for any file under 10 MB.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);

async function child(kind: string, file: string): Promise<void> {
  const t0 = performance.now();
  let outcome = 'ok';
  if (kind === 'view') {
    const { decodeImageFile } = await import('../main/imaging');
    try {
      const img = await decodeImageFile(file);
      outcome = `decoded ${img.columns}x${img.rows}`;
    } catch (err) {
      outcome = `rejected: ${(err as Error).message.replace(file + ': ', '')}`;
    }
  } else if (kind === 'import') {
    const { openDatabase } = await import('../main/db');
    const { runImport } = await import('../main/studies/run-import');
    const db = openDatabase(path.join(path.dirname(file), `import-${path.basename(file)}.db`));
    const r = await runImport({ db, paths: [file] });
    outcome = r.imported ? `imported` : `rejected: ${r.rejected.map((x) => x.reason).join('; ')}`;
    db.close();
  }
  const ms = performance.now() - t0;
  process.stdout.write(JSON.stringify({ ms: Math.round(ms), peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024), outcome }));
}

async function main(): Promise<void> {
  const { overlongPixelDataBomb, manyFramesBomb } = await import('../test/unit/imaging/helpers/dicom-bombs');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sightline-bombs-'));
  try {
    const files = {
      'overlong pixel data (900 MB)': overlongPixelDataBomb(),
      'many frames (600 MB)': manyFramesBomb(),
    };
    const run = (kind: string, file: string) =>
      JSON.parse(execFileSync(process.execPath, [...process.execArgv, self, '--child', kind, file], { encoding: 'utf8', maxBuffer: 1 << 20 })) as {
        ms: number;
        peakRssMB: number;
        outcome: string;
      };
    const base = run('none', '-');
    console.log(`baseline child: peak RSS ${base.peakRssMB} MB`);
    for (const [name, bytes] of Object.entries(files)) {
      const file = path.join(dir, `${name.replace(/\W+/g, '-')}.dcm`);
      fs.writeFileSync(file, bytes);
      for (const kind of ['view', 'import']) {
        const r = run(kind, file);
        console.log(`${name}, ${(bytes.length / 1024).toFixed(0)} KB, ${kind}: ${r.ms} ms, peak RSS ${r.peakRssMB} MB — ${r.outcome}`);
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const i = process.argv.indexOf('--child');
if (i > 0) void child(process.argv[i + 1]!, process.argv[i + 2]!);
else void main();
