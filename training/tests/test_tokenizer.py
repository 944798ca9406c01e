import json

import pytest

from sightline_ldm.tokenizer import (BOS, EOS, EOW, CLIPTokenizer, bytes_to_unicode, normalize,
                                     pre_tokenize, train_bpe)


def base_tokens():
    b = list(bytes_to_unicode().values())
    return b + [t + EOW for t in b]


def hand_tokenizer(pad_token=None):
    """512 byte tokens + 5 merges + specials; ids hand-checked below."""
    merges = [("l", "e"), ("le", "f"), ("lef", "t" + EOW), ("u", "n"), ("n", "g" + EOW)]
    toks = base_tokens() + ["le", "lef", "left" + EOW, "un", "ng" + EOW, BOS, EOS]
    vocab = {t: i for i, t in enumerate(toks)}
    return CLIPTokenizer(vocab, merges, pad_token=pad_token)


def test_byte_alphabet_ids_match_clip():
    b = list(bytes_to_unicode().values())
    assert len(set(b)) == 256
    assert b[0] == "!" and b.index("a") == 64  # CLIP: '!' = 0, 'a</w>' = 256 + 64 = 320
    assert bytes_to_unicode()[ord(" ")] == "\u0120"  # 'Ġ'


def test_normalize_and_pretokenize():
    assert normalize("  Left\t\nLOWER  lobe ") == "left lower lobe"
    assert pre_tokenize("Left  Lower-lobe consolidation, 12mm. It's") == [
        "left", "lower", "-", "lobe", "consolidation", ",", "1", "2", "mm", ".", "it", "'s"]
    # \p{L}+ runs, single \p{N}, other non-space runs; unicode classes from unicodedata
    assert pre_tokenize("caf\u00e9 x\u00b2 \u0661\u0662 \u65e5\u672c\u8a9e \u216b?!") == [
        "caf\u00e9", "x", "\u00b2", "\u0661", "\u0662", "\u65e5\u672c\u8a9e", "\u217b", "?!"]  # lower-cased Roman numeral (Nl)
    # NFC: e + combining acute -> é (one letter run); the underscore is not a letter
    assert pre_tokenize("cafe\u0301_x") == ["caf\u00e9", "_", "x"]
    assert pre_tokenize("a<|endoftext|>b") == ["a", EOS, "b"]


def test_hand_checked_ids():
    tok = hand_tokenizer()
    bos, eos = 517, 518
    assert (tok.bos_id, tok.eos_id) == (bos, eos)
    # left -> l e f t</w> -> le f t</w> -> lef t</w> -> left</w> (id 514)
    assert tok.tokenize("Left") == ["left" + EOW]
    # lung -> l u n g</w>: (u,n) ranks before (n,g</w>), so 'ng</w>' never forms
    assert tok.tokenize("lung") == ["l", "un", "g" + EOW]
    assert tok.encode("LEFT lung") == [bos, 514, 75, 515, 256 + 70, eos]
    # bytes outside ASCII: 'é' = C3 A9 -> two byte symbols, the last with </w>
    enc = bytes_to_unicode()
    assert tok.tokenize("\u00e9") == [enc[0xC3], enc[0xA9] + EOW]
    assert tok.encode("") == [bos, eos]
    assert tok.phrase_token_positions("left lung") == [1, 2, 3, 4]
    assert tok.decode(tok.encode("left lung, left!")) == "left lung , left !"


def test_padding_and_truncation():
    tok = hand_tokenizer()
    assert tok.pad_token == EOS and tok.pad_id == 518  # default when no file names a pad token
    ids = tok.encode_padded("left")
    assert len(ids) == 77 and ids[:3] == [517, 514, 518] and set(ids[3:]) == {518}
    tok0 = hand_tokenizer(pad_token="!")
    ids0 = tok0.encode_padded("left", length=8)
    assert ids0 == [517, 514, 518, 0, 0, 0, 0, 0]
    long = " ".join(["a"] * 100)
    ids = tok0.encode(long)
    assert len(ids) == 77 and ids[0] == 517 and ids[-1] == 518 and set(ids[1:-1]) == {320}
    assert tok0.encode_padded(long) == ids
    assert tok0.phrase_token_positions(long) == list(range(1, 76))
    assert tok0.encode("a a a", max_length=4) == [517, 320, 320, 518]


