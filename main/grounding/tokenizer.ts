// CLIP byte-level BPE tokenizer for the grounding runtime: the same ids as the Python reference
// (training/sightline_ldm/tokenizer.py, `CLIPTokenizer`), read from a Hugging Face tokenizer.json.
//
// Pure TypeScript (no Node built-ins): give it the tokenizer.json text or parsed object, so it also runs in a
// worker thread or the renderer. Checked against the shared vectors in test/vectors (test/vectors/README.md).
//
// Pipeline of `encode(text)`, step for step as tokenizer.py:
//  1. normalise: NFC, every run of Python whitespace -> one space, strip, lower-case;
//  2. pre-tokenise with the CLIP pattern
//     <|startoftext|>|<|endoftext|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
//     (matches kept, whitespace dropped), with the Python reference's exact semantics (see PY_* below);
//  3. each piece -> UTF-8 bytes -> the GPT-2/CLIP printable byte alphabet;
//  4. BPE by merge rank, the last symbol of every word carrying `</w>`; a token missing from the vocabulary
//     becomes the end token (as the reference's unknown token);
//  5. [bos] + ids + [eos], truncated to maxLength keeping the end token; `encodePadded` pads with the pad id.
//
// Why not @huggingface/tokenizers (0.2.0): it reproduces 583 of the 587 vectors of each vector file, but follows
// the Rust crate where the Python reference differs, which no configuration changes:
//  - Python's `\s` (str.isspace) also holds U+001C..U+001F: "a\x1cb" is ["a","b"] in Python, 3 pieces there;
//  - the reference compiles its pattern with re.IGNORECASE (after lower-casing): `'s` then also matches
//    "'\u017f" (long s) and the letter class also matches U+0345 (combining ypogegrammeni, whose upper case is
//    the letter Ι), so "a\u0345b" is one letter run in Python.
// These are reproduced here (PY_SPACE, LETTER and the `[s\u017f]` alternatives below).
//
// Unicode version: the letter/number classes are JavaScript's \p{L}/\p{N} (the runtime's ICU data); the
// reference builds them from Python's unicodedata (Unicode 14.0 for Python 3.11). They agree on every code point
// assigned in both; a character assigned in a later Unicode version is a letter/number here and punctuation in
// the reference. NFC and lower-casing likewise follow the runtime's tables.

const BOS = '<|startoftext|>';
const EOS = '<|endoftext|>';
const EOW = '</w>';
export const CLIP_MAX_LENGTH = 77;

/** Python's `\s` / str.isspace() (Unicode White_Space plus U+001C..U+001F; JavaScript's \s lacks those and
 * has U+FEFF, which Python does not count as space). */
const PY_SPACE = '\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
/** The reference's letter class under re.IGNORECASE: \p{L} plus U+0345 (its upper case, U+0399, is a letter). */
const LETTER = '\\p{L}\\u0345';
const SPACE_RUN = new RegExp(`[${PY_SPACE}]+`, 'gu');
const EDGE_SPACE = /^ | $/g;
/** The CLIP pattern. Under re.IGNORECASE Python's "s" also matches "ſ" (U+017F), which lower-casing keeps. */
const CLIP_PATTERN = new RegExp(
  `<\\|[s\\u017f]tartoftext\\|>|<\\|endoftext\\|>|'[s\\u017f]|'t|'re|'ve|'m|'ll|'d|[${LETTER}]+|\\p{N}|[^${PY_SPACE}${LETTER}\\p{N}]+`,
  'gu',
);

const IS_SPACE = new RegExp(`^[${PY_SPACE}]$`, 'u');
const IS_LETTER = new RegExp(`^[${LETTER}]$`, 'u');
const IS_NUMBER = /^\p{N}$/u;

/** How the CLIP pattern treats one character (test/vectors/tokenizer-charclass.json holds the reference's):
 * S whitespace (dropped), L letter (runs), N number (one each), P anything else (runs). */
export function charClass(ch: string): 'S' | 'L' | 'N' | 'P' {
  if (IS_SPACE.test(ch)) return 'S';
  if (IS_LETTER.test(ch)) return 'L';
  return IS_NUMBER.test(ch) ? 'N' : 'P';
}

/** Step 1: NFC, whitespace runs -> one space, strip, lower-case (tokenizer.py `normalize`). */
export function normalize(text: string): string {
  return text.normalize('NFC').replace(SPACE_RUN, ' ').replace(EDGE_SPACE, '').toLowerCase();
}

/** Step 2: normalised text -> pre-tokens (tokenizer.py `pre_tokenize`). */
export function preTokenize(text: string): string[] {
  return normalize(text).match(CLIP_PATTERN) ?? [];
}

/** GPT-2/CLIP map of the 256 byte values to printable characters (tokenizer.py `bytes_to_unicode`). */
export function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const out = new Array<string>(256);
  for (const b of bs) out[b] = String.fromCharCode(b);
  let n = 0;
  for (let b = 0; b < 256; b++) if (out[b] === undefined) out[b] = String.fromCharCode(256 + n++);
  return out;
}

