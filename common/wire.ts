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
