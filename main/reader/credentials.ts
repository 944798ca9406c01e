// Reader credentials for `sightline serve --readers` (issue 11): the coordinator makes one per reader; its code is
// shown once and stored only as scrypt(secret, salt) (node:crypto), so the database cannot give it back. A code is
// "<credential id>-<secret>": the id finds the one row to check, so a sign-in costs one scrypt however many readers
// there are. A new credential for a reader revokes the previous one; revoking ends the sessions opened with it.
// The code stays valid (until revoked) for signing in again from a new browser; "one-time" = shown once.
import { createHash, randomBytes, randomInt, scryptSync, timingSafeEqual } from 'node:crypto';
import { RpcError } from '../../common/contract';
import type { Db } from '../db/database';
import { credentialSession, credentialsOfReader, getCredential, insertCredential, insertCredentialSession, revokeCredentials } from '../db/reader-packages-repo';
import { findReader, getReaderStudy, insertEvent, listReaders } from '../db/reader-repo';

// no 0/O, 1/I/L: read aloud or typed from paper
const ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
const SECRET_LENGTH = 12;
const SCRYPT = { N: 16384, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;

const hashToken = (session: string) => createHash('sha256').update(session).digest('hex');
const derive = (secret: string, salt: string) => scryptSync(secret, Buffer.from(salt, 'hex'), KEY_LENGTH, SCRYPT);
/** Codes are typed by people: ignore case, spaces and the group dashes of the secret. */
const normalise = (secret: string) => secret.toUpperCase().replace(/[\s-]/g, '');

function readerOf(db: Db, studyId: number, name: string) {
  if (!getReaderStudy(db, studyId)) throw new RpcError('not_found', `no reader study ${studyId}`);
  const reader = findReader(db, studyId, name);
  if (!reader) throw new RpcError('not_found', `study ${studyId} has no reader "${name}" (its readers: ${listReaders(db, studyId).map((r) => r.name).join(', ')})`);
  return reader;
}

/** A new credential for a reader (the previous one revoked); the code is returned once. */
export function createCredential(db: Db, studyId: number, readerName: string, now: Date): { code: string; credentialId: number } {
  const reader = readerOf(db, studyId, readerName);
  const secret = Array.from({ length: SECRET_LENGTH }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
  const salt = randomBytes(16).toString('hex');
  const credentialId = db.transaction(() => {
    revokeCredentials(db, reader.id, now.toISOString());
    return insertCredential(db, { readerId: reader.id, salt, hash: derive(secret, salt).toString('hex') });
  })();
  const grouped = secret.match(/.{1,4}/g)!.join('-');
  return { code: `${credentialId}-${grouped}`, credentialId };
}

export function revokeCredential(db: Db, studyId: number, readerName: string, now: Date): number {
  const reader = readerOf(db, studyId, readerName);
  return revokeCredentials(db, reader.id, now.toISOString());
}

export function listCredentials(db: Db, studyId: number): { reader: string; credentialId: number; createdAt: string; revokedAt: string | null }[] {
  if (!getReaderStudy(db, studyId)) throw new RpcError('not_found', `no reader study ${studyId}`);
  return listReaders(db, studyId).flatMap((r) => credentialsOfReader(db, r.id).map((c) => ({ reader: r.name, credentialId: c.id, createdAt: c.createdAt, revokedAt: c.revokedAt })));
}

/** The live credential a code belongs to, or null (unknown, revoked or wrong secret: one answer for all three). */
export function verifyCode(db: Db, code: string): { readerId: number; credentialId: number } | null {
  const m = /^\s*(\d{1,12})-(.+)$/.exec(code);
  if (!m) return null;
  const c = getCredential(db, Number(m[1]));
  const secret = normalise(m[2]);
  // derive even for an unknown id, so that timing does not tell which ids exist
  const given = derive(secret, c?.salt ?? '00');
  if (!c || c.revokedAt) return null;
  const stored = Buffer.from(c.hash, 'hex');
  return stored.length === given.length && timingSafeEqual(stored, given) ? { readerId: c.readerId, credentialId: c.id } : null;
}

/** Signs a reader in with a code: a reading session bound to the credential (null: the code is not valid). */
export function signInWithCode(db: Db, code: string, now: Date): { session: string; readerId: number } | null {
  const ok = verifyCode(db, code);
  if (!ok) return null;
  const session = randomBytes(24).toString('base64url');
  insertCredentialSession(db, hashToken(session), ok.readerId, ok.credentialId);
  insertEvent(db, { readerId: ok.readerId, position: null, kind: 'sign-in', detail: { credential: ok.credentialId }, at: now.toISOString() });
  return { session, readerId: ok.readerId };
}

/** Whether `session` is a live session opened with a credential (not revoked since). */
export function credentialSessionLive(db: Db, session: string): boolean {
  return credentialSession(db, hashToken(session)) !== null;
}
