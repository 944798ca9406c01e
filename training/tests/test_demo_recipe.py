"""The demo-model recipe end to end at --smoke size: data -> tokenizer -> autoencoder -> U-Net -> bundle."""
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from sightline_ldm.schedule import LATENT_SCALE_FACTOR

from _require import require_module

TRAINING = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    d = tmp_path_factory.mktemp("demo-smoke")
    t0 = time.time()
    proc = subprocess.run([sys.executable, "-m", "sightline_demo.train", "--smoke", "--quiet",
                           "--run-dir", str(d / "run"), "--data-dir", str(d / "data"), "--export", str(d / "bundle")],
                          cwd=TRAINING, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return d, time.time() - t0


def test_smoke_bundle_loads(smoke):
    onnx = require_module("onnx", what="checking the exported ONNX graphs")
    d, seconds = smoke
    print(f"demo recipe --smoke: {seconds:.0f} s")
    b = d / "bundle"
    for name in ("vae_encoder.onnx", "text_encoder.onnx", "unet.onnx", "unet_attention.onnx"):
        onnx.checker.check_model(str(b / name))
    m = json.loads((b / "manifest.json").read_text())
    assert m["format"] == "sightline-model-bundle" and m["format_version"] == 1
    assert m["name"] == "sightline-demo-ldm"
    assert m["image"]["size"] == 128
    assert m["latent"]["size"] == 16 and m["latent"]["downsample_factor"] == 8
    assert m["latent"]["scale_factor"] == LATENT_SCALE_FACTOR
    assert m["cross_attention"]["num_layers"] == 11
    grids = {l["index"]: l["grid"] for l in m["cross_attention"]["layers"]}
    assert m["grounding"]["frozen"]["layers"] == [8, 9, 10] and m["grounding"]["tuned"]["layers"] == [8, 9, 10]
    assert all(grids[i] == [16, 16] for i in (8, 9, 10))
    assert m["grounding"]["paper-frozen"]["layers"] == [3, 4, 6, 7]
    assert m["grounding"]["frozen"]["timesteps"][0] == 409
    assert m["text"]["tokenizer"] == "tokenizer.json" and (b / "tokenizer.json").exists()
    assert set(m["parameters"]) == {"autoencoder", "unet", "text_encoder"}
    for f, info in m["files"].items():
        assert (b / f).stat().st_size == info["bytes"]
    tok = json.loads((b / "tokenizer.json").read_text())
    assert tok["model"]["type"] == "BPE"


def test_smoke_run_artifacts(smoke):
    d, _ = smoke
    run = d / "run"
    for f in ("recipe.json", "log.jsonl", "tokenizer/tokenizer.json", "autoencoder_final.pt", "unet.pt",
              "latents.pt", "weights.pt", "demo_config.json"):
        assert (run / f).exists(), f
    assert list((run / "samples").glob("sheet_*.png"))
    logs = [json.loads(l) for l in (run / "log.jsonl").read_text().splitlines()]
    assert any(l.get("stage") == "export" for l in logs)


def test_smoke_resumes(smoke):
    """A second invocation finds every stage done (resumes from the checkpoints, trains nothing)."""
    d, _ = smoke
    proc = subprocess.run([sys.executable, "-m", "sightline_demo.train", "--smoke", "--quiet",
                           "--run-dir", str(d / "run"), "--data-dir", str(d / "data")],
                          cwd=TRAINING, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    logs = [json.loads(l) for l in (d / "run" / "log.jsonl").read_text().splitlines()]
    assert any("resumed" in l["msg"] for l in logs)


def test_short_phrases_write_shared_words_once():
    from sightline_demo.data import short_phrases
    meta = {"findings": [{"finding": "Pleural Effusion", "location": "left pleural"},
                         {"finding": "Edema", "location": "pulmonary"},
                         {"finding": "Cardiomegaly", "location": "cardiomegaly"}]}
    assert short_phrases(meta) == ["left pleural effusion", "pulmonary edema", "cardiomegaly"]


def test_new_grounding_variant_inherits_the_frozen_schedule():
    from sightline_ldm.bundle import grounding_defaults
    variant = grounding_defaults({"paper-frozen": {"layers": [3, 4, 6, 7], "otsu": True}})["paper-frozen"]
    assert variant["num_inference_steps"] == 100
    assert variant["timesteps"][0] == 409 and variant["timesteps"][-1] == 599


def test_smoke_bundle_ships_reference_weights_the_python_pipeline_runs_on(smoke):
    """models/<bundle>/reference holds the torch weights as safetensors; the reference grounding on the bundle
    gives the same heatmap as on the run directory's weights."""
    import torch
    from sightline_eval.model_card import load_model
    from sightline_ldm.grounding import reference_heatmap
    d, _ = smoke
    ref = d / "bundle" / "reference"
    assert {p.name for p in ref.iterdir()} == {"config.json", "autoencoder.safetensors", "unet.safetensors",
                                                "text_encoder.safetensors"}
    from_bundle, desc = load_model(str(d / "bundle"))
    assert desc["config"].endswith("reference/config.json")
    from_run, _ = load_model(str(d / "run" / "demo_config.json"))
    for a, b in ((from_bundle.unet, from_run.unet), (from_bundle.text_encoder, from_run.text_encoder),
                 (from_bundle.autoencoder, from_run.autoencoder)):
        sa, sb = a.state_dict(), b.state_dict()
        assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    image = torch.rand(1, 1, 128, 128, generator=torch.Generator().manual_seed(0))
    opts = dict(num_inference_steps=10, kept_steps=[4, 5])
    h1 = reference_heatmap(image, "left pleural effusion", from_bundle, **opts).heatmap
    h2 = reference_heatmap(image, "left pleural effusion", from_run, **opts).heatmap
    assert np.isfinite(h1).all() and h1.shape == (128, 128)
    assert np.array_equal(h1, h2)


def test_finding_cells_mark_the_latent_cells_a_box_touches():
    from sightline_demo.train import finding_cells
    metas = [{"width": 256, "height": 256, "findings": [{"boxes": {"b1": [32, 64, 48, 16]}}]},
             {"width": 256, "height": 256, "findings": []}]
    cells = finding_cells(metas, 128, (16, 16))  # 256 px -> 128 px image -> 16x16 latent: 16 px per cell
    assert cells.shape == (2, 1, 16, 16)
    assert cells[0, 0].nonzero().tolist() == [[4, x] for x in range(2, 5)]  # x 32..80 -> 2..4, y 64..80 -> 4
    assert cells[1].sum() == 0


def test_gallery_figure_of_held_out_heatmaps(smoke, tmp_path):
    from PIL import Image
    from sightline_demo.check import gallery
    d, _ = smoke
    res = gallery(d / "run", d / "data", tmp_path / "g.png", n=2)
    im = Image.open(tmp_path / "g.png")
    assert len(res["cases"]) == 2 and all(c >= 16 for c in res["cases"])  # held-out cases only (smoke: 16..19)
    assert im.size[0] == 3 * (128 * 2 + 4) + 4 and im.size[1] == 2 * (128 * 2 + 14 + 4) + 4
    for row in res["rows"]:
        assert row["phrase"] != row["swapped"] and {"left", "right"} & set(row["phrase"].split())
        assert row["heat_range"] > 0 and np.isfinite(row["mean_abs_change_when_swapped"])


def test_finding_weighted_mse():
    import torch
    from sightline_demo.train import finding_weighted_mse
    v, target = torch.zeros(1, 1, 2, 2), torch.tensor([[[[1.0, 2.0], [0.0, 0.0]]]])
    cells = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]]]])
    assert finding_weighted_mse(v, target, cells, 1.0).item() == pytest.approx(5 / 4)  # plain MSE
    # weights 4,1,1,1 (mean 7/4): (4*1 + 1*4) / 4 / (7/4) = 8/7
    assert finding_weighted_mse(v, target, cells, 4.0).item() == pytest.approx(8 / 7)


def test_finding_cells_refuse_non_square_images():
    from sightline_demo.train import finding_cells
    with pytest.raises(ValueError, match="square"):
        finding_cells([{"index": 7, "width": 300, "height": 256, "findings": []}], 128, (16, 16))


def test_model_card_and_figures_beside_a_bundle_are_not_part_of_its_manifest(smoke):
    """Editing the card or redrawing a figure after export must not break the bundle's sha256 check."""
    from sightline_ldm.bundle import verify_bundle
    d, _ = smoke
    b = d / "bundle"
    (b / "MODEL_CARD.md").write_text("# card\n")
    (b / "samples.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    proc = subprocess.run([sys.executable, "-m", "sightline_demo.train", "--smoke", "--quiet", "--export-only",
                           "--run-dir", str(d / "run"), "--data-dir", str(d / "data"), "--export", str(b)],
                          cwd=TRAINING, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    files = json.loads((b / "manifest.json").read_text())["files"]
    assert "MODEL_CARD.md" not in files and "samples.png" not in files and "unet.onnx" in files
    (b / "MODEL_CARD.md").write_text("# card, edited\n")
    verify_bundle(b)
