// The model registry: the bundles shipped with the app (`<repo>/models/*/`, `resources/models` when packaged) and
// those the user added (`<data-dir>/models/*/`), each with its verification.
//
// Verification hashes every file the manifest lists once (streamed, cancellable) and records the sha256 with the
// file's size and mtime (migration 0003); afterwards a file is trusted while both are unchanged. A missing or
// truncated file shows at once (a stat); a tampered one once it is hashed; a graph whose inputs or outputs differ
// from the manifest once ONNX Runtime has opened it. The verdict is kept for the manifest it was reached with.
// `open()` (the grounding pipeline's entry) verifies first when the check is missing or stale, then trusts it.
import type { Stats } from 'node:fs';
import path from 'node:path';
import { RpcError, type Types } from '../../common/contract';
import type { BundleManifest, GraphSpec } from '../../common/model-bundle';
import type { Db } from '../db/database';
import { getModelCheck, getModelFileChecks, saveModelCheck, saveModelFileCheck } from '../db/models-repo';
import { addBundle, planAdd, type AddPlan } from './add-bundle';
import { bundleFolders, statFile } from './folders';
import { defaultVariantName, variantNote } from './presets';
import { withMergedVariants } from './tuned-variants';
import {
  GRAPHS,
  MANIFEST_FILE,
  checkGraph,
  hashFile,
  missingProblem,
  readManifest,
  sizeProblem,
  summarise,
  tamperedProblem,
  type ParsedManifest,
} from './verify';

/** The shipped demo model: what `open(null)` gives. */
export const DEMO_MODEL_NAME = 'sightline-demo-ldm';

type ModelInfo = Types['ModelInfo'];
export type ModelCheck = Types['ModelInfo']['check'];
export type ModelSource = Types['ModelInfo']['source'];

export type GraphChecker = (dir: string, spec: GraphSpec) => Promise<string[]>;

export interface LoadedBundle {
  name: string;
  version: string;
  dir: string;
  source: 'shipped' | 'user';
  manifest: BundleManifest;
  /** sha256 of manifest.json's bytes (it lists every file's sha256) */
  hash: string;
}

/** A folder of the shipped or the user models directory. */
export interface BundleEntry {
  /** the manifest's name; for a folder without a usable manifest, or a second bundle of a taken name, a stand-in */
  name: string;
  dir: string;
  source: ModelSource;
  manifest: BundleManifest | null;
  /** sha256 of manifest.json's bytes (null: unreadable) */
  hash: string | null;
  /** why the bundle cannot be used whatever its files hold (its manifest; a name already taken) */
  problem: string | null;
}

export interface VerifyProgress {
  /** bytes hashed so far, of `total` */
  done: number;
  total: number;
  message: string;
}

export interface VerifyOptions {
  signal?: AbortSignal;
  onProgress?: (p: VerifyProgress) => void;
  /** hash every file again even when its record is trusted (default: true for `verify`) */
  force?: boolean;
}

export interface AddResult {
  name: string;
  dir: string;
  check: ModelCheck;
}

/** A bundle folder name: the manifest name must be usable as one. */
interface SharedVerify {
  promise: Promise<ModelCheck>;
  controller: AbortController;
  waiters: number;
}

export class ModelRegistry {
  readonly shippedDir: string;
  readonly userDir: string;
  /** `<data-dir>/variants`: tuned variant files merged into a bundle's grounding (tuned-variants.ts); null: none */
  readonly variantsDir: string | null;
  /** what this registry has hashed (the evidence that a trusted file is not read again) */
  readonly stats = { filesHashed: 0, bytesHashed: 0 };
  private readonly db: Db;
  private readonly manifests = new Map<string, { size: number; mtimeMs: number; parsed: ParsedManifest }>();
  private readonly shared = new Map<string, SharedVerify>();

  /** Opens a graph and compares it with the manifest (the app runs it on the worker pool: opening a 1 GB graph
   * blocks the thread that does it). */
  readonly checkGraph: GraphChecker;

  constructor(opts: { db: Db; shippedDir: string; userDir: string; variantsDir?: string; checkGraph?: GraphChecker }) {
    this.db = opts.db;
    this.checkGraph = opts.checkGraph ?? checkGraph;
    this.shippedDir = path.resolve(opts.shippedDir);
    this.userDir = path.resolve(opts.userDir);
    this.variantsDir = opts.variantsDir ? path.resolve(opts.variantsDir) : null;
  }

