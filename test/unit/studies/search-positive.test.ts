// "Positive mentions only" on the 16 synthetic demo reports (resources/demo): "effusion" is in 12 of them, 5 of
// which state an effusion; the other 7 only say "No pleural effusion(s)". Also the shared term matcher the list
// and the report use for highlighting.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { procedures } from '../../../common/contract';
import { highlightPieces, searchTerms, termRanges } from '../../../common/search-terms';
import { ensureDataset, ensureMimicPatient, ensureStudy, openDatabase, upsertReport, type Db } from '../../../main/db';
import { reportToStore } from '../../../main/studies/report-parse';
import { positiveQuery, sentenceIsPositive } from '../../../main/studies/search-positive';
import { listStudies } from '../../../main/studies/study-queries';
import { cleanupTempDirs, tempDir } from './fixtures';

const DEMO = path.resolve(__dirname, '../../../resources/demo/mimic-cxr-jpg/files');

function reportFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? reportFiles(p) : e.name.endsWith('.txt') ? [p] : [];
  });
}

let db: Db;
const out = procedures['studies.list'].output;
const list = (search: string, more: { positiveOnly?: boolean; datasetId?: number } = {}) => out.parse(listStudies(db, { search, limit: 100, ...more }));

beforeAll(() => {
  const files = reportFiles(DEMO).sort();
  expect(files).toHaveLength(16); // a missing demo fails here instead of passing vacuously
  db = openDatabase(tempDir('sightline-search-'));
  const ds = ensureDataset(db, 'MIMIC-CXR (synthetic demo)', 'mimic-cxr-jpg');
  db.transaction(() => {
    for (const f of files) {
      const patientId = ensureMimicPatient(db, ds, path.basename(path.dirname(f)).slice(1));
      const s = ensureStudy(db, { datasetId: ds, studyKey: path.basename(f, '.txt').slice(1), patientId });
      upsertReport(db, s.id, reportToStore({ path: f, sha256: f, text: fs.readFileSync(f, 'utf8') }));
    }
  })();
});
afterAll(() => {
  db.close();
  cleanupTempDirs();
});

describe('positive mentions only', () => {
  it('"effusion": 12 of 16 demo reports by words, 5 with an effusion', () => {
    const all = list('effusion', { positiveOnly: false });
    expect(all.total).toBe(12);
    expect(all.positiveOnly).toEqual([]);
    const pos = list('effusion');
    expect(pos.total).toBe(5);
    expect(pos.positiveOnly).toEqual(['Pleural Effusion']);
    for (const item of pos.items) {
      expect(item.match, `study ${item.studyKey}`).toBeTruthy();
      expect(item.match!.text.toLowerCase()).toContain('effusion');
      expect(item.match!.text).not.toMatch(/\bno\b/i);
    }
    // without the filter the matched sentence may be a negated one, but it is one holding the word
    for (const item of all.items) expect(item.match!.text.toLowerCase()).toContain('effusion');
  });

  it('does not count a question in the indication ("Evaluate for pneumonia.") as a finding', () => {
    expect(list('pneumonia', { positiveOnly: false }).total).toBe(4);
    const pos = list('pneumonia');
    expect(pos.total).toBe(2);
    expect(pos.items.map((i) => i.match?.text)).toEqual(['Left lower lobe pneumonia.', 'Patchy opacity at the right upper lung, possibly pneumonia.']);
  });

  it('is on by default through the contract and pages over the filtered list', () => {
    const input = procedures['studies.list'].input.parse({ search: 'effusion' });
    expect(input.positiveOnly).toBe(true);
    const page1 = out.parse(listStudies(db, { ...input, limit: 2 }));
    const page3 = out.parse(listStudies(db, { ...input, limit: 2, offset: 4 }));
    expect(page1.total).toBe(5);
    expect(page1.items).toHaveLength(2);
    expect(page3.items).toHaveLength(1);
  });

  it('does not filter a search naming no finding, or a negated one', () => {
    expect(positiveQuery('heart')).toBeNull();
    expect(positiveQuery('no effusion')).toBeNull();
    expect(list('no effusion').total).toBe(list('no effusion', { positiveOnly: false }).total);
    const pneumo = list('pneumothorax');
    expect(pneumo.positiveOnly).toEqual(['Pneumothorax']);
    expect(pneumo.total).toBeLessThan(list('pneumothorax', { positiveOnly: false }).total);
  });

  it('judges a sentence by the standardiser: absent and resolved are out, hedged and other findings negated are in', () => {
    const q = positiveQuery('effusion')!;
    expect(sentenceIsPositive('No pleural effusion or pneumothorax.', q)).toBe(false);
    expect(sentenceIsPositive('The left effusion has resolved.', q)).toBe(false);
    expect(sentenceIsPositive('Small right effusion, no pneumothorax.', q)).toBe(true);
    expect(sentenceIsPositive('Possible small effusion.', q)).toBe(true);
    expect(sentenceIsPositive('Moderate bilateral pleural effusions.', q)).toBe(true);
  });
});

describe('search terms (shared with the renderer)', () => {
  it('matches unquoted words as prefixes and quoted phrases exactly, case and accents folded', () => {
    const t = searchTerms('Effusion "pleural fluid"');
    expect(t).toEqual([
      { words: ['pleural', 'fluid'], prefix: false },
      { words: ['effusion'], prefix: true },
    ]);
    const text = 'Bilateral EFFUSIONS; pleural fluid and pleural, fluid. Pleurâl fluids';
    expect(termRanges(text, t).map(([a, b]) => text.slice(a, b))).toEqual(['EFFUSIONS', 'pleural fluid', 'pleural, fluid']); // FTS5 phrases skip punctuation too
    expect(highlightPieces('no match here', t)).toEqual([{ text: 'no match here', hit: false }]);
    expect(highlightPieces('effusion.', t)).toEqual([
      { text: 'effusion', hit: true },
      { text: '.', hit: false },
    ]);
  });
});
