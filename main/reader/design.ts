// Creating a reader study from a design: cases resolved against the database, every case x arm's map copied into
// the study's own folder (so the study stays as it was frozen, whatever happens to the heatmaps later), readers, and
// each reader's seeded schedule, all in one transaction. A design that cannot be satisfied is refused as a whole,
// naming every case x arm that lacks its map.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { RpcError } from '../../common/contract';
import type { ReaderDesign } from '../../common/contract/reader';
import type { Db } from '../db/database';
import { getImageRow } from '../db/images-repo';
import {
  datasetBoxes,
  findLatestHeatmap,
  getReaderStudy,
  insertItem,
  insertReader,
  insertReaderArm,
  insertReaderCase,
  insertReaderStudy,
  insertStimulus,
  phraseImages,
  phraseOnImage,
  type StimulusRow,
} from '../db/reader-repo';
import { readHeatmapBytes } from '../grounding/heatmap-store';
import { readerSchedule, SCHEDULER_VERSION } from './schedule';

export type Design = z.output<typeof ReaderDesign>;

/** The folder of a study's frozen maps, relative to the data directory. */
export const studyFolder = (studyId: number) => path.join('reader', String(studyId));

/** Longest side of a box arm's rendered 0/1 map. */
const BOX_MAP_SIDE = 512;

interface ResolvedCase {
  imageId: number;
  phrase: string;
  phraseId: number | null;
  rows: number;
  columns: number;
}

function resolveCases(db: Db, design: Design): ResolvedCase[] {
  const out: ResolvedCase[] = [];
  design.cases.forEach((spec, i) => {
    const pairs: { imageId: number; phrase: string; phraseId: number | null }[] = [];
    if ('phraseId' in spec) {
      const p = phraseImages(db, spec.phraseId);
      if (!p) throw new RpcError('invalid_input', `cases[${i}]: no phrase ${spec.phraseId}`);
      for (const imageId of p.imageIds) pairs.push({ imageId, phrase: p.text, phraseId: spec.phraseId });
    } else pairs.push({ imageId: spec.imageId, phrase: spec.phrase, phraseId: phraseOnImage(db, spec.imageId, spec.phrase) });
    for (const pair of pairs) {
      const image = getImageRow(db, pair.imageId);
      if (!image) throw new RpcError('invalid_input', `cases[${i}]: no image ${pair.imageId}`);
      out.push({ ...pair, rows: image.rows, columns: image.columns });
    }
  });
  const seen = new Set<string>();
  for (const c of out) {
    const key = `${c.imageId}\u0000${c.phrase}`;
    if (seen.has(key)) throw new RpcError('invalid_input', `the case image ${c.imageId} + "${c.phrase}" is listed twice`);
    seen.add(key);
  }
  return out;
}

/** The practice cases: images that exist, a design arm each, an expected score on the scale, none also scored. */
function resolvePractice(db: Db, design: Design, cases: ResolvedCase[]): (ResolvedCase & { armIdx: number })[] {
  const scored = new Set(cases.map((c) => `${c.imageId}\u0000${c.phrase}`));
  const scale = design.questions.find((q) => q.kind === 'scale');
  return (design.practice ?? []).map((p, i) => {
    const where = `practice[${i}]`;
    const image = getImageRow(db, p.imageId);
    if (!image) throw new RpcError('invalid_input', `${where}: no image ${p.imageId}`);
    const armIdx = design.arms.findIndex((a) => a.name === p.arm);
    if (armIdx < 0) throw new RpcError('invalid_input', `${where}: no arm "${p.arm}" in the design`);
    if (scored.has(`${p.imageId}\u0000${p.phrase}`)) throw new RpcError('invalid_input', `${where}: image ${p.imageId} + "${p.phrase}" is also a scored case`);
    if (p.expected !== undefined && (!scale || scale.kind !== 'scale' || p.expected < scale.min || p.expected > scale.max)) {
      throw new RpcError('invalid_input', scale ? `${where}: expected ${p.expected} is outside the scale ${scale.key} (${scale.kind === 'scale' ? `${scale.min}-${scale.max}` : ''})` : `${where}: an expected score needs a scale question`);
    }
    return { imageId: p.imageId, phrase: p.phrase, phraseId: phraseOnImage(db, p.imageId, p.phrase), rows: image.rows, columns: image.columns, armIdx };
  });
}

