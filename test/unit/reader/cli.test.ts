// `sightline study create|list|status|export` on a real data directory: a design file in, the long CSV out; bad
// design files refused naming the file and the line/column or field.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../../main/cli/main';
import { openDatabase } from '../../../main/db';
import { createReaderService } from '../../../main/reader/service';
import { designOf, makeFixture, type Fixture } from './fixture';

const made: Fixture[] = [];
afterEach(() => {
  for (const f of made.splice(0)) fs.rmSync(f.dataDir, { recursive: true, force: true });
});

async function cli(...argv: string[]) {
  const logs: string[] = [];
  const errors: string[] = [];
  const code = await main(argv, { log: (s) => logs.push(s), error: (s) => errors.push(s) });
  return { code, out: logs.join('\n'), err: errors.join('\n') };
}

describe('sightline study', () => {
  it('create, list, status and export long', async () => {
    const f = makeFixture(2);
    made.push(f);
    f.db.close();
    const designFile = path.join(f.dataDir, 'design.json');
    fs.writeFileSync(designFile, JSON.stringify({ ...designOf(f), readers: ['R1'] }, null, 2));
    const d = ['--data-dir', f.dataDir];
    const created = await cli('study', 'create', '--design', designFile, ...d);
    expect(created).toMatchObject({ code: 0, out: 'created reader study 1 "Pilot" version 1: 2 cases x 3 arms, 1 readers (seed seed-1)' });
    expect((await cli('study', 'list', ...d)).out).toMatch(/^1\tPilot\tv1\tready\t2 cases x 3 arms\t1 readers/);

    // a reader answers two items through the service, as the app would
    const db = openDatabase(f.dataDir);
    const svc = createReaderService({ db, dataDir: f.dataDir });
    const { session } = svc['reader.signIn']({ studyId: 1, reader: 'R1' }) as { session: string };
    svc['reader.answer']({ session, position: 0, question: 'score', value: 4, activeMs: 1200 });
    svc['reader.answer']({ session, position: 0, question: 'comment', value: 'edge "blurred", left', activeMs: 0 });
    svc['reader.goto']({ session, position: 1 });
    svc['reader.answer']({ session, position: 1, question: 'score', value: 2, activeMs: 800 });
    db.close();

    const status = await cli('study', 'status', '--study', '1', ...d);
    expect(status.out).toMatch(/R1\t2 \/ 6\tsitting 1 of 1\tactive 0\.0 min/);
    const out = path.join(f.dataDir, 'answers.csv');
    expect(await cli('study', 'export', '--study', '1', '--format', 'long', '--out', out, ...d)).toMatchObject({ code: 0, out: `wrote 3 rows to ${out}` });
    const lines = fs.readFileSync(out, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[1]).toMatch(/^R1,1,\d,\d+,"finding number \d, with a comma",Arm [A-Za-z ]+,comment,"edge ""blurred"", left",1200,/);
    expect(lines[2]).toMatch(/,score,4,1200,/);
    expect(lines[3]).toMatch(/^R1,2,.*,score,2,800,/);
    const imrmc = path.join(f.dataDir, 'imrmc.csv');
    expect((await cli('study', 'export', '--study', '1', '--format', 'imrmc', '--out', imrmc, ...d)).code).toBe(0);
    expect(fs.readFileSync(imrmc, 'utf8').split('\n')[0]).toBe('readerID,caseID,modalityID,score');
  });

  it('refuses bad input with the file, line and column or field', async () => {
    const f = makeFixture(1);
    made.push(f);
    f.db.close();
    const d = ['--data-dir', f.dataDir];
    const bad = path.join(f.dataDir, 'bad.json');
    fs.writeFileSync(bad, '{\n  "name": "x"\n  "cases": []\n}');
    const r1 = await cli('study', 'create', '--design', bad, ...d);
    expect(r1.code).toBe(2);
    expect(r1.err).toContain(`${bad}: not valid JSON at line 3, column 3`);
    fs.writeFileSync(bad, JSON.stringify({ name: 'x', cases: [], arms: [{ name: 'a', kind: 'box' }], readers: ['R'] }));
    expect((await cli('study', 'create', '--design', bad, ...d)).err).toMatch(/bad\.json: cases: Too small/);
    fs.writeFileSync(bad, JSON.stringify({ ...designOf(f), cases: [{ imageId: 999, phrase: 'p' }] }));
    expect(await cli('study', 'create', '--design', bad, ...d)).toMatchObject({ code: 1, err: 'sightline study create: cases[0]: no image 999' });
    expect((await cli('study', 'create', ...d)).err).toMatch(/give --design FILE/);
    expect((await cli('study', 'status', '--study', '7', ...d))).toMatchObject({ code: 1, err: expect.stringMatching(/no reader study 7/) });
    expect((await cli('study', 'export', '--study', '1', '--format', 'xml', '--out', 'x', ...d)).err).toMatch(/--format long, imrmc or mrmcaov/);
    expect((await cli('study')).code).toBe(2);
  });
});
