// The checks behind a bundle's verification, each answering in plain words that name the file: reading and
// parsing manifest.json, where the files it lists may live, streaming sha256 (cancellable, with progress by bytes),
// and comparing an ONNX graph's inputs and outputs, as ONNX Runtime opens it, with what the manifest says.
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { BUNDLE_FORMAT, BUNDLE_FORMAT_VERSION, BundleManifest, type GraphSpec, type TensorSpec } from '../../common/model-bundle';
import { shortError } from './providers';

export const MANIFEST_FILE = 'manifest.json';

/** The graphs a bundle's manifest describes under `onnx`. */
export const GRAPHS = ['vae_encoder', 'text_encoder', 'unet', 'unet_attention'] as const;

export type ParsedManifest =
  | { ok: true; manifest: BundleManifest; bytes: Buffer; hash: string }
  | { ok: false; problem: string; bytes: Buffer | null; hash: string | null };

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Reads and parses `<dir>/manifest.json` (a few kB); a problem names the file and says what is wrong, never throws. */
export function readManifest(dir: string): ParsedManifest {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path.join(dir, MANIFEST_FILE));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'missing (every bundle needs one)' : `cannot be read (${(err as Error).message})`;
    return { ok: false, problem: `${MANIFEST_FILE}: ${why}`, bytes: null, hash: null };
  }
  return parseManifest(bytes);
}

export function parseManifest(bytes: Buffer): ParsedManifest {
  const hash = sha256Hex(bytes);
  const fail = (why: string): ParsedManifest => ({ ok: false, problem: `${MANIFEST_FILE}: ${why}`, bytes, hash });
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    return fail(`not valid JSON (${(err as Error).message})`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return fail('not a JSON object');
  const obj = raw as Record<string, unknown>;
  if (obj.format !== BUNDLE_FORMAT) return fail(`not a Sightline model bundle (format is ${JSON.stringify(obj.format ?? null)}, expected "${BUNDLE_FORMAT}")`);
  // a newer format may have changed anything else: say that, not what no longer parses
  if (typeof obj.format_version === 'number' && obj.format_version > BUNDLE_FORMAT_VERSION) {
    return fail(`format_version ${obj.format_version} is newer than this Sightline reads (${BUNDLE_FORMAT_VERSION}); update Sightline`);
  }
  const parsed = BundleManifest.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => (i.path.length ? `${i.path.map(String).join('.')}: ${i.message}` : i.message));
    return fail(summarise(issues));
  }
  const unsafe = Object.keys(parsed.data.files).find((f) => !isInsideBundle(f));
  if (unsafe !== undefined) return fail(`lists ${JSON.stringify(unsafe)}, which is not a path inside the bundle`);
  if (MANIFEST_FILE in parsed.data.files) return fail(`lists ${MANIFEST_FILE} among its own files`);
  return { ok: true, manifest: parsed.data, bytes, hash };
}

/** A relative path that stays inside the bundle directory on every platform. */
export function isInsideBundle(file: string): boolean {
  if (!file || file.includes('\0') || file.includes('\\') || path.posix.isAbsolute(file) || path.win32.isAbsolute(file)) return false;
  const parts = file.split('/');
  return parts.every((p) => p !== '' && p !== '.' && p !== '..');
}

/** Several problems in one line: the first five, then how many more. */
export function summarise(problems: readonly string[]): string {
  if (problems.length <= 5) return problems.join('; ');
  return `${problems.slice(0, 5).join('; ')}; and ${problems.length - 5} more`;
}

export interface HashOptions {
  signal?: AbortSignal;
  /** called with the bytes of each chunk as it is hashed */
  onBytes?: (n: number) => void;
}

