// Secrets at rest (main/pacs/secrets.ts) and the server list (main/pacs/servers.ts): AES-256-GCM under a 0600 key
// file created on first use; a secret bound to its server's name; a replaced key or a changed byte is a clear error;
// the list never carries a secret; validation of what a server needs; the app's OS-keychain box and what the command
// line says of a secret it cannot open.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../../main/db';
import { fileKeySecretBox, KEY_FILE, keychainSecretBox, type OsKeychain } from '../../../main/pacs/secrets';
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

/**
 * A keychain for the test: Electron's safeStorage is what the app passes, and there is no Electron binary here; this
 * one encrypts for real (AES-256-GCM under its own key), as an OS keychain does, and can be made to fail.
 */
function testKeychain(): OsKeychain & { broken: boolean } {
  const key = randomBytes(32);
  return {
    broken: false,
    encryptString(plain) {
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
      return Buffer.concat([iv, c.getAuthTag(), body]);
    },
    decryptString(sealed) {
      if (this.broken) throw new Error('Error while decrypting the ciphertext provided to safeStorage.decryptString.');
      const d = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
      d.setAuthTag(sealed.subarray(12, 28));
      return Buffer.concat([d.update(sealed.subarray(28)), d.final()]).toString('utf8');
    },
  };
}

describe('keychainSecretBox (the app with an OS keychain)', () => {
  it('seals in the keychain, bound to the server; opens the file-key secrets the command line saved', () => {
    const dir = fs.mkdtempSync(path.join(work, 'keychain-'));
    const keychain = testKeychain();
    const box = keychainSecretBox(keychain, fileKeySecretBox(dir));
    const sealed = box.seal('t0ken', 'pacs-a');
    expect(sealed).toMatch(/^keychain\.v1:/);
    expect(Buffer.from(sealed.slice(12), 'base64').toString('latin1')).not.toContain('t0ken');
    expect(box.open(sealed, 'pacs-a')).toBe('t0ken');
    expect(() => box.open(sealed, 'pacs-b')).toThrow('the stored secret of "pacs-b" belongs to another entry');
    expect(fs.existsSync(path.join(dir, KEY_FILE))).toBe(false); // nothing in the data directory
    const fromCli = fileKeySecretBox(dir).seal('cli-pass', 'pacs-c');
    expect(box.open(fromCli, 'pacs-c')).toBe('cli-pass');
    keychain.broken = true;
    expect(() => box.open(sealed, 'pacs-a')).toThrow(/cannot be decrypted with this user's OS keychain; save the server's password or token again/);
  });

  it('a server saved in the app: the app connects; the command line says why it cannot and what to do', () => {
    const dir = fs.mkdtempSync(path.join(work, 'keychain-db-'));
    const appDb = openDatabase(dir);
    try {
      const appBox = keychainSecretBox(testKeychain(), fileKeySecretBox(dir));
      saveServer(appDb, appBox, { name: 'hospital', url: 'https://pacs/dicom-web', auth: 'bearer', user: null, caBundle: null, timeoutSeconds: 30, secret: 'abc' });
      expect(connectionFor(appDb, appBox, 'hospital').secret).toBe('abc');
      expect(() => connectionFor(appDb, fileKeySecretBox(dir), 'hospital')).toThrow(/kept in the OS keychain by the Sightline app, which the command line cannot read; use the app, or save it for the command line too/);
    } finally {
      appDb.close();
    }
  });
});