const BYTE_CHARS = bytesToUnicode();
const UTF8 = new TextEncoder();

/** Step 3: a pre-token's UTF-8 bytes as byte-alphabet characters. */
function toByteAlphabet(piece: string): string {
  let out = '';
  for (const b of UTF8.encode(piece)) out += BYTE_CHARS[b];
  return out;
}

export interface ClipTokenizerOptions {
  /** Expected id of <|startoftext|> (e.g. the bundle manifest's text.bos_id); must agree with the vocabulary. */
  bosId?: number;
  /** Expected id of <|endoftext|>; must agree with the vocabulary. */
  eosId?: number;
  /** Pad id. Default: the id of tokenizer.json's padding.pad_token, else the end token (as the reference).
   * When both are given they must agree. */
  padId?: number;
  /** Sequence length (with bos/eos). Default: tokenizer.json's truncation.max_length, else 77. */
  maxLength?: number;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fail(problem: string): never {
  throw new Error(`tokenizer.json: ${problem}`);
}

function hasByteLevel(pre: unknown): boolean {
  if (!isObject(pre)) return false;
  if (pre.type === 'ByteLevel') return true;
  return pre.type === 'Sequence' && Array.isArray(pre.pretokenizers) && pre.pretokenizers.some(hasByteLevel);
}

function parseMerge(m: unknown): [string, string] {
  const parts = typeof m === 'string' ? m.split(' ') : m;
  if (!Array.isArray(parts) || parts.length !== 2 || typeof parts[0] !== 'string' || typeof parts[1] !== 'string') {
    fail(`bad merge ${JSON.stringify(m)} (want "a b" or ["a", "b"])`);
  }
  return [parts[0], parts[1]];
}

const CACHE_LIMIT = 20_000;

export class ClipTokenizer {
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  readonly maxLength: number;
  readonly vocabSize: number;
  private readonly vocab: Map<string, number>;
  /** "a b" -> merge rank. Byte-level symbols never hold a plain space, so the key is unambiguous. */
  private readonly ranks: Map<string, number>;
  private readonly cache = new Map<string, number[]>();

  private constructor(vocab: Map<string, number>, merges: [string, string][], opts: Required<ClipTokenizerOptions>) {
    this.vocab = vocab;
    this.ranks = new Map(merges.map(([a, b], i) => [`${a} ${b}`, i]));
    this.bosId = opts.bosId;
    this.eosId = opts.eosId;
    this.padId = opts.padId;
    this.maxLength = opts.maxLength;
    this.vocabSize = vocab.size;
  }

  /** Reads a Hugging Face tokenizer.json (text or parsed object) of a CLIP byte-level BPE tokenizer.
   * Throws an Error naming the problem when it is not one, lacks the special tokens, or disagrees with `opts`. */
  static fromJson(json: string | object, opts: ClipTokenizerOptions = {}): ClipTokenizer {
    let d: unknown = json;
    if (typeof json === 'string') {
      try {
        d = JSON.parse(json);
      } catch (e) {
        fail(`not valid JSON (${(e as Error).message})`);
      }
    }
    if (!isObject(d)) fail('not a JSON object');
    const model = d.model;
    if (!isObject(model)) fail('no "model" object');
    if (model.type !== undefined && model.type !== null && model.type !== 'BPE') fail(`model type ${JSON.stringify(model.type)} is not BPE`);
    if (!hasByteLevel(d.pre_tokenizer)) fail('not a byte-level BPE tokenizer (no ByteLevel pre-tokenizer)');
    if (model.end_of_word_suffix !== undefined && model.end_of_word_suffix !== null && model.end_of_word_suffix !== EOW) {
      fail(`end_of_word_suffix ${JSON.stringify(model.end_of_word_suffix)} is not CLIP's "${EOW}"`);
    }
    if (typeof model.continuing_subword_prefix === 'string' && model.continuing_subword_prefix !== '') {
      fail(`continuing_subword_prefix ${JSON.stringify(model.continuing_subword_prefix)} is not CLIP's (none)`);
    }
    if (!isObject(model.vocab)) fail('model.vocab is not an object of token -> id');
    const vocab = new Map<string, number>();
    for (const [tok, id] of Object.entries(model.vocab)) {
      if (!Number.isInteger(id)) fail(`vocabulary id of ${JSON.stringify(tok)} is not an integer`);
      vocab.set(tok, id as number);
    }
    for (const at of Array.isArray(d.added_tokens) ? d.added_tokens : []) {
      if (isObject(at) && typeof at.content === 'string' && Number.isInteger(at.id) && !vocab.has(at.content)) {
        vocab.set(at.content, at.id as number);
      }
    }
    if (!Array.isArray(model.merges)) fail('model.merges is not a list');
    const merges = model.merges.map(parseMerge);
    const bosId = vocab.get(BOS);
    const eosId = vocab.get(EOS);
    if (bosId === undefined) fail(`the special token ${BOS} (bos) is missing from the vocabulary`);
    if (eosId === undefined) fail(`the special token ${EOS} (eos) is missing from the vocabulary`);
    if (opts.bosId !== undefined && opts.bosId !== bosId) fail(`${BOS} has id ${bosId}, not the expected bos id ${opts.bosId}`);
    if (opts.eosId !== undefined && opts.eosId !== eosId) fail(`${EOS} has id ${eosId}, not the expected eos id ${opts.eosId}`);
    const padding = isObject(d.padding) ? d.padding : {};
    let padId = eosId;
    if (typeof padding.pad_token === 'string') {
      const id = vocab.get(padding.pad_token);
      if (id === undefined) fail(`pad token ${JSON.stringify(padding.pad_token)} is missing from the vocabulary`);
      padId = id;
      if (opts.padId !== undefined && opts.padId !== padId) {
        fail(`pad token ${JSON.stringify(padding.pad_token)} has id ${padId}, not the expected pad id ${opts.padId}`);
      }
    } else if (opts.padId !== undefined) {
      if (![...vocab.values()].includes(opts.padId)) fail(`pad id ${opts.padId} is not in the vocabulary`);
      padId = opts.padId;
    }
    const truncation = isObject(d.truncation) ? d.truncation : {};
    const maxLength =
      opts.maxLength ?? (typeof truncation.max_length === 'number' && truncation.max_length ? truncation.max_length : CLIP_MAX_LENGTH);
    if (!Number.isInteger(maxLength) || maxLength < 2) throw new Error(`maxLength must be an integer >= 2, not ${maxLength}`);
    return new ClipTokenizer(vocab, merges, { bosId, eosId, padId, maxLength });
  }

