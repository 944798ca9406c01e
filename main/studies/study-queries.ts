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
import { searchTerms } from '../../common/search-terms';
import { matchesOf, positiveHits, positiveQuery } from './search-positive';

export type Dataset = Types['Dataset'];
export type StudyListItem = Types['StudyListItem'];
export type StudyDetail = Types['StudyDetail'];

export interface ListStudiesInput {
  offset?: number;
  limit?: number;
  search?: string;
  datasetId?: number;
  /** report words count only where the finding they name is not stated absent (default true) */
  positiveOnly?: boolean;
  /** the list's order (default: import order); ties in import order */
  sort?: StudySort;
  descending?: boolean;
}

export type StudySort = 'imported' | 'date' | 'key' | 'labels';

/** ORDER BY over `studies s` for a sort; studies without a date last either way. */
function orderBy(sort: StudySort, descending: boolean): string {
  const dir = descending ? 'DESC' : 'ASC';
  switch (sort) {
    case 'date':
      return `s.study_date IS NULL, s.study_date ${dir}, s.id ${dir}`;
    case 'key':
      return `s.study_key ${dir}, s.id ${dir}`;
    case 'labels':
      return `(SELECT count(DISTINCT l.name) FROM labels l WHERE l.study_id = s.id AND l.value > 0 AND lower(l.name) <> 'no finding') ${dir}, s.id ${dir}`;
    default:
      return `s.id ${dir}`;
  }
}

/** The matching study ids as SQL (column `sid`), for a sorted page: search hits, or every study of the filter. */
function matchSource(search: ReturnType<typeof parseSearch> | null, datasetId: number | null): { sql: string; params: (string | number)[] } {
  if (!search) return datasetId === null ? { sql: 'SELECT id AS sid FROM studies', params: [] } : { sql: 'SELECT id AS sid FROM studies WHERE dataset_id = ?', params: [datasetId] };
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
  if (datasetId === null) return { sql: branches.join(' UNION '), params };
  return { sql: `SELECT u.sid FROM (${branches.join(' UNION ')}) u JOIN studies d ON d.id = u.sid WHERE d.dataset_id = ?`, params: [...params, datasetId] };
}

function sortedPage(db: Db, src: { sql: string; params: (string | number)[] }, order: string, limit: number, offset: number): number[] {
  return prepared(db, `SELECT s.id FROM (${src.sql}) m JOIN studies s ON s.id = m.sid ORDER BY ${order} LIMIT ? OFFSET ?`).pluck().all(...src.params, limit, offset) as number[];
}

export interface StudyList {
  total: number;
  items: StudyListItem[];
  /** the findings the positive-only filter applied to ([] when it did not) */
  positiveOnly: string[];
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
  const positive = search?.fts && input.positiveOnly !== false ? positiveQuery(input.search!) : null;

  const sort = input.sort ?? 'imported';
  const sorted = sort !== 'imported' || input.descending === true;

  let total: number;
  let ids: number[];
  if (positive) {
    ids = positiveIds(db, search!.fts!, search!.idPrefixes, datasetId, positive);
    total = ids.length;
    ids = sorted
      ? sortedPage(db, { sql: 'SELECT value AS sid FROM json_each(?)', params: [JSON.stringify(ids)] }, orderBy(sort, !!input.descending), limit, offset)
      : ids.slice(offset, offset + limit);
  } else if (!search) {
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
    if (!search.fts && !search.idPrefixes.length) return { total: 0, items: [], positiveOnly: [] };
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
        const src = matchSource(search, datasetId);
        total = (prepared(db, `SELECT count(*) AS n FROM (${src.sql})`).get(...src.params) as { n: number }).n;
        ids = prepared(db, `SELECT sid FROM (${src.sql}) ORDER BY sid LIMIT ? OFFSET ?`).pluck().all(...src.params, limit, offset) as number[];
      }
    } catch (err) {
      // user text is quoted by parseSearch, so FTS5 syntax errors cannot come from it
      throw new RpcError('invalid_input', `search failed: ${(err as Error).message}`);
    }
  }
  // another order: the same matches (and total), the page taken in that order
  if (sorted && !positive && total > 0) ids = sortedPage(db, matchSource(search, datasetId), orderBy(sort, !!input.descending), limit, offset);
  const items = hydrateStudies(db, ids);
  if (search?.fts) {
    // the sentence that matched, for the list to show (with the words highlighted) and the report to scroll to
    const matches = matchesOf(db, ids, searchTerms(input.search!), positive);
    for (const item of items) {
      const m = matches.get(item.id);
      item.match = m ? { index: m.index, text: m.text } : null;
    }
  }
  return { total, items, positiveOnly: positive?.pathologies ?? [] };
}

