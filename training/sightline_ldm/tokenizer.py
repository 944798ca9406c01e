"""CLIP byte-level BPE tokenizer (OpenAI CLIP / Hugging Face ``CLIPTokenizer`` behaviour) and a tiny trainer.

Pipeline for ``encode(text)``:

1. normalise: Unicode NFC, every run of whitespace -> one space, strip, lower-case
   (HF ``tokenizer.json`` normaliser: NFC + Replace(\\s+, " ") + Lowercase; OpenAI additionally runs ftfy and
   html.unescape, which do nothing for plain prompts and are not reproduced);
2. pre-tokenise with the CLIP regex
   ``<|startoftext|>|<|endoftext|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+``
   (matches kept, everything else - whitespace - dropped). Python ``re`` has no ``\\p{..}``: the letter and
   number classes are built exactly from ``unicodedata`` categories L* and N* (see ``_unicode_class``);
3. each piece -> UTF-8 bytes -> the GPT-2/CLIP printable byte alphabet (``bytes_to_unicode``);
4. BPE with merge ranks, the last symbol of every word carrying the ``</w>`` suffix;
5. ``<|startoftext|>`` + ids + ``<|endoftext|>``; truncation keeps the end token; padding with the pad id.

Files: HF ``tokenizer.json`` (read/write) or ``vocab.json`` + ``merges.txt`` (read), plus
``special_tokens_map.json`` / ``tokenizer_config.json`` for the pad token. SD-2.1 pads with ``!`` (id 0, like
OpenCLIP); SD-1.x pads with ``<|endoftext|>``. The pad id is never guessed silently: it is read from the files
and falls back to the end token only when no file names one.
"""
from __future__ import annotations

import collections
import functools
import json
import os
import re
import sys
import unicodedata
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

BOS = "<|startoftext|>"
EOS = "<|endoftext|>"
EOW = "</w>"
MAX_LENGTH = 77


