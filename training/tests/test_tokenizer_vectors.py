"""The shared tokenizer vectors in test/vectors still equal what the Python reference tokenizer produces.

The vitest suite test/unit/grounding/tokenizer.test.ts checks the TypeScript tokenizer against the same files
(test/vectors/README.md). Regenerate with ``cd training && /usr/bin/python3 -m sightline_ldm.tokenizer_vectors --all``.
A missing file is a skip locally and a failure under CI (_require.py).
"""
import json
import os

import pytest

from _require import needs, require
from sightline_ldm import tokenizer_vectors as TV
from sightline_ldm.tokenizer import EOW, CLIPTokenizer


def _load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


@pytest.mark.parametrize("tok_path,vec_path", TV.VECTOR_FILES, ids=[v.name for _, v in TV.VECTOR_FILES])
def test_committed_vectors_equal_the_reference(tok_path, vec_path):
    require(tok_path, vec_path, TV.REPORTS_DIR, what=f"tokenizer vectors (regenerate: {TV.command(tok_path, vec_path)})")
    committed = vec_path.read_text(encoding="utf-8")
    fresh = TV.dumps_vectors(TV.build_vectors(tok_path, vec_path))
    if committed != fresh:
        old, new = json.loads(committed), json.loads(fresh)
        diff = [c["text"] for c, d in zip(old["cases"], new["cases"]) if c != d]
        pytest.fail(f"{vec_path} is stale ({len(old['cases'])} committed cases, {len(new['cases'])} now; "
                    f"first differing texts {diff[:5]!r}); regenerate: {TV.command(tok_path, vec_path)}")


@needs(TV.CHARCLASS_FILE, what="tokenizer character classes")
def test_committed_charclass_equals_the_reference():
    committed = TV.CHARCLASS_FILE.read_text(encoding="utf-8")
    assert committed == TV.dumps_charclass(TV.build_charclass()), f"stale; regenerate: {TV.CHARCLASS_COMMAND}"


@needs(*[v for _, v in TV.VECTOR_FILES], what="tokenizer vectors")
def test_vectors_cover_the_cases_asked_for():
    for tok_path, vec_path in TV.VECTOR_FILES:
        d = _load(vec_path)
        cases = {c["text"]: c for c in d["cases"]}
        assert len(cases) == len(d["cases"]) >= 300
        assert all(len(c["ids"]) == d["max_length"] for c in d["cases"])
        for text in ["", "   ", "left apical pneumothorax", "patient's", "don't", "1.5 cm nodule in the right upper lobe",
                     "3rd rib fracture", "LEFT APICAL PNEUMOTHORAX", "\u0663\u0664\u0665", "\U0001f600 emoji",
                     "caf\u00e9", "Stra\u00dfe", "\u03a9", "left  apical\tpneumothorax"]:
            assert text in cases, text
        assert cases[""]["positions"] == [] and cases[""]["ids"][:2] == [d["bos_id"], d["eos_id"]]
        assert any("\n" in t for t in cases) and any(ord(ch) > 0xFFFF for t in cases for ch in t)
        # truncated texts, some cut inside a word of several tokens
        tok = CLIPTokenizer.from_tokenizer_json(tok_path)
        truncated = [c for c in d["cases"] if len(c["positions"]) == d["max_length"] - 2
                     and len(tok.tokenize(c["text"])) > d["max_length"] - 2]
        assert len(truncated) >= 5
        cut_words = [c for c in truncated if not tok.tokenize(c["text"])[d["max_length"] - 3].endswith(EOW)]
        assert len(cut_words) >= 2, vec_path


@needs(TV.WIDE_TOKENIZER, what="the wide test tokenizer")
def test_wide_tokenizer_is_wide():
    tok = CLIPTokenizer.from_tokenizer_json(TV.WIDE_TOKENIZER)
    assert len(tok) == TV.WIDE_VOCAB_SIZE and tok.pad_id == 0 and tok.max_length == 77
    assert any(len(t.replace(EOW, "")) >= 10 for t in tok.vocab)  # long merges
    assert any(ord(ch) >= 0x100 for m in tok.merges for ch in m[0] + m[1])  # merges inside multi-byte chars
    assert os.path.getsize(TV.WIDE_TOKENIZER) < 1_000_000


@pytest.mark.skipif(os.environ.get("SIGHTLINE_SLOW") != "1", reason="training the wide tokenizer takes ~20 s; SIGHTLINE_SLOW=1")
@needs(TV.WIDE_TOKENIZER, what="the wide test tokenizer")
def test_wide_tokenizer_retrains_identically():
    assert TV.WIDE_TOKENIZER.read_text(encoding="utf-8") == TV.wide_tokenizer_json()
