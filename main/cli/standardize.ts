// `sightline standardize`: report sentences -> "{location} {pathology}" prompts with the offline standardiser
// (main/evaluation/standardiser), one sentence as JSON, a CSV column, or the precision/recall over a labelled list.
// Needs no data directory: the standardiser is pure rules.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CsvError, standardiseCsv } from '../evaluation/standardiser/csv';
import { standardise } from '../evaluation/standardiser/engine';
import { score, type LabelledSentence, type PR } from '../evaluation/standardiser/evaluate';
import { PATHOLOGIES } from '../evaluation/standardiser/rules';
import { repoRoot } from '../services/paths';
import { parseCommandArgs, type Command, type Out } from './shared';

export const standardizeCommand: Command = {
  name: 'standardize',
  usage: `  standardize "<sentence>" [--category C]
                              the sentence's prompt, pathology, locations, negated/resolved/uncertain (JSON);
                              --category: one of the 8 MS-CXR categories when the pathology is given
  standardize --csv in.csv [--column NAME] [--category-column NAME] [--out out.csv]
                              a CSV column standardised (default the first column named sentence, text or
                              label_text; categories from category_name/category when present); CSV to stdout or --out
  standardize --evaluate [labelled.json]
                              precision/recall for pathology, side, negation and uncertainty over a labelled list
                              (default test/vectors/standardiser-sentences.json)`,
  run: standardize,
};

async function standardize(args: string[], out: Out): Promise<number> {
  const parsed = parseCommandArgs('standardize', args, {
    category: { type: 'string' }, csv: { type: 'string' }, column: { type: 'string' }, 'category-column': { type: 'string' },
    out: { type: 'string' }, evaluate: { type: 'boolean', default: false },
  }, out);
  if (!parsed) return 2;
  const { values: v, positionals } = parsed;
  if (v.evaluate) return evaluate(positionals, out);
  if (v.csv !== undefined) {
    if (positionals.length || v.category !== undefined) {
      out.error('sightline standardize --csv: give the file only (categories come from a column, see --category-column)');
      return 2;
    }
    let text: string;
    try {
      text = readFileSync(v.csv, 'utf8');
    } catch (error) {
      out.error(`sightline standardize: cannot read ${v.csv}: ${(error as Error).message}`);
      return 2;
    }
    try {
      const { csv, rows } = standardiseCsv(text, { file: v.csv, column: v.column, categoryColumn: v['category-column'] });
      if (v.out !== undefined) {
        writeFileSync(v.out, csv);
        out.error(`standardised ${rows} row${rows === 1 ? '' : 's'} of ${v.csv} into ${v.out}`);
      } else out.log(csv.replace(/\n$/, ''));
      return 0;
    } catch (error) {
      if (error instanceof CsvError) {
        out.error(`sightline standardize: ${error.message}`);
        return 1;
      }
      throw error;
    }
  }
  if (positionals.length !== 1 || v.column !== undefined || v['category-column'] !== undefined || v.out !== undefined) {
    out.error('sightline standardize: give one sentence (quoted), --csv FILE, or --evaluate (see `sightline --help`)');
    return 2;
  }
  if (v.category !== undefined && !PATHOLOGIES.includes(v.category)) {
    out.error(`sightline standardize: --category "${v.category}" is not one of ${PATHOLOGIES.join(', ')}`);
    return 2;
  }
  out.log(JSON.stringify(standardise(positionals[0], v.category ?? null), null, 2));
  return 0;
}

function evaluate(positionals: string[], out: Out): number {
  if (positionals.length > 1) {
    out.error('sightline standardize --evaluate: give at most one labelled list');
    return 2;
  }
  const file = positionals[0] ?? path.join(repoRoot, 'test', 'vectors', 'standardiser-sentences.json');
  let list: LabelledSentence[];
  try {
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { sentences?: LabelledSentence[] };
    if (!Array.isArray(doc.sentences)) throw new Error('no "sentences" list');
    list = doc.sentences;
  } catch (error) {
    out.error(`sightline standardize: cannot read the labelled list ${file}: ${(error as Error).message}`);
    return 2;
  }
  const s = score(list);
  const row = (name: string, p: PR) => `${name.padEnd(12)} precision ${p.precision.toFixed(3)}  recall ${p.recall.toFixed(3)}  (tp ${p.tp}, fp ${p.fp}, fn ${p.fn})`;
  out.log(`${s.sentences} sentences, ${s.exact} exactly as labelled, ${s.knownMisses} known misses`);
  out.log(row('pathology', s.pathology));
  out.log(row('side', s.side));
  out.log(row('negation', s.negation));
  out.log(row('uncertainty', s.uncertainty));
  return 0;
}