  /** Every bundle folder, shipped first; names are unique (a later bundle of a taken name is failed, renamed). A
   * manifest's grounding includes the usable tuned variant files and the derived presets (tuned-variants.ts, presets.ts). */
  entries(): BundleEntry[] {
    const out: BundleEntry[] = [];
    const taken = new Map<string, BundleEntry>();
    for (const [source, root] of [['shipped', this.shippedDir], ['user', this.userDir]] as const) {
      for (const folder of bundleFolders(root)) {
        const dir = path.join(root, folder);
        const parsed = this.manifestOf(dir);
        const entry: BundleEntry = parsed.ok
          ? { name: parsed.manifest.name, dir, source, manifest: withMergedVariants({ dir, manifest: parsed.manifest }, this.variantsDir), hash: parsed.hash, problem: null }
          : { name: folder, dir, source, manifest: null, hash: parsed.hash, problem: parsed.problem };
        const owner = taken.get(entry.name);
        if (owner) {
          if (entry.manifest) {
            entry.problem = `${MANIFEST_FILE}: the name "${entry.name}" is already taken by the ${owner.source} bundle in ${owner.dir}; rename this one in its ${MANIFEST_FILE}`;
          }
          let n = 2;
          const base = `${entry.name} (${source}/${folder})`;
          entry.name = base;
          while (taken.has(entry.name)) entry.name = `${base} ${n++}`;
        }
        taken.set(entry.name, entry);
        out.push(entry);
      }
    }
    return out;
  }

  list(): ModelInfo[] {
    return this.entries().map((e) => this.info(e));
  }

  /** One bundle's listing (RpcError not_found for an unknown name). */
  get(name: string): ModelInfo {
    return this.info(this.entry(name));
  }

  /** The bundle of that name; null: the shipped demo model. RpcError('not_found') when there is none. */
  entry(name: string | null): BundleEntry {
    const entries = this.entries();
    if (name === null) {
      const demo = entries.find((e) => e.source === 'shipped' && e.name === DEMO_MODEL_NAME);
      if (!demo) throw new RpcError('not_found', `the demo model (${DEMO_MODEL_NAME}) is not installed in ${this.shippedDir}`);
      return demo;
    }
    const found = entries.find((e) => e.name === name);
    if (!found) {
      const known = entries.map((e) => e.name).join(', ') || 'none';
      throw new RpcError('not_found', `no model named "${name}" (installed: ${known})`, { name });
    }
    return found;
  }

  /** The check as recorded, trusting recorded hashes of files whose size and mtime are unchanged (no hashing). */
  check(entry: BundleEntry): ModelCheck {
    if (entry.problem || !entry.manifest || !entry.hash) return { state: 'failed', problem: entry.problem, checkedAt: null };
    const verdict = getModelCheck(this.db, entry.dir);
    const rows = new Map(getModelFileChecks(this.db, entry.dir).map((r) => [r.file, r]));
    const problems: string[] = [];
    let stale = !verdict || verdict.manifestSha256 !== entry.hash;
    for (const [file, listed] of Object.entries(entry.manifest.files)) {
      const st = statFile(path.join(entry.dir, file));
      if (!st) problems.push(missingProblem(file));
      else if (st.size !== listed.bytes) problems.push(sizeProblem(file, st.size, listed.bytes));
      else {
        const row = rows.get(file);
        if (row && row.size === st.size && row.mtimeMs === st.mtimeMs) {
          if (row.sha256 !== listed.sha256) problems.push(tamperedProblem(file));
        } else stale = true;
      }
    }
    const checkedAt = verdict?.checkedAt ?? null;
    if (problems.length) return { state: 'failed', problem: summarise(problems), checkedAt };
    if (stale || !verdict) return { state: 'unverified', problem: null, checkedAt };
    return { state: verdict.state, problem: verdict.problem, checkedAt };
  }

  /** Verifies the named bundle (by default hashing every file again) and records the verdict. */
  async verify(name: string, opts: VerifyOptions = {}): Promise<ModelCheck> {
    return this.verifyEntry(this.entry(name), { ...opts, force: opts.force ?? true });
  }

  /**
   * The bundle by name (null: the demo model, i.e. the shipped one named in DEMO_MODEL_NAME = 'sightline-demo-ldm'),
   * verified first if its check is missing or stale (hashing once, then trusting size+mtime). Throws
   * RpcError('not_found') for an unknown name, RpcError('bad_file', problem naming the file) for a failed check.
   */
  async open(name: string | null, signal?: AbortSignal): Promise<LoadedBundle> {
    const entry = this.entry(name);
    let check = this.check(entry);
    if (check.state === 'unverified') check = await this.verifyShared(entry, signal);
    if (check.state !== 'ok' || !entry.manifest || !entry.hash) {
      const problem = check.problem ?? 'failed verification';
      throw new RpcError('bad_file', `model "${entry.name}" (${entry.dir}): ${problem}`, { name: entry.name, dir: entry.dir, problem });
    }
    const { manifest } = entry;
    return { name: manifest.name, version: manifest.version, dir: entry.dir, source: entry.source, manifest, hash: entry.hash };
  }

  /** Checks a bundle folder before it is added (add-bundle.ts). */
  planAdd(sourceDir: string): AddPlan {
    return planAdd(this, sourceDir);
  }

  /** Copies a bundle folder into the user models directory and records it verified (add-bundle.ts). */
  add(sourceDir: string, opts: Omit<VerifyOptions, 'force'> = {}): Promise<AddResult> {
    return addBundle(this, this.db, sourceDir, opts);
  }

