// The streaming multipart/related reader (main/pacs/multipart.ts): parts split at every possible chunk boundary,
// preamble, transport padding and epilogue, empty parts, body bytes that resemble the delimiter, a large part streamed
// (written out before the body ends, never held whole), and every kind of truncation as an error.
import { describe, expect, it } from 'vitest';
import { boundaryOf, MultipartError, readMultipart, type PartHeaders } from '../../../main/pacs/multipart';

const B = 'XyZ-123';

async function* chunks(body: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < body.length; i += size) yield body.subarray(i, i + size);
}

async function parse(source: AsyncIterable<Buffer>, boundary = B): Promise<{ headers: PartHeaders; body: Buffer }[]> {
  const parts: { headers: PartHeaders; body: Buffer[] }[] = [];
  let ended = 0;
  const n = await readMultipart(source, boundary, (headers) => {
    const p = { headers, body: [] as Buffer[] };
    parts.push(p);
    return { write: (c) => void p.body.push(c), end: () => void ended++ };
  });
  expect(n).toBe(parts.length);
  expect(ended).toBe(parts.length);
  return parts.map((p) => ({ headers: p.headers, body: Buffer.concat(p.body) }));
}

const BODY = Buffer.concat([
  Buffer.from(`preamble to ignore\r\n--${B}  \t\r\nContent-Type: application/dicom\r\nContent-Length: 5\r\n\r\n`),
  Buffer.from('hello'),
  Buffer.from(`\r\n--${B}\r\nContent-Type: application/dicom\r\n\r\n`),
  Buffer.from(''),
  Buffer.from(`\r\n--${B}\r\n\r\n`),
  Buffer.from([0, 1, 2, 13, 10, 45, 45, 255]),
  Buffer.from(`\r\n--${B}--\r\nepilogue to ignore --${B}`),
]);

describe('readMultipart', () => {
  it('reads the same parts whatever the chunk size (1 byte to the whole body)', async () => {
    for (const size of [1, 2, 3, 7, 10, 11, 13, 64, BODY.length]) {
      const parts = await parse(chunks(BODY, size));
      expect(parts.map((p) => p.body.toString('latin1')), `chunk size ${size}`).toEqual(['hello', '', '\0\x01\x02\r\n--\xff']);
      expect(parts[0].headers).toEqual({ 'content-type': 'application/dicom', 'content-length': '5' });
      expect(parts[2].headers).toEqual({});
    }
  });

  it('a body that starts with the delimiter (no preamble, no leading CRLF)', async () => {
    const body = Buffer.from(`--${B}\r\nContent-Type: application/dicom\r\n\r\nx\r\n--${B}--`);
    expect((await parse(chunks(body, 4))).map((p) => p.body.toString())).toEqual(['x']);
  });

  it('bytes in a part that look like the boundary without being the delimiter stay in the part', async () => {
    const inner = Buffer.from(`a\r\n--XyZ-12 not it\r\n-- XyZ-123 nor this`);
    const body = Buffer.concat([Buffer.from(`--${B}\r\n\r\n`), inner, Buffer.from(`\r\n--${B}--`)]);
    for (const size of [1, 5, 1000]) expect((await parse(chunks(body, size)))[0].body.equals(inner)).toBe(true);
  });

  it('streams a large part to its sink before the body has ended, in pieces', async () => {
    const size = 32 << 20;
    let sourceDone = false;
    let bytesBeforeEnd = 0;
    let received = 0;
    let writes = 0;
    async function* big(): AsyncGenerator<Buffer> {
      yield Buffer.from(`--${B}\r\nContent-Type: application/dicom\r\n\r\n`);
      const piece = Buffer.alloc(1 << 16, 7);
      for (let sent = 0; sent < size; sent += piece.length) yield piece;
      yield Buffer.from(`\r\n--${B}--\r\n`);
      sourceDone = true;
    }
    const n = await readMultipart(big(), B, () => ({
      write: (c) => {
        received += c.length;
        writes++;
        if (!sourceDone) bytesBeforeEnd = received;
      },
      end: () => {},
    }));
    expect(n).toBe(1);
    expect(received).toBe(size);
    expect(writes).toBeGreaterThan(100);
    expect(bytesBeforeEnd).toBeGreaterThan(size - (1 << 16) - 100);
  });

  it('a truncated body is an error: inside a part, after a part, no boundary at all', async () => {
    const cut = async (body: string) => parse(chunks(Buffer.from(body), 3)).then(() => 'parsed', (e: Error) => `${e.name}: ${e.message}`);
    expect(await cut(`--${B}\r\n\r\nhalf a part`)).toBe('MultipartError: the body is truncated: it ended inside part 1 (no closing boundary)');
    expect(await cut(`--${B}\r\nContent-Type: appl`)).toBe('MultipartError: the body is truncated: it ended inside part 1 (no closing boundary)');
    expect(await cut(`--${B}\r\n\r\none\r\n--${B}`)).toBe('MultipartError: the body is truncated: it ended after part 1 without the closing boundary');
    expect(await cut(`--${B}\r\n\r\none\r\n--${B}\r\n\r\ntwo`)).toBe('MultipartError: the body is truncated: it ended inside part 2 (no closing boundary)');
    expect(await cut('')).toBe('MultipartError: no multipart boundary in the body (an empty or truncated response)');
    expect(await cut('just text')).toBe('MultipartError: no multipart boundary in the body (an empty or truncated response)');
    expect(await cut(`--${B}junk\r\n`)).toBe('MultipartError: part 1: unexpected bytes after the boundary');
    expect(await cut(`--${B}\r\nno colon here\r\n\r\nx\r\n--${B}--`)).toBe('MultipartError: part 1: bad header line "no colon here"');
    expect(await cut(`--${B}\r\n${'X-Long: y\r\n'.repeat(2000)}`)).toBe('MultipartError: part 1: headers longer than 16384 bytes');
  });

  it("a sink's error stops the reading", async () => {
    const body = Buffer.from(`--${B}\r\n\r\none\r\n--${B}--`);
    await expect(readMultipart(chunks(body, 2), B, () => ({ write: () => Promise.reject(new Error('disk full')), end: () => {} }))).rejects.toThrow('disk full');
  });
});

describe('boundaryOf', () => {
  it('reads the boundary of a multipart/related content type, quoted or not', () => {
    expect(boundaryOf('multipart/related; type="application/dicom"; boundary=abc')).toBe('abc');
    expect(boundaryOf('Multipart/Related; boundary="a;b c"; type="application/dicom"')).toBe('a;b c');
  });
  it('refuses a missing or other content type, or no boundary', () => {
    expect(() => boundaryOf(undefined)).toThrow(MultipartError);
    expect(() => boundaryOf('application/json')).toThrow('the response is application/json, not multipart/related');
    expect(() => boundaryOf('multipart/related; type="application/dicom"')).toThrow('names no boundary');
  });
});
