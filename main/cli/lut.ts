// `sightline lut`: the anatomy look-up table (method.md 4.2) built from a Chest ImaGenome gold CSV (the `lut-build`
// durable job, as in the app), stored as a versioned record, listed and shown. `build --out` also writes the LUT
// JSON (what training/sightline_eval reads). Exit status: 0 done, 1 the build failed (bad input: the message names
// the file, line and column) or nothing found, 2 usage.
import fs from 'node:fs';
import type { z } from 'zod';
import { procedures, RpcError } from '../../common/contract';
import type { LutRecord, LutSummary } from '../../common/contract/evaluation';
import type { LutBuildOutcome } from '../evaluation/lut/job';
import { followJob, parseCommandArgs, withContext, type Command, type Out } from './shared';

export const lutCommand: Command = {
  name: 'lut',
  usage: `  lut build --imagenome CSV [--model NAME] [--metadata CSV]... [--mscxr CSV]... [--name NAME] [--out lut.json]
            [--data-dir D] [--json]
                              build the anatomy LUT in the model's frame (image sizes from MIMIC metadata Rows/Columns
                              or MS-CXR image_width/height, else fitted from the 224 frame) and store it as the next
                              version of NAME (default chest-imagenome); --out also writes the JSON
  lut list [--data-dir D] [--json]
                              the stored LUTs, newest first
  lut show <id|name> [--data-dir D] [--json]
                              one LUT (a name: its newest version) with its regions; --json prints the record`,
  run: lut,
};

const usage = (out: Out, message: string) => {
  out.error(`sightline lut: ${message}`);
  return 2;
};

async function lut(args: string[], out: Out): Promise<number> {
  const parsed = parseCommandArgs('lut', args, {
    imagenome: { type: 'string' },
    metadata: { type: 'string', multiple: true, default: [] },
    mscxr: { type: 'string', multiple: true, default: [] },
    model: { type: 'string' },
    name: { type: 'string' },
    out: { type: 'string' },
    'data-dir': { type: 'string' },
    json: { type: 'boolean', default: false },
  }, out);
  if (!parsed) return 2;
  const { values, positionals } = parsed;
  const [sub, ...rest] = positionals;
  if (sub === 'build') {
    if (rest.length || !values.imagenome) return usage(out, 'build: give --imagenome CSV (the Chest ImaGenome gold bbox CSV), no positional arguments');
    const input = procedures['evaluation.luts.build'].input.safeParse({
      imagenome: values.imagenome,
      metadata: values.metadata,
      mscxr: values.mscxr,
      ...(values.model !== undefined ? { model: values.model } : {}),
      ...(values.name !== undefined ? { name: values.name } : {}),
    });
    if (!input.success) return usage(out, `build: ${input.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('; ')}`);
    return withContext(values['data-dir'], out, async (context) => {
      let jobId: string;
      try {
        ({ jobId } = await context.handlers['evaluation.luts.build'](input.data));
      } catch (error) {
        if (!(error instanceof RpcError)) throw error;
        out.error(`sightline lut build: ${error.message}`);
        return error.code === 'not_found' || error.code === 'invalid_input' ? 2 : 1;
      }
      const progress = await followJob(context, jobId, values.json);
      const result = context.jobs.record<LutBuildOutcome>(jobId)?.result ?? null;
      if (progress.state !== 'done' || !result) {
        out.error(`sightline lut build: ${progress.state === 'failed' ? progress.message : `the build was ${progress.state}`}`);
        return 1;
      }
      const record = await context.handlers['evaluation.luts.get']({ id: result.id });
      if (values.out) fs.writeFileSync(values.out, `${JSON.stringify(record.lut, null, 2)}\n`);
      if (values.json) out.log(JSON.stringify({ jobId, ...result }, null, 2));
      else {
        const s = result.imageSizeSource;
        out.log(`stored LUT ${result.id}: ${result.name} version ${result.version}, ${result.regions} regions from ${result.images} images in the ${result.frame} x ${result.frame} frame of ${result.model}`);
        out.log(`image sizes: ${s.given} given, ${s.inferred_224} fitted from the 224 frame, ${s.skipped} skipped; rows: ${result.rows.read} read, ${result.rows.used} used, ${result.rows.unknown_region} of other regions`);
        printRegions(record, out);
        if (values.out) out.log(`wrote ${values.out}`);
      }
      return 0;
    });
  }
  if (sub === 'list') {
    if (rest.length) return usage(out, 'list takes no arguments');
    return withContext(values['data-dir'], out, async (context) => {
      const list = await context.handlers['evaluation.luts.list']({});
      if (values.json) out.log(JSON.stringify({ luts: list }, null, 2));
      else {
        for (const l of list) out.log(summaryLine(l));
        out.log(`${list.length} LUT${list.length === 1 ? '' : 's'}`);
      }
      return 0;
    });
  }
  if (sub === 'show') {
    if (rest.length !== 1) return usage(out, 'show: give one LUT id or name (see `sightline lut list`)');
    const ref = /^\d+$/.test(rest[0]) && Number(rest[0]) > 0 ? { id: Number(rest[0]) } : { name: rest[0] };
    return withContext(values['data-dir'], out, async (context) => {
      let record: z.output<typeof LutRecord>;
      try {
        record = await context.handlers['evaluation.luts.get'](ref);
      } catch (error) {
        if (!(error instanceof RpcError)) throw error;
        out.error(`sightline lut show: ${error.message} in ${context.dataDir} (see \`sightline lut list\`)`);
        return 1;
      }
      if (values.json) out.log(JSON.stringify(record, null, 2));
      else {
        out.log(summaryLine(record));
        out.log(`built by builder ${record.builderVersion} from:`);
        for (const f of record.inputs) out.log(`  ${f.kind}\t${f.path}\tsha256 ${f.sha256}`);
        printRegions(record, out);
      }
      return 0;
    });
  }
  return usage(out, sub === undefined ? 'give a subcommand (build, list, show)' : `unknown subcommand "${sub}" (build, list, show)`);
}

function summaryLine(l: z.output<typeof LutSummary>): string {
  return `${l.id}\t${l.name} v${l.version}\t${l.model} (frame ${l.frame})\t${l.regions} regions, ${l.images} images\t${l.createdAt}`;
}

function printRegions(record: z.output<typeof LutRecord>, out: Out): void {
  const f = (v: number) => v.toFixed(1).padStart(6);
  for (const [name, g] of Object.entries(record.lut.regions)) {
    out.log(`  ${name.padEnd(26)} mu=(${f(g.mu_x)}, ${f(g.mu_y)}) sigma=(${f(g.sigma_x)}, ${f(g.sigma_y)}) n=${g.n}`);
  }
}
