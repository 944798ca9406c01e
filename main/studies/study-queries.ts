// Read side of the study database, in the shapes of the contract (`datasets.list`, `studies.list`,
// `studies.get`) and of the CLI (`sightline studies --json`).
import { ImageSummary as ImageSummarySchema, RpcError, type Types } from '../../common/contract';
import { pickShape } from '../../common/shape';
import type { Db } from '../db/database';
import { prepared } from '../db/statements';
import { listDatasetRows } from '../db/datasets-repo';
import { getStudyRow } from '../db/studies-repo';
import { listImagesOfStudy, imageOrder } from '../db/images-repo';
import { getReportForStudy } from '../db/reports-repo';
import { listPhrasesForStudy } from '../db/phrases-repo';
import { parseSearch, prefixEnd } from './search-query';

export type Dataset = Types['Dataset'];
export type StudyListItem = Types['StudyListItem'];
export type StudyDetail = Types['StudyDetail'];

export interface ListStudiesInput {
  offset?: number;
  limit?: number;
  search?: string;
  datasetId?: number;
}

export interface StudyList {
  total: number;
  items: StudyListItem[];
}

export function listDatasets(db: Db): Dataset[] {
  return listDatasetRows(db).map(({ id, name, studyCount, imageCount }) => ({ id, name, studyCount, imageCount }));
}

/**
 * One page of studies in id (import) order. Without a search the total comes from the per-dataset counters
 * and the page from the rowid / (dataset_id, rowid) index, then only that page is joined with its details;
 * with a search, matches are report-text hits (FTS5) plus id-prefix hits on subject, study key and image key.
 */
export function listStudies(db: Db, input: ListStudiesInput = {}): StudyList {
  const offset = Math.max(0, Math.floor(input.offset ?? 0));
  const limit = Math.max(1, Math.min(1000, Math.floor(input.limit ?? 100)));
  const search = input.search?.trim() ? parseSearch(input.search) : null;
  const datasetId = input.datasetId ?? null;

  let total: number;
  let ids: number[];
  if (!search) {
    if (datasetId !== null) {
      total = (prepared(db, 'SELECT study_count AS n FROM datasets WHERE id = ?').get(datasetId) as { n: number } | undefined)?.n ?? 0;
      ids = (prepared(db, 'SELECT id FROM studies WHERE dataset_id = ? ORDER BY id LIMIT ? OFFSET ?').pluck().all(
        datasetId,
        limit,
        offset,
      ) as number[]);
    } else {
      total = (prepared(db, 'SELECT coalesce(sum(study_count), 0) AS n FROM datasets').get() as { n: number }).n;
      ids = prepared(db, 'SELECT id FROM studies ORDER BY id LIMIT ? OFFSET ?').pluck().all(limit, offset) as number[];
    }
  } else {
    if (!search.fts && !search.idPrefixes.length) return { total: 0, items: [] };
    try {
      if (!search.idPrefixes.length) {
        // text only: FTS5 yields rowids (= study ids) in order, so the page needs no sort
        if (datasetId === null) {
          total = (prepared(db, 'SELECT count(*) AS n FROM reports_fts WHERE reports_fts MATCH ?').get(search.fts) as { n: number }).n;
          ids = prepared(db, 'SELECT rowid FROM reports_fts WHERE reports_fts MATCH ? ORDER BY rowid LIMIT ? OFFSET ?').pluck().all(
            search.fts,
            limit,
            offset,
          ) as number[];
        } else {
          const from = 'FROM reports_fts f JOIN studies s ON s.id = f.rowid WHERE reports_fts MATCH ? AND s.dataset_id = ?';
          total = (prepared(db, `SELECT count(*) AS n ${from}`).get(search.fts, datasetId) as { n: number }).n;
          ids = prepared(db, `SELECT f.rowid ${from} ORDER BY f.rowid LIMIT ? OFFSET ?`).pluck().all(
            search.fts,
            datasetId,
            limit,
            offset,
          ) as number[];
        }
      } else {
        const branches: string[] = [];
        const params: (string | number)[] = [];
        if (search.fts) {
          branches.push('SELECT rowid AS sid FROM reports_fts WHERE reports_fts MATCH ?');
          params.push(search.fts);
        }
        for (const p of search.idPrefixes) {
          branches.push(
            'SELECT id AS sid FROM studies WHERE study_key >= ? AND study_key < ?',
            'SELECT s.id AS sid FROM patients p JOIN studies s ON s.patient_id = p.id WHERE p.pseudonym >= ? AND p.pseudonym < ?',
            'SELECT study_id AS sid FROM images WHERE image_key >= ? AND image_key < ?',
          );
          params.push(p, prefixEnd(p), p, prefixEnd(p), p, prefixEnd(p));
        }
        const matched = `WITH m(sid) AS (${branches.join(' UNION ')})`;
        const filter = datasetId !== null ? 'JOIN studies s ON s.id = m.sid AND s.dataset_id = ?' : '';
        const fparams = datasetId !== null ? [...params, datasetId] : params;
        total = (prepared(db, `${matched} SELECT count(*) AS n FROM m ${filter}`).get(...fparams) as { n: number }).n;
        ids = prepared(db, `${matched} SELECT m.sid FROM m ${filter} ORDER BY m.sid LIMIT ? OFFSET ?`).pluck().all(
          ...fparams,
          limit,
          offset,
        ) as number[];
      }
    } catch (err) {
      // user text is quoted by parseSearch, so FTS5 syntax errors cannot come from it
      throw new RpcError('invalid_input', `search failed: ${(err as Error).message}`);
    }
  }
  return { total, items: hydrateStudies(db, ids) };
}

