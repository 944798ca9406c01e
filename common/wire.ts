// Binary-aware message encoding for the HTTP transport: JSON with Uint8Array fields lifted out into a
// trailing binary section, so pixel data travels as raw bytes (no base64 inflation).
// Layout: [u32 LE json length][json utf-8][bytes of blob 0][bytes of blob 1]...
// A lifted array is replaced in the JSON by {"$blob": index, "length": n}.

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

export const WIRE_CONTENT_TYPE = 'application/x-sightline-wire';

export function encodeWire(value: unknown): Uint8Array {
  const blobs: Uint8Array[] = [];
  const json = JSON.stringify(value, (_key, v: unknown) => {
    if (v instanceof Uint8Array) {
      blobs.push(v);
      return { $blob: blobs.length - 1, length: v.byteLength };
    }
    return v;
  });
  const jsonBytes = textEncoder.encode(json);
  const total = 4 + jsonBytes.byteLength + blobs.reduce((n, b) => n + b.byteLength, 0);
  const out = new Uint8Array(total);
  new DataView(out.buffer).setUint32(0, jsonBytes.byteLength, true);
  out.set(jsonBytes, 4);
  let offset = 4 + jsonBytes.byteLength;
  for (const blob of blobs) {
    out.set(blob, offset);
    offset += blob.byteLength;
  }
  return out;
}

export function decodeWire(bytes: Uint8Array): unknown {
  if (bytes.byteLength < 4) throw new Error('wire message too short');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const jsonLength = view.getUint32(0, true);
  if (4 + jsonLength > bytes.byteLength) throw new Error('wire message truncated');
  const json = textDecoder.decode(bytes.subarray(4, 4 + jsonLength));
  const parsed: unknown = JSON.parse(json);
  // Blobs are laid out in the order they were lifted, which is JSON document order.
  let offset = 4 + jsonLength;
  const resolve = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(resolve);
    if (v && typeof v === 'object') {
      const rec = v as Record<string, unknown>;
      if (typeof rec.$blob === 'number' && typeof rec.length === 'number' && Object.keys(rec).length === 2) {
        const start = offset;
        offset += rec.length;
        if (offset > bytes.byteLength) throw new Error('wire blob out of range');
        return bytes.slice(start, offset);
      }
      const out: Record<string, unknown> = {};
      for (const [k, val] of Object.entries(rec)) out[k] = resolve(val);
      return out;
    }
    return v;
  };
  return resolve(parsed);
}

// Events over server-sent events (text only): JSON with each Uint8Array as {"$base64": "..."} (a heatmap.partial's
// map), decoded back to a Uint8Array by the browser. Electron's IPC carries Uint8Array as it is.

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Int16Array(128).fill(-1);
for (let i = 0; i < B64.length; i++) B64_INDEX[B64.charCodeAt(i)] = i;

export function toBase64(bytes: Uint8Array): string {
  const parts: string[] = [];
  const CHUNK = 3 * 4096;
  for (let start = 0; start < bytes.length; start += CHUNK) {
    const end = Math.min(bytes.length, start + CHUNK);
    let s = '';
    for (let i = start; i < end; i += 3) {
      const a = bytes[i];
      const b = i + 1 < end ? bytes[i + 1] : 0;
      const c = i + 2 < end ? bytes[i + 2] : 0;
      const n = (a << 16) | (b << 8) | c;
      s += B64[n >> 18] + B64[(n >> 12) & 63] + (i + 1 < end ? B64[(n >> 6) & 63] : '=') + (i + 2 < end ? B64[n & 63] : '=');
    }
    parts.push(s);
  }
  return parts.join('');
}

export function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  if (text.length % 4 !== 0) throw new Error('base64 text of a length not a multiple of 4');
  const pad = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((text.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    let n = 0;
    for (let j = 0; j < 4; j++) {
      const code = text.charCodeAt(i + j);
      const v = code === 61 /* = */ && i + j >= text.length - pad ? 0 : code < 128 ? B64_INDEX[code] : -1;
      if (v < 0) throw new Error('not base64');
      n = (n << 6) | v;
    }
    if (o < out.length) out[o++] = (n >> 16) & 255;
    if (o < out.length) out[o++] = (n >> 8) & 255;
    if (o < out.length) out[o++] = n & 255;
  }
  return out;
}

/** An event as the text of one server-sent event: JSON, Uint8Arrays as base64. */
export function encodeEventText(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (v instanceof Uint8Array ? { $base64: toBase64(v) } : v));
}

export function decodeEventText(text: string): unknown {
  return JSON.parse(text, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const rec = v as Record<string, unknown>;
      const keys = Object.keys(rec);
      if (keys.length === 1 && keys[0] === '$base64' && typeof rec.$base64 === 'string') return fromBase64(rec.$base64);
    }
    return v;
  });
}
