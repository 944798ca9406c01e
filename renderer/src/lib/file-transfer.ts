// Files between this window and the machine that runs Sightline, in chunks over the ordinary API (files.*), so the
// same code works in browser mode (HTTP) and in Electron (IPC) and no message holds a whole package:
// - upload: a File from an <input type="file">, read a chunk at a time, hashed as it goes; the server checks the whole
//   file's sha256 at the end and keeps it under its data directory; the id it returns names it to reader.* procedures;
// - download: a file the app wrote for download (a DownloadRef), fetched in chunks and given to the browser as a Blob
//   (the browser's own download, with the name the app chose).
import type { z } from 'zod';
import { TRANSFER_CHUNK_BYTES, type DownloadRef } from '../../../common/contract/files';
import { Sha256 } from '../../../common/sha256';
import { api } from '../api';
import { downloadBlob } from './figure-canvas';

/** bytes done of the total, for a progress bar */
export type TransferProgress = (done: number, total: number) => void;

/** Uploads `file`; resolves with the stored upload's id. A failure cancels the upload on the server (nothing is kept). */
export async function uploadFile(file: File, onProgress: TransferProgress = () => {}): Promise<string> {
  const { id, chunkBytes } = await api.files.uploadBegin({ name: file.name, size: file.size });
  const step = Math.min(chunkBytes, TRANSFER_CHUNK_BYTES);
  const hash = new Sha256();
  try {
    onProgress(0, file.size);
    for (let offset = 0; offset < file.size; offset += step) {
      const bytes = new Uint8Array(await file.slice(offset, offset + step).arrayBuffer());
      hash.update(bytes);
      await api.files.uploadChunk({ id, offset, bytes });
      onProgress(offset + bytes.length, file.size);
    }
    await api.files.uploadFinish({ id, sha256: hash.hex() });
    return id;
  } catch (error) {
    await api.files.uploadCancel({ id }).catch(() => {});
    throw error;
  }
}

/** Fetches a file the app wrote for download and hands it to the browser under the name the app chose. */
export async function downloadFile(ref: z.output<typeof DownloadRef>, onProgress: TransferProgress = () => {}): Promise<void> {
  const { name, size } = await api.files.downloadInfo({ id: ref.id });
  const parts: Uint8Array<ArrayBuffer>[] = [];
  onProgress(0, size);
  for (let offset = 0; offset < size; ) {
    const chunk = await api.files.downloadChunk({ id: ref.id, offset, length: TRANSFER_CHUNK_BYTES });
    if (chunk.size !== size) throw new Error(`${name} changed on the server while it was downloaded: download it again`);
    if (!chunk.bytes.length) throw new Error(`${name}: the server sent no bytes at ${offset} of ${size}`);
    parts.push(chunk.bytes as Uint8Array<ArrayBuffer>);
    offset += chunk.bytes.length;
    onProgress(offset, size);
  }
  downloadBlob(new Blob(parts, { type: 'application/octet-stream' }), name);
}

/** "12.3 / 456.7 MB" */
export function bytesText(done: number, total: number): string {
  const mb = (n: number) => (n / 1024 ** 2).toFixed(1);
  return `${mb(done)} / ${mb(total)} MB`;
}
