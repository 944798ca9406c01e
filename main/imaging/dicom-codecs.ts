// The compressed-pixel codecs: OpenJPEG (JPEG 2000), CharLS (JPEG-LS), libjpeg-turbo (8-bit JPEG) as emscripten
// WASM modules, and jpeg-lossless-decoder-js (JPEG lossless, process 14) in plain JS.
//
// The WASM modules are emscripten factories (`Factory(moduleArg) => Promise<Module>`). In Node they would find
// their .wasm next to the .js through __dirname, which breaks once bundled; so we read the .wasm ourselves and pass
// it as `wasmBinary`. Each module is instantiated lazily, once, and cached; a module that aborted (a WASM trap) is
// dropped so the next call starts a fresh one.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { DecodeProblem } from './types';

// Node's typings declare the WebAssembly namespace's types only; the constructor is a global all the same.
const WasmRuntimeError = (globalThis as unknown as { WebAssembly: { RuntimeError: ErrorConstructor } }).WebAssembly.RuntimeError;

export interface CodecFrame {
  width: number;
  height: number;
  components: number;
  bitsPerSample: number;
  signed: boolean;
  /** Raw sample bit patterns: 8-bit in a Uint8Array, wider samples in a Uint16Array. */
  data: Uint8Array | Uint16Array;
  /** Component order of `data` for components > 1. */
  layout: 'interleaved' | 'planar';
}

interface EmFrameInfo {
  width: number;
  height: number;
  bitsPerSample: number;
  componentCount: number;
  isSigned?: boolean;
}

interface EmDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  getDecodedBuffer(): Uint8Array;
  readHeader?(): void;
  decode(): void;
  getFrameInfo(): EmFrameInfo;
  getInterleaveMode?(): number;
  delete(): void;
}

interface EmModule {
  [decoderClass: string]: unknown;
  getExceptionMessage?: (ptr: number) => [string, string] | string;
}

type EmFactory = (moduleArg: { wasmBinary: Uint8Array; print?: (s: string) => void; printErr?: (s: string) => void }) => Promise<EmModule>;

type WasmCodec = 'openjpeg' | 'charls' | 'libjpeg-turbo';

const packages: Record<WasmCodec, { pkg: string; decoderClass: string }> = {
  openjpeg: { pkg: '@cornerstonejs/codec-openjpeg', decoderClass: 'J2KDecoder' },
  charls: { pkg: '@cornerstonejs/codec-charls', decoderClass: 'JpegLSDecoder' },
  'libjpeg-turbo': { pkg: '@cornerstonejs/codec-libjpeg-turbo-8bit', decoderClass: 'JPEGDecoder' },
};

const loaded = new Map<WasmCodec, Promise<EmModule>>();

function localRequire(): NodeJS.Require {
  return createRequire(import.meta.url);
}

/** jpeg-lossless-decoder-js ships no usable type declarations; this is the part we use. */
interface LosslessDecoder {
  numComp: number;
  xDim: number;
  yDim: number;
  precision: number | undefined;
  decode(buffer?: ArrayBuffer, offset?: number, length?: number, numBytes?: number): Uint8Array | Uint16Array;
}

let losslessCtor: (new () => LosslessDecoder) | null = null;

function newLosslessDecoder(): LosslessDecoder {
  if (!losslessCtor) {
    const mod = localRequire()('jpeg-lossless-decoder-js') as { Decoder: new () => LosslessDecoder };
    losslessCtor = mod.Decoder;
  }
  return new losslessCtor();
}

function loadModule(codec: WasmCodec): Promise<EmModule> {
  let p = loaded.get(codec);
  if (!p) {
    const { pkg } = packages[codec];
    p = (async () => {
      const req = localRequire();
      const factoryExport = req(`${pkg}/decodewasmjs`) as EmFactory | { default: EmFactory };
      const factory = typeof factoryExport === 'function' ? factoryExport : factoryExport.default;
      const wasmBinary = readFileSync(req.resolve(`${pkg}/decodewasm`));
      // print/printErr: keep the codec's own chatter (e.g. libjpeg warnings) off our stdout.
      return factory({ wasmBinary, print: () => undefined, printErr: () => undefined });
    })();
    p.catch(() => loaded.delete(codec));
    loaded.set(codec, p);
  }
  return p;
}

/** Loads every WASM codec now (optional: they otherwise load on first use). */
export async function preloadCodecs(): Promise<void> {
  await Promise.all((Object.keys(packages) as WasmCodec[]).map((c) => loadModule(c)));
}

function wasmErrorMessage(module: EmModule, err: unknown): string {
  if (typeof err === 'number' && module.getExceptionMessage) {
    try {
      const m = module.getExceptionMessage(err);
      return Array.isArray(m) ? m.filter(Boolean).join(': ') : String(m);
    } catch {
      /* fall through */
    }
  }
  if (err instanceof Error) return err.message;
  return String(err);
}