  private info(e: BundleEntry): ModelInfo {
    const m = e.manifest;
    const variants = m ? Object.keys(m.grounding) : [];
    return {
      name: e.name,
      version: m?.version ?? '',
      description: m?.description ?? '',
      licence: m?.licence ?? '',
      source: e.source,
      dir: e.dir,
      bytes: m ? Object.values(m.files).reduce((s, f) => s + f.bytes, 0) : 0,
      imageSize: m?.image.size ?? 0,
      variants,
      variantNotes: m ? Object.fromEntries(variants.map((v) => [v, variantNote(v, m.grounding[v], m)])) : {},
      defaultVariant: (m && defaultVariantName(m)) ?? '',
      check: this.check(e),
    };
  }

  /** manifest.json parsed once per size and mtime. */
  private manifestOf(dir: string): ParsedManifest {
    const file = path.join(dir, MANIFEST_FILE);
    const st = statFile(file);
    const cached = this.manifests.get(dir);
    if (st && cached && cached.size === st.size && cached.mtimeMs === st.mtimeMs) return cached.parsed;
    const parsed = readManifest(dir);
    if (st) this.manifests.set(dir, { size: st.size, mtimeMs: st.mtimeMs, parsed });
    else this.manifests.delete(dir);
    return parsed;
  }

  /** One verification per bundle at a time for `open()`; it stops only when every caller waiting on it gave up. */
  private async verifyShared(entry: BundleEntry, signal?: AbortSignal): Promise<ModelCheck> {
    signal?.throwIfAborted();
    let run = this.shared.get(entry.dir);
    if (!run) {
      const controller = new AbortController();
      const promise = this.verifyEntry(entry, { force: false, signal: controller.signal });
      const created: SharedVerify = { promise, controller, waiters: 0 };
      run = created;
      this.shared.set(entry.dir, created);
      void promise.then(
        () => this.shared.delete(entry.dir),
        () => this.shared.delete(entry.dir),
      );
    }
    const current = run;
    current.waiters++;
    if (!signal) return current.promise.finally(() => current.waiters--);
    return new Promise<ModelCheck>((resolve, reject) => {
      const onAbort = () => {
        current.waiters--;
        if (current.waiters === 0) current.controller.abort(signal.reason);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      current.promise.then(
        (check) => {
          signal.removeEventListener('abort', onAbort);
          current.waiters--;
          resolve(check);
        },
        (err: unknown) => {
          signal.removeEventListener('abort', onAbort);
          current.waiters--;
          reject(err);
        },
      );
    });
  }

  private async verifyEntry(entry: BundleEntry, opts: VerifyOptions): Promise<ModelCheck> {
    const { signal } = opts;
    signal?.throwIfAborted();
    if (entry.problem || !entry.manifest || !entry.hash) return { state: 'failed', problem: entry.problem, checkedAt: null };
    const { manifest, dir, hash } = entry;
    const rows = new Map(getModelFileChecks(this.db, dir).map((r) => [r.file, r]));
    const problems: string[] = [];
    const toHash: { file: string; st: Stats; sha256: string }[] = [];
    for (const [file, listed] of Object.entries(manifest.files)) {
      const st = statFile(path.join(dir, file));
      if (!st) problems.push(missingProblem(file));
      else if (st.size !== listed.bytes) problems.push(sizeProblem(file, st.size, listed.bytes));
      else {
        const row = rows.get(file);
        const trusted = !opts.force && row && row.size === st.size && row.mtimeMs === st.mtimeMs;
        if (!trusted) toHash.push({ file, st, sha256: listed.sha256 });
        else if (row.sha256 !== listed.sha256) problems.push(tamperedProblem(file));
      }
    }
    const total = toHash.reduce((s, f) => s + f.st.size, 0);
    let done = 0;
    opts.onProgress?.({ done, total, message: toHash.length ? 'hashing' : 'checking' });
    for (const { file, st, sha256 } of toHash) {
      opts.onProgress?.({ done, total, message: `hashing ${file}` });
      const actual = await hashFile(path.join(dir, file), {
        signal,
        onBytes: (n) => {
          done += n;
          this.stats.bytesHashed += n;
          opts.onProgress?.({ done, total, message: `hashing ${file}` });
        },
      });
      this.stats.filesHashed++;
      const after = statFile(path.join(dir, file));
      if (!after || after.size !== st.size || after.mtimeMs !== st.mtimeMs) {
        problems.push(`${file}: changed while it was being verified; verify again`);
        continue;
      }
      saveModelFileCheck(this.db, { bundleDir: dir, file, size: st.size, mtimeMs: st.mtimeMs, sha256: actual });
      if (actual !== sha256) problems.push(tamperedProblem(file));
    }
    if (!problems.length) {
      opts.onProgress?.({ done: total, total, message: 'opening the ONNX graphs' });
      for (const graph of GRAPHS) {
        signal?.throwIfAborted();
        problems.push(...(await this.checkGraph(dir, manifest.onnx[graph])));
      }
    }
    signal?.throwIfAborted();
    const saved = saveModelCheck(this.db, {
      bundleDir: dir,
      manifestSha256: hash,
      state: problems.length ? 'failed' : 'ok',
      problem: problems.length ? summarise(problems) : null,
    });
    return { state: saved.state, problem: saved.problem, checkedAt: saved.checkedAt };
  }
}
