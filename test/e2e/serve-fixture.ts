// Starts the real `sightline serve` on a fresh data directory and hands its URL and token to the tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test as base } from '@playwright/test';
import { decodeWire } from '../../common/wire';

export interface Served {
  url: string;
  loginUrl: string;
  token: string;
  dataDir: string;
}

export const repoRoot = path.resolve(__dirname, '../..');

export async function startServe(
  extraArgs: string[] = [],
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'sightline-e2e-')),
  env: Record<string, string> = {},
): Promise<Served & { process: ChildProcess }> {
  const child = spawn(process.execPath, [path.join(repoRoot, 'bin/sightline.cjs'), 'serve', '--port', '0', '--data-dir', dataDir, ...extraArgs], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let output = '';
  const loginUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sightline serve did not start:\n${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Open (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`sightline serve exited with ${code}:\n${output}`)));
  });
  const url = new URL(loginUrl);
  const token = url.searchParams.get('token')!;
  url.search = '';
  return { url: url.toString(), loginUrl, token, dataDir, process: child };
}

export const test = base.extend<{ served: Served }>({
  // Playwright reads a fixture's dependencies from its destructuring pattern: this one has none.
  // eslint-disable-next-line no-empty-pattern
  served: async ({}, use) => {
    const served = await startServe(['--no-demo']);
    await use(served);
    served.process.kill('SIGTERM');
  },
});
export { expect } from '@playwright/test';

/** A procedure called over the served HTTP transport with the coordinator's token (what a test sets up or checks). */
export async function rpc(served: Served, name: string, input: unknown): Promise<unknown> {
  const response = await fetch(new URL(`rpc/${name}`, served.url), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${served.token}` },
    body: JSON.stringify(input),
  });
  const bytes = new Uint8Array(await response.arrayBuffer());
  if (!response.ok) throw new Error(`${name}: HTTP ${response.status} ${new TextDecoder().decode(bytes)}`);
  return decodeWire(bytes);
}
