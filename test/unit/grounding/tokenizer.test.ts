// The TypeScript CLIP tokenizer against the Python reference (training/sightline_ldm/tokenizer.py), through the
// shared vectors in test/vectors (test/vectors/README.md; training/tests/test_tokenizer_vectors.py checks that
// the same files still equal what Python produces).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { charClass, ClipTokenizer, normalize, preTokenize } from '../../../main/grounding/tokenizer';

const REPO = path.resolve(__dirname, '../../..');
const VECTORS = path.join(REPO, 'test/vectors');
const DEMO_DIR = path.join(REPO, 'models/demo');

interface VectorCase {
  text: string;
  ids: number[];
  positions: number[];
}
interface VectorFile {
  format: string;
  tokenizer: string;
  bos_id: number;
  eos_id: number;
  pad_id: number;
  max_length: number;
  vocab_size: number;
  cases: VectorCase[];
}

const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;
const demoJson = (): Record<string, unknown> => readJson(path.join(DEMO_DIR, 'tokenizer.json'));

describe.each(['tokenizer-demo.vectors.json', 'tokenizer-wide.vectors.json'])('vectors %s', (name) => {
  const v = readJson<VectorFile>(path.join(VECTORS, name));
  const tok = ClipTokenizer.fromJson(readFileSync(path.join(REPO, v.tokenizer), 'utf8'));

  it('has the reference special ids, length and enough cases', () => {
    expect(v.format).toBe('sightline-tokenizer-vectors');
    expect([tok.bosId, tok.eosId, tok.padId, tok.maxLength, tok.vocabSize]).toEqual([
      v.bos_id,
      v.eos_id,
      v.pad_id,
      v.max_length,
      v.vocab_size,
    ]);
    expect(v.cases.length).toBeGreaterThanOrEqual(300);
    expect(v.cases.some((c) => c.positions.length === v.max_length - 2)).toBe(true); // some are truncated
  });

  it('gives the reference ids and phrase positions for every case', () => {
    const wrong: string[] = [];
    for (const c of v.cases) {
      const ids = tok.encodePadded(c.text);
      const positions = tok.phraseTokenPositions(c.text);
      if (JSON.stringify(ids) !== JSON.stringify(c.ids) || JSON.stringify(positions) !== JSON.stringify(c.positions)) {
        wrong.push(`${JSON.stringify(c.text)}: ids ${JSON.stringify(ids)} want ${JSON.stringify(c.ids)}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('encode is the unpadded prefix of encodePadded', () => {
    for (const c of v.cases) {
      const ids = tok.encode(c.text);
      expect(ids).toEqual(c.ids.slice(0, c.positions.length + 2));
      expect(ids.at(-1)).toBe(v.eos_id);
    }
  });
});

describe('character classes', () => {
  it('classifies every code point as the reference pattern does (where Python knows the character)', () => {
    const d = readJson<{ format: string; runs: [number, string][] }>(path.join(VECTORS, 'tokenizer-charclass.json'));
    expect(d.format).toBe('sightline-tokenizer-charclass');
    const wrong: string[] = [];
    d.runs.forEach(([start, cls], r) => {
      if (cls === 'U') return;
      const end = r + 1 < d.runs.length ? d.runs[r + 1]![0] : 0x110000;
      for (let cp = start; cp < end; cp++) {
        const got = charClass(String.fromCodePoint(cp));
        if (got !== cls && wrong.length < 20) wrong.push(`U+${cp.toString(16)}: ${got}, want ${cls}`);
      }
    });
    expect(wrong).toEqual([]);
  });
});

describe('ClipTokenizer', () => {
  it('loads from the demo bundle with the manifest ids', () => {
    const manifest = readJson<{ text: { tokenizer: string; bos_id: number; eos_id: number; pad_id: number; max_length: number } }>(
      path.join(DEMO_DIR, 'manifest.json'),
    );
    const t = manifest.text;
    const tok = ClipTokenizer.fromJson(readFileSync(path.join(DEMO_DIR, t.tokenizer), 'utf8'), {
      bosId: t.bos_id,
      eosId: t.eos_id,
      padId: t.pad_id,
      maxLength: t.max_length,
    });
    expect([tok.bosId, tok.eosId, tok.padId, tok.maxLength]).toEqual([928, 929, 0, 77]);
    const ids = tok.encodePadded('Left apical pneumothorax');
    expect(ids).toHaveLength(77);
    expect(ids.slice(0, 5)).toEqual([928, 566, 714, 564, 929]);
    expect(ids.slice(5).every((id) => id === 0)).toBe(true);
    expect(tok.phraseTokenPositions('Left apical pneumothorax')).toEqual([1, 2, 3]);
    // a parsed object works as well as the text
    expect(ClipTokenizer.fromJson(demoJson()).encode('bibasilar atelectasis')).toEqual(tok.encode('bibasilar atelectasis'));
  });

  it('handles empty text, truncation and a shorter length like the reference', () => {
    const tok = ClipTokenizer.fromJson(demoJson());
    expect(tok.encode('')).toEqual([928, 929]);
    expect(tok.encode(' \n\t ')).toEqual([928, 929]);
    expect(tok.phraseTokenPositions('')).toEqual([]);
    const long = tok.encode('pneumothorax '.repeat(100));
    expect(long).toHaveLength(77);
    expect(long.at(-1)).toBe(929);
    expect(tok.encode('left apical pneumothorax', 4)).toEqual([928, 566, 714, 929]);
    expect(tok.encodePadded('left', 6)).toEqual([928, 566, 929, 0, 0, 0]);
    expect(tok.phraseTokenPositions('left apical pneumothorax', 4)).toEqual([1, 2]);
    expect(() => tok.encode('x', 1)).toThrow(/maxLength/);
    // a lone surrogate (no Python str from JSON has one) is encoded as U+FFFD's bytes, not an exception
    expect(tok.encode('a\ud800b')).toEqual(tok.encode('a\ufffdb'));
  });

  it('normalises and pre-tokenises as tokenizer.py', () => {
    expect(normalize('  Left\t\nLOWER  lobe ')).toBe('left lower lobe');
    expect(preTokenize("Left  Lower-lobe consolidation, 12mm. It's")).toEqual([
      'left', 'lower', '-', 'lobe', 'consolidation', ',', '1', '2', 'mm', '.', 'it', "'s",
    ]);
    expect(preTokenize('cafe\u0301_x')).toEqual(['caf\u00e9', '_', 'x']);
    expect(preTokenize('a<|endoftext|>b')).toEqual(['a', '<|endoftext|>', 'b']);
    // the reference's quirks (Python \s, re.IGNORECASE)
    expect(preTokenize('a\x1cb')).toEqual(['a', 'b']);
    expect(preTokenize('\ufeffa')).toEqual(['\ufeff', 'a']);
    expect(preTokenize("don'\u017ft")).toEqual(['don', "'\u017f", 't']);
    expect(preTokenize('a\u0345b')).toEqual(['a\u0345b']);
  });

  describe('rejects a tokenizer.json that is not a CLIP byte-level BPE', () => {
    const variant = (edit: (d: Record<string, any>) => void): string => {
      const d = demoJson() as Record<string, any>;
      edit(d);
      return JSON.stringify(d);
    };
    it.each([
      ['not JSON', '{"model": ', /not valid JSON/],
      ['not an object', '[1, 2]', /not a JSON object/],
      ['no model', variant((d) => delete d.model), /no "model" object/],
      ['a WordPiece model', variant((d) => (d.model.type = 'WordPiece')), /model type "WordPiece" is not BPE/],
      ['no ByteLevel pre-tokenizer', variant((d) => (d.pre_tokenizer = { type: 'Whitespace' })), /not a byte-level BPE/],
      ['no pre-tokenizer', variant((d) => delete d.pre_tokenizer), /not a byte-level BPE/],
      ['another end-of-word suffix', variant((d) => (d.model.end_of_word_suffix = '')), /end_of_word_suffix "" is not CLIP's/],
      ['a subword prefix', variant((d) => (d.model.continuing_subword_prefix = '##')), /continuing_subword_prefix "##"/],
      ['a bad merge', variant((d) => d.model.merges.push('a b c')), /bad merge "a b c"/],
      [
        'no <|startoftext|>',
        variant((d) => {
          delete d.model.vocab['<|startoftext|>'];
          d.added_tokens = d.added_tokens.filter((t: { content: string }) => t.content !== '<|startoftext|>');
        }),
        /special token <\|startoftext\|> \(bos\) is missing/,
      ],
      [
        'no <|endoftext|>',
        variant((d) => {
          delete d.model.vocab['<|endoftext|>'];
          d.added_tokens = [];
        }),
        /special token <\|endoftext\|> \(eos\) is missing/,
      ],
      ['a pad token not in the vocabulary', variant((d) => (d.padding.pad_token = '<pad>')), /pad token "<pad>" is missing/],
    ])('%s', (_name, json, message) => {
      expect(() => ClipTokenizer.fromJson(json)).toThrow(message);
    });

    it('when the manifest ids disagree with the file', () => {
      const json = JSON.stringify(demoJson());
      expect(() => ClipTokenizer.fromJson(json, { bosId: 49406 })).toThrow(/has id 928, not the expected bos id 49406/);
      expect(() => ClipTokenizer.fromJson(json, { eosId: 49407 })).toThrow(/has id 929, not the expected eos id 49407/);
      expect(() => ClipTokenizer.fromJson(json, { padId: 929 })).toThrow(/pad token "!" has id 0, not the expected pad id 929/);
      expect(() => ClipTokenizer.fromJson(json, { maxLength: 1 })).toThrow(/maxLength must be an integer >= 2/);
    });
  });

  it('accepts a model without a type, as the reference does', () => {
    const d = demoJson() as { model: { type?: unknown } };
    d.model.type = null;
    expect(ClipTokenizer.fromJson(d).encode('left')).toEqual([928, 566, 929]);
  });

  it('pads with the end token when the file names no pad token, or with the given pad id', () => {
    const d = demoJson();
    delete d.padding;
    expect(ClipTokenizer.fromJson(d).padId).toBe(929);
    expect(ClipTokenizer.fromJson(d, { padId: 0 }).encodePadded('left', 4)).toEqual([928, 566, 929, 0]);
    expect(() => ClipTokenizer.fromJson(d, { padId: 5000 })).toThrow(/pad id 5000 is not in the vocabulary/);
  });

  it('encodes a phrase in well under a millisecond', () => {
    const tok = ClipTokenizer.fromJson(readFileSync(path.join(VECTORS, 'tokenizer-wide.json'), 'utf8'));
    const phrases = readJson<VectorFile>(path.join(VECTORS, 'tokenizer-wide.vectors.json')).cases.map((c) => c.text);
    let t0 = performance.now();
    for (const p of phrases) tok.encodePadded(p); // first sight of every word: BPE runs
    const coldMs = (performance.now() - t0) / phrases.length;
    t0 = performance.now();
    for (let r = 0; r < 5; r++) for (const p of phrases) tok.encodePadded(p);
    const warmMs = (performance.now() - t0) / (5 * phrases.length);
    console.log(`tokenizer: ${phrases.length} texts, ${coldMs.toFixed(4)} ms/text cold, ${warmMs.toFixed(4)} ms/text cached`);
    expect(coldMs).toBeLessThan(1);
    expect(warmMs).toBeLessThan(1);
  });
});
