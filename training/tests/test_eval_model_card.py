"""sightline_eval.references (5.3 reference rows) and the model_card CLI on the tiny random model."""
import json
from pathlib import Path

import numpy as np
import pytest

from sightline_eval import metrics as M
from sightline_eval import model_card as MC
from sightline_eval import references as R
from sightline_ldm import image_ops

from _require import needs

SAMPLES = Path(__file__).resolve().parents[2] / "resources" / "demo"
MSCXR = SAMPLES / "ms-cxr" / "MS_CXR_Local_Alignment_v1.1.0.csv"
GOLD = SAMPLES / "chest-imagenome" / "gold_dataset" / "gold_bbox_coordinate_annotations_1000images.csv"
META = SAMPLES / "mimic-cxr-jpg" / "mimic-cxr-2.0.0-metadata.csv"
needs_samples = needs(MSCXR, what="resources/demo (the synthetic world sample)")


def _lut():
    from sightline_eval.lut import LUT_FORMAT, REGIONS
    regions = {r: {"mu_x": 150.0 if r.startswith("right") else 360.0, "mu_y": 100.0 + 15 * i, "sigma_x": 25.0,
                   "sigma_y": 20.0, "n": 1} for i, r in enumerate(REGIONS)}
    return {"format": LUT_FORMAT, "frame": 512, "regions": regions}


def test_to_original_matches_image_ops():
    rng = np.random.default_rng(0)
    m = rng.random((64, 64))
    for hw in [(100, 80), (80, 100), (64, 64), (333, 517)]:
        a, b = R.to_original(m, hw), image_ops.map_to_original(m, hw)
        assert np.array_equal(np.isnan(a), np.isnan(b)) and np.allclose(a[~np.isnan(a)], b[~np.isnan(b)])


def test_location_heatmap_is_the_lut_prior_in_the_crop():
    lut = _lut()
    h = R.location_heatmap(lut, "right lower", (600, 800))
    assert h.shape == (600, 800) and np.isnan(h[:, :100]).all() and not np.isnan(h[:, 100:700]).any()
    # peak at the region's mu mapped back: x = 100 + mu_x * 600 / 512, y = mu_y * 600 / 512
    g = lut["regions"]["right lower lung zone"]
    iy, ix = np.unravel_index(np.nanargmax(h), h.shape)
    assert abs(ix - (100 + g["mu_x"] * 600 / 512)) < 3 and abs(iy - g["mu_y"] * 600 / 512) < 3
    swapped = R.location_heatmap(lut, "left lower", (600, 800))
    assert np.nanargmax(swapped) != np.nanargmax(h)


def test_oracle_heatmap_and_scores():
    box = (40, 60, 30, 24)
    h = R.oracle_heatmap([box], (200, 160))
    assert np.isnan(h[:20]).all() and np.isnan(h[180:]).all()  # 200 x 160: crop rows 20..179
    assert np.nanmax(h) == pytest.approx(np.exp(-0.5 * ((0.5 / 10) ** 2 + (0.5 / 8) ** 2)))  # nearest pixel centre
    assert h[72, 55] == pytest.approx(np.exp(-0.5 * ((0.5 / 10) ** 2 + (0.5 / 8) ** 2)))
    s = M.score_pair(h, [box])
    assert 0.6 < s["miou"] < 0.75 and s["cnr"] > 1.5 and s["auc"] > 0.99
    full = R.oracle_heatmap([box], (200, 160), crop_nan=False)
    assert not np.isnan(full).any()


def test_random_heatmap_seeded():
    a = R.random_heatmap((100, 120), np.random.default_rng(3), size=32)
    b = R.random_heatmap((100, 120), np.random.default_rng(3), size=32)
    assert np.array_equal(a, b, equal_nan=True) and np.isnan(a[:, :10]).all()
    assert abs(M.score_pair(a, [(30, 30, 40, 40)])["cnr"]) < 0.3


def test_insert_under_heading(tmp_path):
    p = tmp_path / "card.md"
    p.write_text("# Card\n\n## Grounding results\n\nplaceholder\n\n## Limits\n\nx\n")
    MC.insert_under_heading(str(p), "| a | b |\n")
    t = p.read_text()
    assert t.index("placeholder") < t.index("| a | b |") < t.index("## Limits")
    q = tmp_path / "other.md"
    q.write_text("# Card\n")
    MC.insert_under_heading(str(q), "table")
    assert q.read_text().endswith("## Grounding results\n\ntable\n")


def test_parse_layer_set():
    assert MC.parse_layer_set("2,3,4:otsu") == ("LDM frozen, layers 2,3,4 + Otsu",
                                                {"variant": "frozen", "layers": (2, 3, 4), "otsu": True})
    assert MC.parse_layer_set("5,6")[1]["otsu"] is False


@needs_samples
def test_images_readable_and_boxes_line_up():
    from sightline_eval import mscxr
    pairs = mscxr.build_benchmark(mscxr.read_rows(str(MSCXR)))
    assert MC.check_pairs_images(pairs, str(SAMPLES / "mimic-cxr-jpg")) == []


