// Precision / recall of the standardiser over a labelled list (test/vectors/standardiser-sentences.json): pathology,
// side (left / right / bilateral), negation and uncertainty, known misses included.
import { standardise, type Standardised } from './engine';

type Labels = Omit<Standardised, 'findings'>;
export interface LabelledSentence { sentence: string; category: string | null; expected: Labels; known_miss?: string }
export interface PR { tp: number; fp: number; fn: number; precision: number; recall: number }
export interface Scores { sentences: number; exact: number; knownMisses: number; pathology: PR; side: PR; negation: PR; uncertainty: PR }

function pr(tp: number, fp: number, fn: number): PR {
  return { tp, fp, fn, precision: tp + fp ? tp / (tp + fp) : 1, recall: tp + fn ? tp / (tp + fn) : 1 };
}

/** Sides named by a label's locations: "bilateral" for bilateral/bibasilar/pulmonary, lingular counts as left. */
export function sides(locations: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const l of locations) {
    if (l.startsWith('bilateral') || l === 'bibasilar' || l === 'pulmonary') out.add('bilateral');
    else if (l.startsWith('left') || l === 'lingular') out.add('left');
    else if (l.startsWith('right')) out.add('right');
  }
  return out;
}

export function score(list: readonly LabelledSentence[]): Scores {
  const c = { path: [0, 0, 0], side: [0, 0, 0], neg: [0, 0, 0], unc: [0, 0, 0] };
  let exact = 0;
  const count = (k: number[], want: boolean, got: boolean) => {
    if (want && got) k[0]++;
    else if (got) k[1]++;
    else if (want) k[2]++;
  };
  for (const s of list) {
    const { findings: _f, ...got } = standardise(s.sentence, s.category);
    const want = s.expected;
    if ((Object.keys(want) as (keyof Labels)[]).every((k) => JSON.stringify(want[k]) === JSON.stringify(got[k]))) exact++;
    // pathology: a predicted category is a true positive only when it is the labelled one
    if (got.pathology !== null && got.pathology === want.pathology) c.path[0]++;
    else {
      if (got.pathology !== null) c.path[1]++;
      if (want.pathology !== null) c.path[2]++;
    }
    const ws = sides(want.locations);
    const gs = sides(got.locations);
    for (const side of ['left', 'right', 'bilateral']) count(c.side, ws.has(side), gs.has(side));
    count(c.neg, want.negated, got.negated);
    count(c.unc, want.uncertain, got.uncertain);
  }
  return {
    sentences: list.length,
    exact,
    knownMisses: list.filter((s) => s.known_miss).length,
    pathology: pr(c.path[0], c.path[1], c.path[2]),
    side: pr(c.side[0], c.side[1], c.side[2]),
    negation: pr(c.neg[0], c.neg[1], c.neg[2]),
    uncertainty: pr(c.unc[0], c.unc[1], c.unc[2]),
  };
}
