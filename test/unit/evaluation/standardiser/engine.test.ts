// The TypeScript standardiser against the shared vectors: the labelled sentences (test/vectors/standardiser-
// sentences.json: gold labels, known misses) and every output of the Python engine
// (test/vectors/standardiser-outputs.json, written by training/sightline_eval/locations.py), which
// training/tests/test_eval_locations.py checks from the Python side.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { composePrompt, tokenize } from '../../../../main/evaluation/standardiser/locations';
import { extractLocation, standardise, type Standardised } from '../../../../main/evaluation/standardiser/engine';
import { RULES } from '../../../../main/evaluation/standardiser/rules';

const VECTORS = path.resolve(__dirname, '../../../vectors');
type Top = Omit<Standardised, 'findings'>;
const labelled: { sentences: { sentence: string; category: string | null; expected: Top; known_miss?: string }[] } = JSON.parse(
  readFileSync(path.join(VECTORS, 'standardiser-sentences.json'), 'utf8'),
);
const outputs: { rules_version: number; cases: { text: string; category: string | null; output: Standardised }[] } = JSON.parse(
  readFileSync(path.join(VECTORS, 'standardiser-outputs.json'), 'utf8'),
);
const top = ({ findings: _findings, ...rest }: Standardised): Top => rest;

describe('standardiser: labelled sentences', () => {
  it('has at least 200 sentences, a few known misses, and every gold label in the vocabulary', () => {
    expect(labelled.sentences.length).toBeGreaterThanOrEqual(200);
    const misses = labelled.sentences.filter((s) => s.known_miss);
    expect(misses.length).toBeGreaterThan(0);
    expect(misses.length).toBeLessThan(labelled.sentences.length / 10);
    const names = RULES.pathologies.map((p) => p.name);
    for (const s of labelled.sentences) if (s.expected.pathology !== null) expect(names).toContain(s.expected.pathology);
  });

  it('reproduces the gold label of every sentence that is not a known miss', () => {
    const wrong = labelled.sentences
      .filter((s) => !s.known_miss)
      .map((s) => ({ s, got: top(standardise(s.sentence, s.category)) }))
      .filter(({ s, got }) => JSON.stringify(sorted(got)) !== JSON.stringify(sorted(s.expected)))
      .map(({ s, got }) => `${s.sentence} [${s.category}]: want ${JSON.stringify(s.expected)}, got ${JSON.stringify(got)}`);
    expect(wrong).toEqual([]);
  });

  it('still misses the known misses (a fix must move them to the gold)', () => {
    for (const s of labelled.sentences.filter((x) => x.known_miss)) {
      expect(top(standardise(s.sentence, s.category)), s.sentence).not.toEqual(s.expected);
    }
  });
});

describe('standardiser: the same behaviour as the Python engine', () => {
  it('gives the Python output on every case of standardiser-outputs.json', () => {
    expect(outputs.rules_version).toBe(RULES.version);
    expect(outputs.cases.length).toBeGreaterThan(500);
    const differ = outputs.cases.filter((c) => JSON.stringify(standardise(c.text, c.category)) !== JSON.stringify(c.output));
    expect(differ.map((c) => `${JSON.stringify(c.text)} [${c.category}]`)).toEqual([]);
  });
});

describe('standardiser: pieces', () => {
  it('tokenizes ASCII-only, rewrites abbreviations, and composes prompts', () => {
    expect(tokenize("LLL b/l CP angle can't")).toEqual(['left', 'lower', 'lobe', 'bilateral', 'costophrenic', 'angle', 'cant']);
    expect(composePrompt('left pleural', 'Pleural Effusion')).toBe('left pleural effusion');
    expect(composePrompt('cardiomegaly', 'Cardiomegaly')).toBe('cardiomegaly');
    expect(composePrompt('bibasilar', 'Lung Opacity')).toBe('bibasilar lung opacity');
  });

  it('keeps the method.md 4.1 extractor meaning (the cases of training/tests/test_eval_mscxr.py)', () => {
    expect(extractLocation('Left retrocardiac opacity', 'Lung Opacity')).toBe('left lower');
    expect(extractLocation('right lower and left lower lobe consolidation', 'Consolidation')).toBe('bilateral lower');
    expect(extractLocation('right upper and lower lobe consolidation', 'Consolidation')).toBe('right upper and right lower');
    expect(extractLocation('Moderate pulmonary edema', 'Edema')).toBe('pulmonary');
    expect(extractLocation('Mild interstitial edema', 'Edema')).toBeNull();
    expect(extractLocation('Resolved right pleural effusion', 'Pleural Effusion')).toBeNull();
  });

  it('refuses an unknown category by name', () => {
    expect(() => standardise('opacity', 'Nodule')).toThrow(/unknown category "Nodule"/);
  });

  it('standardises a sentence in under 2 ms (figure printed)', () => {
    const texts = labelled.sentences.map((s) => s.sentence);
    for (const t of texts) standardise(t); // warm
    const rounds = 20;
    const t0 = performance.now();
    for (let r = 0; r < rounds; r++) for (const t of texts) standardise(t);
    const perSentence = (performance.now() - t0) / (rounds * texts.length);
    console.log(`standardiser: ${(perSentence * 1000).toFixed(1)} us per sentence (${texts.length} sentences x ${rounds})`);
    expect(perSentence).toBeLessThan(2);
  });
});

function sorted(o: Top): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
}
