"""Bundle export: tiny (always, with weights from files), mid-size (always), full MONAI size (SIGHTLINE_SLOW=1)."""
import json
import os
import shutil
import time

import numpy as np
import onnx
import pytest
import torch

from sightline_ldm import bundle as B
from sightline_ldm import export as E
from sightline_ldm import model_sources as S
from sightline_ldm.clip_text import CLIPTextConfig, CLIPTextModel
from sightline_ldm.tokenizer import CLIPTokenizer, train_bpe

from sightline_ldm.errors import ModelLoadError
from sightline_ldm.schedule import LATENT_SCALE_FACTOR

from _ldm_fixtures import needs_tiny_ldm, tiny_ldm

GRAPHS = ["vae_encoder.onnx", "text_encoder.onnx", "unet.onnx", "unet_attention.onnx"]
BUNDLE_FILES = sorted(GRAPHS + ["token_embedding.f32", "tokenizer.json"])


def _io_names(path):
    m = onnx.load(str(path), load_external_data=False)
    return [i.name for i in m.graph.input if i.name not in {x.name for x in m.graph.initializer}], \
        [o.name for o in m.graph.output], len(m.graph.node)


def _check_bundle(out, manifest):
    assert sorted(manifest["files"]) == BUNDLE_FILES
    B.verify_bundle(out)  # sizes + sha256
    for g in GRAPHS:
        onnx.checker.check_model(str(out / g))
    for key, spec in manifest["onnx"].items():
        ins, outs, _ = _io_names(out / spec["file"])
        assert ins == [i["name"] for i in spec["inputs"]], key
        assert outs == [o["name"] for o in spec["outputs"]], key
    layers = manifest["onnx"]["unet"]["attention_layers"]
    assert layers == [3, 4, 5, 6, 7]
    assert [o["name"] for o in manifest["onnx"]["unet"]["outputs"]] == ["v_prediction"] + [f"attn_{i}" for i in layers]
    assert manifest["onnx"]["unet_attention"]["stops_after_layer"] == 7
    n_full = _io_names(out / "unet.onnx")[2]
    n_trunc = _io_names(out / "unet_attention.onnx")[2]
    assert n_trunc < 0.8 * n_full  # the truncated graph really stops early
    g = manifest["grounding"]
    assert g["frozen"]["layers"] == [3, 4, 6, 7] and g["frozen"]["otsu"] is True
    assert g["tuned"]["layers"] == [4, 5, 6, 7] and g["tuned"]["otsu"] is False
    assert g["frozen"]["step_indices"] == list(range(40, 60)) and g["frozen"]["num_inference_steps"] == 100
    assert g["frozen"]["timesteps"][0] == 409 and g["frozen"]["timesteps"][-1] == 599
    s = manifest["schedule"]
    assert (s["num_train_timesteps"], s["beta_schedule"], s["prediction_type"]) == (1000, "scaled_linear", "v_prediction")
    assert (s["beta_start"], s["beta_end"]) == (0.0015, 0.0205)
    assert manifest["latent"]["scale_factor"] == LATENT_SCALE_FACTOR
    tab = manifest["text"]["token_embedding"]
    assert (out / tab["file"]).stat().st_size == 4 * tab["shape"][0] * tab["shape"][1]
    tok = CLIPTokenizer.from_tokenizer_json(out / "tokenizer.json")
    assert tok.bos_id == manifest["text"]["bos_id"] and tok.eos_id == manifest["text"]["eos_id"]
    lat = manifest["latent"]["size"]
    for entry in manifest["cross_attention"]["layers"]:
        level = {"down_blocks.1": 1, "down_blocks.2": 2, "middle_block": 2, "up_blocks.0": 2, "up_blocks.1": 1}[
            ".".join(entry["module"].split(".")[:2]) if not entry["module"].startswith("middle") else "middle_block"]
        assert entry["grid"] == [lat >> level, lat >> level]