/** sha256 of a file, streamed in 4 MiB chunks; rejects with the signal's reason when it is aborted. */
export async function hashFile(file: string, opts: HashOptions = {}): Promise<string> {
  opts.signal?.throwIfAborted();
  const hash = createHash('sha256');
  const stream = createReadStream(file, { highWaterMark: 4 << 20 });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      opts.signal?.throwIfAborted();
      hash.update(chunk);
      opts.onBytes?.(chunk.length);
    }
  } finally {
    stream.destroy();
  }
  return hash.digest('hex');
}

export function sizeProblem(file: string, actual: number, listed: number): string {
  return actual < listed
    ? `${file}: truncated (${actual} bytes, the manifest lists ${listed})`
    : `${file}: ${actual} bytes, the manifest lists ${listed} (damaged or replaced)`;
}

export const missingProblem = (file: string): string => `${file}: missing (listed in ${MANIFEST_FILE})`;
export const tamperedProblem = (file: string): string => `${file}: sha256 differs from the manifest (tampered or damaged)`;

const showShape = (shape: readonly (number | string)[]): string => `[${shape.join(',')}]`;

/** What a session says of one input or output. */
export interface GraphValue {
  name: string;
  isTensor: boolean;
  type?: string;
  shape?: readonly (number | string)[];
}

/**
 * Problems of a graph's inputs or outputs against the manifest's list: names (either way), dtypes, ranks, and dims:
 * "batch" must be dynamic in the graph; a number must be that number, or dynamic (the graph then accepts it).
 */
export function compareValues(file: string, kind: 'input' | 'output', actual: readonly GraphValue[], listed: readonly TensorSpec[]): string[] {
  const problems: string[] = [];
  const byName = new Map(actual.map((v) => [v.name, v]));
  for (const spec of listed) {
    const v = byName.get(spec.name);
    if (!v) {
      problems.push(`${file}: the graph has no ${kind} "${spec.name}" (${MANIFEST_FILE} lists it)`);
      continue;
    }
    if (!v.isTensor || !v.type || !v.shape) {
      problems.push(`${file}: ${kind} "${spec.name}" is not a tensor in the graph`);
      continue;
    }
    if (v.type !== spec.dtype) problems.push(`${file}: ${kind} "${spec.name}" is ${v.type} in the graph, ${MANIFEST_FILE} says ${spec.dtype}`);
    const shapeDiffers =
      v.shape.length !== spec.shape.length ||
      spec.shape.some((want, i) => {
        const got = v.shape![i];
        return want === 'batch' ? typeof got === 'number' : typeof got === 'number' && got !== want;
      });
    if (shapeDiffers) problems.push(`${file}: ${kind} "${spec.name}" is ${showShape(v.shape)} in the graph, ${MANIFEST_FILE} says ${showShape(spec.shape)}`);
  }
  const listedNames = new Set(listed.map((s) => s.name));
  for (const v of actual) {
    if (!listedNames.has(v.name)) {
      problems.push(
        kind === 'input'
          ? `${file}: the graph needs an input "${v.name}" that ${MANIFEST_FILE} does not list`
          : `${file}: the graph has an output "${v.name}" that ${MANIFEST_FILE} does not list`,
      );
    }
  }
  return problems;
}

/** Opens the graph with ONNX Runtime (CPU, no optimisation: only its interface is read) and compares it with the manifest. */
export async function checkGraph(dir: string, spec: GraphSpec): Promise<string[]> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(path.join(dir, spec.file), {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'disabled',
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      logSeverityLevel: 3,
    });
  } catch (err) {
    return [`${spec.file}: ONNX Runtime cannot open it (${shortError(err)})`];
  }
  try {
    const values = (meta: readonly ort.InferenceSession.ValueMetadata[]): GraphValue[] =>
      meta.map((m) => (m.isTensor ? { name: m.name, isTensor: true, type: m.type, shape: m.shape } : { name: m.name, isTensor: false }));
    return [
      ...compareValues(spec.file, 'input', values(session.inputMetadata), spec.inputs),
      ...compareValues(spec.file, 'output', values(session.outputMetadata), spec.outputs),
    ];
  } finally {
    await session.release();
  }
}
