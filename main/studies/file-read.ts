// One streamed pass over a file: SHA-256 of the content, the first bytes (for sniffing and headers), the
// last bytes (for end markers) and, when asked (DICOM), the whole content.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import { sniffImageFormat, type SniffedFormat } from '../imaging';

export const HEAD_BYTES = 256 * 1024;
const CHUNK = 1 << 20;
const TAIL_BYTES = 64;
/** DICOM files are parsed whole; beyond this they are rejected rather than held in memory */
export const MAX_WHOLE_FILE_BYTES = 1 << 30;

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
  const fh = await fs.open(file, 'r');
  try {
    const hash = crypto.createHash('sha256');
    const chunks: Buffer[] = [];
    let head: Buffer | null = null;
    let sniffed: SniffedFormat = 'unknown';
    let keep = false;
    let tail = Buffer.alloc(0);
    let size = 0;
    const expected = (await fh.stat()).size;
    // buffers sized to the file: small files cost one small allocation
    const chunkSize = Math.max(1, Math.min(CHUNK, expected + 1));
    let reuse: Buffer | null = null;
    for (;;) {
      if (signal?.aborted) throw signal.reason ?? new Error('aborted');
      // kept chunks need their own buffers; otherwise one buffer is reused
      let buf: Buffer;
      if (head === null || keep) buf = Buffer.allocUnsafe(chunkSize);
      else buf = reuse ??= Buffer.allocUnsafe(chunkSize);
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
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
