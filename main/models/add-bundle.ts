// Adding a bundle to the user models directory: checked first (planAdd), then copied all or nothing, hashing as it
// copies, its graphs opened, and recorded as verified.
import { statSync } from 'node:fs';
import path from 'node:path';
import { RpcError } from '../../common/contract';
import type { BundleManifest } from '../../common/model-bundle';
import type { Db } from '../db/database';
import { deleteModelChecks, saveModelCheck, saveModelFileCheck } from '../db/models-repo';
import { copyBundle, removeStaleCopies } from './copy';
import { statFile } from './folders';
import type { AddResult, ModelRegistry, VerifyOptions } from './registry';
import { GRAPHS, MANIFEST_FILE, missingProblem, readManifest, sizeProblem, summarise, tamperedProblem } from './verify';

const FOLDER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export interface AddPlan {
  source: string;
  target: string;
  manifest: BundleManifest;
  bytes: Buffer;
  hash: string;
}

/**
 * Checks a bundle folder before it is added: it exists, its manifest parses, its name is free and usable as a
 * folder name, every listed file is there with its listed size. Throws RpcError: not_found (no such folder),
 * bad_file (the bundle is broken), invalid_input (the name is taken).
 */
export function planAdd(registry: ModelRegistry, sourceDir: string): AddPlan {
  const source = path.resolve(sourceDir);
  const st = statFile(source, true);
  if (!st) throw new RpcError('not_found', `${source}: no such folder`);
  const parsed = readManifest(source);
  if (!parsed.ok) throw new RpcError('bad_file', `${path.join(source, MANIFEST_FILE)}: ${parsed.problem.slice(MANIFEST_FILE.length + 2)}`);
  const { manifest } = parsed;
  if (!FOLDER_NAME.test(manifest.name)) {
    throw new RpcError('invalid_input', `the bundle's name "${manifest.name}" cannot be a folder name (letters, digits, . _ -); change it in ${MANIFEST_FILE}`);
  }
  const clash = registry.entries().find((e) => e.name === manifest.name || (e.manifest?.name === manifest.name && !e.problem));
  if (clash?.source === 'shipped') {
    throw new RpcError('invalid_input', `a shipped model is already named "${manifest.name}"; give the bundle another name in its ${MANIFEST_FILE}`);
  }
  if (clash) throw new RpcError('invalid_input', `a model named "${manifest.name}" is already added (${clash.dir}); remove that folder first`);
  const target = path.join(registry.userDir, manifest.name);
  if (statFile(target, true) || statFile(target)) throw new RpcError('invalid_input', `${target} already exists; remove it first`);
  const problems: string[] = [];
  for (const [file, listed] of Object.entries(manifest.files)) {
    const fst = statFile(path.join(source, file));
    if (!fst) problems.push(missingProblem(file));
    else if (fst.size !== listed.bytes) problems.push(sizeProblem(file, fst.size, listed.bytes));
  }
  if (problems.length) throw new RpcError('bad_file', `${source}: ${summarise(problems)}`);
  return { source, target, manifest, bytes: parsed.bytes, hash: parsed.hash };
}

/**
 * Copies a bundle folder (manifest.json and the files it lists; nothing else, so not reference/) into
 * `<data-dir>/models/<name>/`, hashing as it copies, then checks the graphs. It copies into a hidden sibling
 * folder and renames it at the end: a cancelled or failed add leaves nothing behind. The bundle is recorded as
 * verified (its hashes were computed from the bytes written).
 */
export async function addBundle(registry: ModelRegistry, db: Db, sourceDir: string, opts: Omit<VerifyOptions, 'force'> = {}): Promise<AddResult> {
  const plan = planAdd(registry, sourceDir);
  const { manifest } = plan;
  removeStaleCopies(registry.userDir);
  const files = Object.entries(manifest.files).map(([file, listed]) => ({ file, bytes: listed.bytes }));
  const total = files.reduce((s, f) => s + f.bytes, 0);
  const copied = await copyBundle({
    source: plan.source,
    target: plan.target,
    manifestBytes: plan.bytes,
    files,
    signal: opts.signal,
    onProgress: (done, file) => opts.onProgress?.({ done, total, message: `copying ${file}` }),
    // runs on the complete copy, before it gets its final name; a problem refuses the add
    check: async (dir, hashes) => {
      const problems = files.filter((f) => hashes.get(f.file) !== manifest.files[f.file].sha256).map((f) => tamperedProblem(f.file));
      if (problems.length) return problems;
      opts.onProgress?.({ done: total, total, message: 'opening the ONNX graphs' });
      for (const graph of GRAPHS) {
        opts.signal?.throwIfAborted();
        problems.push(...(await registry.checkGraph(dir, manifest.onnx[graph])));
      }
      return problems;
    },
  });
  deleteModelChecks(db, plan.target);
  db.transaction(() => {
    for (const { file } of files) {
      const st = statSync(path.join(plan.target, file));
      saveModelFileCheck(db, { bundleDir: plan.target, file, size: st.size, mtimeMs: st.mtimeMs, sha256: copied.hashes.get(file)! });
    }
    saveModelCheck(db, { bundleDir: plan.target, manifestSha256: plan.hash, state: 'ok', problem: null });
  })();
  return { name: manifest.name, dir: plan.target, check: registry.check(registry.entry(manifest.name)) };
}
