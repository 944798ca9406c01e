// User-defined subsets of a benchmark (issue 10): by class, by dataset split, by a list of pair keys (the results
// page saves the pairs its per-pair table shows). A pair is in when it meets every part given. Saved subsets are
// checked against the benchmark (an unknown class, split or key is refused, naming the known ones); a run resolves
// its subset when it starts and stores the rule, so later edits of the subset do not change it.
import type { z } from 'zod';
import { RpcError } from '../../../common/contract';
import type { Subset, SubsetSaveRequest } from '../../../common/contract/evaluation';
import type { Db } from '../../db/database';
import { deleteSubset, listSubsets, saveSubset, type SubsetRow, type SubsetRule } from '../../db/prompts-repo';
import { currentUser } from '../prompts';
import { BenchmarkError, loadBenchmark, resolveBenchmark, type BenchmarkPair } from './definitions';

export type { SubsetRule };

/** The pairs in the subset, in benchmark order. */
export function applySubset<P extends Pick<BenchmarkPair, 'key' | 'category' | 'split'>>(pairs: readonly P[], rule: SubsetRule): P[] {
  const keys = rule.pairs ? new Set(rule.pairs) : null;
  return pairs.filter((p) => (!rule.classes || rule.classes.includes(p.category)) && (!rule.splits || (p.split !== null && rule.splits.includes(p.split))) && (!keys || keys.has(p.key)));
}

const quoteList = (xs: readonly string[], max = 12) => `${xs.slice(0, max).map((x) => `"${x}"`).join(', ')}${xs.length > max ? `, ... (${xs.length})` : ''}`;

function ruleOf(r: SubsetRule): SubsetRule {
  return { ...(r.classes ? { classes: r.classes } : {}), ...(r.splits ? { splits: r.splits } : {}), ...(r.pairs ? { pairs: r.pairs } : {}) };
}

function view(db: Db, row: SubsetRow): z.output<typeof Subset> {
  let size: number;
  try {
    size = applySubset(loadBenchmark(db, row.benchmark, null).pairs, row.rule).length;
  } catch {
    size = 0; // the benchmark's dataset is gone
  }
  return { id: row.id, name: row.name, benchmark: row.benchmark, ...row.rule, user: row.user, createdAt: row.createdAt, size };
}

export function saveSubsetOf(db: Db, request: z.output<typeof SubsetSaveRequest>): z.output<typeof Subset> {
  let key: string;
  try {
    key = resolveBenchmark(db, request.benchmark).key;
  } catch (error) {
    if (error instanceof BenchmarkError) throw new RpcError('invalid_input', error.message);
    throw error;
  }
  // every pair, located or not: a key of a pair dropped today (no location) may come back with a correction
  const all = loadBenchmark(db, key, null, true).pairs;
  const rule = ruleOf(request);
  const check = (what: string, given: readonly string[] | undefined, known: readonly string[]) => {
    const unknown = (given ?? []).filter((x) => !known.includes(x));
    if (unknown.length) throw new RpcError('invalid_input', `${key} has no ${what} ${quoteList(unknown)} (known: ${known.length ? quoteList(known) : 'none'})`);
  };
  check('class', rule.classes, [...new Set(all.map((p) => p.category))].sort());
  check('split', rule.splits, [...new Set(all.flatMap((p) => (p.split ? [p.split] : [])))].sort());
  check('pair', rule.pairs, all.map((p) => p.key));
  return view(db, saveSubset(db, { name: request.name, benchmark: key, rule, user: currentUser(db) }));
}

export function listSubsetsOf(db: Db, benchmark?: string): z.output<typeof Subset>[] {
  let key: string | undefined;
  if (benchmark !== undefined) {
    try {
      key = resolveBenchmark(db, benchmark).key;
    } catch (error) {
      if (error instanceof BenchmarkError) throw new RpcError('invalid_input', error.message);
      throw error;
    }
  }
  return listSubsets(db, key).map((r) => view(db, r));
}

export function deleteSubsetOf(db: Db, id: number): { deleted: boolean } {
  return { deleted: deleteSubset(db, id) };
}

/** A subset of the benchmark by name, for a run; a clear error listing the benchmark's subsets otherwise. */
export function findSubset(db: Db, benchmarkKey: string, name: string): { name: string; rule: SubsetRule } {
  const all = listSubsets(db, benchmarkKey);
  const found = all.find((s) => s.name === name);
  if (!found) throw new BenchmarkError(`${benchmarkKey} has no subset "${name}" (known: ${all.length ? quoteList(all.map((s) => s.name)) : 'none; save one on the results page'})`);
  return { name: found.name, rule: found.rule };
}
