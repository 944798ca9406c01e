// Study packages (issue 11, "Several readers, several machines"): a study as its readers see it, in one file for a
// workstation without the coordinator's data, and its import there as a *reading copy*.
// - Images travel as rendered pixel arrays — the decoded stored samples, losslessly as a grey PNG (8 or 16 bit;
//   int16 shifted by 32768 with the rescale intercept moved to match) plus the pixel format (rescale, windows,
//   photometric) in design.json — never as the original files: a DICOM carries patient identifiers in its tags
//   (and private tags nobody can list in full), and shipping decoded samples leaves nothing to strip.
// - Maps travel as the study's frozen float32 copies, named by the arm's opaque token; items, schedules and
//   practice feedback name arms only by that token. No arm name, model, variant, method or arm kind is written.
// - The reading copy gets a dataset of its own ("Reader package <name> <hash>") holding the PNGs, so the
//   workstation's viewer opens them like any image; its arms are rows named by their token, kind 'imported'.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { encode as encodePng } from 'fast-png';
import { RpcError, type Types } from '../../common/contract';
import type { Db } from '../db/database';
import type { TagDict } from '../deidentify';
import { ensureDataset } from '../db/datasets-repo';
import { getImageRow, insertImage } from '../db/images-repo';
import { copyOfPackage, insertCaseStudy, insertReaderPackage, packageOfStudy, studyStimuli } from '../db/reader-packages-repo';
import {
  datasetBoxes,
  getReaderStudy,
  insertItem,
  insertReader,
  insertReaderArm,
  insertReaderCase,
  insertReaderStudy,
  insertStimulus,
  listArms,
  listItems,
  listReaders,
} from '../db/reader-repo';
import { studyFolder, type Design } from './design';
import { openPackage, PackageWriter, type OpenPackage } from './package-format';
import { decodeHere, type DecodeImage } from './pixels';

type Box = { x: number; y: number; w: number; h: number };
export type PixelFormatOf = Pick<Types['PixelData'], 'rows' | 'columns' | 'bitsStored' | 'encoding' | 'photometric' | 'rescaleSlope' | 'rescaleIntercept' | 'windows'>;

/** design.json of a package: everything a reading copy needs, and nothing that names an arm's source. */
export interface PackageDesign {
  format: 'sightline-reader-design';
  version: 1;
  name: string;
  studyVersion: number;
  schedulerVersion: number;
  questions: Design['questions'];
  schedule: Design['schedule'];
  allowChanges: boolean;
  showBoxes: boolean;
  /** the arms' opaque tokens, in no meaningful order (sorted) */
  arms: string[];
  images: (PixelFormatOf & { member: string })[];
  /** idx < 0: a practice case (-1 = the first); boxes only where the reader is shown them (showBoxes) */
  cases: { idx: number; phrase: string; image: number; boxes: Box[] }[];
  practice: { idx: number; expected: number | null; note: string | null; boxes: Box[] }[];
  stimuli: { case: number; arm: string; member: string; width: number; height: number; threshold: number | null; geometry: Types['HeatmapGeometry'] }[];
  readers: { name: string; idx: number; items: { position: number; case: number; arm: string; sitting: number }[] }[];
}

