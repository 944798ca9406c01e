"""sightline_tune: codebook (which rows learn), variant file (bundle-hash refusal), data (pairs, split, errors)."""
import json
from pathlib import Path

import pytest
import torch

from _require import needs
from sightline_tune import data as D
from sightline_tune.codebook import Codebook, sub_tokens
from sightline_tune.config import TuneConfig, load_config
from sightline_tune.variant import VariantError, bundle_hash, load_variant, write_variant

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "models" / "demo"
needs_demo = needs(DEMO / "manifest.json", DEMO / "reference", what="the demo bundle (models/demo)")


@pytest.fixture(scope="module")
def demo_text():
    from sightline_ldm.loading import load_grounding_model
    model, _ = load_grounding_model(str(DEMO))
    return model.text_encoder.requires_grad_(False), model.tokenizer


@needs_demo
def test_codebook_rows_and_gradients(demo_text):
    te, tok = demo_text
    cb = Codebook(te.token_embedding.weight, tok)
    left, right, eff = sub_tokens(tok, "left"), sub_tokens(tok, "right"), sub_tokens(tok, "effusion")
    assert set(left + right) <= set(cb.ids)
    assert not set(eff) & set(cb.ids) and set(eff) <= set(cb.frozen_ids)
    assert tok.bos_id in cb.frozen_ids and tok.eos_id in cb.frozen_ids
    assert torch.equal(cb.rows.detach(), te.token_embedding.weight[cb.ids])  # initialised from the table
    frozen = Codebook(te.token_embedding.weight, tok, shared="frozen")
    assert set(sub_tokens(tok, "pleural")) & set(cb.ids) and not set(sub_tokens(tok, "pleural")) & set(frozen.ids)
    ids = torch.tensor([tok.encode_padded("left pleural effusion")])
    out = te.forward_embeds(te.embed_tokens(ids, cb.overrides()))
    out.pow(2).sum().backward()
    used = {cb.ids.index(i) for i in sub_tokens(tok, "left pleural")}
    for k in range(len(cb.ids)):
        assert (float(cb.rows.grad[k].abs().sum()) > 0) == (k in used)
    assert all(p.grad is None for p in te.parameters())


def _fake_bundle(tmp_path, sha="a" * 64):
    d = tmp_path / f"b{sha[:4]}"
    d.mkdir()
    (d / "manifest.json").write_text(json.dumps({"format": "sightline-model-bundle", "format_version": 1,
                                                 "name": "x", "files": {"unet.onnx": {"sha256": sha, "bytes": 1}}}))
    return str(d)


def test_variant_round_trip_and_refusal(tmp_path):
    a, b = _fake_bundle(tmp_path), _fake_bundle(tmp_path, "b" * 64)
    assert bundle_hash(a) != bundle_hash(b)
    path = str(tmp_path / "variant.json")
    write_variant(path, {"base_bundle": {"name": "x", "hash": bundle_hash(a)},
                         "grounding": {"layers": [8], "token_overrides": {"5": [1.0, 2.0], "7": [0.5, 0.0]}}})
    doc = load_variant(path, a)
    assert doc["grounding"]["token_overrides"]["5"] == [1.0, 2.0]
    with pytest.raises(VariantError, match="hash"):
        load_variant(path, b)
    (tmp_path / "bad.json").write_text('{"format": \n x}')
    with pytest.raises(VariantError, match=r"bad.json: line 2 column 2"):
        load_variant(str(tmp_path / "bad.json"), a)



VECTORS = REPO / "test" / "vectors" / "bundle-files-hash.json"


@needs(VECTORS, what="test/vectors/bundle-files-hash.json")
def test_bundle_hash_vectors(tmp_path):
    """The hash the app computes from a manifest's files (main/models/tuned-variants.ts, same vector file)."""
    doc = json.loads(VECTORS.read_text(encoding="utf-8"))
    for i, case in enumerate(doc["cases"]):
        d = tmp_path / f"b{i}"
        d.mkdir()
        (d / "manifest.json").write_text(json.dumps({"format": "sightline-model-bundle", "format_version": 1,
                                                     "files": case["files"]}), encoding="utf-8")
        assert bundle_hash(str(d)) == case["hash"], sorted(case["files"])
    if (REPO / doc["demo"]["manifest"]).exists():
        assert bundle_hash(str((REPO / doc["demo"]["manifest"]).parent)) == doc["demo"]["hash"]

CSV_HEAD = "dicom_id,category_name,label_text,path,x,y,w,h,image_width,image_height,split\n"