/** Every matching study id in order: the FTS hits the positive filter keeps, plus the id-prefix hits. */
function positiveIds(db: Db, fts: string, idPrefixes: string[], datasetId: number | null, q: NonNullable<ReturnType<typeof positiveQuery>>): number[] {
  try {
    const candidates = () =>
      (datasetId === null
        ? prepared(db, 'SELECT rowid FROM reports_fts WHERE reports_fts MATCH ? ORDER BY rowid').pluck().all(fts)
        : prepared(db, 'SELECT f.rowid FROM reports_fts f JOIN studies s ON s.id = f.rowid WHERE reports_fts MATCH ? AND s.dataset_id = ? ORDER BY f.rowid')
            .pluck()
            .all(fts, datasetId)) as number[];
    const hits = positiveHits(db, candidates, `${db.name}\u0000${fts}\u0000${datasetId}`, q);
    if (!idPrefixes.length) return hits;
    const byId = new Set(hits);
    for (const p of idPrefixes) {
      const rows = prepared(
        db,
        `SELECT id FROM studies WHERE study_key >= @p AND study_key < @e
         UNION SELECT s.id FROM patients p JOIN studies s ON s.patient_id = p.id WHERE p.pseudonym >= @p AND p.pseudonym < @e
         UNION SELECT study_id FROM images WHERE image_key >= @p AND image_key < @e`,
      ).pluck().all({ p, e: prefixEnd(p) }) as number[];
      for (const id of rows) byId.add(id);
    }
    let all = [...byId];
    if (datasetId !== null) {
      const inDataset = new Set(prepared(db, 'SELECT id FROM studies WHERE dataset_id = ? AND id IN (SELECT value FROM json_each(?))').pluck().all(datasetId, JSON.stringify(all)) as number[]);
      all = all.filter((id) => inDataset.has(id));
    }
    return all.sort((a, b) => a - b);
  } catch (err) {
    throw new RpcError('invalid_input', `search failed: ${(err as Error).message}`);
  }
}

function hydrateStudies(db: Db, ids: number[]): StudyListItem[] {
  if (!ids.length) return [];
  const rows = prepared(
    db,
    `SELECT s.id, d.name AS dataset, s.dataset_id AS datasetId, p.pseudonym AS subject, s.study_key AS studyKey,
            (SELECT count(*) FROM images i WHERE i.study_id = s.id) AS imageCount,
            (SELECT i.id FROM images i WHERE i.study_id = s.id ORDER BY ${imageOrder('i')} LIMIT 1) AS firstImageId,
            r.snippet AS reportSnippet, s.study_date AS studyDate, s.accession, s.description
       FROM studies s
       JOIN datasets d ON d.id = s.dataset_id
       LEFT JOIN patients p ON p.id = s.patient_id
       LEFT JOIN reports r ON r.study_id = s.id
      WHERE s.id IN (SELECT value FROM json_each(?))
      ORDER BY s.id`,
  ).all(JSON.stringify(ids)) as StudyListItem[];
  const labels = labelsOf(db, ids);
  for (const r of rows) r.labels = labels.get(r.id) ?? [];
  // in the page's order (a sorted list's), not the query's
  const at = new Map(ids.map((id, i) => [id, i]));
  return rows.sort((a, b) => at.get(a.id)! - at.get(b.id)!);
}

/**
 * The finding labels a study's row shows: the names some reader (VinDr) or CheXpert calls present, then the ones
 * CheXpert calls uncertain (-1) with a '?'; "No finding" when that is all there is. Sorted by name.
 */
function labelsOf(db: Db, ids: number[]): Map<number, string[]> {
  const rows = prepared(
    db,
    `SELECT study_id AS studyId, name, max(value) AS hi, min(value) AS lo FROM labels
      WHERE study_id IN (SELECT value FROM json_each(?)) GROUP BY study_id, name ORDER BY study_id, name`,
  ).all(JSON.stringify(ids)) as { studyId: number; name: string; hi: number; lo: number }[];
  const out = new Map<number, string[]>();
  for (const r of rows) {
    const name = r.hi > 0 ? r.name : r.lo < 0 ? `${r.name}?` : null;
    if (!name) continue;
    let list = out.get(r.studyId);
    if (!list) out.set(r.studyId, (list = []));
    list.push(name);
  }
  for (const [id, list] of out) {
    const findings = list.filter((n) => n.toLowerCase() !== 'no finding');
    out.set(id, findings.length ? findings.filter((n) => !n.endsWith('?')).concat(findings.filter((n) => n.endsWith('?'))) : list);
  }
  return out;
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
    studyDate: s.studyDate ?? null,
    accession: s.accession,
    description: s.description,
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