function hydrateStudies(db: Db, ids: number[]): StudyListItem[] {
  if (!ids.length) return [];
  const rows = prepared(
    db,
    `SELECT s.id, d.name AS dataset, s.dataset_id AS datasetId, p.pseudonym AS subject, s.study_key AS studyKey,
            (SELECT count(*) FROM images i WHERE i.study_id = s.id) AS imageCount,
            (SELECT i.id FROM images i WHERE i.study_id = s.id ORDER BY ${imageOrder('i')} LIMIT 1) AS firstImageId,
            r.snippet AS reportSnippet
       FROM studies s
       JOIN datasets d ON d.id = s.dataset_id
       LEFT JOIN patients p ON p.id = s.patient_id
       LEFT JOIN reports r ON r.study_id = s.id
      WHERE s.id IN (SELECT value FROM json_each(?))
      ORDER BY s.id`,
  ).all(JSON.stringify(ids)) as StudyListItem[];
  return rows;
}

/** The contract's StudyDetail; throws RpcError('not_found'). */
export function getStudy(db: Db, id: number): StudyDetail {
  const s = getStudyRow(db, id);
  if (!s) throw new RpcError('not_found', `no study ${id}`);
  return {
    id: s.id,
    dataset: s.dataset,
    subject: s.subject,
    studyKey: s.studyKey,
    images: listImagesOfStudy(db, id).map((row) => pickShape(ImageSummarySchema, row)),
    report: getReportForStudy(db, id),
    phrases: listPhrasesForStudy(db, id),
  };
}

export interface CliStudies {
  studies: {
    id: number;
    dataset: string;
    report: string | null;
    images: {
      id: number;
      path: string;
      rows: number;
      columns: number;
      photometric: string;
      bits_stored: number;
      modality: string | null;
    }[];
  }[];
}

/** `sightline studies --json`: every study (optionally of one dataset) with its report text and images. */
export function studiesForCli(db: Db, opts: { datasetId?: number; dataset?: string } = {}): CliStudies {
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (opts.datasetId !== undefined) {
    where.push('s.dataset_id = ?');
    params.push(opts.datasetId);
  }
  if (opts.dataset !== undefined) {
    where.push('d.name = ?');
    params.push(opts.dataset);
  }
  const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
  const studies = db
    .prepare(
      `SELECT s.id, d.name AS dataset, r.text AS report FROM studies s JOIN datasets d ON d.id = s.dataset_id
         LEFT JOIN reports r ON r.study_id = s.id ${w} ORDER BY s.id`,
    )
    .all(...params) as { id: number; dataset: string; report: string | null }[];
  const images = db
    .prepare(
      `SELECT i.study_id AS studyId, i.id, i.path, i.rows, i.columns, i.photometric, i.bits_stored, i.modality
         FROM images i JOIN studies s ON s.id = i.study_id JOIN datasets d ON d.id = s.dataset_id ${w}
        ORDER BY i.study_id, ${imageOrder('i')}`,
    )
    .all(...params) as (CliStudies['studies'][number]['images'][number] & { studyId: number })[];
  const byStudy = new Map<number, CliStudies['studies'][number]['images']>();
  for (const { studyId, ...img } of images) {
    let list = byStudy.get(studyId);
    if (!list) byStudy.set(studyId, (list = []));
    list.push(img);
  }
  return { studies: studies.map((s) => ({ id: s.id, dataset: s.dataset, report: s.report, images: byStudy.get(s.id) ?? [] })) };
}