  /** BPE of one pre-token already mapped to the byte alphabet -> sub-token strings (tokenizer.py `bpe`):
   * repeatedly merge every occurrence, left to right, of the adjacent pair with the lowest merge rank. */
  bpe(piece: string): string[] {
    let word = Array.from(piece);
    if (word.length === 0) return [];
    word[word.length - 1] += EOW;
    while (word.length > 1) {
      let best = Infinity;
      let first = '';
      let second = '';
      for (let i = 0; i < word.length - 1; i++) {
        const r = this.ranks.get(`${word[i]} ${word[i + 1]}`);
        if (r !== undefined && r < best) [best, first, second] = [r, word[i]!, word[i + 1]!];
      }
      if (best === Infinity) break;
      const next: string[] = [];
      for (let i = 0; i < word.length; ) {
        if (i < word.length - 1 && word[i] === first && word[i + 1] === second) {
          next.push(first + second);
          i += 2;
        } else {
          next.push(word[i]!);
          i += 1;
        }
      }
      word = next;
    }
    return word;
  }

  /** Ids of one pre-token (special-token literals -> their id; unknown sub-tokens -> the end token). */
  private pieceIds(piece: string): number[] {
    if (piece === BOS) return [this.bosId];
    if (piece === EOS) return [this.eosId];
    const hit = this.cache.get(piece);
    if (hit) return hit;
    const ids = this.bpe(toByteAlphabet(piece)).map((t) => this.vocab.get(t) ?? this.eosId);
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(piece, ids);
    return ids;
  }

  /** Sub-token strings of the text, no special tokens added (tokenizer.py `tokenize`). */
  tokenize(text: string): string[] {
    const out: string[] = [];
    for (const piece of preTokenize(text)) {
      if (piece === BOS || piece === EOS) {
        out.push(piece);
        continue;
      }
      out.push(...this.bpe(toByteAlphabet(piece)));
    }
    return out;
  }

  /** [bos] + ids + [eos], truncated to maxLength keeping the end token; unpadded (tokenizer.py `encode`). */
  encode(text: string, maxLength: number = this.maxLength): number[] {
    if (!Number.isInteger(maxLength) || maxLength < 2) throw new Error('maxLength must be an integer >= 2');
    const ids: number[] = [this.bosId];
    const room = maxLength - 1;
    for (const piece of preTokenize(text)) {
      for (const id of this.pieceIds(piece)) {
        if (ids.length >= room) break;
        ids.push(id);
      }
      if (ids.length >= room) break;
    }
    ids.push(this.eosId);
    return ids;
  }

  /** `encode` padded with the pad id to exactly `length` ids (tokenizer.py `encode_padded`). */
  encodePadded(text: string, length: number = this.maxLength): number[] {
    const ids = this.encode(text, length);
    while (ids.length < length) ids.push(this.padId);
    return ids;
  }

  /** Indices, in the padded sequence, of the non-special tokens of the text: 1 .. n (tokenizer.py
   * `phrase_token_positions`); empty for an empty or whitespace-only text. */
  phraseTokenPositions(text: string, maxLength: number = this.maxLength): number[] {
    const n = this.encode(text, maxLength).length;
    return Array.from({ length: n - 2 }, (_, i) => i + 1);
  }
}
