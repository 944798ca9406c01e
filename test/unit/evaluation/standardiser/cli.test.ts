// `sightline standardize`: one sentence as JSON, a CSV column (real files in a temp dir), the P/R over a labelled
// list, and clear errors for bad input.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { standardizeCommand } from '../../../../main/cli/standardize';
import { parseCsv } from '../../../../main/evaluation/standardiser/csv';
import { score, sides } from '../../../../main/evaluation/standardiser/evaluate';

const dir = mkdtempSync(path.join(tmpdir(), 'sightline-standardize-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(...args: string[]) {
  const log: string[] = [];
  const error: string[] = [];
  const code = await standardizeCommand.run(args, { log: (s) => log.push(s), error: (s) => error.push(s) });
  return { code, out: log.join('\n'), err: error.join('\n') };
}

describe('sightline standardize', () => {
  it('prints the JSON of one sentence, with a given category', async () => {
    const r = await run('No pneumothorax, but a small left effusion.');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j).toMatchObject({ prompt: 'left pleural effusion', pathology: 'Pleural Effusion', locations: ['left'], negated: false });
    expect(j.findings.map((f: { pathology: string; negated: boolean }) => [f.pathology, f.negated])).toEqual([['Pneumothorax', true], ['Pleural Effusion', false]]);
    const c = await run('Right perihilar opacity', '--category', 'Pneumonia');
    expect(JSON.parse(c.out).prompt).toBe('right pneumonia');
  });

  it('refuses an unknown category and a missing sentence', async () => {
    expect(await run('opacity', '--category', 'Nodule')).toMatchObject({ code: 2, err: expect.stringContaining('"Nodule" is not one of') });
    expect((await run()).code).toBe(2);
  });

  it('standardises a CSV column (default label_text, categories from category_name) to stdout and to --out', async () => {
    const file = path.join(dir, 'in.csv');
    writeFileSync(file, 'id,category_name,label_text\n1,Pneumonia,"Patchy opacity, right lower lobe, likely pneumonia"\n2,,"No pneumothorax, but a small left effusion."\n3,Pleural Effusion,"Say ""no"" to effusion"\n');
    const r = await run('--csv', file);
    expect(r.code).toBe(0);
    const rows = parseCsv(r.out, 'stdout');
    expect(rows[0]).toEqual(['id', 'category_name', 'label_text', 'prompt', 'pathology', 'locations', 'negated', 'resolved', 'uncertain']);
    expect(rows[1].slice(3)).toEqual(['right lower pneumonia', 'Pneumonia', 'right lower', 'false', 'false', 'true']);
    expect(rows[2].slice(3)).toEqual(['left pleural effusion', 'Pleural Effusion', 'left', 'false', 'false', 'false']);
    expect(rows[3][2]).toBe('Say "no" to effusion');
    const outFile = path.join(dir, 'out.csv');
    const w = await run('--csv', file, '--column', 'label_text', '--out', outFile);
    expect(w).toMatchObject({ code: 0, err: expect.stringContaining('standardised 3 rows') });
    expect(readFileSync(outFile, 'utf8')).toBe(r.out + '\n');
  });

  it('names the file, line and column of a bad CSV', async () => {
    const bad = path.join(dir, 'bad.csv');
    writeFileSync(bad, 'sentence\n"unclosed\n');
    expect(await run('--csv', bad)).toMatchObject({ code: 1, err: expect.stringContaining(`${bad}: line 2, column 1: a quoted field is never closed`) });
    writeFileSync(bad, 'sentence,category\nleft effusion,Nodule\n');
    expect((await run('--csv', bad)).err).toContain('line 2, column "category": unknown category "Nodule"');
    writeFileSync(bad, 'finding\nleft effusion\n');
    expect((await run('--csv', bad)).err).toContain('line 1: no column named sentence, text, label_text');
    expect((await run('--csv', bad, '--column', 'nope')).err).toContain('no column "nope" (columns: finding)');
    writeFileSync(bad, 'sentence\nab"c\n');
    expect((await run('--csv', bad)).err).toContain('line 2, column 3: a quote inside an unquoted field');
    expect((await run('--csv', path.join(dir, 'missing.csv'))).code).toBe(2);
  });

  it('prints precision/recall over the committed labelled list', async () => {
    const r = await run('--evaluate');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^\d+ sentences, \d+ exactly as labelled, \d+ known misses/);
    for (const name of ['pathology', 'side', 'negation', 'uncertainty']) expect(r.out).toMatch(new RegExp(`${name}\\s+precision \\d\\.\\d{3}  recall \\d\\.\\d{3}`));
    console.log(r.out);
  });
});

describe('scores', () => {
  it('counts pathology, side, negation and uncertainty against the labels', () => {
    const s = score([
      { sentence: 'Small left pleural effusion.', category: null, expected: { prompt: 'left pleural effusion', pathology: 'Pleural Effusion', locations: ['left pleural'], negated: false, resolved: false, uncertain: false } },
      // a deliberately wrong label: pathology and side both miss, negation is a false negative
      { sentence: 'Right lower lobe pneumonia.', category: null, expected: { prompt: null, pathology: 'Atelectasis', locations: ['left lower'], negated: true, resolved: false, uncertain: false } },
      { sentence: 'Possible pneumonia.', category: null, expected: { prompt: 'pneumonia', pathology: 'Pneumonia', locations: [], negated: false, resolved: false, uncertain: true } },
    ]);
    expect(s.exact).toBe(2);
    expect(s.pathology).toMatchObject({ tp: 2, fp: 1, fn: 1 });
    expect(s.side).toMatchObject({ tp: 1, fp: 1, fn: 1 });
    expect(s.negation).toMatchObject({ tp: 0, fp: 0, fn: 1, precision: 1, recall: 0 });
    expect(s.uncertainty).toMatchObject({ tp: 1, fp: 0, fn: 0 });
    expect([...sides(['bibasilar', 'lingular', 'right upper'])].sort()).toEqual(['bilateral', 'left', 'right']);
  });
});
