"""sightline_eval.lut (method.md 4.2) and sightline_eval.vindr (5.2)."""
import json
from pathlib import Path

import numpy as np
import pytest

from sightline_eval import lut as L
from sightline_eval import vindr as V

from _require import needs

SAMPLES = Path(__file__).resolve().parents[2] / "resources" / "demo"
GOLD = SAMPLES / "chest-imagenome" / "gold_dataset" / "gold_bbox_coordinate_annotations_1000images.csv"
META = SAMPLES / "mimic-cxr-jpg" / "mimic-cxr-2.0.0-metadata.csv"
needs_samples = needs(GOLD, what="resources/demo (the synthetic world sample)")


def test_model_frame_mapping():
    # square 1024 image: scale 0.5, no crop
    assert L.box_to_model_frame(100, 200, 300, 400, 1024, 1024) == (50, 100, 150, 200)
    # landscape 600 x 800: short side 600 -> 512, long side floor(800 * 512 / 600) = 682, left crop (682-512)//2 = 85
    sy, sx, top, left = L.model_frame_geometry(600, 800)
    assert (sy, top, left) == (512 / 600, 0, 85) and sx == pytest.approx(682 / 800)
    x1, y1, x2, y2 = L.box_to_model_frame(400, 300, 400, 300, 600, 800)  # image centre
    assert y1 == pytest.approx(256) and x1 == pytest.approx(400 * 682 / 800 - 85)
    # portrait: crop at the top
    assert L.model_frame_geometry(800, 600)[2] == (682 - 512) // 2
    assert L.box_gaussian(10, 20, 70, 50) == (40, 35, 10, 5)


def _row(image, name, box, size_hw):
    from sightline_world.writers import to_224
    x1, y1, x2, y2 = box
    a1, b1, a2, b2 = to_224((x1, y1, x2 - x1, y2 - y1), size_hw[1], size_hw[0])
    return {"image_id": image + ".dcm", "bbox_name": name, "x1": a1, "y1": b1, "x2": a2, "y2": b2,
            "original_x1": x1, "original_y1": y1, "original_x2": x2, "original_y2": y2,
            "original_width": x2 - x1, "original_height": y2 - y1}


def test_build_lut_averages_per_region():
    rows = [_row("a", "right lung", (0, 0, 60, 120), (1024, 1024)),
            _row("b", "right lung", (0, 0, 120, 240), (512, 512)),
            _row("a", "some other region", (0, 0, 10, 10), (1024, 1024))]
    lut = L.build_lut(rows, {"a": (1024, 1024), "b": (512, 512)})
    g = lut["regions"]["right lung"]
    # a: (0,0,30,60) in the frame -> mu (15, 30) sigma (5, 10); b: (0,0,120,240) -> mu (60,120) sigma (20,40)
    assert (g["mu_x"], g["mu_y"], g["sigma_x"], g["sigma_y"], g["n"]) == (37.5, 75, 12.5, 25, 2)
    assert set(lut["regions"]) == {"right lung"} and lut["image_size_source"]["given"] == 2


def test_infer_size_from_224_frame():
    rng = np.random.default_rng(0)
    for _ in range(20):
        h, w = (int(v) for v in rng.integers(400, 3000, 2))
        rows = []
        for _k in range(13):
            x1, y1 = rng.uniform(0, w * 0.5), rng.uniform(0, h * 0.5)
            rows.append(_row("x", "r", (x1, y1, x1 + rng.uniform(30, w * 0.5), y1 + rng.uniform(30, h * 0.5)), (h, w)))
        gh, gw = L.infer_size_from_224(rows)
        assert abs(gh - h) <= 0.01 * max(h, w) + 1 and abs(gw - w) <= 0.01 * max(h, w) + 1


