// The box tool's changes, each stored at once: a user box created, moved or resized, deleted. Coordinates are original
// image pixels, rounded to whole pixels (what MS-CXR stores) and clamped to the image; dataset boxes are read-only
// (the viewer edits a copy: a new user box with the same geometry).
import type { z } from 'zod';
import { RpcError, type Types } from '../../common/contract';
import type { BoxCreate } from '../../common/contract/annotations';
import { getBox, phraseOnImageStudy, sentenceOfStudy, updateBoxGeometry } from '../db/boxes-repo';
import type { Db } from '../db/database';
import { getImageRow } from '../db/images-repo';
import { deleteBox, findPhrase, insertBox, insertPhrase } from '../db/phrases-repo';

type Box = Types['Box'];
type Geometry = Pick<Box, 'x' | 'y' | 'w' | 'h'>;

/** The box rounded to whole pixels and clamped to a columns x rows image; an error when nothing of it is left. */
export function clampBox(g: Geometry, columns: number, rows: number): Geometry {
  const values = [g.x, g.y, g.w, g.h];
  if (!values.every(Number.isFinite)) throw new RpcError('invalid_input', 'box coordinates must be finite numbers');
  // a negative width or height (drawn leftwards or upwards) is the same rectangle
  const x0 = Math.min(g.x, g.x + g.w);
  const y0 = Math.min(g.y, g.y + g.h);
  const left = Math.max(0, Math.min(columns, Math.round(x0)));
  const top = Math.max(0, Math.min(rows, Math.round(y0)));
  const right = Math.max(0, Math.min(columns, Math.round(x0 + Math.abs(g.w))));
  const bottom = Math.max(0, Math.min(rows, Math.round(y0 + Math.abs(g.h))));
  if (right - left < 1 || bottom - top < 1) {
    throw new RpcError('invalid_input', `box [${values.join(', ')}] has no whole pixel inside the ${columns}x${rows} image`);
  }
  return { x: left, y: top, w: right - left, h: bottom - top };
}

function imageSize(db: Db, imageId: number): { columns: number; rows: number } {
  const image = getImageRow(db, imageId);
  if (!image) throw new RpcError('not_found', `no image ${imageId}`);
  return { columns: image.columns, rows: image.rows };
}

function userBox(db: Db, id: number, verb: string): Box {
  const box = getBox(db, id);
  if (!box) throw new RpcError('not_found', `no box ${id}`);
  if (box.source !== 'user') throw new RpcError('invalid_input', `box ${id} is a dataset box: dataset boxes are read-only (${verb} a copy)`);
  return box;
}

/** The study's user phrase of this text (made if absent): what a user boxes for a sentence or a typed phrase. */
function userPhrase(db: Db, imageId: number, phrase: { text: string; sentenceId: number | null }): number {
  const image = getImageRow(db, imageId);
  if (!image) throw new RpcError('not_found', `no image ${imageId}`);
  const text = phrase.text.replace(/\s+/g, ' ').trim();
  const found = findPhrase(db, { studyId: image.studyId, origin: 'user', text, category: null });
  if (found) return found.id;
  const sentenceOk = phrase.sentenceId !== null && sentenceOfStudy(db, phrase.sentenceId, image.studyId);
  return insertPhrase(db, { studyId: image.studyId, text, sentenceId: sentenceOk ? phrase.sentenceId : null, origin: 'user' });
}

export function createUserBox(db: Db, input: z.output<typeof BoxCreate>, user: string): Box {
  const g0 = { x: input.x, y: input.y, w: input.w, h: input.h };
  return db.transaction(() => {
    const phraseId = input.phraseId ?? userPhrase(db, input.imageId, input.phrase!);
    const where = phraseOnImageStudy(db, phraseId, input.imageId);
    if (!where.phrase) throw new RpcError('not_found', `no phrase ${phraseId}`);
    if (!where.image) throw new RpcError('not_found', `no image ${input.imageId}`);
    if (!where.sameStudy) throw new RpcError('invalid_input', `phrase ${phraseId} is not of the study of image ${input.imageId}`);
    const { columns, rows } = imageSize(db, input.imageId);
    const g = clampBox(g0, columns, rows);
    const id = insertBox(db, { imageId: input.imageId, phraseId, ...g, source: 'user', reader: user });
    return getBox(db, id)!;
  })();
}

export function updateUserBox(db: Db, input: Pick<Box, 'id'> & Geometry): Box {
  const box = userBox(db, input.id, 'move');
  const { columns, rows } = imageSize(db, box.imageId);
  updateBoxGeometry(db, box.id, clampBox(input, columns, rows));
  return getBox(db, box.id)!;
}

export function deleteUserBox(db: Db, id: number): Box {
  const box = userBox(db, id, 'delete');
  deleteBox(db, id);
  return box;
}
