// Boxes out of the app in the two formats the MS-CXR importer reads back (main/studies/datasets/ms-cxr.ts): the
// v1.1.0 local alignment CSV (docs/datasets.md: one row per box, rows of one (path, label_text) pair together) and
// the COCO-style JSON of the same release (images, annotations with label_text, categories). A dataset or a list of
// phrases, the boxes of one source or all of them.
import type { z } from 'zod';
import { RpcError } from '../../common/contract';
import type { BoxExport, BoxExportParams } from '../../common/contract/annotations';
import { datasetExists, listDatasetBoxes, listPhraseIdBoxes, type BoxWithContext } from '../db/boxes-repo';
import type { Db } from '../db/database';

type Params = z.output<typeof BoxExportParams>;
type Result = z.output<typeof BoxExport>;

export const MS_CXR_V110_HEADER = 'dicom_id,category_name,label_text,path,x,y,w,h,image_width,image_height,split';
/** The name the importer recognises as MS-CXR v1.1.0 (a folder holding it can be imported as it is). */
export const MS_CXR_EXPORT_NAME = 'MS_CXR_Local_Alignment_v1.1.0.csv';

/** `files/p1x/p{subject}/s{study}/{dicom_id}.jpg` for a MIMIC-CXR-JPG image, else the file's name. */
export function exportPath(absolute: string): string {
  const p = absolute.replace(/\\/g, '/');
  const m = /(?:^|\/)(files\/p\d\d\/p\d+\/s\d+\/[^/]+)$/.exec(p);
  return m ? m[1] : (p.split('/').pop() ?? p);
}

function csvField(v: string | number): string {
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function selectBoxes(db: Db, params: Params): BoxWithContext[] {
  let boxes: BoxWithContext[];
  if (params.dataset !== undefined) {
    if (!datasetExists(db, params.dataset)) throw new RpcError('not_found', `no dataset "${params.dataset}"`);
    boxes = listDatasetBoxes(db, params.dataset);
  } else {
    boxes = listPhraseIdBoxes(db, params.phraseIds ?? []);
  }
  return params.source === 'all' ? boxes : boxes.filter((b) => b.source === params.source);
}

/** Boxes grouped into (image, phrase) pairs, in phrase order then image, each pair's boxes in id order. */
function pairsOf(boxes: readonly BoxWithContext[]): BoxWithContext[][] {
  const byKey = new Map<string, BoxWithContext[]>();
  for (const b of boxes) {
    const key = `${b.phraseId}:${b.imageId}`;
    let list = byKey.get(key);
    if (!list) byKey.set(key, (list = []));
    list.push(b);
  }
  return [...byKey.values()];
}

function slug(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^_+|_+$/g, '') || 'boxes';
}

export function toMsCxrCsv(boxes: readonly BoxWithContext[]): string {
  const lines = [MS_CXR_V110_HEADER];
  for (const pair of pairsOf(boxes)) {
    for (const b of pair) {
      const row = [b.dicomId ?? b.imageKey, b.category ?? '', b.text, exportPath(b.imagePath), b.x, b.y, b.w, b.h, b.columns, b.rows, ''];
      lines.push(row.map(csvField).join(','));
    }
  }
  return `${lines.join('\n')}\n`;
}

export function toCoco(boxes: readonly BoxWithContext[]): string {
  const images = new Map<number, { id: number; file_name: string; width: number; height: number; dicom_id: string; split: string }>();
  const categoryNames = [...new Set(boxes.map((b) => b.category ?? ''))].sort();
  const categoryId = new Map(categoryNames.map((n, i) => [n, i + 1]));
  const annotations = [];
  for (const pair of pairsOf(boxes)) {
    for (const b of pair) {
      if (!images.has(b.imageId)) {
        images.set(b.imageId, { id: images.size + 1, file_name: exportPath(b.imagePath), width: b.columns, height: b.rows, dicom_id: b.dicomId ?? b.imageKey, split: '' });
      }
      annotations.push({
        id: annotations.length + 1,
        image_id: images.get(b.imageId)!.id,
        category_id: categoryId.get(b.category ?? '')!,
        bbox: [b.x, b.y, b.w, b.h],
        area: b.w * b.h,
        iscrowd: 0,
        label_text: b.text,
        // beyond MS-CXR's fields: who drew it (the importer ignores them)
        source: b.source,
        reader: b.reader,
      });
    }
  }
  const doc = { images: [...images.values()], annotations, categories: categoryNames.map((name, i) => ({ id: i + 1, name })) };
  return `${JSON.stringify(doc, null, 1)}\n`;
}

export function exportBoxes(db: Db, params: Params): Result {
  const boxes = selectBoxes(db, params);
  const pairs = pairsOf(boxes).length;
  if (params.format === 'ms-cxr') {
    return { fileName: MS_CXR_EXPORT_NAME, mediaType: 'text/csv', content: toMsCxrCsv(boxes), pairs, boxes: boxes.length };
  }
  const name = params.dataset !== undefined ? slug(params.dataset) : 'phrases';
  return { fileName: `${name}_boxes.coco.json`, mediaType: 'application/json', content: toCoco(boxes), pairs, boxes: boxes.length };
}
