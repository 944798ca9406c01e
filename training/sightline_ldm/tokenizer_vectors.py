"""Shared tokenizer test vectors: what the Python reference tokenizer gives for a fixed list of texts.

The TypeScript tokenizer of the app (``main/grounding/tokenizer.ts``) must give the same ids; the vitest suite
``test/unit/grounding/tokenizer.test.ts`` checks it against the committed vector files and the pytest suite
``training/tests/test_tokenizer_vectors.py`` checks that the committed files still equal what this module
produces (see ``test/vectors/README.md``).

    cd training
    /usr/bin/python3 -m sightline_ldm.tokenizer_vectors --all            # regenerate everything in test/vectors
    /usr/bin/python3 -m sightline_ldm.tokenizer_vectors --tokenizer ../models/demo/tokenizer.json \\
        --out ../test/vectors/tokenizer-demo.vectors.json                # one vectors file

Texts (deterministic, de-duplicated, in a fixed order): hand-written chest X-ray phrases and edge cases
(numbers, punctuation, apostrophes, capitals, whitespace runs, unicode letters/digits/emoji/CJK, empty text,
special-token literals), findings x locations and other label lists from ``sightline_world.vocab``, the
sentences and whole texts of the demo reports (``resources/demo/mimic-cxr-jpg/files/**/*.txt``), and texts
built to be truncated at ``max_length`` (some cutting a multi-token word or a multi-byte character).

The "wide" tokenizer (``test/vectors/tokenizer-wide.json``) is a 4000-token tokenizer trained here with
``train_bpe`` on the same texts, so that the vectors also exercise a vocabulary with long merges and merges
inside multi-byte characters, beyond the demo model's 930-token one.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import sys
import unicodedata
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

from .tokenizer import CLIPTokenizer, clip_pattern, train_bpe

REPO_ROOT = Path(__file__).resolve().parents[2]
VECTORS_DIR = REPO_ROOT / "test" / "vectors"
DEMO_TOKENIZER = REPO_ROOT / "models" / "demo" / "tokenizer.json"
REPORTS_DIR = REPO_ROOT / "resources" / "demo" / "mimic-cxr-jpg" / "files"
WIDE_TOKENIZER = VECTORS_DIR / "tokenizer-wide.json"
WIDE_VOCAB_SIZE = 4000
FORMAT = "sightline-tokenizer-vectors"

# (tokenizer file, vectors file) pairs that `--all` writes and the tests check.
VECTOR_FILES = (
    (DEMO_TOKENIZER, VECTORS_DIR / "tokenizer-demo.vectors.json"),
    (WIDE_TOKENIZER, VECTORS_DIR / "tokenizer-wide.vectors.json"),
)

# ------------------------------------------------------------------------------------------------ texts
PHRASES = [
    # findings and locations as a reader would type them
    "left apical pneumothorax", "bibasilar atelectasis", "no acute cardiopulmonary process",
    "right lower lobe consolidation", "small left pleural effusion", "mild pulmonary edema",
    "moderate cardiomegaly", "lingular opacity", "patchy opacity in the right middle lobe",
    "retrocardiac opacity", "blunting of the left costophrenic angle", "tension pneumothorax",
    "hydropneumothorax", "pneumomediastinum", "subsegmental atelectasis at the lung bases",
    "interstitial edema with kerley b lines", "widened mediastinum", "hilar lymphadenopathy",
    "the cardiomediastinal silhouette is within normal limits", "lungs are well expanded and clear",
    "there is no focal consolidation, pleural effusion, or pneumothorax",
    # numbers and measurements
    "1.5 cm nodule in the right upper lobe", "3rd rib fracture", "a 2.3 x 1.8 cm mass",
    "fractures of the 1st, 2nd, 3rd and 4th ribs", "T12 compression deformity", "ET tube 5 cm above the carina",
    "12mm", "0.5mm", "1,234", "-3.5", "+2", "#4", "12:30", "10/12/2023", "50%", "v2.0.1", "COVID-19",
    "1990s", "100", "007", "3.14159", "1e-5", "2x2", "C7-T1", "98.6 F", "SpO2 92%", "pH 7.35",
    # punctuation, brackets, hyphens, slashes, quotes
    "effusion, small.", "opacity?!", "(left) lower lobe", "[right] base", "{curly}", "no pneumothorax; no effusion: normal.",
    "...", "--", "a/b", "nodule/mass", "r/o pneumonia", "s/p cabg", "\"quoted finding\"", "`backtick`",
    "@#$%^&*", "~", "_under_score_", "left-sided", "well-expanded lungs", "ng tube -> stomach",
    "left-lower-lobe", "x-ray", "post-op", "(((nested)))", "a.b.c", "!", "!!", "\\", "|", "<>", "=",
    # special-token literals (the CLIP pattern matches them first, in any case)
    "<|startoftext|>", "<|endoftext|>", "a<|endoftext|>b", "<|startoftext|> inside text",
    "<|STARTOFTEXT|>", "< | startoftext | >", "<|pad|>", "<|startoftext|><|endoftext|>",
    # apostrophes and contractions
    "patient's", "don't", "it's", "we're", "they've", "I'm", "we'll", "he'd", "patients'", "'s", "'t",
    "rock 'n' roll", "o'clock", "PATIENT'S", "DON'T", "it\u2019s", "''s", "'ll'", "x'sy", "'d'd'd", "'", "'re's",
    "don'\u017ft", "'\u017f",  # long s: Python's case-insensitive 's matches it
    # capitals
    "LEFT APICAL PNEUMOTHORAX", "No Acute Cardiopulmonary Process", "ImPrEsSiOn", "COPD", "ILD", "PA AND LAT",
    # whitespace runs, newlines, tabs and other unicode spaces
    "left  apical\tpneumothorax", "\n\nbibasilar\r\natelectasis\n", "   leading spaces", "trailing spaces   ",
    "tab\tseparated\tvalues", "\u00a0nbsp\u00a0between\u00a0", "\u3000ideographic\u3000space", "a\u2028b\u2029c",
    "a\x1cb\x1dc\x1ed\x1fe", "a\x85b", "a\x0bb\x0cc", "a\u200bb", "\ufeffbom", "a\u2009thin\u202fspace",
    # unicode letters, marks and digits
    "caf\u00e9", "cafe\u0301", "Stra\u00dfe", "STRASSE", "\u1e9e", "\u03a9mega", "\u03a9", "\u2126",
    "\u03a3\u0391\u03a3", "\u1f48\u0394\u03a5\u03a3\u03a3\u0395\u038e\u03a3", "\u0130stanbul", "\u0131i",
    "na\u00efve", "\u00c5ngstr\u00f6m", "\u212b", "\ufb01brosis", "x\u00b2", "\u00bd", "\u0663\u0664\u0665",
    "\u06f1\u06f2\u06f3", "\u0967\u0968\u0969", "\u216b", "\u2460\u2461", "\U0001d7d9\U0001d7da", "\U0001f600 emoji",
    "\U0001f44d\U0001f3fd", "\U0001f468\u200d\U0001f469\u200d\U0001f467", "\U0001f1ec\U0001f1e7",
    "\u80f8\u90e8X\u7dda", "\u53f3\u80ba\u4e0b\u8449\u306e\u7121\u6c17\u80ba", "\uae30\ud749",
    "\u043f\u043d\u0435\u0432\u043c\u043e\u0442\u043e\u0440\u0430\u043a\u0441 \u0441\u043b\u0435\u0432\u0430",
    "\u0636\u064a\u0642", "\u05e9\u05dc\u05d5\u05dd", "\u0e44\u0e17\u0e22", "\u0939\u093f\u0928\u094d\u0926\u0940",
    "\U0001d504\U0001d51f\U0001d520", "\U00010400", "\u0345", "a\u0345b", "\u01c5", "\ufb00", "\u00b5g",
    "\u24b6", "\u24d0", "\u0301", "e\u0301\u0301", "\u00b0C", "\u00b1", "\u22655 mm", "\u2192", "\u2022bullet",
    "\u2013en dash\u2014em dash", "\u2026", "\u00abguillemets\u00bb", "\x07bell", "nul\x00char",
    "\u00e9\u00e9\u00e9\u00e9\u00e9", "\u00fcber-\u00e4rztliche \u00d6ffnung", "\u0142\u00f3d\u017a", "\u00c6sir \u00f8re",
    "\u0915\u094d\u0937", "\u2162 \u2163", "\u3007", "\uff11\uff12\uff13", "\uff21\uff22\uff23",
    # empty and whitespace-only
    "", " ", "   ", "\n\t ", "\u3000", "\r\n",
]


def _vocab_phrases() -> List[str]:
    from sightline_world import vocab as V  # pure Python (no numpy)

    out: List[str] = []
    for finding in V.FINDINGS:
        for loc in V.LOCATIONS:
            out.append(f"{loc} {finding.lower()}")
    out += [f"{f} at the {r}" for f, r in zip(V.FINDINGS * 2, V.REGIONS)]
    out += list(V.REGIONS) + list(V.CHEXPERT_LABELS) + list(V.VINDR_LABELS)
    return out


def report_files() -> List[Path]:
    return sorted(REPORTS_DIR.glob("**/*.txt"), key=lambda p: p.relative_to(REPORTS_DIR).as_posix())


def _report_texts() -> List[str]:
    """Every demo report as a whole (long, with newlines and space runs), then its lines and sentences."""
    whole, parts = [], []
    for p in report_files():
        text = p.read_text(encoding="utf-8")
        whole.append(text)
        for line in text.splitlines():
            line = line.strip()
            if not line:
                continue
            parts.append(line)
            parts += [s.strip() for s in re.split(r"(?<=\.)\s+", line) if s.strip()]
    return whole + parts


# Word parts of the wide tokenizer's made-up words (Latin, Greek, Cyrillic, CJK, accented): the demo reports
# alone give under 1000 merges; prefix x root x suffix words (every third, eight a line) take it to 4000.
_PREFIXES = ("", "peri", "para", "sub", "supra", "intra", "retro", "hypo", "hyper", "pseudo", "inter", "trans",
             "pneumo", "hemo", "hydro", "pyo", "chylo", "cardio", "broncho", "pleuro", "costo", "mediastino",
             "\u03c0\u03bd\u03b5\u03c5\u03bc\u03bf", "\u043a\u0430\u0440\u0434\u0438\u043e", "\u80f8")
_ROOTS = ("thorax", "pleur", "cardi", "pulmon", "bronch", "alveol", "lob", "segment", "hil", "apic", "bas",
          "diaphragm", "mediastin", "trache", "clavic", "cost", "stern", "vertebr", "aort", "ventricul", "atri",
          "pericard", "lymph", "nod", "vascul", "interstiti", "\u03b1\u03c4\u03b5\u03bb\u03b5\u03ba\u03c4",
          "\u043f\u043b\u0435\u0432\u0440", "\u80ba", "\u00df\u00e9")
_SUFFIXES = ("", "al", "ar", "ic", "itis", "osis", "ectasis", "ectomy", "ostomy", "ography", "ogram", "oma",
             "opathy", "ous", "ia", "um", "ine", "\u00e1ln\u00ed", "\u0446\u0438\u044f", "\u75c7")


def texts_for_training() -> List[str]:
    """Corpus of the wide tokenizer: vocabulary phrases, the demo reports and made-up medical-looking words.

    The hand-written edge cases (``PHRASES``) are left out, so that the wide tokenizer splits them into pieces
    instead of having learnt them whole.
    """
    words = [p + r + s for i, (p, r, s) in enumerate(itertools.product(_PREFIXES, _ROOTS, _SUFFIXES)) if i % 3 == 0]
    lines = [" ".join(words[i:i + 8]) for i in range(0, len(words), 8)]
    return _dedupe(_vocab_phrases() + _report_texts() + lines)


def _long_texts(max_length: int) -> List[str]:
    """Texts past ``max_length`` tokens; the probes put the cut 1, 2, 3 tokens into a many-token word."""
    n = max_length - 2  # content tokens that fit
    word = "supercalifragilisticpneumomediastinumqzx"
    out = [
        " ".join(["pneumothorax"] * 40),
        "1" * 100,
        "The cardiomediastinal silhouette is within normal limits. " * 6,
        ", ".join(f"{i}.{i} cm" for i in range(30)),
    ]
    out += ["x " * (n - j) + word for j in range(0, 4)]      # j tokens of `word` survive the cut
    out += ["x " * (n - j) + "\u80f8\u90e8" for j in range(0, 3)]  # cut inside CJK bytes
    out += ["x " * (n - 1), "x " * n, "x " * (n + 1)]          # 74, 75 (fills max_length exactly), 76 tokens
    out += ["x " * (n - 1) + "don't", "y" * 300]
    return out


def _dedupe(texts: List[str]) -> List[str]:
    seen, out = set(), []
    for t in texts:
        if t not in seen:
            seen.add(t)
            out.append(t)
    return out


def vector_texts(max_length: int) -> List[str]:
    return _dedupe(PHRASES + _vocab_phrases() + _report_texts() + _long_texts(max_length))


# ------------------------------------------------------------------------------------------------ vectors
def rel(path: Union[str, os.PathLike]) -> str:
    p = Path(path).resolve()
    try:
        return p.relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return p.as_posix()


def command(tokenizer_path: Union[str, os.PathLike], out_path: Union[str, os.PathLike]) -> str:
    return ("cd training && /usr/bin/python3 -m sightline_ldm.tokenizer_vectors "
            f"--tokenizer ../{rel(tokenizer_path)} --out ../{rel(out_path)}")


def build_vectors(tokenizer_path: Union[str, os.PathLike], out_path: Union[str, os.PathLike]) -> Dict[str, Any]:
    """The vectors file's content for this tokenizer (``out_path`` only names itself in ``generated_by``)."""
    tok = CLIPTokenizer.from_tokenizer_json(tokenizer_path)
    cases = []
    for text in vector_texts(tok.max_length):
        ids = tok.encode_padded(text)
        positions = tok.phrase_token_positions(text)
        assert len(ids) == tok.max_length
        cases.append({"text": text, "ids": ids, "positions": positions})
    return {
        "format": FORMAT,
        "tokenizer": rel(tokenizer_path),
        "generated_by": command(tokenizer_path, out_path) + "  (every file in test/vectors: --all)",
        "python_unicode_version": unicodedata.unidata_version,
        "bos_id": tok.bos_id, "eos_id": tok.eos_id, "pad_id": tok.pad_id, "max_length": tok.max_length,
        "vocab_size": len(tok),
        "cases": cases,
    }


