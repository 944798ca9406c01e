// `sightline models`: the model registry from the command line: list the bundles with their checks, add a bundle
// folder (copied into the data directory, then verified), verify a bundle. Adding and verifying are the same durable
// jobs as in the app. Exit status: 0 ok, 1 verification failed (or the job stopped), 2 usage or unknown model.
import { parseArgs } from 'node:util';
import { RpcError, type Types } from '../../common/contract';
import type { AppContext } from '../services/app-context';
import { followJob, withContext, type Command, type Out } from './shared';
import { formatBytes } from '../../common/bytes';

export const modelsCommand: Command = {
  name: 'models',
  usage: `  models [list] [--data-dir D] [--json]
                              list the model bundles (shipped and added) with their verification, and
                              under each its variants with what they compute (layers, steps, threshold)
  models add <dir> [--data-dir D] [--json]
                              copy a bundle folder into the data directory and verify it
  models verify <name> [--data-dir D] [--json]
                              hash every file of a bundle and check its ONNX graphs against its manifest`,
  run: models,
};

type ModelInfo = Types['ModelInfo'];

/** The model's line, then one indented line a variant: its name and what it computes (default marked). */
function line(m: ModelInfo): string {
  const check = m.check.state + (m.check.problem ? `: ${m.check.problem}` : '');
  const variants = m.variants.map((v) => `  ${v}${v === m.defaultVariant ? ' (default)' : ''}\t${m.variantNotes[v] ?? ''}`);
  return [`${m.name}\t${m.version || '-'}\t${m.source}\t${formatBytes(m.bytes)}\t${check}`, ...variants].join('\n');
}

/** Usage and unknown names exit 2; a broken bundle 1. */
function failure(err: unknown, out: Out, what: string): number {
  if (err instanceof RpcError) {
    out.error(`sightline models ${what}: ${err.message}`);
    return err.code === 'bad_file' ? 1 : 2;
  }
  throw err;
}

async function models(args: string[], out: Out): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: { 'data-dir': { type: 'string' }, json: { type: 'boolean', default: false } },
    });
  } catch (err) {
    out.error(`sightline models: ${(err as Error).message}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [sub = 'list', arg, ...extra] = positionals;
  const json = values.json;
  if (sub === 'list') {
    if (arg !== undefined) {
      out.error('sightline models list: takes no arguments');
      return 2;
    }
    return withContext(values['data-dir'], out, async (context) => {
      const list = await context.handlers['models.list']({});
      if (json) out.log(JSON.stringify({ models: list }, null, 2));
      else {
        for (const m of list) out.log(line(m));
        out.log(`${list.length} model${list.length === 1 ? '' : 's'}`);
      }
      return 0;
    });
  }
  if (sub === 'add' || sub === 'verify') {
    if (!arg || extra.length) {
      out.error(sub === 'add' ? 'sightline models add: give one bundle folder' : 'sightline models verify: give one model name (see `sightline models list`)');
      return 2;
    }
    return withContext(values['data-dir'], out, async (context) => {
      let jobId: string;
      try {
        jobId = sub === 'add' ? (await context.handlers['models.add']({ dir: arg })).jobId : (await context.handlers['models.verify']({ name: arg })).jobId;
      } catch (err) {
        return failure(err, out, sub);
      }
      return finish(context, jobId, sub, json, out);
    });
  }
  out.error(`sightline models: unknown subcommand "${sub}" (list, add <dir>, verify <name>)`);
  return 2;
}

async function finish(context: AppContext, jobId: string, sub: 'add' | 'verify', json: boolean, out: Out): Promise<number> {
  const progress = await followJob(context, jobId, json);
  const rec = context.jobs.record<{ name: string }>(jobId);
  // the model as listed now: the one added, or the one verified (with its failed check, when it failed)
  const name = rec?.result?.name ?? (sub === 'verify' ? (rec?.params as { name?: string } | undefined)?.name : undefined);
  const model = name ? ((await context.handlers['models.list']({})).find((m) => m.name === name) ?? null) : null;
  if (json) {
    out.log(JSON.stringify({ jobId, state: progress.state, ok: progress.state === 'done', problem: progress.state === 'done' ? null : progress.message, model }, null, 2));
  } else if (progress.state === 'done' && model) {
    out.log(sub === 'add' ? `added ${model.name} ${model.version} to ${model.dir}: ${model.check.state}` : `${model.name} ${model.version}: ${model.check.state}`);
  } else if (progress.state === 'failed') {
    out.error(`sightline models ${sub}: ${sub === 'add' ? 'not added' : 'verification failed'}: ${progress.message}`);
  } else out.error(`sightline models ${sub}: ${progress.state}`);
  return progress.state === 'done' ? 0 : 1;
}