@needs_samples
def test_demo_lut_metadata_vs_inferred(tmp_path):
    out = tmp_path / "lut.json"
    assert L.main(["--imagenome", str(GOLD), "--metadata", str(META), "--out", str(out)]) == 0
    lut = L.load_lut(str(out))
    n_images = len(open(META).read().splitlines()) - 1  # one metadata row per demo image (16)
    assert n_images >= 12
    assert set(lut["regions"]) == set(L.REGIONS) and lut["image_size_source"]["given"] == n_images
    inferred = L.build_lut(L.read_imagenome(str(GOLD)))
    assert inferred["image_size_source"]["inferred_224"] == n_images
    for r in L.REGIONS:
        a, b = lut["regions"][r], inferred["regions"][r]
        for k in ("mu_x", "mu_y", "sigma_x", "sigma_y"):
            assert abs(a[k] - b[k]) < 2.0
    # anatomy sanity: the patient's right is on the image's left; apex above base; heart central-left of the image
    g = lut["regions"]
    assert g["right lung"]["mu_x"] < 256 < g["left lung"]["mu_x"]
    assert g["right apical zone"]["mu_y"] < g["right upper lung zone"]["mu_y"] < g["right mid lung zone"]["mu_y"] \
        < g["right lower lung zone"]["mu_y"]
    assert 200 < g["cardiac silhouette"]["mu_x"] < 380


def test_location_regions_match_vocabulary():
    from sightline_world import vocab
    for loc in vocab.LOCATIONS + ("right lower and left upper", "lingular and right apical"):
        assert L.location_regions(loc) == vocab.location_regions(loc), loc
    assert L.location_regions("bibasilar") == ["right lower lung zone", "left lower lung zone"]
    assert L.location_regions("left base") == L.location_regions("left pleural") == ["left lower lung zone"]
    with pytest.raises(ValueError):
        L.location_regions("upside")


def _toy_lut():
    regions = {r: {"mu_x": 100.0 + 20 * i, "mu_y": 100.0 + 10 * i, "sigma_x": 20.0, "sigma_y": 30.0, "n": 1}
               for i, r in enumerate(L.REGIONS)}
    regions["right lung"] = {"mu_x": 128.0, "mu_y": 256.0, "sigma_x": 40.0, "sigma_y": 80.0, "n": 1}
    regions["left lung"] = {"mu_x": 384.0, "mu_y": 256.0, "sigma_x": 40.0, "sigma_y": 80.0, "n": 1}
    return {"format": L.LUT_FORMAT, "frame": 512, "regions": regions}


def test_render_target_grid_and_max():
    lut = _toy_lut()
    g = L.render_target(lut, "right", 16)
    assert g.shape == (16, 16) and g.max() <= 1.0
    # mu (128, 256) in a 512 frame: peak between cells 3/4 (x) and 7/8 (y) of 16 (cell centres at 16 + 32k)
    iy, ix = np.unravel_index(np.argmax(g), g.shape)
    assert ix in (3, 4) and iy in (7, 8)
    # value at cell (y=7, x=3), centre (112, 240): exp(-0.5 * ((16/40)^2 + (16/80)^2))
    assert g[7, 3] == pytest.approx(np.exp(-0.5 * ((16 / 40) ** 2 + (16 / 80) ** 2)))
    both = L.render_target(lut, "pulmonary", 16)
    assert np.allclose(both, np.maximum(g, L.render_target(lut, "left", 16)))
    assert np.allclose(both, L.render_target(lut, "bilateral", 16))
    assert L.render_target(lut, "right", 64).shape == (64, 64)


