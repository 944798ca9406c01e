// The retrieve cache: `<data-dir>/pacs/<study uid>/<sop uid>.dcm`, one folder per study, whole or absent. A study
// folder is whole once its marker (`.sightline-complete`, written last, by rename) exists; a folder without one is
// the leftover of a crash and is removed before the study is fetched again. Imports reference these files in place,
// so the cache is never evicted behind the studies list's back: when it reaches `maxCacheGb`, a retrieve is refused
// with a message saying how to raise the bound (see README.md).
import fs from 'node:fs';
import path from 'node:path';

export const CACHE_DIR = 'pacs';
export const COMPLETE_MARKER = '.sightline-complete';

export interface StudyMarker {
  server: string;
  instances: number;
  bytes: number;
  retrievedAt: string;
}

export const cacheRoot = (dataDir: string) => path.join(dataDir, CACHE_DIR);
export const studyDir = (dataDir: string, studyUid: string) => path.join(cacheRoot(dataDir), studyUid);

/** The marker of a whole study in the cache, or null. */
export function readMarker(dir: string): StudyMarker | null {
  try {
    const m = JSON.parse(fs.readFileSync(path.join(dir, COMPLETE_MARKER), 'utf8')) as StudyMarker;
    return typeof m.instances === 'number' ? m : null;
  } catch {
    return null;
  }
}

export function writeMarker(dir: string, marker: StudyMarker): void {
  const tmp = path.join(dir, `${COMPLETE_MARKER}.tmp`);
  fs.writeFileSync(tmp, JSON.stringify(marker));
  fs.renameSync(tmp, path.join(dir, COMPLETE_MARKER));
}

/** Bytes under the cache and the number of whole studies in it. */
export function cacheUsage(dataDir: string): { usedBytes: number; studies: number } {
  const root = cacheRoot(dataDir);
  let usedBytes = 0;
  let studies = 0;
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(root, { withFileTypes: true });
  } catch {
    return { usedBytes: 0, studies: 0 };
  }
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const dir = path.join(root, e.name);
    if (readMarker(dir)) studies++;
    for (const f of fs.readdirSync(dir, { withFileTypes: true })) {
      if (f.isFile()) usedBytes += fs.statSync(path.join(dir, f.name)).size;
    }
  }
  return { usedBytes, studies };
}

export const GB = 1024 ** 3;

export function cacheFullMessage(used: number, maxGb: number): string {
  return (
    `the PACS cache is full: ${(used / GB).toFixed(2)} GB of the ${maxGb} GB allowed (maxCacheGb); retrieved studies are ` +
    'imported in place, so none is removed behind your back: raise the bound (`sightline pacs cache --max-gb N`) or free room'
  );
}

/**
 * The SOP Instance UID of a DICOM Part 10 file from its first bytes (the file meta group, always explicit VR little
 * endian), or null when the meta group has none. `head` must hold the whole meta group (a few hundred bytes).
 */
export function sopInstanceUid(head: Buffer): string | null {
  let at = 132;
  while (at + 8 <= head.length) {
    const group = head.readUInt16LE(at);
    const element = head.readUInt16LE(at + 2);
    if (group !== 0x0002) return null;
    const vr = head.toString('latin1', at + 4, at + 6);
    const long = ['OB', 'OW', 'OF', 'SQ', 'UT', 'UN'].includes(vr);
    const length = long ? head.readUInt32LE(at + 8) : head.readUInt16LE(at + 6);
    const value = at + (long ? 12 : 8);
    if (value + length > head.length) return null;
    if (element === 0x0003) {
      const uid = head.toString('latin1', value, value + length).replace(/[\0 ]+$/, '');
      return /^[0-9]+(\.[0-9]+)*$/.test(uid) && uid.length <= 64 ? uid : null;
    }
    at = value + length;
  }
  return null;
}

/** A file's first `bytes` bytes (fewer for a shorter file), without reading the rest. */
export function readHead(file: string, bytes: number): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(bytes);
    return head.subarray(0, fs.readSync(fd, head, 0, bytes, 0));
  } finally {
    fs.closeSync(fd);
  }
}

export function isDicomPart10(head: Buffer): boolean {
  return head.length >= 132 && head.toString('latin1', 128, 132) === 'DICM';
}