def dumps_vectors(d: Dict[str, Any]) -> str:
    """JSON with one case per line (small, reviewable diffs)."""
    head = {k: v for k, v in d.items() if k != "cases"}
    lines = ["{"]
    for k, v in head.items():
        lines.append(f" {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)},")
    lines.append(' "cases": [')
    cases = [json.dumps(c, ensure_ascii=True, separators=(",", ":")) for c in d["cases"]]
    lines += [f"  {c}," for c in cases[:-1]] + ([f"  {cases[-1]}"] if cases else [])
    lines += [" ]", "}", ""]
    return "\n".join(lines)


def write_vectors(tokenizer_path, out_path) -> Dict[str, Any]:
    d = build_vectors(tokenizer_path, out_path)
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    Path(out_path).write_text(dumps_vectors(d), encoding="utf-8")
    return d


# ------------------------------------------------------------------------------------------------ char classes
CHARCLASS_FILE = VECTORS_DIR / "tokenizer-charclass.json"
CHARCLASS_FORMAT = "sightline-tokenizer-charclass"
CHARCLASS_COMMAND = "cd training && /usr/bin/python3 -m sightline_ldm.tokenizer_vectors --charclass ../test/vectors/tokenizer-charclass.json"
CHARCLASSES = {
    "S": "whitespace: separates pieces and is dropped",
    "L": "letter: runs of them make one piece",
    "N": "number: every one is its own piece",
    "P": "other: runs of them make one piece",
    "U": "not checked: unassigned in Python's Unicode version (category Cn), or a surrogate",
}


