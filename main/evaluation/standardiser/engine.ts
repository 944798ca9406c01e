// The prompt standardiser: a report sentence -> "{location} {pathology}" prompt with its pathology, locations and
// negation / resolution / uncertainty (docs/method.md 4.1). Rules are data (rules.json); this file and
// training/sightline_eval/locations.py interpret them step for step (main/evaluation/README.md "## Standardiser");
// test/vectors/standardiser-*.json hold both engines to the same outputs.
import type { z } from 'zod';
import type { Standardised as StandardisedShape, StandardisedFinding as StandardisedFindingShape } from '../../../common/contract/evaluation';
import { composePrompt, locationMarks, mergeSides, sideZoneMentions, spell, STRONG, tokenize, type Mark } from './locations';
import { LEXICON, longest, PATHOLOGIES, RULES, TIER, type CueKind, type LexRoles, type MentionState } from './rules';

/** One pathology a sentence names; the shapes are the contract's (`evaluation.standardize` returns them). */
export type StandardisedFinding = z.output<typeof StandardisedFindingShape>;
/** pathology: one of the 8 MS-CXR categories, or null when the sentence names none (and none was given);
 * findings: every pathology the sentence names, in order of first mention */
export type Standardised = z.output<typeof StandardisedShape>;

type Match = { a: number; b: number; r: LexRoles };
type Range = [number, number];
type Mention = { at: number; category: string; state: MentionState };
const PRESENT: readonly MentionState[] = ['positive', 'uncertain'];
const ABSENT: readonly MentionState[] = ['negated', 'resolved'];

function lexiconMatches(tok: readonly string[]): Match[] {
  const out: Match[] = [];
  for (let i = 0; i < tok.length; ) {
    const n = longest(tok, i, LEXICON);
    if (n) {
      out.push({ a: i, b: i + n, r: LEXICON.get(tok.slice(i, i + n).join(' '))! });
      i += n;
    } else i++;
  }
  return out;
}

/** Clauses, each a list of comma-parts [start, end); boundaries belong to no part. */
function clausesOf(tok: readonly string[], matches: Match[]): Range[][] {
  const stop = tok.map((t) => STRONG.has(t));
  for (const m of matches) if (m.r.terminator) for (let k = m.a; k < m.b; k++) stop[k] = true;
  const clauses: Range[][] = [];
  let cur: Range[] = [];
  let start = 0;
  for (let i = 0; i <= tok.length; i++) {
    const end = i === tok.length || stop[i];
    if (end || tok[i] === ',') {
      if (i > start) cur.push([start, i]);
      if (end) {
        if (cur.length) clauses.push(cur);
        cur = [];
      }
      start = i + 1;
    }
  }
  return clauses;
}

/** Per token: the strongest cue kind covering it (scope_precedence), or "positive". */
function statesOf(tok: readonly string[], matches: Match[], clauses: Range[][]): MentionState[] {
  const prec = RULES.scope_precedence;
  const state: MentionState[] = tok.map(() => 'positive');
  const joiners = matches.filter((m) => m.r.joiner).map((m) => m.a);
  const cover = (a: number, b: number, kind: CueKind) => {
    for (let k = a; k < b; k++) {
      const s = state[k];
      if (s === 'positive' || prec.indexOf(kind) < prec.indexOf(s)) state[k] = kind;
    }
  };
  for (const parts of clauses) {
    parts.forEach(([ps, pe], pi) => {
      for (const m of matches) {
        if (!m.r.cue || m.a < ps || m.a >= pe) continue;
        const { kind, scope } = m.r.cue;
        if (scope !== 'backward') {
          let end = pe;
          for (const [qs, qe] of parts.slice(pi + 1)) if (joiners.some((j) => qs <= j && j < qe)) end = qe; // "no A, B, or C"
          cover(m.b, end, kind);
        }
        if (scope !== 'forward') cover(ps, m.a, kind);
      }
    });
  }
  return state;
}

