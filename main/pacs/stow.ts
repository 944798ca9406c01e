// STOW-RS (PS3.18 10.5): DICOM files sent to a configured server's `/studies` as multipart/related, streamed from
// disk in requests of at most STOW_REQUEST_BYTES, and the server's answer read per instance: stored (Referenced SOP
// Sequence) or refused with its Failure Reason (Failed SOP Sequence). What the app sends back: its DICOM exports.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { isDicomPart10, readHead, sopInstanceUid } from './cache';
import { label, PacsError, readText, request, type Connection, type DicomJson } from './dicomweb';

/** enough for any file meta group */
const HEAD_BYTES = 4096;

/** one request's bytes at most (a server's upload limit is often 100 MB or more; an export is a few MB) */
const STOW_REQUEST_BYTES = 64 << 20;

export interface StowOutcome {
  stored: { file: string; sopInstanceUid: string }[];
  failed: { file: string; sopInstanceUid: string; reason: string }[];
  /** the POSTs made */
  requests: number;
}

const FAILURE_REASONS: Record<number, string> = {
  0x0110: 'processing failure',
  0x0122: 'SOP class not supported',
  0x0124: 'not authorized',
  0xa700: 'out of resources',
  0xa900: 'data set does not match SOP class',
  0xc000: 'cannot understand',
  0xc122: 'transfer syntax not supported',
};

/** Sends `files` (Part 10) to the server; a file that is not Part 10 is refused before anything is sent. */
export async function storeInstances(conn: Connection, files: string[], signal?: AbortSignal, requestBytes = STOW_REQUEST_BYTES): Promise<StowOutcome> {
  const entries = files.map((file) => {
    let head: Buffer;
    try {
      head = readHead(file, HEAD_BYTES);
    } catch (error) {
      throw new PacsError(`${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
    const uid = isDicomPart10(head) ? sopInstanceUid(head) : null;
    if (!uid) throw new PacsError(`${file}: not a DICOM Part 10 file with a SOP Instance UID; nothing was sent`);
    return { file, sopInstanceUid: uid, size: fs.statSync(file).size };
  });
  const outcome: StowOutcome = { stored: [], failed: [], requests: 0 };
  for (const batch of batches(entries, requestBytes)) {
    outcome.requests++;
    const answer = await send(conn, batch.map((e) => e.file), signal);
    const stored = new Set(answer.stored);
    const failed = new Map(answer.failed.map((f) => [f.sopInstanceUid, f.reason]));
    for (const e of batch) {
      if (stored.has(e.sopInstanceUid)) outcome.stored.push({ file: e.file, sopInstanceUid: e.sopInstanceUid });
      else outcome.failed.push({ file: e.file, sopInstanceUid: e.sopInstanceUid, reason: failed.get(e.sopInstanceUid) ?? 'not in the server\'s answer' });
    }
  }
  return outcome;
}

/** consecutive runs of files of at most `limit` bytes (a larger file alone) */
function batches<T extends { size: number }>(entries: T[], limit: number): T[][] {
  const out: T[][] = [];
  let bytes = 0;
  for (const e of entries) {
    if (!out.length || bytes + e.size > limit) {
      out.push([]);
      bytes = 0;
    }
    out.at(-1)!.push(e);
    bytes += e.size;
  }
  return out;
}

async function send(conn: Connection, files: string[], signal?: AbortSignal): Promise<{ stored: string[]; failed: { sopInstanceUid: string; reason: string }[] }> {
  const boundary = `sightline-${randomBytes(12).toString('hex')}`;
  const chunks = async function* () {
    for (const file of files) {
      yield Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`, 'latin1');
      for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) yield chunk as Buffer;
      yield Buffer.from('\r\n', 'latin1');
    }
    yield Buffer.from(`--${boundary}--\r\n`, 'latin1');
  };
  const res = await request(conn, '/studies', 'application/dicom+json', signal, {
    contentType: `multipart/related; type="application/dicom"; boundary=${boundary}`,
    chunks,
    acceptStatus: [409],
  });
  const text = await readText(res, conn.server, 16 << 20);
  let json: DicomJson;
  try {
    json = JSON.parse(text) as DicomJson;
  } catch (error) {
    throw new PacsError(`${label(conn.server)}: the STOW-RS answer (HTTP ${res.statusCode}) is not DICOM JSON (${(error as Error).message})`, res.statusCode ?? null, true);
  }
  const items = (tag: string) => (json?.[tag]?.Value ?? []) as DicomJson[];
  const uid = (item: DicomJson) => String(item['00081155']?.Value?.[0] ?? '');
  return {
    stored: items('00081199').map(uid),
    failed: items('00081198').map((item) => {
      const code = Number(item['00081197']?.Value?.[0]);
      return { sopInstanceUid: uid(item), reason: FAILURE_REASONS[code] ?? (Number.isFinite(code) ? `failure 0x${code.toString(16).toUpperCase()}` : 'refused') };
    }),
  };
}
