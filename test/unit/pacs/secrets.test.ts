// Secrets at rest (main/pacs/secrets.ts) and the server list (main/pacs/servers.ts): AES-256-GCM under a 0600 key
// file created on first use; a secret bound to its server's name; a replaced key or a changed byte is a clear error;
// the list never carries a secret; validation of what a server needs.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../../main/db';
import { fileKeySecretBox, KEY_FILE } from '../../../main/pacs/secrets';
import { connectionFor, listServers, removeServer, saveServer } from '../../../main/pacs/servers';

let work: string;
let db: Db;
beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'sightline-pacs-secrets-'));
  db = openDatabase(work);
});
afterAll(() => {
  db.close();
  fs.rmSync(work, { recursive: true, force: true });
});

describe('fileKeySecretBox', () => {
  it('seals and opens; the key file is created on first use, 32 bytes, 0600', () => {
    const dir = fs.mkdtempSync(path.join(work, 'box-'));
    const box = fileKeySecretBox(dir);
    expect(fs.existsSync(path.join(dir, KEY_FILE))).toBe(false);
    const sealed = box.seal('s3cret', 'pacs-a');
    expect(sealed).toMatch(/^aes256gcm\.v1:/);
    expect(sealed).not.toContain('s3cret');
    expect(box.seal('s3cret', 'pacs-a')).not.toBe(sealed); // a fresh IV each time
    expect(box.open(sealed, 'pacs-a')).toBe('s3cret');
    expect(fileKeySecretBox(dir).open(sealed, 'pacs-a')).toBe('s3cret'); // the same key from the file
    const stat = fs.statSync(path.join(dir, KEY_FILE));
    expect(stat.size).toBe(32);
    expect(stat.mode & 0o777).toBe(0o600);
  });

  it('refuses another context, a changed byte, a replaced key, a bad key file', () => {
    const dir = fs.mkdtempSync(path.join(work, 'box-'));
    const sealed = fileKeySecretBox(dir).seal('s3cret', 'pacs-a');
    expect(() => fileKeySecretBox(dir).open(sealed, 'pacs-b')).toThrow(/the stored secret of "pacs-b" cannot be decrypted/);
    const parts = sealed.split(':');
    const body = Buffer.from(parts[3], 'base64');
    body[0] ^= 1;
    expect(() => fileKeySecretBox(dir).open([...parts.slice(0, 3), body.toString('base64')].join(':'), 'pacs-a')).toThrow(/cannot be decrypted/);
    expect(() => fileKeySecretBox(dir).open('plain', 'pacs-a')).toThrow('a stored secret in an unknown format');
    fs.writeFileSync(path.join(dir, KEY_FILE), Buffer.alloc(32, 1));
    expect(() => fileKeySecretBox(dir).open(sealed, 'pacs-a')).toThrow(/was the key file replaced/);
    fs.writeFileSync(path.join(dir, KEY_FILE), 'short');
    expect(() => fileKeySecretBox(dir).seal('x', 'pacs-a')).toThrow(/a secrets key is 32 bytes, this file has 5/);
  });
});

describe('the server list', () => {
  const box = () => fileKeySecretBox(work);
  const base = { url: 'https://pacs.example.org/dicom-web', user: null, caBundle: null, timeoutSeconds: 30 } as const;

  it('keeps servers with sealed secrets and returns only hasSecret', () => {
    saveServer(db, box(), { ...base, name: 'a', auth: 'bearer', secret: 'tok-123' });
    saveServer(db, box(), { ...base, name: 'b', auth: 'basic', user: 'u', secret: 'pw-456' });
    saveServer(db, box(), { ...base, name: 'c', auth: 'none' });
    expect(listServers(db).map((s) => [s.name, s.auth, s.hasSecret])).toEqual([
      ['a', 'bearer', true],
      ['b', 'basic', true],
      ['c', 'none', false],
    ]);
    expect(JSON.stringify(listServers(db))).not.toMatch(/tok-123|pw-456|aes256gcm/);
    expect(connectionFor(db, box(), 'a').secret).toBe('tok-123');
    expect(connectionFor(db, box(), 'b').secret).toBe('pw-456');
    // saved again without a secret: kept; with another auth kind: a new one is needed
    saveServer(db, box(), { ...base, name: 'b', auth: 'basic', user: 'u', timeoutSeconds: 5 });
    expect(connectionFor(db, box(), 'b')).toMatchObject({ secret: 'pw-456', server: { timeoutSeconds: 5 } });
    expect(() => saveServer(db, box(), { ...base, name: 'b', auth: 'bearer' })).toThrow('server "b": bearer authentication needs a token');
    expect(removeServer(db, 'a')).toBe(true);
    expect(removeServer(db, 'a')).toBe(false);
    expect(() => connectionFor(db, box(), 'a')).toThrow('no PACS server "a" (configured: b, c)');
  });

  it('refuses basic without a user, and a CA bundle on http', () => {
    expect(() => saveServer(db, box(), { ...base, name: 'd', auth: 'basic', secret: 'x' })).toThrow('basic authentication needs a user name');
    expect(() => saveServer(db, box(), { ...base, name: 'd', url: 'http://pacs/dicom-web', auth: 'none', caBundle: '/ca.pem' })).toThrow('a CA bundle applies to an https:// address only');
  });
});