def test_pairs_drop_negated_and_unlocated_and_split(tmp_path):
    for n in ("a", "b", "c"):
        (tmp_path / f"{n}.jpg").write_bytes(b"x")
    (tmp_path / "ms.csv").write_text(CSV_HEAD + "\n".join([
        'a,Pleural Effusion,Small left pleural effusion,a.jpg,1,2,3,4,10,10,train',
        'a,Pleural Effusion,Small left pleural effusion,a.jpg,5,5,2,2,10,10,train',
        'b,Pneumothorax,No right pneumothorax,b.jpg,1,2,3,4,10,10,train',
        'b,Consolidation,Resolved right lower consolidation,b.jpg,1,2,3,4,10,10,train',
        'c,Edema,Mild edema,c.jpg,1,2,3,4,10,10,train',
        'c,Atelectasis,Bibasilar atelectasis,c.jpg,1,2,3,4,10,10,train']) + "\n")
    pairs, dropped = D.load_pairs(str(tmp_path / "ms.csv"), str(tmp_path))
    assert [p["prompt"] for p in pairs] == ["left pleural effusion", "bibasilar atelectasis"]
    assert len(pairs[0]["boxes"]) == 2
    assert dropped == {"negated or resolved": 2, "no location": 1}
    tr, va = D.split_pairs(pairs, 1, seed=0)
    assert len(tr) == len(va) == 1 and tr[0]["image"] != va[0]["image"]
    with pytest.raises(D.DataError, match="leaves no training image"):
        D.split_pairs(pairs, 2, seed=0)


def test_pairs_errors_name_the_file(tmp_path):
    (tmp_path / "ms.csv").write_text(CSV_HEAD + "a,Edema,Left lower edema,missing.jpg,1,2,3,4,10,10,train\n")
    with pytest.raises(D.DataError, match=r"ms.csv: pair 0 \(missing.jpg\): image not found"):
        D.load_pairs(str(tmp_path / "ms.csv"), str(tmp_path))
    (tmp_path / "bad.csv").write_text("path,label_text\nx,y\n")
    with pytest.raises(D.DataError, match=r"bad.csv: line 1: missing columns"):
        D.load_pairs(str(tmp_path / "bad.csv"), str(tmp_path))
    with pytest.raises(D.DataError, match="no ms-cxr"):
        D.resolve_source(str(tmp_path))


def test_config_defaults_and_unknown_keys(tmp_path):
    c = TuneConfig().resolved({"tuned": {"layers": [8, 9, 10], "num_inference_steps": 100,
                                         "step_indices": list(range(40, 60))}})
    assert c.layers == [8, 9, 10] and c.tune_steps == list(range(30, 60)) and c.eval_steps == list(range(40, 60))
    p = TuneConfig().resolved({})
    assert p.layers == [4, 5, 6, 7] and p.alpha == 0.1 and p.jitter == 0.05
    assert TuneConfig(num_inference_steps=10).resolved({}).tune_steps == [3, 4, 5]
    (tmp_path / "c.json").write_text('{"alpha": 0.2, "lr": 1}')
    with pytest.raises(ValueError, match=r"unknown settings \['lr'\]"):
        load_config(str(tmp_path / "c.json"))


@needs_demo
def test_batched_inversion_equals_per_image(tmp_path):
    import subprocess
    import sys
    from sightline_ldm.grounding import text_embedding
    from sightline_ldm.loading import load_grounding_model
    subprocess.run([sys.executable, "-m", "sightline_world.generate", "--out", str(tmp_path / "w"), "--cases", "2",
                    "--seed", "5", "--preset", "tiny", "--formats", "mimic,mscxr"], cwd=REPO / "training", check=True,
                   capture_output=True)
    images = sorted(str(p) for p in (tmp_path / "w").rglob("*.jpg"))
    assert len(images) == 2
    model, _ = load_grounding_model(str(DEMO))
    uncond = text_embedding(model, "")
    assert D.precompute_latents(images, model, "h", 10, [3, 5], str(tmp_path / "a"), uncond, batch=2) == 2
    assert D.precompute_latents(images, model, "h", 10, [3, 5], str(tmp_path / "a"), uncond, batch=2) == 0
    for img in images:
        one = D.cached_latents(img, model, "h", 10, [3, 5], str(tmp_path / "b"), uncond)
        both = D.cached_latents(img, model, "h", 10, [3, 5], str(tmp_path / "a"), uncond)  # read from the cache
        assert both["latents"].shape == one["latents"].shape == (2, 3, 16, 16)
        assert float((both["latents"] - one["latents"]).abs().max()) < 1e-5
        assert both["geometry"] == one["geometry"] and both["timesteps"] == one["timesteps"] == [399, 599]
