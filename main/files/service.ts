// `files.*`: files carried between the browser (or the Electron window) and the machine that runs Sightline, in
// chunks (common/contract/files.ts). Downloads read only the app's exports area, by opaque id (store.ts); uploads
// land in the uploads area (uploads.ts), where the procedures that read a file find them by id. A remote reader's
// session may call none of these: they are not in READER_SESSION_PROCEDURES, so the HTTP transport refuses them.
import fs from 'node:fs';
import type { filesProcedures } from '../../common/contract/files';
import { RpcError } from '../../common/contract';
import type { HandlersOf } from '../rpc/handlers';
import { openSlotFile, slotFile } from './store';
import { DEFAULT_MAX_UPLOAD_BYTES, Uploads } from './uploads';

export interface FilesServiceDeps {
  dataDir: string;
  /** the largest upload accepted (default DEFAULT_MAX_UPLOAD_BYTES) */
  maxUploadBytes?: number;
  /** the clock, in ms (tests move it to expire uploads and prune old files) */
  now?: () => number;
}

/** One chunk of a download: at most `length` bytes from `offset`, read from the checked file (never a link). */
function readChunk(dataDir: string, id: string, offset: number, length: number): { bytes: Uint8Array<ArrayBuffer>; size: number } {
  const { fd, name, size } = openSlotFile(dataDir, 'exports', id);
  try {
    if (offset > size) throw new RpcError('invalid_input', `${name}: offset ${offset} is past its end (${size} bytes)`);
    // a plain Uint8Array, not a Buffer: JSON.stringify would call Buffer's toJSON before the wire format lifts the bytes
    const bytes = new Uint8Array(Math.min(length, size - offset));
    let read = 0;
    while (read < bytes.length) {
      const n = fs.readSync(fd, bytes, read, bytes.length - read, offset + read);
      if (n === 0) throw new RpcError('internal', `${name} became shorter while it was read`);
      read += n;
    }
    return { bytes, size };
  } finally {
    fs.closeSync(fd);
  }
}

export function createFilesService(deps: FilesServiceDeps): HandlersOf<typeof filesProcedures> {
  const { dataDir } = deps;
  const now = deps.now ?? Date.now;
  // old files and those cut off by an earlier run are pruned when a new one is made (store.ts newSlot), not at start-up
  const uploads = new Uploads(dataDir, deps.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES, now);
  return {
    'files.downloadInfo': ({ id }) => {
      const { name, size } = slotFile(dataDir, 'exports', id);
      return { id, name, size };
    },
    'files.downloadChunk': ({ id, offset, length }) => readChunk(dataDir, id, offset, length),
    'files.uploadBegin': ({ name, size }) => uploads.begin(name, size),
    'files.uploadChunk': ({ id, offset, bytes }) => uploads.chunk(id, offset, bytes),
    'files.uploadFinish': ({ id, sha256 }) => uploads.finish(id, sha256),
    'files.uploadCancel': ({ id }) => ({ cancelled: uploads.cancel(id) }),
  };
}