@needs_samples
def test_model_card_cli_tiny_random(tmp_path):
    """End to end on 3 pairs of the demo data (resources/demo) with the seeded tiny model (short schedule to keep it fast)."""
    out, js, card = tmp_path / "r.md", tmp_path / "r.json", tmp_path / "MODEL_CARD.md"
    card.write_text("# Tiny\n\n## Grounding results\n\n## Other\n")
    rc = MC.main(["--bundle-or-checkpoint", "tiny", "--random-init", "--image-size", "64", "--mscxr", str(MSCXR),
                  "--images-root", str(SAMPLES / "mimic-cxr-jpg"), "--imagenome", str(GOLD), "--metadata", str(META),
                  "--num-inference-steps", "10", "--max-pairs", "3", "--bootstrap", "200", "--layer-set", "2,3:otsu",
                  "--out", str(out), "--json", str(js), "--model-card", str(card)])
    assert rc == 0
    md = out.read_text()
    for row in ("LDM frozen (layers 3,4,6,7 + Otsu)", "LDM frozen, layers 4,5,6,7 (no Otsu)",
                "LDM frozen, layers 2,3 + Otsu", "Location-only Gaussian", "Oracle Gaussian", "Random uniform noise",
                "Side-swap check", "sightline_eval.model_card"):
        assert row in md
    data = json.loads(js.read_text())
    rows = {r["row"] for r in data["records"]}
    assert "LDM frozen (layers 3,4,6,7 + Otsu) [side-swapped prompt]" in rows
    oracle = data["summaries"]["Oracle Gaussian from the GT boxes (sigma = side/3)"]
    assert oracle["miou"]["mean"] > 0.6 and oracle["cnr"]["mean"] > 1.5
    assert all(np.isfinite(r["cnr"]) for r in data["records"])
    c = card.read_text()
    assert c.index("## Grounding results") < c.index("| row | pairs |") < c.index("## Other")


def test_side_swap_check_with_the_location_prior():
    lut = _lut()
    pairs = [{"id": 0, "category": "Pneumonia", "prompt": "right lower pneumonia", "location": "right lower",
              "boxes": [[55, 65, 40, 30]], "width": 256, "height": 256},  # LUT mu (150, 160) / 2
             {"id": 1, "category": "Edema", "prompt": "pulmonary edema", "location": "pulmonary",
              "boxes": [[20, 20, 200, 200]], "width": 256, "height": 256}]

    def fn(p, phrase):
        from sightline_eval.locations import extract_location
        return R.location_heatmap(lut, extract_location(phrase, p["category"]), (p["height"], p["width"]))

    recs = R.side_swap_check(pairs, fn)
    assert [(r["id"], r["swapped"], r["phrase"]) for r in recs] == [(0, False, "right lower pneumonia"),
                                                                     (0, True, "left lower pneumonia")]
    assert recs[0]["cnr"] > 0.5 > recs[1]["cnr"] and recs[0]["miou"] > recs[1]["miou"]


DEMO_BUNDLE = Path(__file__).resolve().parents[2] / "models" / "demo"
TUNED_LOC = DEMO_BUNDLE / "variants" / "tuned-loc.json"


@needs_samples
def test_variant_file_row_grounds_with_the_files_settings(tmp_path, capsys):
    """--variant scores a tuned variant file as the app grounds with it (its layers, steps, Otsu, token rows); a file
    tuned on another bundle is refused with both hashes named."""
    js = tmp_path / "r.json"
    rc = MC.main(["--bundle-or-checkpoint", str(DEMO_BUNDLE), "--mscxr", str(MSCXR),
                  "--images-root", str(SAMPLES / "mimic-cxr-jpg"), "--max-pairs", "2", "--bootstrap", "50",
                  "--swap-rows", "none", "--variant", str(TUNED_LOC), "--variant", f"loc raw={TUNED_LOC}:nootsu",
                  "--json", str(js)])
    assert rc == 0
    data = json.loads(js.read_text())
    by_row = {}
    for r in data["records"]:
        by_row.setdefault(r["row"], []).append(r)
    tuned = by_row["tuned variant 'tuned-loc' (layers 7,9 + Otsu)"]
    raw = by_row["loc raw (layers 7,9, no Otsu)"]
    frozen = next(v for k, v in by_row.items() if k.startswith("LDM 'frozen' of the model config (layers 7,9 + Otsu"))
    assert len(tuned) == len(raw) == len(frozen) == 2
    # same layers and Otsu as the demo's frozen default: only the tuned location rows can make the maps differ
    assert any(abs(t["cnr"] - f["cnr"]) > 1e-6 for t, f in zip(tuned, frozen))
    assert any(abs(t["miou"] - r["miou"]) > 1e-9 for t, r in zip(tuned, raw))

    other = json.loads(TUNED_LOC.read_text())
    other["base_bundle"]["hash"] = "0" * 64
    bad = tmp_path / "other.json"
    bad.write_text(json.dumps(other))
    rc = MC.main(["--bundle-or-checkpoint", str(DEMO_BUNDLE), "--mscxr", str(MSCXR),
                  "--images-root", str(SAMPLES / "mimic-cxr-jpg"), "--max-pairs", "1", "--variant", str(bad)])
    assert rc == 1
    err = capsys.readouterr().err
    assert "other.json" in err and "0" * 64 in err and "tune again on this bundle" in err