async function runWasmDecoder(codec: WasmCodec, label: string, encoded: Uint8Array): Promise<{ info: EmFrameInfo; data: Uint8Array; interleaveMode: number | null }> {
  const module = await loadModule(codec);
  const Ctor = module[packages[codec].decoderClass] as new () => EmDecoder;
  let decoder: EmDecoder | null = null;
  try {
    decoder = new Ctor();
    const input = decoder.getEncodedBuffer(encoded.length);
    input.set(encoded);
    decoder.decode();
    const info = decoder.getFrameInfo();
    const interleaveMode = decoder.getInterleaveMode ? decoder.getInterleaveMode() : null;
    // The decoded buffer is a view into the WASM heap: copy it out before the decoder is deleted.
    const data = decoder.getDecodedBuffer().slice();
    return { info: { ...info }, data, interleaveMode };
  } catch (err) {
    const message = wasmErrorMessage(module, err);
    if (err instanceof WasmRuntimeError || /abort/i.test(message)) loaded.delete(codec);
    throw new DecodeProblem(`${label} decoder failed: ${message}`, { cause: err });
  } finally {
    try {
      decoder?.delete();
    } catch {
      loaded.delete(codec);
    }
  }
}

function toSamples(bytes: Uint8Array, bitsPerSample: number): Uint8Array | Uint16Array {
  if (bitsPerSample <= 8) return bytes;
  // Emscripten heaps are little endian; make an aligned copy.
  const out = new Uint16Array(bytes.length >> 1);
  new Uint8Array(out.buffer).set(bytes.subarray(0, out.length * 2));
  return out;
}

function checkDecodedLength(label: string, info: EmFrameInfo, data: Uint8Array | Uint16Array): void {
  const expected = info.width * info.height * info.componentCount;
  if (data.length < expected) {
    throw new DecodeProblem(`${label} decoder returned ${data.length} samples, expected ${expected}`);
  }
}

export async function decodeJpeg2000(encoded: Uint8Array): Promise<CodecFrame> {
  const { info, data } = await runWasmDecoder('openjpeg', 'JPEG 2000', encoded);
  const samples = toSamples(data, info.bitsPerSample);
  checkDecodedLength('JPEG 2000', info, samples);
  return {
    width: info.width,
    height: info.height,
    components: info.componentCount,
    bitsPerSample: info.bitsPerSample,
    signed: Boolean(info.isSigned),
    data: samples,
    layout: 'interleaved',
  };
}

export async function decodeJpegLs(encoded: Uint8Array): Promise<CodecFrame> {
  const { info, data, interleaveMode } = await runWasmDecoder('charls', 'JPEG-LS', encoded);
  const samples = toSamples(data, info.bitsPerSample);
  checkDecodedLength('JPEG-LS', info, samples);
  return {
    width: info.width,
    height: info.height,
    components: info.componentCount,
    bitsPerSample: info.bitsPerSample,
    signed: false,
    data: samples,
    // CharLS returns interleave mode "none" planar, line and sample modes pixel-interleaved.
    layout: interleaveMode === 0 ? 'planar' : 'interleaved',
  };
}

/** 8-bit DCT JPEG (baseline and 8-bit extended). Colour is returned as interleaved RGB. */
export async function decodeJpeg8(encoded: Uint8Array): Promise<CodecFrame> {
  const { info, data } = await runWasmDecoder('libjpeg-turbo', 'JPEG', encoded);
  checkDecodedLength('JPEG', info, data);
  return {
    width: info.width,
    height: info.height,
    components: info.componentCount,
    bitsPerSample: 8,
    signed: false,
    data,
    layout: 'interleaved',
  };
}

/** JPEG lossless (process 14, any predictor), 2..16 bits, 1 or 3 components. */
export function decodeJpegLossless(encoded: Uint8Array): CodecFrame {
  const decoder = newLosslessDecoder();
  let out: Uint8Array | Uint16Array;
  try {
    // The decoder wants an ArrayBuffer; give it an exact copy so offsets are trivial.
    const copy = encoded.slice().buffer;
    out = decoder.decode(copy, 0, copy.byteLength);
  } catch (err) {
    throw new DecodeProblem(`JPEG lossless decoder failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const width = decoder.xDim;
  const height = decoder.yDim;
  const components = decoder.numComp;
  const precision = decoder.precision ?? (out instanceof Uint16Array ? 16 : 8);
  if (!(out instanceof Uint8Array) && !(out instanceof Uint16Array)) {
    throw new DecodeProblem('JPEG lossless decoder returned no pixels');
  }
  if (out.length < width * height * components) {
    throw new DecodeProblem(`JPEG lossless decoder returned ${out.length} samples, expected ${width * height * components}`);
  }
  return { width, height, components, bitsPerSample: precision, signed: false, data: out, layout: 'interleaved' };
}