function mentionsOf(tok: readonly string[], matches: Match[], clauses: Range[][], state: MentionState[]): Mention[] {
  const out: Mention[] = matches.filter((m) => m.r.term).map((m) => ({ at: m.a, category: m.r.term!, state: state[m.a] }));
  for (const parts of clauses) {
    for (const [ps, pe] of parts) {
      for (const p of RULES.patterns) {
        const found: number[] = [];
        for (const words of p.all) {
          let hit = -1;
          for (let k = ps; k < pe; k++) if (words.includes(tok[k])) { hit = k; break; }
          if (hit < 0) break;
          found.push(hit);
        }
        if (found.length === p.all.length) {
          const k = Math.max(...found);
          out.push({ at: k, category: p.category, state: p.state ?? state[k] });
        }
      }
    }
  }
  return out.sort((x, y) => x.at - y.at); // stable: terms before patterns at one index, as in Python
}

/** Whether a coordinator at [a, b) cuts [s, e): both sides name a pathology, the word before it is no location word
 * ("the right and left lower lobes"), and a location belongs to the right side alone: before its first mention
 * ("... and small right effusion"), or after the left side's last mention while the right side has one too.
 * Otherwise the location is shared ("left lower lobe consolidation and atelectasis"). */
function cuts(s: number, a: number, b: number, e: number, mentions: Mention[], marks: Mark[]): boolean {
  const left = mentions.filter((m) => s <= m.at && m.at < a).map((m) => m.at);
  const right = mentions.filter((m) => b <= m.at && m.at < e).map((m) => m.at);
  if (!left.length || !right.length || marks[a - 1] !== null) return false;
  const loc = (x: number, y: number) => marks.slice(x, y).some((m) => m !== null);
  return loc(b, right[0]) || (loc(left[left.length - 1], a) && loc(b, e));
}

/** Comma-parts, cut before the coordinators that separate two findings (`cuts`). */
function segmentsOf(clauses: Range[][], matches: Match[], mentions: Mention[], marks: Mark[]): Range[] {
  const coord = matches.filter((m) => m.r.coordinator);
  const out: Range[] = [];
  for (const parts of clauses) {
    for (const [ps, pe] of parts) {
      let start = ps;
      for (const { a, b } of coord) {
        if (start < a && b <= pe && cuts(start, a, b, pe, mentions, marks)) {
          out.push([start, a]);
          start = a;
        }
      }
      out.push([start, pe]);
    }
  }
  return out;
}

/** A segment whose first mention no link precedes ("likely", "consistent with") starts a new group. */
function groupsOf(segments: Range[], matches: Match[], mentions: Mention[]): Range[][] {
  const links = matches.filter((m) => m.r.link).map((m) => m.a);
  const groups: Range[][] = [];
  let cur: Range[] = [];
  let curHas = false;
  for (const [s, e] of segments) {
    const first = mentions.find((m) => s <= m.at && m.at < e)?.at;
    if (first !== undefined && curHas && !links.some((k) => s <= k && k < first)) {
      groups.push(cur);
      cur = [];
      curHas = false;
    }
    cur.push([s, e]);
    curHas ||= first !== undefined;
  }
  if (cur.length) groups.push(cur);
  return groups;
}

const best = (states: MentionState[]) => states.reduce((a, b) => (RULES.finding_preference.indexOf(b) < RULES.finding_preference.indexOf(a) ? b : a));

function locationsOf(tok: readonly string[], marks: Mark[], idx: number[], category: string | null, present: boolean): string[] {
  if (category !== null && Object.hasOwn(RULES.class_locations, category)) return present ? [RULES.class_locations[category]] : [];
  const kept = idx.filter((k) => !STRONG.has(tok[k]) && tok[k] !== ',');
  const words = kept.map((k) => tok[k]);
  const found = mergeSides(sideZoneMentions(words, kept.map((k) => marks[k]))).map(([s, z]) => spell(s, z));
  if (!found.length) for (const u of RULES.unsided_locations) if (u.category === category && words.includes(u.word)) return [u.location];
  return found;
}

interface Analysis { tok: string[]; marks: Mark[]; state: MentionState[]; groups: Range[][]; mentions: Mention[]; cuesSeen: CueKind[] }

