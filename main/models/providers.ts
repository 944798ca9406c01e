// ONNX Runtime execution providers: which ones the installed onnxruntime-node offers, which one a setting picks,
// the session options Sightline uses, and creating a session that falls back to CPU (with a message saying why)
// when the chosen provider does not start. Pure functions over onnxruntime-node and the file system, no database:
// the grounding worker thread imports this module as it is.
//
// Threads: `threads` 0 means Sightline's default, one intra-op thread. At batch 1 on the demo model (16 x 16
// latents, 128-wide text) every operator is small, so a second thread costs more in hand-over between threads than it
// saves: bench/demo-heatmap.bench.ts measured one thread fastest (`npx tsx bench/demo-heatmap.bench.ts --threads N`).
// Full-size models (the MONAI LDM: 64 x 64 latents, 1024-wide text) have operators big enough to share: set the
// thread count to the number of physical cores for them (models/README.md: 1.54 s per U-Net call with 2 threads).
// GPU providers run few nodes on the CPU, so the same default serves them. Inter-op parallelism stays off
// (the graphs are one chain of operators).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Types } from '../../common/contract';

export type ExecutionProvider = Types['ExecutionProvider'];
/** The `executionProvider` setting: a provider, or 'auto' (the best GPU provider that starts, else CPU). */
export type ProviderSetting = Types['Settings']['executionProvider'];
export type RuntimeInfo = Types['RuntimeInfo'];
export type SessionOptions = ort.InferenceSession.SessionOptions;

/** Intra-op threads when the `threads` setting is 0 (see the note at the top). */
export const DEFAULT_THREADS = 1;

/** What 'auto' tries, best first; CPU comes after all of them. */
export const GPU_PREFERENCE: readonly ExecutionProvider[] = ['cuda', 'dml', 'coreml', 'webgpu'];
/** What 'auto' tries before the CPU: the native GPU providers. */
export const AUTO_PREFERENCE: readonly ExecutionProvider[] = ['cuda', 'dml', 'coreml'];

export const PROVIDER_LABELS: Readonly<Record<ExecutionProvider, string>> = {
  cpu: 'CPU',
  cuda: 'CUDA',
  dml: 'DirectML',
  coreml: 'CoreML',
  webgpu: 'WebGPU',
};

/** A backend as `listSupportedBackends()` of onnxruntime-node names it. */
export interface BackendInfo {
  name: string;
  /** shipped inside the npm package; otherwise it needs a provider library installed beside the binding */
  bundled: boolean;
}

/** Provider libraries that onnxruntime-node's install script (or the user) puts beside the binding. */
const PROVIDER_LIBRARIES: Partial<Record<ExecutionProvider, readonly string[]>> = {
  cuda: ['libonnxruntime_providers_cuda.so', 'onnxruntime_providers_cuda.dll'],
};

const KNOWN = new Set<string>(['cpu', ...GPU_PREFERENCE]);

/** The folder of onnxruntime-node's native binding for this platform (in a packaged app: the unpacked copy). */
export function bindingDirectory(): string {
  const entry = createRequire(__filename).resolve('onnxruntime-node');
  const dir = path.join(path.dirname(entry), '..', 'bin', 'napi-v6', process.platform, process.arch);
  const unpacked = dir.replace(/app\.asar([\\/])/, 'app.asar.unpacked$1');
  return existsSync(unpacked) ? unpacked : dir;
}

/** The backends the installed onnxruntime-node was built with (CPU alone when the binding cannot say). */
export function supportedBackends(): BackendInfo[] {
  try {
    return ort.listSupportedBackends().map((b) => ({ name: b.name, bundled: b.bundled }));
  } catch {
    return [{ name: 'cpu', bundled: true }];
  }
}

function providerLibraryPresent(provider: ExecutionProvider): boolean {
  const names = PROVIDER_LIBRARIES[provider];
  if (!names) return false;
  try {
    const dir = bindingDirectory();
    return names.some((n) => existsSync(path.join(dir, n)));
  } catch {
    return false;
  }
}

/**
 * The providers this machine's onnxruntime-node offers: CPU always, then (in the order 'auto' tries them) each
 * backend that is bundled or whose provider library is installed. Offered is not the same as working: a GPU
 * provider may still fail to start (no GPU, no driver, no adapter); `createSession` falls back then.
 */
