// `sightline study package | import-package | export-answers | merge | credentials` on two real data directories:
// the whole trip by CLI (exit codes, messages naming files and members), and --help lists the subcommands.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../../main/cli/main';
import { designOf } from './fixture';
import { readAll, twoMachines, type TwoMachines } from './remote-fixture';

const made: TwoMachines[] = [];
afterEach(() => made.splice(0).forEach((m) => m.cleanup()));

async function cli(...argv: string[]) {
  const logs: string[] = [];
  const errors: string[] = [];
  const code = await main(argv, { log: (s) => logs.push(s), error: (s) => errors.push(s) });
  return { code, out: logs.join('\n'), err: errors.join('\n') };
}

describe('sightline study across machines', () => {
  it('package, import-package, export-answers, merge, credentials', async () => {
    const m = twoMachines(2);
    made.push(m);
    const study = await m.coordinator.call('reader.createStudy', { design: designOf(m.f, { readers: ['R1'] }) });
    m.coordinator.db.close();
    const coordinator = ['--data-dir', m.f.dataDir];
    const reading = ['--data-dir', m.reading.dataDir];
    const pkg = path.join(m.tmp, 'p.slpkg');
    const written = await cli('study', 'package', '--study', String(study.id), '--out', pkg, ...coordinator);
    expect(written).toMatchObject({ code: 0, out: expect.stringMatching(/^wrote .*p\.slpkg: 9 members, .* MB, content hash [0-9a-f]{64}$/) });

    const bad = path.join(m.tmp, 'bad.slpkg');
    const bytes = fs.readFileSync(pkg);
    bytes[bytes.indexOf(Buffer.from('images/1.png')) + 40] ^= 0xff;
    fs.writeFileSync(bad, bytes);
    expect(await cli('study', 'import-package', bad, ...reading)).toMatchObject({ code: 1, err: expect.stringMatching(/bad\.slpkg: member images\/1\.png does not match its sha256/) });
    const imported = await cli('study', 'import-package', pkg, ...reading);
    expect(imported).toMatchObject({ code: 0, out: expect.stringMatching(/^imported: reading copy study 1 \(package [0-9a-f]{64}\)$/) });

    await readAll(m.reading, 1, 'R1', (p) => 1 + (p % 5));
    const answers = path.join(m.tmp, 'r1.json');
    expect(await cli('study', 'export-answers', '--study', '1', '--reader', 'R1', '--out', answers, ...reading)).toMatchObject({ code: 0, out: expect.stringMatching(/^wrote 6 answers of R1 to .*r1\.json \(sha256 [0-9a-f]{64}\)$/) });
    expect(await cli('study', 'merge', '--study', String(study.id), answers, ...coordinator)).toMatchObject({ code: 0, out: expect.stringMatching(/r1\.json \(R1\): applied; 6 merged, 0 duplicate, 0 conflicting$/) });
    expect((await cli('study', 'merge', '--study', String(study.id), answers, ...coordinator)).out).toMatch(/applied; 0 merged, 6 duplicate, 0 conflicting$/);
    expect(await cli('study', 'merge', '--study', String(study.id), ...coordinator)).toMatchObject({ code: 2, err: expect.stringMatching(/give one or more answers FILEs/) });

    const code = await cli('study', 'credentials', '--study', String(study.id), '--reader', 'R1', ...coordinator);
    expect(code).toMatchObject({ code: 0, out: expect.stringMatching(/^sign-in code for R1: \d+-[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}\n/) });
    expect((await cli('study', 'credentials', '--study', String(study.id), '--reader', 'R1', '--revoke', ...coordinator)).out).toMatch(/revoked the code of R1/);
    expect((await cli('study', 'credentials', '--study', String(study.id), '--list', ...coordinator)).out).toMatch(/^R1\tcredential 1\tcreated .*\trevoked /);
    expect(await cli('study', 'credentials', '--study', String(study.id), '--reader', 'Zed', ...coordinator)).toMatchObject({ code: 1, err: expect.stringMatching(/no reader "Zed"/) });
    expect(await cli('serve', '--readers', '--data-dir', m.tmp)).toMatchObject({ code: 2, err: expect.stringMatching(/--readers needs --host H/) });
    expect((await cli('study', '--help')).out + (await cli('study', '--help')).err).toMatch(/study import-package FILE/);
  });
});
