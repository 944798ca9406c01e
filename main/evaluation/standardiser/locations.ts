// Tokens and locations of the standardiser (the method.md 4.1 vocabulary), step for step as
// training/sightline_eval/standardiser_words.py: tokenize, location marks, (side, zone) mentions, the bilateral merge,
// spelling and the prompt's composition.
import { longest, REWRITES, RULES } from './rules';

const TOKEN = /[a-z0-9]+|[.,;:!?\n/]/g;
export const STRONG: ReadonlySet<string> = new Set(['.', ';', ':', '!', '?', '\n']);

/** ASCII lower-case (the same in every engine), apostrophes dropped, hyphens to spaces, then the rewrites. */
export function tokenize(text: string): string[] {
  const t = text.replace(/[A-Z]/g, (c) => c.toLowerCase()).replace(/['\u2019]/g, '').replace(/-/g, ' ');
  const raw = t.match(TOKEN) ?? [];
  const out: string[] = [];
  for (let i = 0; i < raw.length; ) {
    const n = longest(raw, i, REWRITES);
    if (n) {
      out.push(...REWRITES.get(raw.slice(i, i + n).join(' '))!);
      i += n;
    } else out.push(raw[i++]);
  }
  return out;
}

export type Mark = { kind: 'side'; side: string } | { kind: 'zone'; zone: string; plural: boolean } | { kind: 'sided'; side: string; zone: string } | null;

export function locationMarks(tok: readonly string[]): Mark[] {
  const { sides, zones, plural_zones: plural, pleural: pl } = RULES;
  return tok.map((w, i): Mark => {
    const nxt = i + 1 < tok.length ? tok[i + 1] : '';
    if (Object.hasOwn(RULES.sided_zones, w)) return { kind: 'sided', side: RULES.sided_zones[w][0], zone: RULES.sided_zones[w][1] };
    if (Object.hasOwn(sides, w)) return { kind: 'side', side: sides[w] };
    if (Object.hasOwn(plural, w)) return { kind: 'zone', zone: plural[w], plural: true };
    if (Object.hasOwn(zones, w)) return { kind: 'zone', zone: zones[w], plural: RULES.plural_nouns.includes(nxt) };
    if (w === pl.word && pl.before.includes(nxt)) return { kind: 'zone', zone: pl.zone, plural: false };
    return null;
  });
}

type SideZone = [string, string];
const has = (list: SideZone[], s: string, z: string) => list.some(([a, b]) => a === s && b === z);

/** (side, zone) mentions in order; zone "" for a bare side. */
export function sideZoneMentions(words: readonly string[], marks: readonly Mark[]): SideZone[] {
  const out: SideZone[] = [];
  let group: string[] = [];
  let used = true;
  let pending: string[] = [];
  const add = (s: string, z: string) => {
    if (!has(out, s, z)) out.push([s, z]);
  };
  marks.forEach((m, i) => {
    const prev = i > 0 ? words[i - 1] : '';
    if (m === null) return;
    if (m.kind === 'sided') add(m.side, m.zone);
    else if (m.kind === 'side') {
      if (group.length && !used && RULES.side_joiners.includes(prev)) group.push(m.side);
      else {
        if (group.length && !used) for (const g of group) add(g, '');
        group = [m.side];
        used = false;
      }
      if (pending.length) {
        for (const z of pending) for (const g of group) add(g, z);
        pending = [];
        used = true;
      }
    } else if (group.length) {
      for (const g of group) add(g, m.zone);
      used = true;
    } else if (m.plural) add('bilateral', m.zone);
    else pending.push(m.zone);
  });
  if (group.length && !used) for (const g of group) add(g, '');
  return out;
}

/** left + right of one zone -> bilateral; bilateral absorbs one-sided duplicates; the generic zone ("pleural") goes
 * when the same side has a specific one; a bare side goes when that side (or bilateral) has a zone. */
export function mergeSides(mentions: SideZone[]): SideZone[] {
  const generic = RULES.generic_zone;
  const bilateralZones = mentions.filter(([s]) => s === 'bilateral').map(([, z]) => z);
  for (const [s, z] of mentions) if (s === 'left' && has(mentions, 'right', z)) bilateralZones.push(z);
  let out: SideZone[] = [];
  for (const [s, z] of mentions) {
    const item: SideZone = bilateralZones.includes(z) ? ['bilateral', z] : [s, z];
    if (!has(out, item[0], item[1])) out.push(item);
  }
  const specific = new Set(out.filter(([, z]) => z !== '' && z !== generic).map(([s]) => s));
  out = out.filter(([s, z]) => !(z === generic && specific.has(s)));
  const sided = new Set(out.filter(([, z]) => z).map(([s]) => s));
  return out.filter(([s, z]) => z || (!sided.has(s) && !(s !== 'bilateral' && sided.has('bilateral'))));
}

export function spell(side: string, zone: string): string {
  const key = `${side} ${zone}`.trim();
  return Object.hasOwn(RULES.spellings, key) ? RULES.spellings[key] : key;
}

/** "{location} {pathology}" with the words shared by the location's end and the pathology's start written once. */
export function composePrompt(location: string, pathology: string): string {
  const loc = location.split(/\s+/).filter(Boolean);
  const pat = pathology.toLowerCase().split(/\s+/).filter(Boolean);
  let k = 0;
  for (let n = Math.min(loc.length, pat.length); n > 0; n--) {
    if (loc.slice(-n).join(' ') === pat.slice(0, n).join(' ')) {
      k = n;
      break;
    }
  }
  return [...loc, ...pat.slice(k)].join(' ');
}