export function availableProviders(
  backends: readonly BackendInfo[] = supportedBackends(),
  hasLibrary: (provider: ExecutionProvider) => boolean = providerLibraryPresent,
): ExecutionProvider[] {
  const offered = new Set<ExecutionProvider>(['cpu']);
  for (const b of backends) {
    const name = b.name.toLowerCase();
    if (!KNOWN.has(name)) continue; // tensorrt and the like: not offered by Sightline
    const provider = name as ExecutionProvider;
    if (b.bundled || hasLibrary(provider)) offered.add(provider);
  }
  return (['cpu', ...GPU_PREFERENCE] as ExecutionProvider[]).filter((p) => offered.has(p));
}

export interface ProviderChoice {
  /** the providers to try, in order; always ends with CPU */
  candidates: ExecutionProvider[];
  /** why the setting cannot be followed before anything is tried (a provider this machine does not offer) */
  notice: string | null;
}

/** What the `executionProvider` setting asks for on a machine that offers `available`. */
export function chooseProviders(setting: ProviderSetting, available: readonly ExecutionProvider[]): ProviderChoice {
  // WebGPU (Dawn) is left to an explicit choice: it is young in onnxruntime-node, and on a machine without a GPU
  // driver it prints Vulkan warnings before failing, on every start
  if (setting === 'auto') return { candidates: [...AUTO_PREFERENCE.filter((p) => available.includes(p)), 'cpu'], notice: null };
  if (setting === 'cpu') return { candidates: ['cpu'], notice: null };
  if (available.includes(setting)) return { candidates: [setting, 'cpu'], notice: null };
  const hint =
    setting === 'cuda'
      ? ' (install its libraries for CUDA 12: ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js)'
      : '';
  return { candidates: ['cpu'], notice: `${PROVIDER_LABELS[setting]} is not offered by the installed ONNX Runtime on this machine${hint}; running on CPU` };
}

/** The intra-op thread count a `threads` setting means (0: Sightline's default). */
export function resolveThreads(threads: number): number {
  return Number.isInteger(threads) && threads > 0 ? threads : DEFAULT_THREADS;
}

/** Session options for one provider and a `threads` setting. */
export function sessionOptions(provider: ExecutionProvider, threads: number): SessionOptions {
  return {
    executionProviders: [provider],
    intraOpNumThreads: resolveThreads(threads),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    // ONNX Runtime's own error lines for a provider that fails to start would repeat what the fallback says
    logSeverityLevel: 3,
  };
}

/** One line of an ONNX Runtime error, without its C++ source location. */
export function shortError(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  let line = text.split('\n').find((l) => l.trim()) ?? text;
  line = line.replace(/^\s*\[[^\]]*\]\s*/, '');
  line = line.replace(/^\S*\.(cc|cpp|h):\d+\s+/, '');
  const falseAt = line.indexOf(' was false. ');
  if (falseAt >= 0) line = line.slice(falseAt + ' was false. '.length);
  line = line.trim();
  return line.length > 240 ? `${line.slice(0, 237)}...` : line;
}

export type SessionFactory = (model: string | Uint8Array, options: SessionOptions) => Promise<ort.InferenceSession>;

const defaultFactory: SessionFactory = (model, options) =>
  typeof model === 'string' ? ort.InferenceSession.create(model, options) : ort.InferenceSession.create(model, options);

/** Providers that failed to start in this process, with why: later sessions go straight to the next candidate. */
const processFailures = new Map<ExecutionProvider, string>();

/** Forgets the providers that failed to start (tests; a driver installed while the app runs). */
export function forgetProviderFailures(): void {
  processFailures.clear();
}

export interface CreateSessionOptions {
  setting: ProviderSetting;
  threads: number;
  /** default: `availableProviders()` */
  available?: readonly ExecutionProvider[];
  /** default: `ort.InferenceSession.create` */
  create?: SessionFactory;
  /** extra session options (they cannot change the provider or the threads) */
  extra?: SessionOptions;
  /** providers known not to start (default: this process's record) */
  failures?: Map<ExecutionProvider, string>;
}

