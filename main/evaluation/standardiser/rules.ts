// The standardiser's rule set (rules.json, read by this engine and by training/sightline_eval/standardiser_words.py) typed,
// with the lookup tables both engines derive from it the same way.
import rulesJson from './rules.json';

export type CueKind = 'negated' | 'resolved' | 'uncertain';
export type MentionState = CueKind | 'positive';
export type CueScope = 'forward' | 'backward' | 'both';

export interface Rules {
  version: number;
  pathologies: { name: string; tier: number }[];
  rewrites: [string, string][];
  terms: Record<string, string[]>;
  ignore_terms: string[];
  patterns: { category: string; all: string[][]; state: MentionState | null }[];
  cues: { phrase: string; kind: CueKind; scope: CueScope }[];
  links: string[];
  terminators: string[];
  list_joiners: string[];
  coordinators: string[];
  scope_precedence: CueKind[];
  finding_preference: MentionState[];
  sides: Record<string, string>;
  side_joiners: string[];
  zones: Record<string, string>;
  plural_zones: Record<string, string>;
  plural_nouns: string[];
  sided_zones: Record<string, [string, string]>;
  pleural: { word: string; zone: string; before: string[] };
  generic_zone: string;
  spellings: Record<string, string>;
  class_locations: Record<string, string>;
  unsided_locations: { category: string; word: string; location: string }[];
}

export const RULES = rulesJson as unknown as Rules;

export const PATHOLOGIES: readonly string[] = RULES.pathologies.map((p) => p.name);
export const TIER: ReadonlyMap<string, number> = new Map(RULES.pathologies.map((p) => [p.name, p.tier]));

/** What one lexicon phrase is: a pathology term, ignored, a cue, a link, a terminator, a coordinator, a list joiner. */
export interface LexRoles {
  term?: string;
  ignore?: true;
  cue?: { kind: CueKind; scope: CueScope };
  link?: true;
  terminator?: true;
  coordinator?: true;
  joiner?: true;
}

/** Phrases keyed by their tokens joined with a space (tokens never contain one). */
export const LEXICON: ReadonlyMap<string, LexRoles> = (() => {
  const lex = new Map<string, LexRoles>();
  const role = (phrase: string, set: (r: LexRoles) => void) => {
    const r = lex.get(phrase) ?? {};
    set(r);
    lex.set(phrase, r);
  };
  for (const [cat, terms] of Object.entries(RULES.terms)) for (const t of terms) role(t, (r) => (r.term = cat));
  for (const t of RULES.ignore_terms) role(t, (r) => (r.ignore = true));
  for (const c of RULES.cues) role(c.phrase, (r) => (r.cue = { kind: c.kind, scope: c.scope }));
  for (const t of RULES.links) role(t, (r) => (r.link = true));
  for (const t of RULES.terminators) role(t, (r) => (r.terminator = true));
  for (const t of RULES.coordinators) role(t, (r) => (r.coordinator = true));
  for (const t of RULES.list_joiners) role(t, (r) => (r.joiner = true));
  return lex;
})();

export const REWRITES: ReadonlyMap<string, string[]> = new Map(RULES.rewrites.map(([a, b]) => [a, b.split(' ')]));

/** Length of the longest phrase of `table` that starts at token i (0 when none); phrases have at most 8 tokens. */
export function longest(tokens: readonly string[], i: number, table: ReadonlyMap<string, unknown>): number {
  for (let n = Math.min(8, tokens.length - i); n > 0; n--) if (table.has(tokens.slice(i, i + n).join(' '))) return n;
  return 0;
}
