// De-identification and STOW-RS throughput (issue 15). Run: npx tsx bench/pacs-stow.bench.ts [N]
// N copies of a demo DICOM, each de-identified by its own Deidentifier (so every copy has its own UIDs), then sent to
// a real Orthanc (test/unit/pacs/orthanc.ts: Debian's orthanc + orthanc-dicomweb) with sightline's STOW-RS client.
// Prints the time per de-identification and the upload's MB/s and peak RSS.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Deidentifier, deidentifyPart10 } from '../main/deidentify';
import { storeInstances } from '../main/pacs/stow';
import { ORTHANC_MISSING, startOrthanc } from '../test/unit/pacs/orthanc';

const n = Number(process.argv[2] ?? 200);
const source = path.resolve(__dirname, '../resources/demo/vindr-cxr/train/a53e9a67dfca6f67a74a7d7365d6d1c5.dicom');
if (ORTHANC_MISSING) {
  console.error('Orthanc is not installed (sudo apt-get install orthanc orthanc-dicomweb)');
  process.exit(1);
}
async function main(): Promise<void> {
  const bytes = fs.readFileSync(source);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sightline-stow-bench-'));
  const orthanc = await startOrthanc();
  try {
    const t0 = performance.now();
    const files = Array.from({ length: n }, (_, i) => {
      const file = path.join(dir, `${i}.dcm`);
      fs.writeFileSync(file, deidentifyPart10(bytes, new Deidentifier({ dates: 'remove', software: 'bench' }), source).bytes);
      return file;
    });
    const t1 = performance.now();
    const total = files.reduce((s, f) => s + fs.statSync(f).size, 0);
    const result = await storeInstances({ server: { name: 'bench', url: orthanc.dicomweb, auth: 'none', user: null, caBundle: null, timeoutSeconds: 60 }, secret: null }, files);
    const t2 = performance.now();
    console.log(`de-identify: ${n} files of ${(bytes.length / 1e6).toFixed(2)} MB, ${((t1 - t0) / n).toFixed(1)} ms each`);
    console.log(`STOW-RS: ${result.stored.length} stored, ${result.failed.length} refused, ${result.requests} requests, ${(total / 1e6).toFixed(1)} MB in ${((t2 - t1) / 1000).toFixed(2)} s = ${(total / 1e6 / ((t2 - t1) / 1000)).toFixed(1)} MB/s`);
    console.log(`peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MB`);
  } finally {
    await orthanc.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

void main();