def test_save_load_round_trip(tmp_path):
    tok = hand_tokenizer(pad_token="!")
    p = tmp_path / "tokenizer.json"
    tok.save_tokenizer_json(p)
    d = json.loads(p.read_text(encoding="utf-8"))
    assert d["model"]["type"] == "BPE" and d["model"]["end_of_word_suffix"] == EOW
    assert d["model"]["merges"][0] == "l e"
    assert d["padding"]["pad_id"] == 0 and d["padding"]["pad_token"] == "!"
    assert [a["id"] for a in d["added_tokens"]] == [517, 518]
    back = CLIPTokenizer.from_pretrained_dir(tmp_path)
    assert back.vocab == tok.vocab and back.merges == tok.merges and back.pad_id == 0
    for text in ["left lung", "Left  LUNG!", "caf\u00e9 12", ""]:
        assert back.encode_padded(text) == tok.encode_padded(text)
    # newer tokenizers write merges as pairs
    d["model"]["merges"] = [m.split(" ") for m in d["model"]["merges"]]
    p.write_text(json.dumps(d), encoding="utf-8")
    assert CLIPTokenizer.from_tokenizer_json(p).merges == tok.merges


def test_vocab_merges_files_and_pad_side_files(tmp_path):
    tok = hand_tokenizer()
    (tmp_path / "vocab.json").write_text(json.dumps(tok.vocab), encoding="utf-8")
    (tmp_path / "merges.txt").write_text("#version: 0.2\n" + "\n".join(f"{a} {b}" for a, b in tok.merges) + "\n",
                                         encoding="utf-8")
    t1 = CLIPTokenizer.from_pretrained_dir(tmp_path)
    assert t1.pad_id == 518 and t1.encode("left lung") == tok.encode("left lung")
    # SD-2.1's HF files name '!' as pad token (OpenCLIP pads with 0)
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(
        {"pad_token": {"content": "!", "lstrip": False, "normalized": True, "rstrip": False, "single_word": False}}))
    assert CLIPTokenizer.from_pretrained_dir(tmp_path).pad_id == 0
    (tmp_path / "special_tokens_map.json").write_text(json.dumps({"pad_token": EOS}))
    assert CLIPTokenizer.from_pretrained_dir(tmp_path).pad_id == 518
    with pytest.raises(FileNotFoundError):
        CLIPTokenizer.from_pretrained_dir(tmp_path / "nope")


def test_train_bpe(tmp_path):
    texts = ["left lower consolidation", "right lower atelectasis", "left apical pneumothorax",
             "bibasilar atelectasis", "left lower and right lower consolidation"] * 3
    tok = train_bpe(texts, vocab_size=600)
    n_merges = len(tok.merges)
    assert 0 < n_merges <= 600 - 514
    assert len(tok) == 512 + n_merges + 2 == tok.eos_id + 1 and tok.bos_id == tok.eos_id - 1
    assert tok.pad_id == 0
    # frequent words become single tokens; the first merge is the most frequent pair
    for w in ["left", "lower", "consolidation", "atelectasis"]:
        assert tok.tokenize(w) == [w + EOW]
    assert tok.decode(tok.encode("left lower consolidation")) == "left lower consolidation"
    # unseen words still encode (byte fallback to the 512 base tokens)
    assert tok.decode(tok.encode("cardiomegaly 42")) == "cardiomegaly 4 2"
    # deterministic and file-compatible
    tok2 = train_bpe(texts, vocab_size=600)
    assert tok2.merges == tok.merges
    tok.save_tokenizer_json(tmp_path / "tokenizer.json")
    back = CLIPTokenizer.from_pretrained_dir(tmp_path)
    assert back.encode_padded("right apical pneumothorax") == tok.encode_padded("right apical pneumothorax")
    with pytest.raises(ValueError):
        train_bpe(texts, vocab_size=100)


def test_letter_and_number_classes_follow_unicodedata():
    """\\p{L} / \\p{N} are built from unicodedata categories (not \\w-based approximations)."""
    import random
    import re
    import unicodedata
    from sightline_ldm.tokenizer import _unicode_class
    L = re.compile(f"[{_unicode_class('L')}]")
    N = re.compile(f"[{_unicode_class('N')}]")
    rng = random.Random(0)
    sample = list(range(0x300)) + [rng.randrange(0x110000) for _ in range(20000)] + [0x2160, 0x00B2, 0x0661, 0x5F]
    for cp in sample:
        c = chr(cp)
        cat = unicodedata.category(c)
        assert bool(L.fullmatch(c)) == cat.startswith("L"), hex(cp)
        assert bool(N.fullmatch(c)) == cat.startswith("N"), hex(cp)
