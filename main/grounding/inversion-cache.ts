// What grounding computes once per (image, bundle, inversion settings) and reuses for every phrase and variant:
// the U-Net input latents at the kept steps. Kept in memory (LRU, a few images) and on disk under the data
// directory (bounded, default 2 GB, least recently used evicted). A file is written to a temporary name and
// renamed, so a crash mid-write leaves no half file under the real name; a file that does not read back whole
// (wrong length, bad header) is deleted and recomputed.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const MAGIC = 'SLINV1';

export interface InversionKeyParts {
  imageSha256: string;
  bundleHash: string;
  numInferenceSteps: number;
  stepIndices: number[];
  clipSample: boolean;
  inversionPrompt: string;
  imageSize: number;
}

export function inversionKey(parts: InversionKeyParts): string {
  const { imageSha256, bundleHash, numInferenceSteps, stepIndices, clipSample, inversionPrompt, imageSize } = parts;
  const steps = [...stepIndices].sort((a, b) => a - b);
  return createHash('sha256')
    .update(JSON.stringify([imageSha256, bundleHash, numInferenceSteps, steps, clipSample, inversionPrompt, imageSize]))
    .digest('hex')
    .slice(0, 40);
}

export interface InversionCacheOptions {
  dir: string;
  maxBytes?: number;
  memoryEntries?: number;
}

export class InversionCache {
  private readonly memory = new Map<string, Float32Array>();
  private readonly maxBytes: number;
  private readonly memoryEntries: number;

  constructor(private readonly options: InversionCacheOptions) {
    this.maxBytes = options.maxBytes ?? 2 * 1024 ** 3;
    this.memoryEntries = options.memoryEntries ?? 8;
  }

  private file(key: string): string {
    return path.join(this.options.dir, `${key}.inv`);
  }

  get(key: string): Float32Array | null {
    const hit = this.memory.get(key);
    if (hit) {
      this.memory.delete(key);
      this.memory.set(key, hit);
      return hit;
    }
    const file = this.file(key);
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(file);
    } catch {
      return null;
    }
    const latents = decode(bytes);
    if (!latents) {
      fs.rmSync(file, { force: true });
      return null;
    }
    const now = new Date();
    fs.utimesSync(file, now, now); // recently used
    this.remember(key, latents);
    return latents;
  }

  set(key: string, latents: Float32Array): void {
    this.remember(key, latents);
    fs.mkdirSync(this.options.dir, { recursive: true });
    const tmp = `${this.file(key)}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, encode(latents));
    fs.renameSync(tmp, this.file(key));
    this.evict();
  }

  private remember(key: string, latents: Float32Array): void {
    this.memory.delete(key);
    this.memory.set(key, latents);
    while (this.memory.size > this.memoryEntries) this.memory.delete(this.memory.keys().next().value as string);
  }

  /** Oldest first until the folder is within its bound (temporary files of a crashed write go first). */
  private evict(): void {
    let entries: { file: string; bytes: number; used: number }[];
    try {
      entries = fs.readdirSync(this.options.dir).map((name) => {
        const file = path.join(this.options.dir, name);
        const st = fs.statSync(file);
        return { file, bytes: st.size, used: name.endsWith('.tmp') ? 0 : st.mtimeMs };
      });
    } catch {
      return;
    }
    let total = entries.reduce((n, e) => n + e.bytes, 0);
    entries.sort((a, b) => a.used - b.used);
    for (const e of entries) {
      if (total <= this.maxBytes && e.used > 0) break;
      if (e.used === 0 && Date.now() - fs.statSync(e.file).mtimeMs < 60_000) continue; // another writer's, still in flight
      fs.rmSync(e.file, { force: true });
      total -= e.bytes;
    }
  }
}

/** [magic 6 bytes][u32 LE count][count float32 LE][sha256 of the floats, 32 bytes] */
function encode(latents: Float32Array): Buffer {
  const body = Buffer.from(latents.buffer, latents.byteOffset, latents.byteLength);
  const head = Buffer.alloc(10);
  head.write(MAGIC, 0, 'ascii');
  head.writeUInt32LE(latents.length, 6);
  return Buffer.concat([head, body, createHash('sha256').update(body).digest()]);
}

function decode(bytes: Buffer): Float32Array | null {
  if (bytes.length < 42 || bytes.toString('ascii', 0, 6) !== MAGIC) return null;
  const count = bytes.readUInt32LE(6);
  if (bytes.length !== 10 + count * 4 + 32) return null;
  const body = bytes.subarray(10, 10 + count * 4);
  if (!createHash('sha256').update(body).digest().equals(bytes.subarray(10 + count * 4))) return null;
  return new Float32Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength));
}