function findingOf(x: Analysis, category: string): StandardisedFinding {
  const own = x.mentions.filter((m) => m.category === category);
  let st: MentionState;
  let chosen: Range[][];
  if (own.length) {
    st = best(own.map((m) => m.state));
    const keep = PRESENT.includes(st) ? PRESENT : ABSENT;
    const at = own.filter((m) => keep.includes(m.state)).map((m) => m.at);
    chosen = x.groups.filter((g) => g.some(([s, e]) => at.some((k) => s <= k && k < e)));
  } else {
    // a category the sentence never names: the sentence is its group, its state the best of its mentions and
    // location words ("right lower lobe, no effusion" is present), else the strongest cue
    const pool = [...x.mentions.map((m) => m.state), ...x.state.filter((_, k) => x.marks[k] !== null)];
    st = pool.length ? best(pool) : (x.cuesSeen[0] ?? 'positive');
    chosen = x.groups;
  }
  const keep = PRESENT.includes(st) ? PRESENT : ABSENT;
  const idx: number[] = [];
  for (const g of chosen) for (const [s, e] of g) for (let k = s; k < e; k++) if (keep.includes(x.state[k])) idx.push(k);
  const present = PRESENT.includes(st);
  const locations = locationsOf(x.tok, x.marks, idx, category, present);
  const prompt = present ? (locations.length ? composePrompt(locations.join(' and '), category) : category.toLowerCase()) : null;
  return { pathology: category, prompt, locations, negated: !present, resolved: st === 'resolved', uncertain: st === 'uncertain' };
}

/** Sentence (or phrase) -> prompt, pathology, locations, negated/resolved/uncertain and every finding it names.
 * `category` (one of the 8 MS-CXR categories) when the pathology is given; otherwise it is inferred. */
export function standardise(text: string, category: string | null = null): Standardised {
  if (category !== null && !PATHOLOGIES.includes(category)) throw new Error(`unknown category "${category}" (one of ${PATHOLOGIES.join(', ')})`);
  const tok = tokenize(text);
  const matches = lexiconMatches(tok);
  const clauses = clausesOf(tok, matches);
  const state = statesOf(tok, matches, clauses);
  const marks = locationMarks(tok);
  const mentions = mentionsOf(tok, matches, clauses, state);
  const groups = groupsOf(segmentsOf(clauses, matches, mentions, marks), matches, mentions);
  const kinds = new Set(matches.flatMap((m) => (m.r.cue ? [m.r.cue.kind] : [])));
  const cuesSeen = RULES.scope_precedence.filter((k) => kinds.has(k));
  const x: Analysis = { tok, marks, state, groups, mentions, cuesSeen };
  const order = [...new Set(mentions.map((m) => m.category))];
  const findings = order.map((c) => findingOf(x, c));
  let top: StandardisedFinding | Omit<Standardised, 'findings'>;
  if (category !== null) top = findings.find((f) => f.pathology === category) ?? findingOf(x, category);
  else if (findings.length) {
    // present before absent; among present ones the diagnosis before the descriptor ("opacity ... likely
    // pneumonia"), then the first named; among absent ones the first named
    const key = (f: StandardisedFinding) => [f.negated ? 1 : 0, f.negated ? 0 : -TIER.get(f.pathology)!, order.indexOf(f.pathology)];
    top = findings.reduce((a, b) => {
      const ka = key(a);
      const kb = key(b);
      for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return kb[i] < ka[i] ? b : a;
      return a;
    });
  } else {
    const idx: number[] = [];
    for (const g of groups) for (const [s, e] of g) for (let k = s; k < e; k++) if (PRESENT.includes(state[k])) idx.push(k);
    top = { pathology: null, prompt: null, locations: locationsOf(tok, marks, idx, null, true), negated: false, resolved: false, uncertain: false };
  }
  return { ...top, findings };
}

/** The location of a phrase (locations joined with " and "), or null when absent or unlocated. */
export function extractLocation(text: string, category: string | null = null): string | null {
  const r = standardise(text, category);
  return r.negated || !r.locations.length ? null : r.locations.join(' and ');
}
