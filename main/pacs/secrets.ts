// Secrets at rest (PACS passwords and tokens). Where Electron runs with an OS keychain (Keychain, DPAPI, libsecret or
// KWallet), in it: `keychainSecretBox` over Electron's safeStorage, passed in by main/app (the domain never imports
// electron). Otherwise, and always for the command line (plain Node has no safeStorage): AES-256-GCM under a random
// key kept in a file of the data directory (`secrets.key`, mode 0600). What each protects against, and what not, is in
// main/pacs/README.md.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export interface SecretBox {
  /** `context` (the server's name) is bound to the sealed text: a secret moved to another entry does not open */
  seal(plain: string, context: string): string;
  open(sealed: string, context: string): string;
}

export const KEY_FILE = 'secrets.key';
const VERSION = 'aes256gcm.v1';
const KEYCHAIN_VERSION = 'keychain.v1';

/** Electron's safeStorage as main/app hands it over (only where it is backed by a real OS keychain). */
export interface OsKeychain {
  encryptString(plain: string): Buffer;
  decryptString(sealed: Buffer): string;
}

/**
 * Seals new secrets with the OS keychain; opens those and the file-key box's (secrets saved by the command line, or
 * before). safeStorage has no associated data, so the server's name is sealed with the secret and checked on opening.
 */
export function keychainSecretBox(keychain: OsKeychain, fileBox: SecretBox): SecretBox {
  return {
    seal: (plain, context) => `${KEYCHAIN_VERSION}:${keychain.encryptString(JSON.stringify([context, plain])).toString('base64')}`,
    open(sealed, context) {
      if (!sealed.startsWith(`${KEYCHAIN_VERSION}:`)) return fileBox.open(sealed, context);
      let pair: unknown;
      try {
        pair = JSON.parse(keychain.decryptString(Buffer.from(sealed.slice(KEYCHAIN_VERSION.length + 1), 'base64')));
      } catch {
        throw new Error(`the stored secret of "${context}" cannot be decrypted with this user's OS keychain; save the server's password or token again`);
      }
      if (!Array.isArray(pair) || pair[0] !== context || typeof pair[1] !== 'string') throw new Error(`the stored secret of "${context}" belongs to another entry; save it again`);
      return pair[1];
    },
  };
}

/** The key file's 32 bytes, created (0600) on first use; a key file of another size is an error, never replaced. */
export function loadOrCreateKey(dataDir: string): Buffer {
  const file = path.join(dataDir, KEY_FILE);
  try {
    fs.writeFileSync(file, randomBytes(32), { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`${file}: cannot create the secrets key: ${(error as Error).message}`, { cause: error });
  }
  const key = fs.readFileSync(file);
  if (key.length !== 32) throw new Error(`${file}: a secrets key is 32 bytes, this file has ${key.length} (stored passwords cannot be read without the original)`);
  if (process.platform !== 'win32' && (fs.statSync(file).mode & 0o077) !== 0) fs.chmodSync(file, 0o600);
  return key;
}

/** The file-key box; the key is read on first use, so a data directory without secrets gets no key file. */
export function fileKeySecretBox(dataDir: string): SecretBox {
  let key: Buffer | null = null;
  const keyOf = () => (key ??= loadOrCreateKey(dataDir));
  return {
    seal(plain, context) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', keyOf(), iv);
      cipher.setAAD(Buffer.from(context, 'utf8'));
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return [VERSION, iv.toString('base64'), cipher.getAuthTag().toString('base64'), body.toString('base64')].join(':');
    },
    open(sealed, context) {
      if (sealed.startsWith(`${KEYCHAIN_VERSION}:`)) {
        throw new Error(
          `the password or token of "${context}" is kept in the OS keychain by the Sightline app, which the command line cannot read; use the app, or save it for the command line too (sightline pacs servers add ... --password-stdin or --token-stdin)`,
        );
      }
      const [version, iv, tag, body] = sealed.split(':');
      if (version !== VERSION || !iv || !tag || body === undefined) throw new Error('a stored secret in an unknown format');
      try {
        const decipher = createDecipheriv('aes-256-gcm', keyOf(), Buffer.from(iv, 'base64'));
        decipher.setAAD(Buffer.from(context, 'utf8'));
        decipher.setAuthTag(Buffer.from(tag, 'base64'));
        return Buffer.concat([decipher.update(Buffer.from(body, 'base64')), decipher.final()]).toString('utf8');
      } catch {
        throw new Error(`the stored secret of "${context}" cannot be decrypted with ${KEY_FILE} (was the key file replaced?); save the server's password or token again`);
      }
    },
  };
}