/** The decoded samples of an image as a lossless grey PNG and the format that reproduces them. */
async function renderedImage(file: string, decode: DecodeImage): Promise<{ png: Uint8Array; format: PixelFormatOf }> {
  const image = await decode(file);
  const { rows, columns, bitsStored, photometric, rescaleSlope, windows } = image;
  let { rescaleIntercept } = image;
  let data: Uint8Array | Uint16Array;
  if (image.pixels instanceof Int16Array) {
    data = Uint16Array.from(image.pixels, (v) => v + 32768);
    rescaleIntercept -= 32768 * rescaleSlope;
  } else data = image.pixels;
  const depth = data instanceof Uint8Array ? 8 : 16;
  const png = encodePng({ width: columns, height: rows, data, depth, channels: 1 });
  const encoding = depth === 8 ? 'uint8' : 'uint16';
  return { png, format: { rows, columns, bitsStored: depth === 8 ? Math.min(bitsStored, 8) : 16, encoding, photometric, rescaleSlope, rescaleIntercept, windows } };
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/**
 * What the DICOM header says of text burned into the pixels (Burned In Annotation YES, a Secondary Capture, Image
 * Type SECONDARY): the package carries no header, but it does carry the pixels (issue 15's de-identified packages).
 */
async function burnedInRisk(file: string): Promise<string[]> {
  try {
    // imported when used, as pixels.ts imports the imaging domain: the e2e specs load this module through Playwright's
    // CommonJS transform, which cannot take the ES-module-only code (import.meta) these two reach
    const [{ readDicomFile }, { burnedInWarnings }] = await Promise.all([import('../imaging'), import('../deidentify')]);
    // the header only: the pixels were decoded on the pool a moment ago and are not parsed again on this thread
    return burnedInWarnings(readDicomFile(fs.readFileSync(file), { untilTag: '7FE00010' }).dict as TagDict);
  } catch {
    return []; // the image decoded a moment ago; a header that does not parse now says nothing either way
  }
}

/** Refuses what cannot be packaged (before a job is started for it); `out`: also a missing output folder. */
export function checkPackageable(db: Db, studyId: number, out?: string) {
  const study = getReaderStudy(db, studyId);
  if (!study) throw new RpcError('not_found', `no reader study ${studyId}`);
  if (packageOfStudy(db, studyId, 'copy')) throw new RpcError('invalid_input', `study ${studyId} is a reading copy: export its answers (study export-answers), not a package`);
  if (out !== undefined && !fs.existsSync(path.dirname(path.resolve(out)))) throw new RpcError('invalid_input', `${out}: the folder ${path.dirname(path.resolve(out))} does not exist`);
  return study;
}

export interface PackageProgress {
  signal?: AbortSignal;
  /** members written so far of the total (every image and map, then design.json) */
  report?: (done: number, total: number) => void;
  /** the case images' decoder (default: on this thread) */
  decode?: DecodeImage;
}

/** Writes study `studyId`'s package to `out`; records and returns its content hash. A cancel leaves no file. */
export async function exportPackage(
  db: Db,
  dataDir: string,
  studyId: number,
  out: string,
  progress: PackageProgress = {},
): Promise<{ contentHash: string; bytes: number; members: number; warnings: string[] }> {
  const study = checkPackageable(db, studyId, out);
  const design = study.design as Design;
  const arms = listArms(db, studyId);
  const armToken = new Map(arms.map((a) => [a.id, a.token]));
  const readers = listReaders(db, studyId);
  const stimuli = studyStimuli(db, studyId);
  const writer = new PackageWriter(out);
  const total = stimuli.length + new Set(stimuli.map((s) => s.imageId)).size + 1;
  let done = 0;
  const step = () => {
    progress.signal?.throwIfAborted();
    progress.report?.(++done, total);
  };
  const warnings: string[] = [];
  try {
    const imageIndex = new Map<number, number>();
    const images: PackageDesign['images'] = [];
    const cases = new Map<number, PackageDesign['cases'][number]>();
    for (const s of stimuli) {
      if (!imageIndex.has(s.imageId)) {
        const row = getImageRow(db, s.imageId);
        if (!row) throw new RpcError('not_found', `image ${s.imageId} of the study is gone`);
        const { png, format } = await renderedImage(row.path, progress.decode ?? decodeHere).catch((error: Error) => {
          throw new RpcError('bad_file', `case image ${s.imageId}: ${error.message}`);
        });
        if (row.format === 'dicom') warnings.push(...(await burnedInRisk(row.path)).map((w) => `case image ${s.imageId} (${row.path}): ${w}`));
        const member = `images/${images.length + 1}.png`;
        writer.add(member, png);
        step();
        images.push({ ...format, member });
        imageIndex.set(s.imageId, images.length - 1);
      }
      if (!cases.has(s.caseIdx)) {
        const boxes = design.showBoxes && s.phraseId !== null ? datasetBoxes(db, s.phraseId, s.imageId) : [];
        cases.set(s.caseIdx, { idx: s.caseIdx, phrase: s.phrase, image: imageIndex.get(s.imageId)!, boxes });
      }
    }
    const packaged: PackageDesign['stimuli'] = stimuli.map((s) => {
      const bytes = fs.readFileSync(path.join(dataDir, s.file));
      if (sha256(bytes) !== s.sha256) throw new RpcError('bad_file', `${s.file}: the study's map file was changed after the study was created`);
      const arm = armToken.get(s.armId)!;
      const member = `maps/${arm}/${s.caseIdx < 0 ? `p${-s.caseIdx}` : s.caseIdx}.f32`;
      writer.add(member, bytes);
      step();
      return { case: s.caseIdx, arm, member, width: s.width, height: s.height, threshold: s.threshold, geometry: JSON.parse(s.geometry) };
    });
    const practice = (design.practice ?? []).map((p, i) => {
      const c = stimuli.find((s) => s.caseIdx === -(i + 1));
      const boxes = p.showBoxes !== false && c && c.phraseId !== null ? datasetBoxes(db, c.phraseId, c.imageId) : [];
      return { idx: -(i + 1), expected: p.expected ?? null, note: p.note ?? null, boxes };
    });
    const packageDesign: PackageDesign = {
      format: 'sightline-reader-design',
      version: 1,
      name: study.name,
      studyVersion: study.version,
      schedulerVersion: study.schedulerVersion,
      questions: design.questions,
      schedule: design.schedule,
      allowChanges: design.allowChanges,
      showBoxes: design.showBoxes,
      arms: arms.map((a) => a.token).sort(),
      images,
      cases: [...cases.values()],
      practice,
      stimuli: packaged,
      readers: readers.map((r) => ({
        name: r.name,
        idx: r.idx,
        items: listItems(db, r.id).map((it) => ({ position: it.position, case: it.caseIdx, arm: armToken.get(it.armId)!, sitting: it.sitting })),
      })),
    };
    writer.add('design.json', Buffer.from(JSON.stringify(packageDesign), 'utf8'));
    step();
    const contentHash = writer.finish();
    insertReaderPackage(db, { studyId, role: 'exported', contentHash });
    return { contentHash, bytes: fs.statSync(out).size, members: stimuli.length + images.length + 1, warnings };
  } catch (error) {
    writer.abort();
    throw error;
  }
}

function parseDesign(file: string, pkg: OpenPackage): PackageDesign {
  if (!pkg.names.includes('design.json')) throw new RpcError('bad_file', `${file}: member design.json is missing`);
  const d = JSON.parse(pkg.read('design.json').toString('utf8')) as PackageDesign;
  if (d.format !== 'sightline-reader-design' || d.version !== 1) throw new RpcError('bad_file', `${file}: member design.json is not a version 1 reader design`);
  for (const m of [...d.images.map((i) => i.member), ...d.stimuli.map((s) => s.member)]) {
    if (!pkg.names.includes(m)) throw new RpcError('bad_file', `${file}: member ${m} named by design.json is missing`);
  }
  return d;
}

/** Imports a package as a reading copy (or returns the copy already made from the same content). */
export function importPackage(db: Db, dataDir: string, file: string): { studyId: number; contentHash: string; created: boolean } {
  const pkg = openPackage(file);
  try {
    return importOpened(db, dataDir, file, pkg);
  } finally {
    pkg.close();
  }
}

function importOpened(db: Db, dataDir: string, file: string, pkg: OpenPackage): { studyId: number; contentHash: string; created: boolean } {
  const { manifest } = pkg;
  const d = parseDesign(file, pkg);
  const existing = copyOfPackage(db, manifest.contentHash);
  if (existing !== null) return { studyId: existing, contentHash: manifest.contentHash, created: false };
  const practice = d.practice.map((p) => ({
    imageId: 0,
    phrase: d.cases.find((c) => c.idx === p.idx)?.phrase ?? '',
    arm: d.stimuli.find((s) => s.case === p.idx)?.arm ?? d.arms[0],
    ...(p.expected === null ? {} : { expected: p.expected }),
    showBoxes: p.boxes.length > 0,
    ...(p.note === null ? {} : { note: p.note }),
  }));
  const folder = { made: '' };
  try {
    return db.transaction(() => {
      const studyId = insertReaderStudy(db, {
        name: d.name,
        version: d.studyVersion,
        parentId: null,
        // the stored design of a reading copy: questions, schedule and practice feedback as the readers need them;
        // arms are their tokens (nothing else is known here)
        design: {
          name: d.name,
          cases: [],
          arms: d.arms.map((t) => ({ name: t, kind: 'imported', method: t })),
          readers: d.readers.map((r) => r.name),
          questions: d.questions,
          schedule: d.schedule,
          allowChanges: d.allowChanges,
          showBoxes: d.showBoxes,
          practice,
          readingCopy: {
            contentHash: manifest.contentHash,
            formats: d.images.map(({ member: _m, ...format }) => format),
            boxes: Object.fromEntries(d.cases.map((c) => [c.idx, c.boxes])), feedbackBoxes: Object.fromEntries(d.practice.map((p) => [p.idx, p.boxes])),
          },
        },
        seed: 'package',
        schedulerVersion: d.schedulerVersion,
      });
      const dir = path.join(dataDir, studyFolder(studyId));
      folder.made = dir;
      fs.mkdirSync(path.join(dir, 'images'), { recursive: true });
      const datasetId = ensureDataset(db, `Reader package ${d.name} ${manifest.contentHash.slice(0, 8)}`, 'images');
      const imageIds = d.images.map((img, k) => {
        const bytes = pkg.read(img.member);
        const target = path.join(dir, 'images', `${k + 1}.png`);
        fs.writeFileSync(target, bytes);
        const study = insertCaseStudy(db, datasetId, `case-image-${k + 1}`);
        return insertImage(db, {
          studyId: study,
          path: target,
          size: bytes.length,
          mtimeMs: fs.statSync(target).mtimeMs,
          // the row's own hash: the same rendered image in two packages must not clash (images.sha256 is unique)
          sha256: sha256(Buffer.concat([Buffer.from(`${manifest.contentHash}:`), bytes])),
          format: 'png',
          rows: img.rows,
          columns: img.columns,
          bitsStored: img.bitsStored,
          photometric: img.photometric,
          imageKey: `package-${k + 1}`,
        });
      });
      const armIds = new Map(d.arms.map((t, idx) => [t, insertReaderArm(db, { studyId, idx, name: t, kind: 'imported', spec: { token: t }, token: t })]));
      const caseIds = new Map(d.cases.map((c) => [c.idx, insertReaderCase(db, { studyId, idx: c.idx, imageId: imageIds[c.image], phrase: c.phrase, phraseId: null })]));
      for (const s of d.stimuli) {
        const bytes = pkg.read(s.member);
        const rel = path.join(studyFolder(studyId), s.member.replace(/\//g, '-'));
        fs.writeFileSync(path.join(dataDir, rel), bytes);
        insertStimulus(db, { caseId: caseIds.get(s.case)!, armId: armIds.get(s.arm)!, heatmapId: null, width: s.width, height: s.height, threshold: s.threshold, geometry: s.geometry, file: rel, sha256: sha256(bytes) });
      }
      for (const r of d.readers) {
        const readerId = insertReader(db, { studyId, idx: r.idx, name: r.name });
        for (const it of r.items) insertItem(db, { readerId, position: it.position, caseId: caseIds.get(it.case)!, armId: armIds.get(it.arm)!, sitting: it.sitting, token: randomBytes(12).toString('base64url') });
      }
      insertReaderPackage(db, { studyId, role: 'copy', contentHash: manifest.contentHash });
      return { studyId, contentHash: manifest.contentHash, created: true };
    })();
  } catch (error) {
    if (folder.made) fs.rmSync(folder.made, { recursive: true, force: true });
    throw error;
  }
}
