"""The synthetic world's ground truth: determinism, anatomy/finding boxes, reports, cardiothoracic ratio."""
import json

import numpy as np
import pytest

from sightline_world.anatomy import Raster, anatomy_masks, measure_ctr, sample_anatomy
from sightline_world.case import generate_case
from sightline_world.vocab import FINDINGS, LOCATIONS, REGIONS, location_regions

SEEDS = [(0, i) for i in range(14)] + [(4, i) for i in range(6)]


@pytest.fixture(scope="module")
def cases():
    return [generate_case(s, i, "tiny") for s, i in SEEDS]


def test_vocabulary():
    assert len(LOCATIONS) == 27 and "bibasilar" in LOCATIONS and "bilateral base" not in LOCATIONS
    assert len(REGIONS) == 13
    assert location_regions("bibasilar") == ["right lower lung zone", "left lower lung zone"]
    assert location_regions("right lower and left lower") == ["right lower lung zone", "left lower lung zone"]
    assert location_regions("lingular") == ["left mid lung zone"]


def test_deterministic_by_seed():
    a, b = generate_case(9, 3, "tiny"), generate_case(9, 3, "tiny")
    assert np.array_equal(a.image, b.image)
    assert json.dumps(a.truth, sort_keys=True) == json.dumps(b.truth, sort_keys=True)
    c = generate_case(10, 3, "tiny")
    assert not (a.image.shape == c.image.shape and np.array_equal(a.image, c.image))


def test_image_and_bits(cases):
    for c in cases:
        assert c.image.shape == (c.height, c.width) and c.image.dtype == np.float32
        assert 0.0 <= c.image.min() and c.image.max() <= 1.0
        assert c.pixels(8).dtype == np.uint8 and c.pixels(12).max() <= 4095 and c.pixels(16).dtype == np.uint16
        # lungs dark, mediastinum bright (a radiograph, not an inverted one)
        t = c.truth
        rl, ll = t["regions"]["right lung"], t["regions"]["left lung"]
        mid_x = (rl[0] + rl[2] + ll[0]) // 2
        lung_y = rl[1] + rl[3] // 2
        lung_val = np.median(c.image[lung_y - 2:lung_y + 3, rl[0] + rl[2] // 4:rl[0] + rl[2] // 2])
        med_val = np.median(c.image[lung_y - 2:lung_y + 3, mid_x - 2:mid_x + 3])
        assert med_val > lung_val + 0.15


def _inside(box, W, H):
    x, y, w, h = box
    return 0 <= x and 0 <= y and w > 0 and h > 0 and x + w <= W and y + h <= H


def test_regions(cases):
    for c in cases:
        t = c.truth
        assert set(t["regions"]) == set(REGIONS)
        for b in t["regions"].values():
            assert _inside(b, t["width"], t["height"])
        r, l = t["regions"]["right lung"], t["regions"]["left lung"]
        assert r[0] + r[2] / 2 < l[0] + l[2] / 2  # patient's right on the image's left
        for side in ("right", "left"):
            up, mid, low = (t["regions"][f"{side} {z} lung zone"] for z in ("upper", "mid", "lower"))
            assert up[1] < mid[1] < low[1]
            ap = t["regions"][f"{side} apical zone"]
            assert ap[1] <= up[1] + 1 and ap[3] < up[3]


def test_findings_boxes_match_locations(cases):
    seen = set()
    for c in cases:
        t = c.truth
        W, H = t["width"], t["height"]
        assert len(t["findings"]) <= 3
        for f in t["findings"]:
            seen.add(f["finding"])
            assert f["finding"] in FINDINGS and f["location"] in LOCATIONS
            assert f["boxes"]
            regions = location_regions(f["location"])
            for bid, b in f["boxes"].items():
                assert _inside(b, W, H) and t["boxes"][bid] == b
                cx, cy = b[0] + b[2] / 2, b[1] + b[3] / 2
                # the box centre lies in (or right next to) one of the location's regions
                ok = False
                for rn in regions:
                    x, y, w, h = t["regions"][rn]
                    lung = t["regions"][rn.split(" ")[0] + " lung"] if rn != "cardiac silhouette" else [x, y, w, h]
                    mx, my = 0.1 * lung[2] + 2, 0.1 * lung[3] + 2
                    ok |= (x - mx <= cx <= x + w + mx) and (y - my <= cy <= y + h + my)
                assert ok, (f, b, regions)
            if f["finding"] == "Cardiomegaly":
                assert list(f["boxes"].values())[0] == t["regions"]["cardiac silhouette"]
    assert any(not c.truth["findings"] for c in cases)  # some cases are normal
    assert len(seen) >= 5


def test_report_sentences(cases):
    for c in cases:
        t = c.truth
        sents = t["sentences"]
        assert "FINDINGS:" in t["report"] and "IMPRESSION:" in t["report"]
        present = {f["finding"] for f in t["findings"]}
        neg = [s for s in sents if s["negated"]]
        assert neg, t["report"]  # every report has at least one negated sentence
        negated = [n for s in neg for n in s.get("negated_findings", [])]
        assert len(negated) == len(set(negated))  # nothing negated twice
        for s in neg:
            assert s["text"].lower().startswith(("no ", "there is no", "heart size is normal", "the card"))
            assert not set(s.get("negated_findings", [])) & present
        pos = [s for s in sents if s["certainty"] in ("positive", "uncertain")]
        assert {s["finding"] for s in pos} == present
        for s in pos:
            assert s["location"] in LOCATIONS or " and " in s["location"]
            assert s["box_ids"] and all(b in t["boxes"] for b in s["box_ids"])
            f = [f for f in t["findings"] if f["finding"] == s["finding"]][0]
            assert set(s["box_ids"]) == set(f["boxes"])
        if not present:
            assert any(s["section"] == "IMPRESSION" and s["certainty"] == "normal" for s in sents)
        for f in t["findings"]:
            if f["finding"] == "Pleural Effusion":
                assert "effusion" in t["report"].lower()


def test_cardiomegaly_ctr_from_mask():
    rng = np.random.default_rng(0)
    for target in (0.42, 0.47, 0.56, 0.62, 0.68):
        for k in range(2):
            a = sample_anatomy(rng, 600, 700, ctr=target)
            m = anatomy_masks(a, Raster(a, 0.5))
            ctr = measure_ctr(m["heart"], m["lung_right"], m["lung_left"])
            assert abs(ctr - target) < 0.035, (target, ctr)
            assert (ctr > 0.5) == (target > 0.5)


def test_cardiomegaly_cases_ctr(cases):
    n = 0
    for c in cases:
        names = {f["finding"] for f in c.truth["findings"]}
        ctr = c.truth["anatomy"]["ctr_measured"]
        m = c._masks
        assert abs(measure_ctr(m["heart"], m["lung_right"], m["lung_left"]) - ctr) < 1e-9
        if "Cardiomegaly" in names:
            n += 1
            assert ctr > 0.5
        else:
            assert ctr < 0.5
    assert n >= 1
