// UIDs of exported objects: every new UID is 2.25.<a random UUID as an unsigned decimal integer> (PS3.5 B.2), so no
// registered root is needed and no two exports collide. Within one export a UidMap hands out one UID per key, so
// that the objects of an export refer to each other (a Secondary Capture's UIDs in the SEG that references it).
import { createHash, randomUUID } from 'node:crypto';

/** A new UID under 2.25 (at most 2.25. + 39 digits = 44 characters). */
export function newUid(): string {
  return `2.25.${BigInt(`0x${randomUUID().replace(/-/g, '')}`).toString(10)}`;
}

/** The Implementation Class UID of files Sightline writes: fixed, derived once from a UUID under 2.25. */
export const IMPLEMENTATION_CLASS_UID = `2.25.${BigInt('0x6f1c2b9ad4e34c0f9a7e51d3b0c8e2a4').toString(10)}`;
export const IMPLEMENTATION_VERSION_NAME = 'SIGHTLINE_1';

/** One UID per key within one export: `uid('sc.series')` is the same UID each time it is asked in this export. */
export class UidMap {
  private readonly uids = new Map<string, string>();

  uid(key: string): string {
    let uid = this.uids.get(key);
    if (!uid) this.uids.set(key, (uid = newUid()));
    return uid;
  }
}

/**
 * A UID named by `name` (a name-based UUID: the first 16 bytes of sha256(name) with the version nibble 8 and the
 * RFC 4122 variant), under 2.25: the Secondary Capture of one PNG/JPEG gets the same UIDs in every export.
 */
export function nameUid(name: string): string {
  const b = createHash('sha256').update(name).digest().subarray(0, 16);
  b[6] = (b[6] & 0x0f) | 0x80;
  b[8] = (b[8] & 0x3f) | 0x80;
  return `2.25.${BigInt(`0x${b.toString('hex')}`).toString(10)}`;
}
