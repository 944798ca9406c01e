// Reader credentials: the code is shown once and stored only as an scrypt hash (the database file holds no code),
// a code signs its reader in (case, spaces and dashes forgiven), a new code revokes the old one, revoking ends the
// sessions opened with it, and an unknown, wrong or revoked code gets the same null.
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { databasePath } from '../../../main/db/database';
import { credentialSessionLive, signInWithCode, verifyCode } from '../../../main/reader/credentials';
import { designOf } from './fixture';
import { twoMachines, type TwoMachines } from './remote-fixture';

const made: TwoMachines[] = [];
afterEach(() => made.splice(0).forEach((m) => m.cleanup()));

async function study() {
  const m = twoMachines(1);
  made.push(m);
  const s = await m.coordinator.call('reader.createStudy', { design: designOf(m.f, { readers: ['R1', 'R2'] }) });
  return { m, id: s.id, c: m.coordinator };
}

describe('reader credentials', () => {
  it('stores the code only as a salted scrypt hash', async () => {
    const { c, id } = await study();
    const { code, credentialId } = await c.call('reader.credentialCreate', { id, reader: 'R1' });
    expect(code).toMatch(new RegExp(`^${credentialId}-[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}$`));
    const secret = code.split('-').slice(1).join('');
    const row = c.db.prepare('SELECT salt, hash FROM reader_credentials WHERE id = ?').get(credentialId) as { salt: string; hash: string };
    expect(row.salt).toMatch(/^[0-9a-f]{32}$/);
    expect(row.hash).toMatch(/^[0-9a-f]{64}$/);
    c.db.pragma('wal_checkpoint(TRUNCATE)');
    const file = fs.readFileSync(databasePath(c.dataDir)).toString('latin1');
    expect(file.includes(secret)).toBe(false);
    expect(file.includes(code.split('-').slice(1).join('-'))).toBe(false);
    expect(verifyCode(c.db, code)).toEqual({ readerId: expect.any(Number), credentialId });
    expect(verifyCode(c.db, ` ${code.toLowerCase().replace(/-/g, ' ').replace(/^(\d+) /, '$1-')}`)).not.toBeNull();
    expect(verifyCode(c.db, code.slice(0, -1) + (code.endsWith('A') ? 'B' : 'A'))).toBeNull();
    expect(verifyCode(c.db, `99${code}`)).toBeNull();
    expect(verifyCode(c.db, 'not a code')).toBeNull();
  });

  it('a new code revokes the old one; revoking ends the sessions opened with it', async () => {
    const { c, id } = await study();
    const first = await c.call('reader.credentialCreate', { id, reader: 'R1' });
    const signed = signInWithCode(c.db, first.code, new Date())!;
    expect(credentialSessionLive(c.db, signed.session)).toBe(true);
    // the session is a real reading session of R1
    expect((await c.call('reader.state', { session: signed.session })).reader).toBe('R1');
    const second = await c.call('reader.credentialCreate', { id, reader: 'R1' });
    expect(verifyCode(c.db, first.code)).toBeNull();
    expect(credentialSessionLive(c.db, signed.session)).toBe(false);
    await expect(c.call('reader.state', { session: signed.session })).rejects.toThrow(/sign in again/);
    const again = signInWithCode(c.db, second.code, new Date())!;
    expect(await c.call('reader.credentialRevoke', { id, reader: 'R1' })).toEqual({ revoked: 1 });
    expect(credentialSessionLive(c.db, again.session)).toBe(false);
    expect(signInWithCode(c.db, second.code, new Date())).toBeNull();
    expect(await c.call('reader.credentialRevoke', { id, reader: 'R1' })).toEqual({ revoked: 0 });
    const list = await c.call('reader.credentials', { id });
    expect(list.map((x) => [x.reader, x.revokedAt !== null])).toEqual([
      ['R1', true],
      ['R1', true],
    ]);
    await expect(c.call('reader.credentialCreate', { id, reader: 'Nobody' })).rejects.toThrow(/no reader "Nobody" \(its readers: R1, R2\)/);
  });

  it('a session signed in by name is no credential session', async () => {
    const { c, id } = await study();
    const { session } = await c.call('reader.signIn', { studyId: id, reader: 'R2' });
    expect(credentialSessionLive(c.db, session)).toBe(false);
  });
});