def _tiny_sources(tmp_path):
    """A MONAI-style bundle dir with the fixture's tiny weights, and an HF-style CLIP dir with a tokenizer."""
    d = tiny_ldm()
    models = tmp_path / "monai" / "models"
    models.mkdir(parents=True)
    torch.save(d["ae_state_dict"], models / "autoencoder.pth")
    torch.save({"state_dict": d["unet_state_dict"]}, models / "diffusion_model.pth")  # wrapped form also accepted
    torch.manual_seed(3)
    cfg = CLIPTextConfig.from_dict(E.PRESETS["tiny"]["text_encoder"])
    clip = CLIPTextModel(cfg)
    clip_dir = tmp_path / "sd" / "text_encoder"
    clip.save_pretrained_dir(clip_dir)
    tok_dir = tmp_path / "sd" / "tokenizer"
    tok_dir.mkdir()
    train_bpe(S._prompt_corpus(), vocab_size=600).save_tokenizer_json(tok_dir / "tokenizer.json")
    return d, clip, tmp_path / "monai", tmp_path / "sd"


@needs_tiny_ldm
def test_export_tiny_from_monai_checkpoints_and_hf_clip_dir(tmp_path):
    d, clip, monai_dir, sd_root = _tiny_sources(tmp_path)
    out = tmp_path / "bundle"
    ref = tmp_path / "ref"
    rc = E.main(["--monai-bundle", str(monai_dir), "--config", "tiny", "--clip-dir", str(sd_root),
                 "--out", str(out), "--write-reference", str(ref), "--name", "t", "--version", "1"])
    assert rc == 0
    manifest = B.load_manifest(out)
    _check_bundle(out, manifest)
    assert manifest["name"] == "t" and manifest["source"]["autoencoder"] == "autoencoder.pth"
    assert manifest["architecture"]["unet"]["cross_attention_dim"] == 48
    # the exported token table is the CLIP checkpoint's
    table = B.read_f32(out / "token_embedding.f32", manifest["text"]["token_embedding"]["shape"])
    np.testing.assert_array_equal(table, clip.token_embedding.weight.detach().numpy())
    # the reference writer used the fixture's weights: the U-Net attention maps are the MONAI model's
    idx = json.loads((ref / "index.json").read_text())
    assert sorted(idx["graphs"]) == ["text_encoder", "unet", "unet_attention", "vae_encoder"]
    from sightline_ldm.unet import DiffusionModelUNet
    unet = DiffusionModelUNet(**d["unet_config"])
    unet.load_state_dict(d["unet_state_dict"])
    t = idx["tensors"]
    x = torch.from_numpy(B.read_f32(ref / t["unet_latent"]["file"], t["unet_latent"]["shape"]).copy())
    ctx = torch.from_numpy(B.read_f32(ref / t["last_hidden_state"]["file"], t["last_hidden_state"]["shape"]).copy())
    with torch.no_grad():
        v = unet.eval()(x, torch.tensor(idx["timestep"]), ctx)
    np.testing.assert_allclose(B.read_f32(ref / t["v_prediction"]["file"], t["v_prediction"]["shape"]), v.numpy(),
                               atol=1e-6)
    # a changed file is caught by the manifest's hashes
    with open(out / "tokenizer.json", "ab") as f:
        f.write(b" ")
    with pytest.raises(ValueError, match="tokenizer.json"):
        B.verify_bundle(out)


