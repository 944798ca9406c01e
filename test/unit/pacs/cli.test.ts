// `sightline pacs` without a server: usage errors name the flag and exit 2, a password is read from stdin (never a
// flag) and stored sealed, `servers list|remove`, `cache --max-gb`, and a server that is down exits 1 naming it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../main/cli/main';
import { freePort } from './orthanc';

let work: string;
let dataDir: string;
beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'sightline-pacs-cli-'));
  dataDir = path.join(work, 'data');
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

async function sightline(args: string[], stdin?: string) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const saved = Object.getOwnPropertyDescriptor(process, 'stdin')!;
  if (stdin !== undefined) Object.defineProperty(process, 'stdin', { value: Readable.from([Buffer.from(stdin)]), configurable: true });
  try {
    const code = await main(args, { log: (s) => stdout.push(s), error: (s) => stderr.push(s) });
    return { code, stdout: stdout.join('\n'), stderr: stderr.join('\n') };
  } finally {
    Object.defineProperty(process, 'stdin', saved);
  }
}

describe('sightline pacs', () => {
  it('usage errors exit 2 and say what is wrong', async () => {
    expect(await sightline(['pacs'])).toMatchObject({ code: 2, stderr: 'sightline pacs: give a subcommand (servers, search, retrieve, store, cache)' });
    expect((await sightline(['pacs', 'servers', 'add', 'x', '--data-dir', dataDir])).stderr).toMatch(/sightline pacs servers: --url: /);
    expect((await sightline(['pacs', 'servers', 'add', 'x', '--url', 'ftp://h/', '--data-dir', dataDir])).stderr).toContain('--url: an http:// or https:// address');
    expect((await sightline(['pacs', 'servers', 'add', 'x', '--url', 'http://h/', '--auth', 'basic', '--user', 'u', '--data-dir', dataDir])).stderr).toContain(
      'basic authentication: give --user U and --password-stdin (the password on stdin)',
    );
    expect((await sightline(['pacs', 'servers', 'add', 'x', '--url', 'http://h/', '--password', 'pw'])).stderr).toMatch(/unknown option --password/);
    expect((await sightline(['pacs', 'search', '--data-dir', dataDir])).stderr).toMatch(/--server: /);
    expect((await sightline(['pacs', 'search', '--server', 's', '--modality', 'cr', '--data-dir', dataDir])).stderr).toContain('--modality: a modality code such as CR or DX');
    expect((await sightline(['pacs', 'retrieve', '--server', 's', '--data-dir', dataDir])).stderr).toMatch(/--study: /);
    expect((await sightline(['pacs', 'retrieve', '--server', 's', '--study', 'x.y', '--data-dir', dataDir])).stderr).toContain('a DICOM UID (digits and dots)');
    expect((await sightline(['pacs', 'cache', '--max-gb', '-1', '--data-dir', dataDir])).code).toBe(2);
    const help = await sightline(['pacs', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('pacs retrieve --server NAME --study UID...');
  });

  it('adds a server with the password from stdin, lists it without the password, removes it', async () => {
    const add = await sightline(['pacs', 'servers', 'add', 'main pacs', '--url', 'https://pacs.example.org/dicom-web', '--user', 'ris', '--password-stdin', '--data-dir', dataDir], 'hunter2\n');
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout).toBe('saved PACS server "main pacs" (https://pacs.example.org/dicom-web, auth basic, secret stored encrypted)');
    const list = await sightline(['pacs', 'servers', 'list', '--data-dir', dataDir, '--json']);
    expect(JSON.parse(list.stdout).servers).toEqual([
      { name: 'main pacs', url: 'https://pacs.example.org/dicom-web', auth: 'basic', user: 'ris', caBundle: null, timeoutSeconds: 30, hasSecret: true },
    ]);
    expect(list.stdout + add.stdout).not.toContain('hunter2');
    expect((await sightline(['pacs', 'servers', 'add', 't', '--url', 'http://h/', '--token-stdin', '--data-dir', dataDir], '\n')).stderr).toContain('the token on stdin is empty');
    expect(await sightline(['pacs', 'servers', 'remove', 'main pacs', '--data-dir', dataDir])).toMatchObject({ code: 0, stdout: 'removed PACS server "main pacs"' });
    expect(await sightline(['pacs', 'servers', 'remove', 'main pacs', '--data-dir', dataDir])).toMatchObject({ code: 1, stderr: 'sightline pacs servers: no PACS server "main pacs"' });
  });

  it('a server that is down: test, search and retrieve exit 1 naming it', async () => {
    const url = `http://127.0.0.1:${await freePort()}/dicom-web`;
    expect((await sightline(['pacs', 'servers', 'add', 'down', '--url', url, '--timeout', '2', '--data-dir', dataDir])).code).toBe(0);
    const test = await sightline(['pacs', 'servers', 'test', 'down', '--data-dir', dataDir]);
    expect(test.code).toBe(1);
    expect(test.stderr).toMatch(new RegExp(`^failed: PACS server "down" \\(${url.replace(/[.]/g, '\\.')}\\) is not reachable: connection refused`));
    const search = await sightline(['pacs', 'search', '--server', 'down', '--data-dir', dataDir]);
    expect(search).toMatchObject({ code: 1 });
    expect(search.stderr).toContain('sightline pacs search: PACS server "down"');
    const retrieve = await sightline(['pacs', 'retrieve', '--server', 'down', '--study', '1.2.3', '--data-dir', dataDir]);
    expect(retrieve.code).toBe(1);
    expect(retrieve.stderr).toMatch(/sightline pacs retrieve: failed: PACS server "down" .* connection refused/);
    const unknown = await sightline(['pacs', 'search', '--server', 'nope', '--data-dir', dataDir]);
    expect(unknown).toMatchObject({ code: 1, stderr: 'sightline pacs search: no PACS server "nope" (configured: down)' });
  });

  it('cache: its size and bound', async () => {
    const set = await sightline(['pacs', 'cache', '--max-gb', '2.5', '--data-dir', dataDir, '--json']);
    expect(set.code, set.stderr).toBe(0);
    expect(JSON.parse(set.stdout)).toEqual({ maxCacheGb: 2.5, usedBytes: 0, studies: 0 });
    expect((await sightline(['pacs', 'cache', '--data-dir', dataDir])).stdout).toBe('0 studies, 0.00 GB of 2.5 GB');
  });
});
