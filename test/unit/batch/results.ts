// A results folder as `python -m sightline_ldm.batch` writes it (docs/datasets.md "Batch jobs"), made here with the
// app's own grounding (the demo model on the ONNX runtime): every shard sealed under results/shards/, or left in
// staging/ with the records of its first images. For the import and status tests (and the cross-language test: the
// Python side's folder must import to the same maps).
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { shardName, type JobFile } from '../../../main/batch/format';
import { groundImage, resolveSettings } from '../../../main/grounding/ground';
import { npyBytes } from '../../../main/grounding/map-files';
import type { AppContext } from '../../../main/services/app-context';

export interface GroundedMap {
  image: number;
  variant: string;
  phrase: string;
  map: Float32Array;
  threshold: number | null;
  geometry: unknown;
}

/** Every map of the job, from the app's grounding (nothing stored). */
export async function groundJob(context: AppContext, job: JobFile, dataRoot: string): Promise<{ size: number; maps: GroundedMap[] }> {
  const bundle = await context.models.open(job.bundle.name);
  const maps: GroundedMap[] = [];
  let size = 0;
  for (const [index, image] of job.images.entries()) {
    for (const v of job.variants) {
      const settings = resolveSettings(bundle, v.name);
      const file = path.join(dataRoot, ...image.path.split('/'));
      const r = await groundImage(context.grounding, { bundle, settings, file, sha256: image.sha256, phrases: image.phrases }, new AbortController().signal, () => {});
      size = r.size;
      for (const g of r.phrases) maps.push({ image: index, variant: v.name, phrase: g.phrase, map: g.map, threshold: g.threshold, geometry: r.geometry });
    }
  }
  return { size, maps };
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Writes the results folder: the shards in `sealed` under shards/, the others in staging/ with `staged` image records. */
export function writeResults(resultsDir: string, job: JobFile, grounded: { size: number; maps: GroundedMap[] }, o: { sealed?: number[]; staged?: number } = {}): void {
  for (const [k, indices] of job.shards.entries()) {
    const sealed = o.sealed ? o.sealed.includes(k) : true;
    const dir = path.join(resultsDir, sealed ? 'shards' : 'staging', shardName(k));
    const entries = [];
    const records = new Map<number, unknown[]>();
    for (const m of grounded.maps.filter((g) => indices.includes(g.image))) {
      const image = job.images[m.image];
      const file = `${m.variant}/${m.image}-${image.phrases.indexOf(m.phrase)}.npy`;
      const bytes = npyBytes(m.map, grounded.size, grounded.size);
      mkdirSync(path.join(dir, m.variant), { recursive: true });
      writeFileSync(path.join(dir, file), bytes);
      const v = job.variants.find((x) => x.name === m.variant)!;
      const entry = { image: m.image, key: image.key, image_sha256: image.sha256, variant: m.variant, settings_key: v.settings_key, phrase: m.phrase, file, sha256: sha(bytes), threshold: m.threshold };
      entries.push(entry);
      records.set(m.image, [...(records.get(m.image) ?? []), entry]);
    }
    if (sealed) {
      for (const v of job.variants) {
        const rows = entries.filter((e) => e.variant === v.name).map((e) => `${job.images[e.image].key},"${e.phrase.replace(/"/g, '""')}",${path.posix.basename(e.file)}`);
        mkdirSync(path.join(dir, v.name), { recursive: true });
        writeFileSync(path.join(dir, v.name, 'index.csv'), `dicom_id,label_text,file\n${rows.join('\n')}\n`);
      }
      const provenance = { code_version: 'test', host: 'here', torch: 'none', device: 'cpu', world_size: 1, started_at: '', finished_at: '', seconds: 0 };
      writeFileSync(
        path.join(dir, 'shard.json'),
        JSON.stringify({ format: 'sightline-batch-shard', version: 1, job_id: job.id, bundle_hash: job.bundle.hash, shard: k, size: grounded.size, maps: entries, provenance }),
      );
    } else {
      mkdirSync(dir, { recursive: true });
      for (const index of indices.slice(0, o.staged ?? 0)) writeFileSync(path.join(dir, `${index}.json`), JSON.stringify({ image: index, maps: records.get(index) ?? [] }));
    }
  }
}
