// Synthetic MIMIC-like study rows written straight into a database: for benchmarks and for the
// end-to-end test of the study browser at 100,000 images.  CLI: npx tsx bench/fill-studies.ts --data-dir D --images N
import { performance } from 'node:perf_hooks';
import { openDatabase, ensureDataset, ensureMimicPatient, ensureStudy, insertImage, upsertReport, type Db } from '../main/db';
import { reportToStore } from '../main/studies/report-parse';

// deterministic PRNG
let state = 12345;
const rand = () => ((state = (state * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
const pick = <T>(a: readonly T[]) => a[Math.floor(rand() * a.length)];

const SIDES = ['right', 'left', 'bilateral'];
const PLACES = ['upper lobe', 'lower lobe', 'middle lobe', 'lung base', 'apex', 'perihilar region', 'costophrenic angle', 'retrocardiac region', 'lingula'];
const FINDINGS = ['opacity', 'consolidation', 'atelectasis', 'pleural effusion', 'nodule', 'pneumothorax', 'edema', 'scarring', 'infiltrate', 'mass', 'granuloma', 'calcification'];
const SIZES = ['small', 'moderate', 'large', 'trace', 'mild', 'subtle'];
const CHANGE = ['unchanged', 'new', 'increased', 'decreased', 'stable', 'improved', 'worsened', 'resolved'];
const DEVICES = ['Endotracheal tube', 'Right PICC line', 'Nasogastric tube', 'Left chest tube', 'Dual-lead pacemaker', 'Right internal jugular catheter'];
const NORMAL = ['The cardiomediastinal silhouette is normal.', 'No pneumothorax is seen.', 'The lungs are otherwise clear.', 'Heart size is top normal.', 'No acute osseous abnormality.'];

function report(i: number): string {
  const f = () => `${pick(SIZES)} ${pick(SIDES)} ${pick(PLACES)} ${pick(FINDINGS)}, ${pick(CHANGE)} since ___`;
  const s1 = `There is ${f()}.`;
  const s2 = rand() < 0.4 ? `${pick(DEVICES)} terminates ${(1 + rand() * 6).toFixed(1)} cm above the carina.` : pick(NORMAL);
  const s3 = rand() < 0.5 ? `Possible ${f()}.` : pick(NORMAL);
  return ` FINAL REPORT\n EXAMINATION: CHEST (PA AND LAT)\n\n INDICATION: ___ year old with dyspnea, case ${i}.\n\n COMPARISON: ___.\n\n FINDINGS:\n\n ${s1}  ${s2}\n ${s3}\n\n IMPRESSION:\n\n ${s1}\n`;
}

export function fill(db: Db, images: number): { studies: number; seconds: number } {
  const t = performance.now();
  const studies = Math.ceil(images / 2);
  const mimic = ensureDataset(db, 'mimic-cxr-jpg', 'mimic-cxr-jpg');
  const other = ensureDataset(db, 'vindr-cxr', 'dicom');
  let img = 0;
  const BATCH = 2000;
  for (let start = 0; start < studies; start += BATCH) {
    db.transaction(() => {
      for (let i = start; i < Math.min(studies, start + BATCH); i++) {
        const ds = i % 10 === 9 ? other : mimic;
        const subject = String(10000000 + Math.floor(i / 3));
        const s = ensureStudy(db, { datasetId: ds, studyKey: String(50000000 + i), patientId: ensureMimicPatient(db, ds, subject) });
        for (let k = 0; k < 2 && img < images; k++, img++) {
          const dicomId = `${img.toString(16).padStart(8, '0')}-${(img * 2654435761 >>> 0).toString(16).padStart(8, '0')}`;
          insertImage(db, {
            studyId: s.id,
            path: `/data/mimic-cxr-jpg/files/p${subject.slice(0, 2)}/p${subject}/s${50000000 + i}/${dicomId}.jpg`,
            size: 1_500_000 + img,
            mtimeMs: 1_700_000_000_000,
            sha256: `${img.toString(16).padStart(64, '0')}`,
            format: 'jpeg',
            rows: 3056,
            columns: 2544,
            bitsStored: 8,
            photometric: 'MONOCHROME2',
            viewPosition: k === 0 ? 'PA' : 'LATERAL',
            dicomId,
            imageKey: dicomId,
          });
        }
        upsertReport(db, s.id, reportToStore({ path: null, sha256: `r${i}`, text: report(i) }));
      }
    })();
  }
  db.pragma('optimize');
  return { studies, seconds: (performance.now() - t) / 1000 };
}


if (require.main === module) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const dataDir = arg('data-dir');
  if (!dataDir) {
    console.error('usage: fill-studies --data-dir D [--images N]');
    process.exit(2);
  }
  const db = openDatabase(dataDir);
  const { studies, seconds } = fill(db, Number(arg('images') ?? 100_000));
  db.close();
  console.log(`filled ${studies} studies in ${seconds.toFixed(1)} s`);
}