@functools.lru_cache(maxsize=None)
def bytes_to_unicode() -> Dict[int, str]:
    """GPT-2/CLIP map of the 256 byte values to printable unicode characters (in CLIP's id order)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\u00a1"), ord("\u00ac") + 1)) + \
        list(range(ord("\u00ae"), ord("\u00ff") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


def _ranges_to_class(pred) -> str:
    """Character-class body listing every code point c with pred(category(c)), as ranges."""
    parts = []
    start = prev = None
    for cp in range(sys.maxunicode + 1):
        if pred(unicodedata.category(chr(cp))):
            if start is None:
                start = cp
            prev = cp
        elif start is not None:
            parts.append((start, prev))
            start = None
    if start is not None:
        parts.append((start, prev))

    def esc(cp: int) -> str:
        return "\\U%08x" % cp

    return "".join(esc(a) if a == b else f"{esc(a)}-{esc(b)}" for a, b in parts)


@functools.lru_cache(maxsize=None)
def _unicode_class(kind: str) -> str:
    if kind == "L":
        return _ranges_to_class(lambda c: c.startswith("L"))
    if kind == "N":
        return _ranges_to_class(lambda c: c.startswith("N"))
    raise ValueError(kind)


@functools.lru_cache(maxsize=None)
def clip_pattern() -> "re.Pattern[str]":
    """The CLIP pre-tokenisation regex with \\p{L} / \\p{N} expanded from unicodedata (exact, not \\w-based)."""
    L = _unicode_class("L")
    N = _unicode_class("N")
    # pattern literals are compiled from a string holding \\Uxxxxxxxx escapes, which `re` understands
    pat = (r"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|"
           f"[{L}]+|[{N}]|[^\\s{L}{N}]+")
    return re.compile(pat, re.IGNORECASE)


# The pattern HF writes into tokenizer.json (Rust regex syntax; special tokens are split out first as
# added_tokens, so they are not part of it); used by save_tokenizer_json.
HF_SPLIT_REGEX = (r"'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|"
                  r"[^\s\p{L}\p{N}]+")


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    text = re.sub(r"\s+", " ", text).strip()
    return text.lower()


def pre_tokenize(text: str) -> List[str]:
    """Normalised text -> list of pre-tokens (words, single digits, punctuation runs, special-token literals)."""
    return clip_pattern().findall(normalize(text))


def _get_pairs(word: Sequence[str]):
    return {(word[i], word[i + 1]) for i in range(len(word) - 1)}


class CLIPTokenizer:
    def __init__(self, vocab: Dict[str, int], merges: Sequence[Tuple[str, str]], pad_token: Optional[str] = None,
                 bos_token: str = BOS, eos_token: str = EOS, max_length: int = MAX_LENGTH):
        self.vocab = dict(vocab)
        self.merges = [tuple(m) for m in merges]
        self.ranks = {m: i for i, m in enumerate(self.merges)}
        self.id_to_token = {i: t for t, i in self.vocab.items()}
        for name, tok in (("bos", bos_token), ("eos", eos_token)):
            if tok not in self.vocab:
                raise ValueError(f"{name} token {tok!r} missing from the vocabulary")
        self.bos_token, self.eos_token = bos_token, eos_token
        self.bos_id, self.eos_id = self.vocab[bos_token], self.vocab[eos_token]
        self.pad_token = eos_token if pad_token is None else pad_token
        if self.pad_token not in self.vocab:
            raise ValueError(f"pad token {self.pad_token!r} missing from the vocabulary")
        self.pad_id = self.vocab[self.pad_token]
        self.max_length = max_length
        self.byte_encoder = bytes_to_unicode()
        self.byte_decoder = {v: k for k, v in self.byte_encoder.items()}
        self._cache: Dict[str, List[str]] = {}

    # ------------------------------------------------------------------ encoding
    def bpe(self, piece: str) -> List[str]:
        """BPE of one pre-token already mapped to the byte alphabet; returns the sub-token strings."""
        if piece in self._cache:
            return self._cache[piece]
        word: Tuple[str, ...] = tuple(piece[:-1]) + (piece[-1] + EOW,)
        pairs = _get_pairs(word)
        while pairs:
            bigram = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if bigram not in self.ranks:
                break
            first, second = bigram
            new_word: List[str] = []
            i = 0
            while i < len(word):
                if i < len(word) - 1 and word[i] == first and word[i + 1] == second:
                    new_word.append(first + second)
                    i += 2
                else:
                    new_word.append(word[i])
                    i += 1
            word = tuple(new_word)
            if len(word) == 1:
                break
            pairs = _get_pairs(word)
        out = list(word)
        self._cache[piece] = out
        return out

    def tokenize(self, text: str) -> List[str]:
        """Sub-token strings of the text (no special tokens added)."""
        toks: List[str] = []
        for piece in pre_tokenize(text):
            if piece in (self.bos_token, self.eos_token):
                toks.append(piece)
                continue
            mapped = "".join(self.byte_encoder[b] for b in piece.encode("utf-8"))
            toks.extend(self.bpe(mapped))
        return toks

    def _token_id(self, tok: str) -> int:
        if tok in self.vocab:
            return self.vocab[tok]
        # every byte and byte+</w> is in a CLIP vocabulary; a hand-made small vocab may lack some: use unk=eos
        return self.eos_id

    def encode(self, text: str, max_length: Optional[int] = None) -> List[int]:
        """[bos] + ids + [eos], truncated to max_length (default 77) keeping the end token; unpadded."""
        max_length = self.max_length if max_length is None else max_length
        if max_length < 2:
            raise ValueError("max_length must be >= 2")
        ids = [self._token_id(t) for t in self.tokenize(text)]
        ids = ids[: max_length - 2]
        return [self.bos_id] + ids + [self.eos_id]

    def encode_padded(self, text: str, length: Optional[int] = None) -> List[int]:
        length = self.max_length if length is None else length
        ids = self.encode(text, max_length=length)
        return ids + [self.pad_id] * (length - len(ids))

    def phrase_token_positions(self, text: str, max_length: Optional[int] = None) -> List[int]:
        """Indices (in the padded sequence) of the non-special tokens of the unpadded tokenisation."""
        ids = self.encode(text, max_length=max_length)
        return list(range(1, len(ids) - 1))

    def decode(self, ids: Iterable[int], skip_special: bool = True) -> str:
        """Ids -> text (``</w>`` becomes a space between words)."""
        specials = {self.bos_id, self.eos_id} if skip_special else set()
        text = "".join(self.id_to_token[i] for i in ids if i not in specials and i in self.id_to_token)
        words = []
        for piece in text.split(EOW):
            raw = bytearray(self.byte_decoder[c] for c in piece if c in self.byte_decoder)
            words.append(raw.decode("utf-8", "replace"))
        return " ".join(w for w in words if w)

    def __len__(self) -> int:
        return len(self.vocab)

    # ------------------------------------------------------------------ files
    def to_hf_json(self) -> dict:
        specials = sorted({self.bos_token, self.eos_token}, key=lambda t: self.vocab[t])
        return {
            "version": "1.0",
            "truncation": {"direction": "Right", "max_length": self.max_length, "strategy": "LongestFirst",
                           "stride": 0},
            "padding": {"strategy": {"Fixed": self.max_length}, "direction": "Right", "pad_to_multiple_of": None,
                        "pad_id": self.pad_id, "pad_type_id": 0, "pad_token": self.pad_token},
            "added_tokens": [
                {"id": self.vocab[t], "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                 "normalized": True, "special": True} for t in specials],
            "normalizer": {"type": "Sequence", "normalizers": [
                {"type": "NFC"},
                {"type": "Replace", "pattern": {"Regex": "\\s+"}, "content": " "},
                {"type": "Lowercase"}]},
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": HF_SPLIT_REGEX}, "behavior": "Removed", "invert": True},
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
            "post_processor": {"type": "RobertaProcessing", "sep": [self.eos_token, self.eos_id],
                               "cls": [self.bos_token, self.bos_id], "trim_offsets": False,
                               "add_prefix_space": False},
            "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
            "model": {"type": "BPE", "dropout": None, "unk_token": self.eos_token, "continuing_subword_prefix": "",
                      "end_of_word_suffix": EOW, "fuse_unk": False, "byte_fallback": False,
                      "vocab": dict(sorted(self.vocab.items(), key=lambda kv: kv[1])),
                      "merges": [f"{a} {b}" for a, b in self.merges]},
        }

    def save_tokenizer_json(self, path: Union[str, os.PathLike]) -> None:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_hf_json(), f, ensure_ascii=False, indent=1)

    @classmethod
    def from_tokenizer_json(cls, path: Union[str, os.PathLike], pad_token: Optional[str] = None) -> "CLIPTokenizer":
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
        model = d.get("model", {})
        if model.get("type") not in (None, "BPE"):
            raise ValueError(f"{path}: model type {model.get('type')!r} is not BPE")
        vocab = dict(model["vocab"])
        for at in d.get("added_tokens") or []:
            vocab.setdefault(at["content"], at["id"])
        merges = [_parse_merge(m) for m in model.get("merges", [])]
        if pad_token is None:
            pad_token = (d.get("padding") or {}).get("pad_token")
        max_length = ((d.get("truncation") or {}).get("max_length")) or MAX_LENGTH
        return cls(vocab, merges, pad_token=pad_token, max_length=max_length)

    @classmethod
    def from_vocab_merges(cls, vocab_path, merges_path, pad_token: Optional[str] = None) -> "CLIPTokenizer":
        with open(vocab_path, encoding="utf-8") as f:
            vocab = json.load(f)
        merges = []
        with open(merges_path, encoding="utf-8") as f:
            for line in f.read().split("\n"):
                if not line.strip() or line.startswith("#version"):
                    continue
                merges.append(_parse_merge(line))
        return cls(vocab, merges, pad_token=pad_token)

    @classmethod
    def from_pretrained_dir(cls, directory: Union[str, os.PathLike]) -> "CLIPTokenizer":
        """Directory with tokenizer.json, or vocab.json + merges.txt; pad token from the HF side files."""
        d = Path(directory)
        pad = _pad_token_from_side_files(d)
        if (d / "tokenizer.json").exists():
            return cls.from_tokenizer_json(d / "tokenizer.json", pad_token=pad)
        if (d / "vocab.json").exists() and (d / "merges.txt").exists():
            return cls.from_vocab_merges(d / "vocab.json", d / "merges.txt", pad_token=pad)
        raise FileNotFoundError(f"{d}: no tokenizer.json or vocab.json + merges.txt")


def _parse_merge(m) -> Tuple[str, str]:
    if isinstance(m, (list, tuple)):
        if len(m) != 2:
            raise ValueError(f"bad merge {m!r}")
        return (m[0], m[1])
    parts = m.split(" ")
    if len(parts) != 2:
        raise ValueError(f"bad merge {m!r}")
    return (parts[0], parts[1])


def _token_content(v) -> Optional[str]:
    if isinstance(v, str):
        return v
    if isinstance(v, dict) and isinstance(v.get("content"), str):
        return v["content"]
    return None


def _pad_token_from_side_files(d: Path) -> Optional[str]:
    for name in ("special_tokens_map.json", "tokenizer_config.json"):
        p = d / name
        if p.exists():
            with open(p, encoding="utf-8") as f:
                cfg = json.load(f)
            tok = _token_content(cfg.get("pad_token"))
            if tok is not None:
                return tok
    return None


# ---------------------------------------------------------------------- trainer
def train_bpe(texts: Iterable[str], vocab_size: int, pad_token: Optional[str] = "!",
              min_frequency: int = 2) -> CLIPTokenizer:
    """Train a CLIP-layout byte-level BPE on ``texts``.

    Id layout as CLIP: 0..255 the byte alphabet, 256..511 the same + ``</w>``, then one id per merge, then
    ``<|startoftext|>``, ``<|endoftext|>``. ``vocab_size`` includes all of these (>= 514); training stops early
    when no pair occurs ``min_frequency`` times. Ties are broken by the smaller pair (deterministic).
    """
    base = list(bytes_to_unicode().values())
    n_merges = vocab_size - 2 * len(base) - 2
    if n_merges < 0:
        raise ValueError(f"vocab_size must be >= {2 * len(base) + 2}")
    enc = bytes_to_unicode()
    counts: collections.Counter = collections.Counter()
    for text in texts:
        for piece in pre_tokenize(text):
            if piece in (BOS, EOS):
                continue
            counts["".join(enc[b] for b in piece.encode("utf-8"))] += 1
    words = [(tuple(w[:-1]) + (w[-1] + EOW,), c) for w, c in counts.items()]
    merges: List[Tuple[str, str]] = []
    vocab_tokens = base + [b + EOW for b in base]
    known = set(vocab_tokens)
    while len(merges) < n_merges:
        pair_counts: collections.Counter = collections.Counter()
        for w, c in words:
            for i in range(len(w) - 1):
                pair_counts[(w[i], w[i + 1])] += c
        if not pair_counts:
            break
        best = min(pair_counts.items(), key=lambda kv: (-kv[1], kv[0]))
        if best[1] < min_frequency:
            break
        a, b = best[0]
        merged = a + b
        merges.append((a, b))
        if merged not in known:
            known.add(merged)
            vocab_tokens.append(merged)
        new_words = []
        for w, c in words:
            out, i = [], 0
            while i < len(w):
                if i < len(w) - 1 and w[i] == a and w[i + 1] == b:
                    out.append(merged)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            new_words.append((tuple(out), c))
        words = new_words
    vocab = {t: i for i, t in enumerate(vocab_tokens)}
    vocab[BOS] = len(vocab)
    vocab[EOS] = len(vocab)
    return CLIPTokenizer(vocab, merges, pad_token=pad_token)