def char_class(cp: int) -> str:
    """How the reference's CLIP pattern (as compiled, with its flags) treats one code point, found by matching."""
    if 0xD800 <= cp <= 0xDFFF:
        return "U"
    c = chr(cp)
    if unicodedata.category(c) == "Cn":
        return "U"
    p = clip_pattern()
    two = p.findall(c + c)
    if not two:
        return "S"
    if len(two) == 2:
        return "N"
    return "L" if len(p.findall(c + "a")) == 1 else "P"


def build_charclass() -> Dict[str, Any]:
    """Every code point's class as runs [first code point, class] (a run lasts until the next one starts)."""
    runs: List[List[Any]] = []
    prev = None
    for cp in range(sys.maxunicode + 1):
        cls = char_class(cp)
        if cls != prev:
            runs.append([cp, cls])
            prev = cls
    return {"format": CHARCLASS_FORMAT, "generated_by": CHARCLASS_COMMAND + "  (every file in test/vectors: --all)",
            "python_unicode_version": unicodedata.unidata_version, "classes": CHARCLASSES, "runs": runs}


def dumps_charclass(d: Dict[str, Any]) -> str:
    head = {k: v for k, v in d.items() if k != "runs"}
    lines = ["{"] + [f" {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}," for k, v in head.items()]
    lines.append(' "runs": [')
    chunks = [",".join(json.dumps(r, separators=(",", ":")) for r in d["runs"][i:i + 12])
              for i in range(0, len(d["runs"]), 12)]
    lines += [f"  {c}," for c in chunks[:-1]] + [f"  {chunks[-1]}", " ]", "}", ""]
    return "\n".join(lines)