/** The case's ground-truth boxes as a 0/1 float32 map over the whole image (pixel centres inside a box are 1). */
export function boxMap(c: Pick<ResolvedCase, 'rows' | 'columns'>, boxes: { x: number; y: number; w: number; h: number }[]) {
  const scale = Math.min(1, BOX_MAP_SIDE / Math.max(c.rows, c.columns));
  const width = Math.max(1, Math.round(c.columns * scale));
  const height = Math.max(1, Math.round(c.rows * scale));
  const map = new Float32Array(width * height);
  for (let j = 0; j < height; j++) {
    const y = ((j + 0.5) * c.rows) / height;
    for (let i = 0; i < width; i++) {
      const x = ((i + 0.5) * c.columns) / width;
      if (boxes.some((b) => x >= b.x && x < b.x + b.w && y >= b.y && y < b.y + b.h)) map[j * width + i] = 1;
    }
  }
  const geometry = { originalRows: c.rows, originalColumns: c.columns, top: 0, left: 0, width: c.columns, height: c.rows };
  return { width, height, map, geometry };
}

type Stimulus = Omit<StimulusRow, 'caseId' | 'armId' | 'file' | 'sha256'> & { bytes: Uint8Array };

function stimulusOf(db: Db, dataDir: string, c: ResolvedCase, arm: Design['arms'][number]): Stimulus | string {
  if (arm.kind === 'box') {
    const boxes = c.phraseId === null ? [] : datasetBoxes(db, c.phraseId, c.imageId);
    if (!boxes.length) return 'has no dataset boxes for its phrase (a box arm needs them)';
    const m = boxMap(c, boxes);
    return { heatmapId: null, width: m.width, height: m.height, threshold: null, geometry: m.geometry, bytes: new Uint8Array(m.map.buffer) };
  }
  const key =
    arm.kind === 'model'
      ? { source: 'model' as const, model: arm.model, variant: arm.variant }
      : { source: 'imported' as const, model: arm.method, variant: null };
  const h = findLatestHeatmap(db, { imageId: c.imageId, phrase: c.phrase, ...key });
  if (!h) {
    return arm.kind === 'model'
      ? `has no heatmap of model ${arm.model} variant ${arm.variant} (ground it first: sightline ground)`
      : `has no heatmap imported from method ${arm.method} (sightline heatmaps import)`;
  }
  const bytes = readHeatmapBytes(dataDir, h.file, h.width, h.height);
  return { heatmapId: h.id, width: h.width, height: h.height, threshold: h.threshold, geometry: h.geometry, bytes };
}

const token = () => randomBytes(12).toString('base64url');

