// One streamed pass over a file: SHA-256 of the content, the first bytes (for sniffing and headers), the
// last bytes (for end markers) and, when asked (DICOM), the whole content.
// Only regular files are read, and never more than their size said when opened: /dev/zero or a named pipe given
// by name would otherwise be read for ever (or block the open itself) and hold up every later import.
import crypto from 'node:crypto';
import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import { sniffImageFormat, type SniffedFormat } from '../imaging';

export const HEAD_BYTES = 256 * 1024;
const CHUNK = 1 << 20;
const TAIL_BYTES = 64;
/** DICOM files are parsed whole; beyond this they are rejected rather than held in memory */
export const MAX_WHOLE_FILE_BYTES = 1 << 30;

/** No file an import reads may be larger (an image, a report, a sidecar): a sanity bound, far above real ones. */
export const MAX_FILE_BYTES = 8 * 2 ** 30;

/** A file that is not something an import reads; `message` is the reason shown beside the path. */
export class UnreadableFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnreadableFileError';
  }
}

/** What kind of thing a non-regular directory entry is, in the words a user reads. */
export function fileKind(st: { isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean; isDirectory(): boolean }): string {
  if (st.isFIFO()) return 'named pipe';
  if (st.isCharacterDevice()) return 'character device';
  if (st.isBlockDevice()) return 'block device';
  if (st.isSocket()) return 'socket';
  if (st.isDirectory()) return 'directory';
  return 'special file';
}

/**
 * Opens a regular file for reading: O_NONBLOCK so that opening a named pipe does not wait for a writer, then the
 * open file itself is checked (no race with a path swapped after a stat). Returns the handle and its size.
 */
export async function openRegularFile(file: string, maxBytes = MAX_FILE_BYTES): Promise<{ fh: fs.FileHandle; size: number }> {
  const fh = await fs.open(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new UnreadableFileError(`not a regular file (${fileKind(st)})`);
    if (st.size > maxBytes) throw new UnreadableFileError(`file too large (${st.size} bytes; the limit is ${maxBytes})`);
    return { fh, size: st.size };
  } catch (err) {
    await fh.close();
    throw err;
  }
}

/** A whole regular file of at most `maxBytes` (reports, sidecars). */
export async function readRegularFile(file: string, maxBytes: number): Promise<Buffer> {
  const { fh, size } = await openRegularFile(file, maxBytes);
  try {
    const buf = Buffer.alloc(size);
    let at = 0;
    while (at < size) {
      const { bytesRead } = await fh.read(buf, at, size - at, at);
      if (bytesRead === 0) break;
      at += bytesRead;
    }
    return at === size ? buf : buf.subarray(0, at);
  } finally {
    await fh.close();
  }
}

export interface HashedFile {
  sha256: string;
  size: number;
  sniffed: SniffedFormat;
  head: Uint8Array;
  tail: Uint8Array;
  /** the whole file, when `keepWhole` said so for the sniffed kind */
  whole: Uint8Array | null;
}

export async function readHashed(
  file: string,
  keepWhole: (kind: SniffedFormat, size: number) => boolean,
  signal?: AbortSignal,
): Promise<HashedFile> {
  const { fh, size: expected } = await openRegularFile(file);
  try {
    const hash = crypto.createHash('sha256');
    const chunks: Buffer[] = [];
    let head: Buffer | null = null;
    let sniffed: SniffedFormat = 'unknown';
    let keep = false;
    let tail = Buffer.alloc(0);
    let size = 0;
    // buffers sized to the file: small files cost one small allocation
    const chunkSize = Math.max(1, Math.min(CHUNK, expected + 1));
    let reuse: Buffer | null = null;
    for (;;) {
      if (signal?.aborted) throw signal.reason ?? new Error('aborted');
      // kept chunks need their own buffers; otherwise one buffer is reused
      let buf: Buffer;
      if (head === null || keep) buf = Buffer.allocUnsafe(chunkSize);
      else buf = reuse ??= Buffer.allocUnsafe(chunkSize);
      // never more than the size it had when opened (plus one byte, to notice a file still being written)
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, expected - size + 1), null);
      if (bytesRead === 0) break;
      if (size + bytesRead > expected) throw new UnreadableFileError(`file grew while it was read (${expected} bytes when opened); import it once it is complete`);
      const data: Buffer = buf.subarray(0, bytesRead);
      hash.update(data);
      size += bytesRead;
      if (head === null) {
        head = Buffer.from(data.subarray(0, HEAD_BYTES));
        sniffed = sniffImageFormat(head);
        keep = keepWhole(sniffed, expected);
      }
      if (keep) chunks.push(data);
      tail =
        data.length >= TAIL_BYTES
          ? Buffer.from(data.subarray(data.length - TAIL_BYTES))
          : Buffer.concat([tail, data]).subarray(-TAIL_BYTES);
    }
    return {
      sha256: hash.digest('hex'),
      size,
      sniffed,
      head: head ?? Buffer.alloc(0),
      tail,
      whole: keep ? (chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size)) : null,
    };
  } finally {
    await fh.close();
  }
}
