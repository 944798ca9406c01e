// STOW-RS (PS3.18 10.5): DICOM files sent to a configured server's `/studies` as multipart/related, streamed from
// disk in requests of at most STOW_REQUEST_BYTES, and the server's answer read per instance: stored (Referenced SOP
// Sequence) or refused with its Failure Reason (Failed SOP Sequence). What the app sends back: its DICOM exports.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { label, PacsError, readText, request, type Connection, type DicomJson } from './dicomweb';

/** one request's bytes at most (a server's upload limit is often 100 MB or more; an export is a few MB) */
export const STOW_REQUEST_BYTES = 64 << 20;

export interface StowOutcome {
  stored: { file: string; sopInstanceUid: string }[];
  failed: { file: string; sopInstanceUid: string; reason: string }[];
  /** the POSTs made */
  requests: number;
}

/** the SOP Instance UID of a Part 10 file, from its file meta (Media Storage SOP Instance UID), or '' */
export function sopInstanceUidOf(bytes: Uint8Array): string {
  if (bytes.length < 140 || Buffer.from(bytes.subarray(128, 132)).toString('latin1') !== 'DICM') return '';
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 132; at + 8 <= view.length && view.readUInt16LE(at) === 0x0002; ) {
    const element = view.readUInt16LE(at + 2);
    const vr = view.toString('latin1', at + 4, at + 6);
    const long = ['OB', 'OW', 'OF', 'SQ', 'UT', 'UN'].includes(vr);
    const length = long ? view.readUInt32LE(at + 8) : view.readUInt16LE(at + 6);
    const start = at + (long ? 12 : 8);
    if (element === 0x0003) return view.toString('latin1', start, start + length).replace(/[\0 ]+$/, '');
    at = start + length;
  }
  return '';
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
      const fd = fs.openSync(file, 'r');
      head = Buffer.alloc(4096);
      head = head.subarray(0, fs.readSync(fd, head, 0, head.length, 0));
      fs.closeSync(fd);
    } catch (error) {
      throw new PacsError(`${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
    const sopInstanceUid = sopInstanceUidOf(head);
    if (!sopInstanceUid) throw new PacsError(`${file}: not a DICOM Part 10 file with a SOP Instance UID; nothing was sent`);
    return { file, sopInstanceUid, size: fs.statSync(file).size };
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