/** Creates the study (or a new version of `revises`) and returns its id. */
export function createStudy(db: Db, dataDir: string, design: Design, revises?: number): number {
  const parent = revises === undefined ? null : getReaderStudy(db, revises);
  if (revises !== undefined && !parent) throw new RpcError('not_found', `no reader study ${revises} to revise`);
  if (new Set(design.arms.map((a) => a.name)).size !== design.arms.length) throw new RpcError('invalid_input', 'two arms have the same name');
  if (new Set(design.readers).size !== design.readers.length) throw new RpcError('invalid_input', 'two readers have the same name or code');
  if (new Set(design.questions.map((q) => q.key)).size !== design.questions.length) throw new RpcError('invalid_input', 'two questions have the same key');
  for (const q of design.questions) {
    if ((q.kind === 'scale' || q.kind === 'numeric') && q.min >= q.max) throw new RpcError('invalid_input', `question ${q.key}: min must be below max`);
    if (q.kind === 'scale' && q.anchors.length && q.anchors.length !== q.max - q.min + 1)
      throw new RpcError('invalid_input', `question ${q.key}: ${q.anchors.length} anchors for ${q.max - q.min + 1} values`);
  }
  const cases = resolveCases(db, design);
  const practice = resolvePractice(db, design, cases);
  const stimuli: Stimulus[][] = [];
  const problems: string[] = [];
  const practiceStimuli = practice.map((c, pi) => {
    const s = stimulusOf(db, dataDir, c, design.arms[c.armIdx]);
    if (typeof s === 'string') problems.push(`practice case ${pi + 1} (image ${c.imageId}, "${c.phrase}"), arm "${design.arms[c.armIdx].name}": ${s}`);
    return s;
  });
  cases.forEach((c, ci) => {
    stimuli.push(
      design.arms.map((arm) => {
        const s = stimulusOf(db, dataDir, c, arm);
        if (typeof s === 'string') problems.push(`case ${ci + 1} (image ${c.imageId}, "${c.phrase}"), arm "${arm.name}": ${s}`);
        return typeof s === 'string' ? (null as never) : s;
      }),
    );
  });
  if (problems.length) {
    const more = problems.length > 10 ? `\n... and ${problems.length - 10} more` : '';
    throw new RpcError('invalid_input', `${problems.length} case x arm pair(s) cannot be shown:\n${problems.slice(0, 10).join('\n')}${more}`, { problems });
  }
  const seed = design.seed === undefined ? randomBytes(8).toString('hex') : String(design.seed);
  const stored: Design = { ...design, seed };
  const made: { folder?: string } = {};
  try {
    return db.transaction(() => {
      const studyId = insertReaderStudy(db, {
        name: design.name,
        version: parent ? parent.version + 1 : 1,
        parentId: parent?.id ?? null,
        design: stored,
        seed,
        schedulerVersion: SCHEDULER_VERSION,
      });
      made.folder = path.join(dataDir, studyFolder(studyId));
      fs.mkdirSync(made.folder, { recursive: true });
      const armIds = design.arms.map((arm, idx) => {
        const { name, kind, ...spec } = arm;
        return insertReaderArm(db, { studyId, idx, name, kind, spec, token: token() });
      });
      const caseIds = cases.map((c, idx) => {
        const caseId = insertReaderCase(db, { studyId, idx, imageId: c.imageId, phrase: c.phrase, phraseId: c.phraseId });
        stimuli[idx].forEach((s, a) => {
          const file = path.join(studyFolder(studyId), `${idx}-${a}.f32`);
          fs.writeFileSync(path.join(dataDir, file), s.bytes);
          const sha256 = createHash('sha256').update(s.bytes).digest('hex');
          const { bytes: _bytes, ...row } = s;
          insertStimulus(db, { ...row, caseId, armId: armIds[a], file, sha256 });
        });
        return caseId;
      });
      const practiceIds = practice.map((c, pi) => {
        const caseId = insertReaderCase(db, { studyId, idx: -(pi + 1), imageId: c.imageId, phrase: c.phrase, phraseId: c.phraseId });
        const s = practiceStimuli[pi] as Stimulus;
        const file = path.join(studyFolder(studyId), `practice-${pi}.f32`);
        fs.writeFileSync(path.join(dataDir, file), s.bytes);
        const { bytes: _bytes, ...row } = s;
        insertStimulus(db, { ...row, caseId, armId: armIds[c.armIdx], file, sha256: createHash('sha256').update(s.bytes).digest('hex') });
        return { caseId, armId: armIds[c.armIdx] };
      });
      design.readers.forEach((name, idx) => {
        const readerId = insertReader(db, { studyId, idx, name });
        // practice first, in the design's order, for every reader; then the reader's seeded schedule
        practiceIds.forEach((p, position) => insertItem(db, { readerId, position, ...p, sitting: 0, token: token() }));
        const items = readerSchedule({ seed, cases: cases.length, arms: design.arms.length, readerIndex: idx, ...design.schedule });
        items.forEach((it, k) =>
          insertItem(db, { readerId, position: practice.length + k, caseId: caseIds[it.caseIndex], armId: armIds[it.armIndex], sitting: it.sitting, token: token() }),
        );
      });
      return studyId;
    })();
  } catch (error) {
    if (made.folder) fs.rmSync(made.folder, { recursive: true, force: true });
    throw error;
  }
}

/** The design a study was created from, as stored (its seed filled in). */
export function studyDesign(db: Db, id: number): Design {
  const s = getReaderStudy(db, id);
  if (!s) throw new RpcError('not_found', `no reader study ${id}`);
  return s.design as Design;
}
