// `sightline ground`: heatmaps of phrases on an image (docs/method.md sections 2-3). A stored image (its id) is
// grounded as the app does it, as a durable job whose heatmaps are stored; a file that was never imported is read
// directly (its inversion is still cached in the data directory). Maps are written at the image's original size.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { getHeatmap, getImageRow, getSettings } from '../db';
import { applyThreshold } from '../grounding/aggregate';
import { GroundingError, groundImage, resolveSettings, type GroundingResult } from '../grounding/ground';
import { readThresholdedMap } from '../grounding/heatmap-store';
import { mapToImage } from '../grounding/image-ops';
import { writeMapFile } from '../grounding/map-files';
import { GROUNDING_JOB } from '../grounding/service';
import { DEMO_MODEL_NAME } from '../models/registry';
import type { AppContext } from '../services/app-context';
import { followJob, withContext, type Command, type Out } from './shared';

export const groundCommand: Command = {
  name: 'ground',
  usage: `  ground --image <file|image-id> --phrase TEXT [--phrase ...] [--model NAME] [--variant NAME]
         [--out FILE.npy|FILE.png|DIR] [--data-dir D] [--json]
                              heatmaps of phrases on an image, at its original size (exit 0 ok,
                              1 grounding failed, 2 usage, unknown image, model or variant)`,
  run: ground,
};

interface Grounded {
  phrase: string;
  heatmapId: number | null;
  /** width x height (a model's square frame, or an imported map), Otsu applied when the variant has it */
  map: Float32Array;
  width: number;
  height: number;
  threshold: number | null;
  geometry: GroundingResult['geometry'];
}

async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

const slug = (phrase: string) => phrase.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60) || 'phrase';

async function ground(args: string[], out: Out): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      image: { type: 'string' },
      phrase: { type: 'string', multiple: true, default: [] },
      model: { type: 'string' },
      variant: { type: 'string' },
      out: { type: 'string' },
      'data-dir': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const phrases = (values.phrase ?? []).map((p) => p.trim()).filter(Boolean);
  if (!values.image || !phrases.length) {
    out.error('sightline ground: give --image (a file, or the id of a stored image) and at least one --phrase');
    return 2;
  }
  const target = values.out ? path.resolve(values.out) : null;
  const toFile = target !== null && /\.(npy|png)$/i.test(target);
  if (toFile && phrases.length > 1) {
    out.error('sightline ground: several phrases need a directory for --out (one map file per phrase)');
    return 2;
  }
  return withContext(values['data-dir'], out, async (context) => {
    let grounded: Grounded[];
    try {
      grounded = /^\d+$/.test(values.image!)
        ? await groundStored(context, Number(values.image), phrases, values.model ?? null, values.variant ?? null, values.json, out)
        : await groundFile(context, path.resolve(values.image!), phrases, values.model ?? null, values.variant ?? null, values.json);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const usage = error instanceof GroundingError || (error as { code?: string }).code === 'not_found';
      out.error(`sightline ground: ${message}`);
      return usage ? 2 : 1;
    }
    if (target && !toFile) mkdirSync(target, { recursive: true });
    const report = grounded.map((g) => {
      const { originalRows: rows, originalColumns: columns } = g.geometry;
      const original = mapToImage(g.map, g.width, g.height, g.geometry);
      const file = target ? (toFile ? target : path.join(target, `${slug(g.phrase)}.npy`)) : null;
      if (file) writeMapFile(file, original, rows, columns);
      let peak = { x: 0, y: 0, value: -Infinity };
      original.forEach((v, i) => {
        if (v > peak.value) peak = { x: i % columns, y: Math.floor(i / columns), value: v };
      });
      return { phrase: g.phrase, heatmapId: g.heatmapId, file, threshold: g.threshold, rows, columns, peak: { x: peak.x, y: peak.y } };
    });
    if (values.json) out.log(JSON.stringify({ heatmaps: report }, null, 2));
    else for (const r of report) out.log(`${r.phrase}: peak at x ${r.peak.x} y ${r.peak.y}${r.threshold !== null ? `, Otsu ${r.threshold.toFixed(3)}` : ''}${r.file ? ` -> ${r.file}` : ''}`);
    return 0;
  });
}

async function groundStored(context: AppContext, imageId: number, phrases: string[], model: string | null, variant: string | null, quiet: boolean, out: Out): Promise<Grounded[]> {
  if (!getImageRow(context.db, imageId)) throw Object.assign(new Error(`no image ${imageId} in ${context.dataDir} (see \`sightline studies --json\`)`), { code: 'not_found' });
  const jobId = context.jobs.start(GROUNDING_JOB, { imageId, phrases, model, variant });
  const done = await followJob(context, jobId, quiet);
  if (done.state !== 'done') throw new Error(done.message);
  const { heatmapIds } = context.jobs.record<{ heatmapIds: number[] }>(jobId)!.result!;
  if (!quiet) out.error(`grounded ${phrases.length} phrase(s) on image ${imageId} (stored as heatmap ${heatmapIds.join(', ')})`);
  return heatmapIds.map((id) => {
    const row = getHeatmap(context.db, id)!;
    return { phrase: row.phrase, heatmapId: id, map: readThresholdedMap(context.dataDir, row), width: row.width, height: row.height, threshold: row.threshold, geometry: row.geometry };
  });
}

async function groundFile(context: AppContext, file: string, phrases: string[], model: string | null, variant: string | null, quiet: boolean): Promise<Grounded[]> {
  if (!existsSync(file) || !statSync(file).isFile()) throw Object.assign(new Error(`${file}: no such file (give a PNG, JPEG or DICOM file, or the id of a stored image)`), { code: 'not_found' });
  const name = model ?? getSettings(context.db).model ?? DEMO_MODEL_NAME;
  const controller = new AbortController();
  const onSigint = () => controller.abort(new Error('cancelled'));
  process.once('SIGINT', onSigint);
  const tty = !quiet && process.stderr.isTTY;
  try {
    const bundle = await context.models.open(name, controller.signal);
    const settings = resolveSettings(bundle, variant);
    const result = await groundImage(context.grounding, { bundle, settings, file, sha256: await sha256Of(file), phrases }, controller.signal, (p) => {
      if (tty) process.stderr.write(`\r${p.message} ${p.done}/${p.total}   `);
    });
    if (tty) process.stderr.write('\n');
    const { size, geometry } = result;
    return result.phrases.map((g) => ({ phrase: g.phrase, heatmapId: null, map: applyThreshold(g.map, g.threshold), width: size, height: size, threshold: g.threshold, geometry }));
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}