def train_wide(vocab_size: int = WIDE_VOCAB_SIZE) -> CLIPTokenizer:
    """Deterministic: fixed corpus order, ties broken by the smaller pair; min_frequency 1 to reach the size."""
    return train_bpe(texts_for_training(), vocab_size=vocab_size, pad_token="!", min_frequency=1)


def wide_tokenizer_json(vocab_size: int = WIDE_VOCAB_SIZE) -> str:
    return json.dumps(train_wide(vocab_size).to_hf_json(), ensure_ascii=False, indent=0) + "\n"


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sightline_ldm.tokenizer_vectors", description=__doc__.split("\n")[0])
    ap.add_argument("--tokenizer", help="tokenizer.json to make vectors for")
    ap.add_argument("--out", help="vectors file to write")
    ap.add_argument("--train-wide", metavar="PATH", help="train the wide test tokenizer and write it to PATH")
    ap.add_argument("--charclass", metavar="PATH", help="write the code point classes of the CLIP pattern to PATH")
    ap.add_argument("--all", action="store_true", help="write the wide tokenizer and every vectors file in test/vectors")
    a = ap.parse_args(argv)
    if bool(a.tokenizer) != bool(a.out):
        ap.error("--tokenizer and --out go together")
    if not (a.all or a.train_wide or a.charclass or a.tokenizer):
        ap.error("give --all, --train-wide PATH, --charclass PATH, or --tokenizer and --out")
    if a.all or a.train_wide:
        path = Path(a.train_wide) if a.train_wide else WIDE_TOKENIZER
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(wide_tokenizer_json(), encoding="utf-8")
        print(f"wrote {path}")
    if a.all or a.charclass:
        path = Path(a.charclass) if a.charclass else CHARCLASS_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        d = build_charclass()
        path.write_text(dumps_charclass(d), encoding="utf-8")
        print(f"wrote {path}: {len(d['runs'])} runs")
    if a.all:
        for tok_path, out in VECTOR_FILES:
            d = write_vectors(tok_path, out)
            print(f"wrote {out}: {len(d['cases'])} cases")
    if a.tokenizer and a.out:
        d = write_vectors(a.tokenizer, a.out)
        print(f"wrote {a.out}: {len(d['cases'])} cases")
    return 0


if __name__ == "__main__":
    sys.exit(main())
