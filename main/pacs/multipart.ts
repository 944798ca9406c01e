// A streaming multipart/related reader (RFC 2046 section 5.1) for WADO-RS: each part's body goes to a sink as it
// arrives, so that a study of any size passes through without being held in memory (only a tail shorter than the
// delimiter, plus one part's headers, is kept). A body that ends before the closing delimiter (`--boundary--`) is an
// error: a truncated transfer must never look like a shorter study.

export class MultipartError extends Error {
  override name = 'MultipartError';
}

/** Where one part's body goes: `write` as bytes arrive (awaited: back-pressure), `end` once the part is whole. */
export interface PartSink {
  write(chunk: Buffer): Promise<void> | void;
  end(): Promise<void> | void;
}

export interface PartHeaders {
  /** lower-cased header names */
  [name: string]: string;
}

/** The boundary of a `multipart/related; type="application/dicom"; boundary=...` content type, or an error. */
export function boundaryOf(contentType: string | undefined): string {
  if (!contentType) throw new MultipartError('the response has no Content-Type (expected multipart/related)');
  const [mediaType, ...params] = splitParams(contentType);
  if (mediaType.toLowerCase() !== 'multipart/related') throw new MultipartError(`the response is ${mediaType}, not multipart/related`);
  for (const p of params) {
    const eq = p.indexOf('=');
    if (eq < 0) continue;
    if (p.slice(0, eq).trim().toLowerCase() !== 'boundary') continue;
    let value = p.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    if (!value || value.length > 200) throw new MultipartError(`bad multipart boundary "${value}"`);
    return value;
  }
  throw new MultipartError('the multipart/related response names no boundary');
}

/** Splits a header value on `;` outside quotes. */
function splitParams(value: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (const ch of value) {
    if (ch === '"') quoted = !quoted;
    if (ch === ';' && !quoted) {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  out.push(cur.trim());
  return out;
}

const MAX_HEADER_BYTES = 16 * 1024;
const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');

/**
 * Reads a multipart body from `source` (any async iterable of bytes: a response stream), calling `open(headers,
 * index)` for each part and streaming its body into the sink it returns. Resolves with the number of parts once the
 * closing delimiter is read; rejects with a MultipartError when the body is truncated or malformed, or with the
 * sink's or the source's own error. A part whose sink was opened but not ended is the caller's to discard.
 */
export async function readMultipart(
  source: AsyncIterable<Buffer | Uint8Array | string>,
  boundary: string,
  open: (headers: PartHeaders, index: number) => PartSink | Promise<PartSink>,
): Promise<number> {
  // The first delimiter may start the body without the CRLF before it: match it with a CRLF prefixed.
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  let buf: Buffer = CRLF;
  type State = 'preamble' | 'after-delimiter' | 'headers' | 'body' | 'epilogue';
  let state = 'preamble' as State;
  let parts = 0;
  let sink: PartSink | null = null;

  const step = async (): Promise<boolean> => {
    switch (state) {
      case 'preamble': {
        const at = buf.indexOf(delimiter);
        if (at < 0) {
          buf = keepTail(buf, delimiter.length - 1);
          return false;
        }
        buf = buf.subarray(at + delimiter.length);
        state = 'after-delimiter';
        return true;
      }
      case 'after-delimiter': {
        // `--` closes the body; else optional transport padding (spaces, tabs), then CRLF
        if (buf.length < 2) return false;
        if (buf[0] === 0x2d && buf[1] === 0x2d) {
          state = 'epilogue';
          buf = Buffer.alloc(0);
          return false;
        }
        const eol = buf.indexOf(CRLF);
        if (eol < 0) {
          if (buf.length > 256) throw new MultipartError(`part ${parts + 1}: no line end after the boundary`);
          return false;
        }
        if (!/^[ \t]*$/.test(buf.subarray(0, eol).toString('latin1'))) throw new MultipartError(`part ${parts + 1}: unexpected bytes after the boundary`);
        buf = buf.subarray(eol + 2);
        state = 'headers';
        return true;
      }
      case 'headers': {
        // a part without headers starts with the empty line at once
        const end = buf.subarray(0, 2).equals(CRLF) ? -2 : buf.indexOf(HEADER_END);
        if (end === -1) {
          if (buf.length > MAX_HEADER_BYTES) throw new MultipartError(`part ${parts + 1}: headers longer than ${MAX_HEADER_BYTES} bytes`);
          return false;
        }
        const headers = parseHeaders(end < 0 ? '' : buf.subarray(0, end).toString('latin1'), parts + 1);
        buf = buf.subarray(end < 0 ? 2 : end + HEADER_END.length);
        sink = await open(headers, parts);
        state = 'body';
        return true;
      }
      case 'body': {
        const at = buf.indexOf(delimiter);
        if (at < 0) {
          // everything but a tail that could be the start of the delimiter goes to the sink now
          const safe = buf.length - (delimiter.length - 1);
          if (safe > 0) {
            await sink!.write(Buffer.from(buf.subarray(0, safe)));
            buf = buf.subarray(safe);
          }
          return false;
        }
        if (at > 0) await sink!.write(Buffer.from(buf.subarray(0, at)));
        await sink!.end();
        sink = null;
        parts++;
        buf = buf.subarray(at + delimiter.length);
        state = 'after-delimiter';
        return true;
      }
      case 'epilogue':
        buf = Buffer.alloc(0);
        return false;
    }
  };

  for await (const chunk of source) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    buf = buf.length ? Buffer.concat([buf, bytes]) : bytes;
    while (await step()) {
      /* as long as a step moves on */
    }
  }
  // (read through a function: the steps above change `state` where the compiler's narrowing does not look)
  const end = ((): State => state)();
  if (end === 'epilogue') return parts;
  if (end === 'preamble') throw new MultipartError('no multipart boundary in the body (an empty or truncated response)');
  if (end === 'body' || end === 'headers') throw new MultipartError(`the body is truncated: it ended inside part ${parts + 1} (no closing boundary)`);
  throw new MultipartError(`the body is truncated: it ended after part ${parts} without the closing boundary`);
}

function keepTail(buf: Buffer, n: number): Buffer {
  return buf.length > n ? Buffer.from(buf.subarray(buf.length - n)) : buf;
}

function parseHeaders(text: string, part: number): PartHeaders {
  const headers: PartHeaders = {};
  for (const line of text.split('\r\n')) {
    if (!line) continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new MultipartError(`part ${part}: bad header line "${line.slice(0, 80)}"`);
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}