export interface CreatedSession {
  session: ort.InferenceSession;
  provider: ExecutionProvider;
  /** intra-op threads the session runs with */
  threads: number;
  /** why the session is not on the provider the setting asked for (null: it is) */
  fallback: string | null;
}

/**
 * Creates a session on the provider the setting picks; when that provider fails to start, tries the next candidate
 * and finally CPU, saying why in `fallback`. Throws only when CPU fails too (then the model itself is at fault).
 */
export async function createSession(model: string | Uint8Array, opts: CreateSessionOptions): Promise<CreatedSession> {
  const available = opts.available ?? availableProviders();
  const create = opts.create ?? defaultFactory;
  const failures = opts.failures ?? processFailures;
  const { candidates, notice } = chooseProviders(opts.setting, available);
  const reasons: string[] = notice ? [notice.replace(/; running on CPU$/, '')] : [];
  const failedHere: [ExecutionProvider, string][] = [];
  const threads = resolveThreads(opts.threads);
  for (const provider of candidates) {
    if (provider !== 'cpu') {
      const known = failures.get(provider);
      if (known !== undefined) {
        reasons.push(`${PROVIDER_LABELS[provider]} did not start (${known})`);
        continue;
      }
    }
    try {
      const session = await create(model, { ...opts.extra, ...sessionOptions(provider, threads) });
      // a provider that failed where CPU starts is the provider's fault, not the model's: remember it
      for (const [p, why] of failedHere) failures.set(p, why);
      const fallback = reasons.length ? `${reasons.join('; ')}; running on ${PROVIDER_LABELS[provider]}` : null;
      return { session, provider, threads, fallback };
    } catch (err) {
      if (provider === 'cpu') throw err;
      const why = shortError(err);
      failedHere.push([provider, why]);
      reasons.push(`${PROVIDER_LABELS[provider]} did not start (${why})`);
    }
  }
  throw new Error('no execution provider to try'); // unreachable: the candidates end with CPU
}

// ------------------------------------------------------------------------------------------------ the probe model
// A one-operator ONNX graph (y = Relu(x), float32 [1, 4], opset 17), written here byte by byte so that asking which
// provider starts needs no model file.

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}
const field = (no: number, wire: number) => varint((no << 3) | wire);
const int = (no: number, v: number) => [...field(no, 0), ...varint(v)];
const bytes = (no: number, payload: number[]) => [...field(no, 2), ...varint(payload.length), ...payload];
const str = (no: number, s: string) => bytes(no, [...Buffer.from(s, 'utf8')]);

function floatTensorInfo(name: string): number[] {
  const shape = [...bytes(1, int(1, 1)), ...bytes(1, int(1, 4))]; // TensorShapeProto.dim: [1, 4]
  const tensor = [...int(1, 1), ...bytes(2, shape)]; // elem_type FLOAT, shape
  return [...str(1, name), ...bytes(2, bytes(1, tensor))]; // ValueInfoProto { name, type { tensor_type } }
}

/** The probe graph's bytes (ModelProto). */
export function probeModel(): Uint8Array {
  const node = [...str(1, 'x'), ...str(2, 'y'), ...str(3, 'relu'), ...str(4, 'Relu')];
  const graph = [...bytes(1, node), ...str(2, 'sightline-probe'), ...bytes(11, floatTensorInfo('x')), ...bytes(12, floatTensorInfo('y'))];
  const opset = [...str(1, ''), ...int(2, 17)];
  return Uint8Array.from([...int(1, 8), ...str(2, 'sightline'), ...bytes(7, graph), ...bytes(8, opset)]);
}

/**
 * What `models.runtime` answers: the providers offered, the one a session created now with this setting runs on
 * (found by starting the probe graph on it and running it once), the threads and any fallback.
 */
export async function probeRuntime(setting: ProviderSetting, threads: number, opts: Omit<CreateSessionOptions, 'setting' | 'threads'> = {}): Promise<RuntimeInfo> {
  const available = opts.available ?? availableProviders();
  const created = await createSession(probeModel(), { ...opts, available, setting, threads });
  try {
    await created.session.run({ x: new ort.Tensor('float32', Float32Array.from([-1, 0, 1, 2]), [1, 4]) });
  } finally {
    await created.session.release();
  }
  return { available: [...available], active: created.provider, threads: created.threads, fallback: created.fallback };
}
