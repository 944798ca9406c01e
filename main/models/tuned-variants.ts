// Tuned variants (issue 13): files of format "sightline-tuned-variant" (training/sightline_tune/variant.py) that add a
// grounding variant with learnt token rows (`token_overrides`) to a bundle without touching the bundle. They are
// found in the bundle's own `variants/*.json` (shipped with it) and in `<data-dir>/variants/<model name>/*.json`
// (registered by tuning runs). A usable one merges into `manifest.grounding[<name>]` when the registry opens or
// lists the bundle; one tuned on other weights (its base_bundle.hash is not this bundle's files hash), one whose name
// a manifest variant already has, or one that does not fit the model (layers, row width, token ids) is listed with
// its problem and never merged.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { TuneMetrics, VariantName, type TunedVariant } from '../../common/contract/training';
import { GroundingVariant, type BundleManifest } from '../../common/model-bundle';
import { presetVariants } from './presets';

export const VARIANT_FORMAT = 'sightline-tuned-variant';
export type TunedVariantInfo = z.output<typeof TunedVariant> & { grounding: GroundingVariant | null };

/** sha256 of JSON.stringify of the key-sorted {file: sha256} of the manifest's files (variant.py bundle_hash). */
export function bundleFilesHash(files: Readonly<Record<string, { sha256: string }>>): string {
  // Python's json.dumps(sort_keys=True): keys in code-point order (not UTF-16 order: they differ above U+D7FF) and
  // every character from U+007F up escaped as \uXXXX (ensure_ascii), so that a file name like "é.bin" hashes alike
  const byCodePoint = (a: string, b: string) => {
    const x = Array.from(a, (c) => c.codePointAt(0)!);
    const y = Array.from(b, (c) => c.codePointAt(0)!);
    for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
    return x.length - y.length;
  };
  // written out by hand: an object would put integer-like names ("9", "10") first, in numeric order
  const json = `{${Object.keys(files).sort(byCodePoint).map((name) => `${JSON.stringify(name)}:${JSON.stringify(files[name].sha256)}`).join(',')}}`;
  const ascii = json.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return createHash('sha256').update(ascii).digest('hex');
}

/** `<data-dir>/variants/<model name>`: where a tuning run registers its variant. */
export function userVariantsDirectory(variantsRoot: string, model: string): string {
  return path.join(variantsRoot, model);
}

/** merged manifest -> the bundle's own (scanning a merged one again must not see its variants as the manifest's) */
const bases = new WeakMap<BundleManifest, BundleManifest>();

const parsedFiles = new Map<string, { size: number; mtimeMs: number; doc: unknown; error: string | null }>();

/** The file's JSON, read once per size and mtime (a variant holds a few hundred KB of rows). */
function readJson(file: string): { doc: unknown; error: string | null } {
  const st = statSync(file);
  const hit = parsedFiles.get(file);
  if (hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs) return hit;
  let entry: { size: number; mtimeMs: number; doc: unknown; error: string | null };
  try {
    entry = { size: st.size, mtimeMs: st.mtimeMs, doc: JSON.parse(readFileSync(file, 'utf8')) as unknown, error: null };
  } catch (error) {
    entry = { size: st.size, mtimeMs: st.mtimeMs, doc: null, error: `${file}: not JSON (${(error as Error).message})` };
  }
  parsedFiles.set(file, entry);
  return entry;
}

function jsonFiles(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isFile() && d.name.endsWith('.json'))
      .map((d) => path.join(dir, d.name))
      .sort();
  } catch {
    return [];
  }
}

interface VariantDoc {
  format?: unknown;
  name?: unknown;
  run_id?: unknown;
  base_bundle?: { name?: unknown; hash?: unknown };
  grounding?: unknown;
  tokens?: { id?: unknown; token?: unknown }[];
  metrics?: { before?: { metrics?: unknown } | null; after?: { metrics?: unknown } | null };
}

const metricsOf = (v: { metrics?: unknown } | null | undefined) => {
  const parsed = TuneMetrics.safeParse(v?.metrics);
  return parsed.success ? parsed.data : null;
};

/** What keeps a variant's rows from this model, or null. */
function fitProblem(file: string, g: GroundingVariant, m: BundleManifest): string | null {
  const attention = new Set(m.onnx.unet_attention.attention_layers ?? []);
  const bad = g.layers.filter((l) => !attention.has(l));
  if (bad.length) return `${file}: layers ${bad.join(', ')} are not attention outputs of the model`;
  if (g.timesteps.length !== g.step_indices.length) return `${file}: one timestep per kept step`;
  for (const [id, row] of Object.entries(g.token_overrides ?? {})) {
    if (Number(id) >= m.text.vocab_size) return `${file}: token_overrides["${id}"] is not a token id of the model (vocabulary ${m.text.vocab_size})`;
    if (row.length !== m.text.hidden_size) return `${file}: token_overrides["${id}"] has ${row.length} values; the model's rows have ${m.text.hidden_size}`;
  }
  return null;
}

