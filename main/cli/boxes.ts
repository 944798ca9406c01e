// `sightline boxes`: the annotations domain on the command line. `export` writes a dataset's (or some phrases')
// boxes as MS-CXR v1.1.0 CSV or COCO JSON; `agreement` scores two annotators who boxed the same phrases (F1 at IoU
// 0.5, mean IoU of greedy IoU matches). Exit status: 0 done, 1 nothing to write or score, 2 usage or unknown names.
import fs from 'node:fs';
import path from 'node:path';
import { procedures, RpcError } from '../../common/contract';
import { parseCommandArgs, withContext, type Command, type Out } from './shared';

export const boxesCommand: Command = {
  name: 'boxes',
  usage: `  boxes export (--dataset NAME | --phrases ID,ID,...) --format ms-cxr|coco --out FILE
               [--source dataset|user|all] [--data-dir D]
                              ground-truth boxes as MS-CXR v1.1.0 CSV or COCO JSON (the importer reads both back)
  boxes agreement --dataset NAME [--a ANNOTATOR --b ANNOTATOR] [--data-dir D] [--json]
                              agreement of annotators (dataset readers, users) on the phrases both boxed:
                              greedy IoU matching, F1 at IoU 0.5, mean IoU of matches`,
  run: boxes,
};

const fmt = (v: number | null, digits = 3) => (v === null ? '-' : v.toFixed(digits));

function issues(error: { issues: { path: PropertyKey[]; message: string }[] }): string {
  return error.issues.map((i) => (i.path.length ? `--${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
}

async function boxes(args: string[], out: Out): Promise<number> {
  const parsed = parseCommandArgs('boxes', args, {
    dataset: { type: 'string' },
    phrases: { type: 'string' },
    format: { type: 'string' },
    out: { type: 'string' },
    source: { type: 'string' },
    a: { type: 'string' },
    b: { type: 'string' },
    'data-dir': { type: 'string' },
    json: { type: 'boolean', default: false },
  }, out);
  if (!parsed) return 2;
  const { values, positionals } = parsed;
  const [sub, ...rest] = positionals;
  if (rest.length) {
    out.error(`sightline boxes: unexpected argument "${rest[0]}"`);
    return 2;
  }
  if (sub === 'export') {
    if (!values.out) {
      out.error('sightline boxes export: give --out FILE');
      return 2;
    }
    let phraseIds: number[] | undefined;
    if (values.phrases !== undefined) {
      const parts = values.phrases.split(',').map((s) => s.trim());
      if (parts.some((p) => !/^\d+$/.test(p))) {
        out.error(`sightline boxes export: --phrases must be phrase ids separated by commas, got "${values.phrases}"`);
        return 2;
      }
      phraseIds = parts.map(Number);
    }
    const input = procedures['boxes.export'].input.safeParse({ format: values.format, dataset: values.dataset, phraseIds, source: values.source });
    if (!input.success) {
      out.error(`sightline boxes export: ${issues(input.error)}`);
      return 2;
    }
    const file = path.resolve(values.out);
    return withContext(values['data-dir'], out, async (context) => {
      try {
        const result = await context.handlers['boxes.export'](input.data);
        fs.writeFileSync(file, result.content);
        out.log(`wrote ${result.boxes} box${result.boxes === 1 ? '' : 'es'} of ${result.pairs} phrase-image pair${result.pairs === 1 ? '' : 's'} to ${file}`);
        return result.boxes ? 0 : 1;
      } catch (error) {
        if (error instanceof RpcError && error.code === 'not_found') {
          out.error(`sightline boxes export: ${error.message} in ${context.dataDir}`);
          return 2;
        }
        throw error;
      }
    });
  }
  if (sub === 'agreement') {
    const input = procedures['boxes.agreement'].input.safeParse({ dataset: values.dataset, a: values.a, b: values.b });
    if (!input.success) {
      out.error(`sightline boxes agreement: ${issues(input.error)}`);
      return 2;
    }
    return withContext(values['data-dir'], out, async (context) => {
      let report;
      try {
        report = await context.handlers['boxes.agreement'](input.data);
      } catch (error) {
        if (error instanceof RpcError && error.code === 'not_found') {
          out.error(`sightline boxes agreement: ${error.message}`);
          return 2;
        }
        throw error;
      }
      if (values.json) out.log(JSON.stringify(report, null, 2));
      else {
        out.log(`annotators of ${report.dataset}: ${report.annotators.map((a) => `${a.name} (${a.boxes} boxes, ${a.phrases} pairs)`).join(', ') || 'none'}`);
        out.log('a\tb\tpairs\tonly a\tonly b\tboxes a\tboxes b\tmatched@0.5\tF1@0.5\tmean IoU');
        for (const p of report.pairs) {
          out.log([p.a, p.b, p.pairs, p.onlyA, p.onlyB, p.boxesA, p.boxesB, p.matched50, fmt(p.f1), fmt(p.meanIou)].join('\t'));
        }
        if (!report.pairs.length) out.log('no two annotators boxed the same phrase');
      }
      return report.pairs.some((p) => p.pairs > 0) ? 0 : 1;
    });
  }
  out.error(sub === undefined ? 'sightline boxes: give a subcommand (export, agreement)' : `sightline boxes: unknown subcommand "${sub}" (export, agreement)`);
  return 2;
}
