// The files domain's contract (main/files/): files carried between the browser (or the Electron window) and the
// machine that runs Sightline, in chunks over the ordinary procedures so that both transports carry them and no
// message holds a whole package (hundreds of MB).
// - Downloads: only files the app itself wrote into its exports folder for that purpose (`<data dir>/exports/<id>/`),
//   addressed by their opaque id; a procedure that writes one (reader.packageExport, reader.answersExport) returns it
//   as a `DownloadRef`. No path is ever taken from the caller.
// - Uploads: begin (name, size) -> chunks in order -> finish with the whole file's sha256; the file then lies in
//   `<data dir>/uploads/<id>/` and the procedures that read a file take its id (reader.packageImport `upload`,
//   reader.answersMerge `uploads`).
import { z } from 'zod';

/** The most bytes one chunk carries either way (an upload chunk must also fit the HTTP transport's body limit, 4 MB). */
export const TRANSFER_CHUNK_BYTES = 2 * 1024 * 1024;

/** An upload's or a download's opaque id: 32 hex digits, never a path. */
export const TransferId = z.string().regex(/^[0-9a-f]{32}$/, 'not a transfer id (32 hex digits)');

/** A file the app wrote for download: fetch it with files.downloadChunk. */
export const DownloadRef = z.object({ id: TransferId, name: z.string() });

/** A finished download's or upload's file as the app stored it (its name sanitised). */
export const StoredFile = z.object({ id: TransferId, name: z.string(), size: z.number().int().nonnegative() });

const Offset = z.number().int().nonnegative();

export const filesProcedures = {
  /** a file written for download: its name and size (refused while it is still being written) */
  'files.downloadInfo': { input: z.object({ id: TransferId }), output: StoredFile },
  /** `length` bytes from `offset` (fewer at the end); `size` lets the caller notice a file that changed meanwhile */
  'files.downloadChunk': {
    input: z.object({ id: TransferId, offset: Offset, length: z.number().int().positive().max(TRANSFER_CHUNK_BYTES) }),
    output: z.object({ bytes: z.instanceof(Uint8Array), size: z.number().int().nonnegative() }),
  },
  /** starts an upload of `size` bytes (refused over the upload limit or the free disk space); send chunks of at most `chunkBytes` */
  'files.uploadBegin': {
    input: z.object({ name: z.string().min(1).max(1000), size: z.number().int().nonnegative() }),
    output: z.object({ id: TransferId, name: z.string(), chunkBytes: z.number().int().positive() }),
  },
  /** the next chunk, in order: `offset` must be the number of bytes received so far */
  'files.uploadChunk': {
    input: z.object({
      id: TransferId,
      offset: Offset,
      bytes: z.instanceof(Uint8Array).refine((b) => b.byteLength > 0 && b.byteLength <= TRANSFER_CHUNK_BYTES, `a chunk holds 1 to ${TRANSFER_CHUNK_BYTES} bytes`),
    }),
    output: z.object({ received: z.number().int().nonnegative() }),
  },
  /** checks every byte arrived and the whole file's sha256, then keeps the file (a mismatch keeps nothing) */
  'files.uploadFinish': { input: z.object({ id: TransferId, sha256: z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 is 64 lowercase hex digits') }), output: StoredFile },
  /** abandons an upload: its partial file is removed */
  'files.uploadCancel': { input: z.object({ id: TransferId }), output: z.object({ cancelled: z.boolean() }) },
} as const;