def test_nearest_region_and_vindr_prompts():
    lut = _toy_lut()
    for r in L.REGIONS:
        assert L.nearest_region(lut, L.region_params(lut, r)) == r
    assert L.w2_squared((0, 0, 1, 1), (3, 4, 1, 2)) == 26
    # a box whose Gaussian is exactly the right lung's (image = frame, 512 x 512)
    rl = lut["regions"]["right lung"]
    box = (rl["mu_x"] - 3 * rl["sigma_x"], rl["mu_y"] - 3 * rl["sigma_y"], rl["mu_x"] + 3 * rl["sigma_x"],
           rl["mu_y"] + 3 * rl["sigma_y"])
    assert V.box_location(lut, box, 512, 512) == "right"
    ll = lut["regions"]["left lung"]
    box2 = (ll["mu_x"] - 60, ll["mu_y"] - 120, ll["mu_x"] + 60, ll["mu_y"] + 120)
    rows = [{"image_id": "i1", "rad_id": "", "class_name": "Consolidation", "x_min": str(box[0] * 2),
             "y_min": str(box[1] * 2), "x_max": str(box[2] * 2), "y_max": str(box[3] * 2)},
            {"image_id": "i1", "rad_id": "", "class_name": "Consolidation", "x_min": str(box2[0] * 2),
             "y_min": str(box2[1] * 2), "x_max": str(box2[2] * 2), "y_max": str(box2[3] * 2)},
            {"image_id": "i1", "rad_id": "", "class_name": "Pleural effusion", "x_min": str(box2[0] * 2),
             "y_min": str(box2[1] * 2), "x_max": str(box2[2] * 2), "y_max": str(box2[3] * 2)},
            {"image_id": "i1", "rad_id": "", "class_name": "Nodule/Mass", "x_min": "1", "y_min": "1", "x_max": "9",
             "y_max": "9"},
            {"image_id": "i2", "rad_id": "", "class_name": "No finding", "x_min": "", "y_min": "", "x_max": "",
             "y_max": ""}]
    pairs = V.build_pairs(rows, lut, {"i1": (1024, 1024)})
    assert [(p["category"], p["location"], p["prompt"], len(p["boxes"])) for p in pairs] == [
        ("Consolidation", "right and left", "right and left consolidation", 2),
        ("Pleural Effusion", "left", "left pleural effusion", 1)]
    assert V.build_pairs(rows, lut, {"i1": (1024, 1024)}, merge_bilateral=True)[0]["location"] == "bilateral"
    assert V.join_locations(["right lower", "left lower", "right lower"]) == "right lower and left lower"
    assert V.join_locations(["right lower", "left lower"], merge_bilateral=True) == "bilateral lower"


@needs_samples
def test_vindr_world_sample(tmp_path):
    lut_path = tmp_path / "lut.json"
    L.main(["--imagenome", str(GOLD), "--metadata", str(META), "--out", str(lut_path)])
    out = tmp_path / "vindr.jsonl"
    ann = SAMPLES / "vindr-cxr" / "annotations" / "annotations_test.csv"
    assert V.main(["--annotations", str(ann), "--dicom-dir", str(SAMPLES / "vindr-cxr" / "test"),
                   "--lut", str(lut_path), "--out", str(out)]) == 0
    pairs = [json.loads(l) for l in out.read_text().splitlines()]
    assert pairs and all(p["prompt"] for p in pairs)
    # the test image is the first world case: a moderate left pleural effusion (truth location "left pleural")
    p = pairs[0]
    assert p["category"] == "Pleural Effusion" and p["location"].startswith("left")


def test_model_frame_matches_preprocess():
    """A bright box drawn on the image lands where box_to_model_frame says after sightline_ldm's preprocess."""
    from sightline_ldm.image_ops import preprocess
    for h, w in [(300, 500), (500, 300), (256, 256)]:
        img = np.zeros((h, w), np.float32)
        x1, y1, x2, y2 = int(w * 0.4), int(h * 0.3), int(w * 0.6), int(h * 0.7)
        img[y1:y2, x1:x2] = 1
        t, geo = preprocess(img, 128)
        m = t[0, 0].numpy() > 0.5
        ys, xs = np.nonzero(m)
        bx1, by1, bx2, by2 = L.box_to_model_frame(x1, y1, x2, y2, h, w, 128)
        assert abs(xs.min() - bx1) <= 1 and abs(xs.max() + 1 - bx2) <= 1
        assert abs(ys.min() - by1) <= 1 and abs(ys.max() + 1 - by2) <= 1
