// `sightline <command> --help`, `--version`, and an unknown flag or a missing value named with the valid flags, for
// every registered command (in-process, no build); and the central check agrees with each command's own parser.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkFlags, flagsOf } from '../../../main/cli/flags';
import { COMMANDS, main } from '../../../main/cli/main';

const root = path.resolve(__dirname, '../../..');

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const o: string[] = [];
  const e: string[] = [];
  const code = await main(argv, { log: (s) => o.push(s), error: (s) => e.push(s) });
  return { code, stdout: o.join('\n'), stderr: e.join('\n') };
}

/** The options a command's source gives node:util parseArgs, with their types (its subcommand files `<name>-*.ts` too). */
function parserOptions(name: string): Map<string, 'string' | 'boolean'> {
  const dir = path.join(root, 'main/cli');
  const files = fs.readdirSync(dir).filter((f) => f === `${name}.ts` || (f.startsWith(`${name}-`) && f.endsWith('.ts')));
  const src = files.map((f) => fs.readFileSync(path.join(dir, f), 'utf8')).join('\n');
  return new Map([...src.matchAll(/'?([a-z][a-z0-9-]*)'?\s*:\s*\{\s*type:\s*'(string|boolean)'/g)].map((m) => [m[1], m[2] as 'string' | 'boolean']));
}

describe('every command', () => {
  it('has commands to check', () => expect(COMMANDS.length).toBeGreaterThanOrEqual(11));
  for (const c of COMMANDS) {
    it(`${c.name} --help prints its usage and exits 0 (no data directory opened)`, async () => {
      const r = await cli(c.name, '--help');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`usage: sightline ${c.name}`);
      expect(r.stdout).toContain(c.usage);
      expect((await cli(c.name, 'anything', '-h')).stdout).toBe(r.stdout);
      expect((await cli('help', c.name)).stdout).toBe(r.stdout);
    });
    it(`${c.name}: the flags of its usage are those its parser takes, with the same kinds`, () => {
      const parser = parserOptions(c.name);
      expect(parser.size, `main/cli/${c.name}.ts parseArgs options`).toBeGreaterThan(0);
      const usage = flagsOf(c).filter((f) => f.name !== 'help');
      expect(usage.map((f) => f.name).sort()).toEqual([...parser.keys()].sort());
      for (const f of usage) expect(f.value !== null, `--${f.name}: value ${f.value}`).toBe(parser.get(f.name) === 'string');
    });
  }
});

describe('flag errors', () => {
  it('names an unknown flag, suggests the near one, lists the valid ones, without Node parser text', async () => {
    const r = await cli('heatmaps', 'list', '--imgae', '3');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('sightline heatmaps: unknown option --imgae (did you mean --image?)');
    expect(r.stderr).toContain('valid options: --source NAME, --data-dir D, --json, --image ID, --help');
    expect(r.stderr).not.toMatch(/ERR_PARSE_ARGS|To specify a positional argument|Unknown option '/);
    expect((await cli('studies', '--frobnicate')).stderr).toMatch(/^sightline studies: unknown option --frobnicate\nvalid options: /);
    expect((await cli('studies', '-x')).stderr).toContain('unknown option -x');
    expect((await cli('import', '--dataset=x', '--verbose', 'a')).stderr).toContain('unknown option --verbose');
  });

  it('says which flag needs a value', async () => {
    const r = await cli('import', 'folder', '--dataset');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--dataset needs a value (--dataset NAME)');
    expect((await cli('import', '--data-dir', '--json')).stderr).toContain('--data-dir needs a value');
  });

  it('leaves values and what follows -- alone', () => {
    const serve = COMMANDS.find((c) => c.name === 'serve')!;
    expect(checkFlags(serve, ['--port', '0', '--host=127.0.0.1', '--no-demo'])).toBeNull();
    const imp = COMMANDS.find((c) => c.name === 'import')!;
    expect(checkFlags(imp, ['--dataset', '-weird-name', 'folder'])).toBeNull();
    expect(checkFlags(imp, ['--', '--not-a-flag'])).toBeNull();
  });

  it('--version prints the package version', async () => {
    const { version } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
    for (const v of ['--version', '-V', 'version']) expect(await cli(v)).toEqual({ code: 0, stdout: `sightline ${version}`, stderr: '' });
  });
});