@needs_tiny_ldm
def test_export_from_own_json_config(tmp_path):
    d = tiny_ldm()
    spec = dict(E.PRESETS["tiny"], name="own", weights="weights.pt")
    torch.manual_seed(5)
    clip = CLIPTextModel(CLIPTextConfig.from_dict(spec["text_encoder"]))
    torch.save({"autoencoder": d["ae_state_dict"], "unet": d["unet_state_dict"],
                "text_encoder": clip.state_dict()}, tmp_path / "weights.pt")
    (tmp_path / "own.json").write_text(json.dumps(spec))
    args = E.build_parser().parse_args(["--config", str(tmp_path / "own.json"), "--out", str(tmp_path / "b")])
    with pytest.raises(ModelLoadError, match="no tokenizer: give --tokenizer-dir"):
        E.load_models(args)  # real weights need a real tokenizer
    tok_dir = tmp_path / "tok"
    tok_dir.mkdir()
    train_bpe(S._prompt_corpus(), vocab_size=600).save_tokenizer_json(tok_dir / "tokenizer.json")
    args = E.build_parser().parse_args(["--config", str(tmp_path / "own.json"), "--out", str(tmp_path / "b"),
                                        "--tokenizer-dir", str(tok_dir)])
    models = E.load_models(args)
    assert models.name == "own" and models.image_size == 64
    for k, v in d["unet_state_dict"].items():
        assert torch.equal(models.unet.state_dict()[k], v)
    assert torch.equal(models.text_encoder.token_embedding.weight, clip.token_embedding.weight)


def test_random_init_is_seeded(tmp_path):
    p = E.build_parser()
    a = E.load_models(p.parse_args(["--config", "tiny", "--random-init", "--seed", "4", "--out", "x"]))
    b = E.load_models(p.parse_args(["--config", "tiny", "--random-init", "--seed", "4", "--out", "x"]))
    c = E.load_models(p.parse_args(["--config", "tiny", "--random-init", "--seed", "5", "--out", "x"]))
    ka = a.unet.state_dict()["conv_in.conv.weight"]
    assert torch.equal(ka, b.unet.state_dict()["conv_in.conv.weight"])
    assert not torch.equal(ka, c.unet.state_dict()["conv_in.conv.weight"])


def test_export_mid_size_random(tmp_path):
    t0 = time.time()
    out = tmp_path / "mid"
    assert E.main(["--config", "mid", "--random-init", "--seed", "0", "--out", str(out)]) == 0
    manifest = B.load_manifest(out)
    _check_bundle(out, manifest)
    assert manifest["parameters"]["unet"] > 10_000_000
    assert manifest["cross_attention"]["layers"][4]["grid"] == [4, 4]
    assert time.time() - t0 < 120
    shutil.rmtree(out)


@pytest.mark.skipif(os.environ.get("SIGHTLINE_SLOW") != "1", reason="full-size export takes minutes; SIGHTLINE_SLOW=1")
def test_export_full_monai_size_random(tmp_path):
    out = tmp_path / "cxr"
    try:
        assert E.main(["--config", "cxr", "--random-init", "--seed", "0", "--out", str(out)]) == 0
        manifest = B.load_manifest(out)
        _check_bundle(out, manifest)
        assert manifest["parameters"] == {"autoencoder": 4_607_848, "unet": 263_636_995, "text_encoder": 340_387_840}
        assert manifest["text"]["token_embedding"]["shape"] == [49408, 1024]
        assert [e["grid"] for e in manifest["cross_attention"]["layers"]] == \
            [[32, 32]] * 2 + [[16, 16]] * 6 + [[32, 32]] * 3
    finally:
        shutil.rmtree(out, ignore_errors=True)  # 3.2 GB: do not leave it to pytest's tmp retention


def test_print_config_is_a_loadable_template(tmp_path, capsys):
    assert E.main(["--print-config", "tiny"]) == 0
    spec = json.loads(capsys.readouterr().out)
    assert spec["unet"] == E.PRESETS["tiny"]["unet"] and "weights" in spec
    (tmp_path / "t.json").write_text(json.dumps(spec))
    m = E.load_models(E.build_parser().parse_args(["--config", str(tmp_path / "t.json"), "--random-init",
                                                   "--out", "x"]))
    assert m.unet.config["num_channels"] == [32, 64, 64] and m.name == "sightline-tiny-random-init"
