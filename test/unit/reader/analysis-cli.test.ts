// `sightline study analyse` and `study export --format events` on a real data directory: tables on stdout, JSON to
// a file, a metrics file taken or refused naming the file and the entry.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ReaderAnalysis } from '../../../common/contract/reader';
import { jsonErrorOffset } from '../../../main/cli/json-error';
import { main } from '../../../main/cli/main';
import { openDatabase } from '../../../main/db';
import { createReaderService } from '../../../main/reader/service';
import { ARM_NAMES, designOf, makeFixture, type Fixture } from './fixture';

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

async function answeredStudy() {
  const f = makeFixture(4);
  made.push(f);
  f.db.close();
  const designFile = path.join(f.dataDir, 'design.json');
  fs.writeFileSync(designFile, JSON.stringify({ ...designOf(f), readers: ['R1', 'R2'] }));
  const d = ['--data-dir', f.dataDir];
  expect((await cli('study', 'create', '--design', designFile, ...d)).code).toBe(0);
  const db = openDatabase(f.dataDir);
  const svc = createReaderService({ db, dataDir: f.dataDir });
  for (const reader of ['R1', 'R2']) {
    const { session } = svc['reader.signIn']({ studyId: 1, reader }) as { session: string };
    for (let position = 0; position < 12; position++) svc['reader.answer']({ session, position, question: 'score', value: 1 + ((position * 7) % 5), activeMs: 2000 });
  }
  db.close();
  return { f, d };
}

describe('sightline study analyse', () => {
  it('prints the tables, writes JSON, and takes a metrics file', async () => {
    const { f, d } = await answeredStudy();
    const r = await cli('study', 'analyse', '--study', '1', ...d);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^reader study 1 "Pilot" v1: question "score" \(scale 1-5\), 4 cases x 3 arms, 2 readers; metrics computed/);
    for (const heading of ['## Scores per reader and arm', '## Spearman', '## Paired deltas', '## Agreement', '## Weighted kappa', '## Reading time']) expect(r.out).toContain(heading);
    expect(r.out).toMatch(new RegExp(`\\n${ARM_NAMES[0]}\\tall\\t8\\t`));

    const json = path.join(f.dataDir, 'analysis.json');
    expect(await cli('study', 'analyse', '--study', '1', '--json', '--out', json, ...d)).toMatchObject({ code: 0, out: `wrote the analysis of study 1 to ${json}` });
    const a = ReaderAnalysis.parse(JSON.parse(fs.readFileSync(json, 'utf8')));
    expect(a.points).toHaveLength(24);

    const metricsFile = path.join(f.dataDir, 'metrics.json');
    fs.writeFileSync(metricsFile, JSON.stringify([1, 2, 3, 4].flatMap((c) => ARM_NAMES.map((arm, k) => ({ case: c, arm, cnr: c + k, miou: 0.1 * c })))));
    const given = await cli('study', 'analyse', '--study', '1', '--metrics', metricsFile, '--json', ...d);
    expect(given.code).toBe(0);
    expect(JSON.parse(given.out)).toMatchObject({ metricsSource: 'given', warnings: [] });

    fs.writeFileSync(metricsFile, '[{"case": 1, "arm": "x", "cnr": "high", "miou": 0}]');
    const bad = await cli('study', 'analyse', '--study', '1', '--metrics', metricsFile, ...d);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain(`${metricsFile}: entry 0.cnr:`);
    fs.writeFileSync(metricsFile, '[{"case": 1,\n "arm": }]');
    expect((await cli('study', 'analyse', '--study', '1', '--metrics', metricsFile, ...d)).err).toMatch(/metrics\.json: not valid JSON at line 2, column/);
    fs.writeFileSync(metricsFile, '[{"case": 1, "arm": "Nope", "cnr": 1, "miou": 0}]');
    expect(await cli('study', 'analyse', '--study', '1', '--metrics', metricsFile, ...d)).toMatchObject({ code: 1, err: expect.stringMatching(/no arm "Nope"/) });
    expect(await cli('study', 'analyse', ...d)).toMatchObject({ code: 2, err: expect.stringMatching(/give --study ID/) });
    expect(await cli('study', 'analyse', '--study', '7', ...d)).toMatchObject({ code: 1, err: expect.stringMatching(/no reader study 7/) });
  });

  it('exports the event log', async () => {
    const { f, d } = await answeredStudy();
    const out = path.join(f.dataDir, 'events.csv');
    const r = await cli('study', 'export', '--study', '1', '--format', 'events', '--out', out, ...d);
    expect(r.code).toBe(0);
    const lines = fs.readFileSync(out, 'utf8').trimEnd().split('\n');
    expect(lines[0]).toBe('reader,position,case,arm,kind,detail,at');
    expect(lines.length - 1).toBe(Number(/wrote (\d+) rows/.exec(r.out)![1]));
    expect(lines.filter((l) => /^R1,1,\d,Arm .*,answer,/.test(l)).length).toBeGreaterThan(0);
  });
});

describe('jsonErrorOffset', () => {
  it('finds the first bad character, where JSON.parse does not say', () => {
    expect(jsonErrorOffset('[{"case": 1,\n "arm": }]')).toBe(21);
    expect(jsonErrorOffset('{"a": [1, 2,]}')).toBe(12);
    expect(jsonErrorOffset('{"a": tru}')).toBe(9);
    expect(jsonErrorOffset('[1, 2')).toBe(5);
    expect(jsonErrorOffset('"bad \\q escape"')).toBe(6);
    expect(jsonErrorOffset('[1] x')).toBe(4);
    expect(jsonErrorOffset('"\\u12G4"')).toBe(5);
    for (const ok of ['[]', '{}', ' {"a": [1, -2.5e3, true, false, null, "x\\u00e9\\n"]} ', '0']) {
      expect(jsonErrorOffset(ok)).toBeNull();
      expect(() => JSON.parse(ok)).not.toThrow();
    }
  });
});