function readVariant(file: string, source: 'shipped' | 'user', model: string, m: BundleManifest, hash: string): TunedVariantInfo {
  const { doc: raw, error } = readJson(file);
  const doc = (raw && typeof raw === 'object' ? raw : {}) as VariantDoc;
  const stem = path.basename(file, '.json');
  const name = typeof doc.name === 'string' && VariantName.safeParse(doc.name).success ? doc.name : VariantName.safeParse(stem).success ? stem : 'unnamed';
  const bundleHash = typeof doc.base_bundle?.hash === 'string' ? doc.base_bundle.hash : '';
  const tokens = (doc.tokens ?? []).map((t) => String(t.token ?? t.id ?? ''));
  const runId = typeof doc.run_id === 'number' && Number.isInteger(doc.run_id) && doc.run_id > 0 ? doc.run_id : null;
  const info = { name, model, file, source, bundleHash, tokens, runId, metrics: { before: metricsOf(doc.metrics?.before), after: metricsOf(doc.metrics?.after) } };
  const refuse = (problem: string): TunedVariantInfo => ({ ...info, problem, grounding: null });
  if (error) return refuse(error);
  if (doc.format !== VARIANT_FORMAT) return refuse(`${file}: not a ${VARIANT_FORMAT} file (format ${JSON.stringify(doc.format ?? null)})`);
  if (bundleHash !== hash) {
    return refuse(`${file}: tuned on bundle "${String(doc.base_bundle?.name ?? '?')}" with files hash ${bundleHash || '(none)'}, but "${model}" has files hash ${hash}; tune again on this bundle`);
  }
  const g = GroundingVariant.safeParse(doc.grounding);
  if (!g.success) return refuse(`${file}: grounding: ${g.error.issues.map((i) => `${i.path.join('.') || '(entry)'}: ${i.message}`).join('; ')}`);
  if (!g.data.token_overrides || !Object.keys(g.data.token_overrides).length) return refuse(`${file}: grounding has no token_overrides (no tuned rows)`);
  const misfit = fitProblem(file, g.data, m);
  return misfit ? refuse(misfit) : { ...info, problem: null, grounding: g.data };
}

/**
 * The tuned variant files of a bundle: its own `variants/*.json`, then `<variantsRoot>/<name>/*.json`. A name the
 * manifest (or an earlier file) already has is refused; so is a file tuned on another bundle.
 */
export function tunedVariantsOf(bundle: { dir: string; manifest: BundleManifest }, variantsRoot: string | null): TunedVariantInfo[] {
  const m = bases.get(bundle.manifest) ?? bundle.manifest;
  const hash = bundleFilesHash(m.files);
  const sources: [string, 'shipped' | 'user'][] = [[path.join(bundle.dir, 'variants'), 'shipped']];
  if (variantsRoot) sources.push([userVariantsDirectory(variantsRoot, m.name), 'user']);
  const taken = new Map<string, string>(Object.keys(m.grounding).map((n) => [n, 'the manifest']));
  const out: TunedVariantInfo[] = [];
  for (const [dir, source] of sources) {
    for (const file of jsonFiles(dir)) {
      const v = readVariant(file, source, m.name, m, hash);
      const owner = taken.get(v.name);
      if (!v.problem && owner) out.push({ ...v, grounding: null, problem: `${file}: the variant name "${v.name}" is already taken by ${owner}; rename the file's "name"` });
      else out.push(v);
      if (!v.problem && !owner) taken.set(v.name, file);
    }
  }
  return out;
}

/** The manifest with the usable tuned variants merged into `grounding`, then the derived presets whose names are
 * free (presets.ts: `frozen-fast`); a copy, the cached manifest is untouched. */
export function withMergedVariants(bundle: { dir: string; manifest: BundleManifest }, variantsRoot: string | null): BundleManifest {
  const base = bases.get(bundle.manifest) ?? bundle.manifest;
  const usable = tunedVariantsOf({ dir: bundle.dir, manifest: base }, variantsRoot).filter((v) => v.grounding);
  const grounding = { ...base.grounding, ...Object.fromEntries(usable.map((v) => [v.name, v.grounding!])) };
  const presets = presetVariants({ grounding, schedule: base.schedule });
  if (!usable.length && !Object.keys(presets).length) return base;
  const merged = { ...base, grounding: { ...grounding, ...presets } };
  bases.set(merged, base);
  return merged;
}
