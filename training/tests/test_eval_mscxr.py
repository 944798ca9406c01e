"""sightline_eval.locations (method.md 4.1 extractor) and sightline_eval.mscxr (MS-CXR-loc builder)."""
import csv
import json
from pathlib import Path

import numpy as np
import pytest

from sightline_eval import mscxr
from sightline_eval.locations import compose_prompt, extract_location, prompt_for, swap_sides

from _require import needs

SAMPLES = Path(__file__).resolve().parents[2] / "resources" / "demo"
MSCXR = SAMPLES / "ms-cxr" / "MS_CXR_Local_Alignment_v1.1.0.csv"
TRUTH = SAMPLES / "world" / "truth.jsonl"
needs_samples = needs(MSCXR, what="resources/demo (the synthetic world sample)")

# realistic MS-CXR-style phrases -> location
PHRASES = [
    ("Left retrocardiac opacity", "Lung Opacity", "left lower"),
    ("Bibasilar atelectasis", "Atelectasis", "bibasilar"),
    ("bibasal opacities", "Lung Opacity", "bibasilar"),
    ("Patchy opacities at the lung bases", "Lung Opacity", "bibasilar"),
    ("small left apical pneumothorax", "Pneumothorax", "left apical"),
    ("Tiny right apical pneumothorax", "Pneumothorax", "right apical"),
    ("right basilar opacity", "Pneumonia", "right base"),
    ("Opacities in the right and left lower lobes", "Consolidation", "bilateral lower"),
    ("right lower and left lower lobe consolidation", "Consolidation", "bilateral lower"),
    ("lower lobe opacities bilaterally", "Atelectasis", "bilateral lower"),
    ("Lingular opacity", "Lung Opacity", "lingular"),
    ("opacity in the lingula", "Pneumonia", "lingular"),
    ("Enlarged cardiac silhouette", "Cardiomegaly", "cardiomegaly"),
    ("Mild cardiomegaly", "Cardiomegaly", "cardiomegaly"),
    ("Moderate pulmonary edema", "Edema", "pulmonary"),
    ("Mild interstitial edema", "Edema", None),
    ("Left basilar opacity, no effusion", "Lung Opacity", "left base"),
    ("right upper and lower lobe consolidation", "Consolidation", "right upper and right lower"),
    ("left lower lobe and right middle lobe pneumonia", "Pneumonia", "left lower and right middle"),
    ("Small bilateral pleural effusions", "Pleural Effusion", "bilateral pleural"),
    ("Small left pleural effusion", "Pleural Effusion", "left pleural"),
    ("Blunting of the right costophrenic angle", "Pleural Effusion", "right costophrenic"),
    ("Right-sided pneumothorax", "Pneumothorax", "right"),
    ("right perihilar opacity", "Pneumonia", "right"),
    ("Right mid-lung consolidation", "Consolidation", "right middle"),
    ("Right middle lobe pneumonia", "Pneumonia", "right middle"),
    ("left upper lobe opacity", "Lung Opacity", "left upper"),
    ("Left and right basilar atelectasis", "Atelectasis", "bibasilar"),
    ("opacity in both lungs", "Lung Opacity", "bilateral"),
    ("Patchy airspace opacity", "Lung Opacity", None),
    # negation / resolution: skipped
    ("No pneumothorax", "Pneumothorax", None),
    ("Resolved right pleural effusion", "Pleural Effusion", None),
    ("without evidence of left lower lobe consolidation", "Consolidation", None),
]


@pytest.mark.parametrize("text,category,want", PHRASES)
def test_realistic_phrases(text, category, want):
    assert extract_location(text, category) == want


def test_compose_prompt_and_swap():
    assert compose_prompt("left pleural", "Pleural Effusion") == "left pleural effusion"
    assert compose_prompt("cardiomegaly", "Cardiomegaly") == "cardiomegaly"
    assert compose_prompt("pulmonary", "Edema") == "pulmonary edema"
    assert compose_prompt("right lower and left lower", "Consolidation") == "right lower and left lower consolidation"
    assert compose_prompt("bibasilar", "Lung Opacity") == "bibasilar lung opacity"
    assert prompt_for("Bibasilar atelectasis", "Atelectasis") == "bibasilar atelectasis"
    assert swap_sides("right lower and left upper opacity") == "left lower and right upper opacity"
    assert swap_sides("Left apical pneumothorax, bilateral effusions") == "Right apical pneumothorax, bilateral effusions"


@needs_samples
def test_world_sentences_match_truth_locations():
    n = 0
    for line in TRUTH.read_text().splitlines():
        for s in json.loads(line)["sentences"]:
            if s["certainty"] in ("positive", "uncertain"):
                assert extract_location(s["text"], s["finding"]) == s["location"], s["text"]
                n += 1
            elif s["certainty"] == "negative" and s.get("finding"):
                assert extract_location(s["text"], s["finding"]) is None, s["text"]
    assert n >= 20


def test_world_generator_wordings():
    """Every wording the world's report generator uses for the locations it samples (sightline_world.findings)."""
    from sightline_world.findings import Finding
    from sightline_world.reports import positive_sentence
    op = [f"{s} {z}".strip() for s in ("right", "left") for z in ("lower", "base", "middle", "upper", "", "apical")]
    op += ["bilateral lower", "bibasilar", "bilateral", "lingular", "bilateral middle", "bilateral upper"]
    valid = {"Consolidation": op, "Pneumonia": op, "Lung Opacity": op,
             "Atelectasis": ["right lower", "left lower", "right base", "left base", "bibasilar", "lingular",
                             "bilateral lower"],
             "Pleural Effusion": [f"{s} {z}" for s in ("right", "left", "bilateral") for z in ("costophrenic", "pleural")],
             "Pneumothorax": ["right", "left", "right apical", "left apical"], "Edema": ["pulmonary", "bilateral"],
             "Cardiomegaly": ["cardiomegaly"]}
    n = 0
    for finding, locs in valid.items():
        for loc in locs:
            for seed in range(12):
                rng = np.random.default_rng(seed)
                f = Finding(finding, loc, seed % 3, {"form": ["linear", "wedge"][seed % 2]})
                text, truth_loc, _ = positive_sentence(rng, f, impression=seed % 4 == 0)
                want = {"right lower and left lower": "bilateral lower"}.get(truth_loc, truth_loc)  # 4.1 merge
                assert extract_location(text, finding) == want, text
                n += 1
    assert n > 800


@needs_samples
def test_group_pairs_demo(tmp_path):
    rows = mscxr.read_rows(str(MSCXR))
    pairs = mscxr.build_benchmark(rows)
    # the demo's ground truth: one pair per boxed positive/uncertain FINDINGS sentence, one row per box
    truth = [json.loads(l) for l in open(TRUTH)]
    sents = [s for t in truth for s in t["sentences"]
             if s["section"] == "FINDINGS" and s["certainty"] in ("positive", "uncertain") and s["box_ids"]]
    assert len(rows) == sum(len(s["box_ids"]) for s in sents) == 22 and len(pairs) == len(sents) == 19
    eff = [p for p in pairs if p["label_text"] == "Moderate bilateral pleural effusions"][0]
    assert len(eff["boxes"]) == 2 and eff["prompt"] == "bilateral pleural effusion"
    assert eff["width"] == 572 and eff["height"] == 715 and eff["boxes"][0] == [79.0, 385.0, 186.0, 141.0]
    out = tmp_path / "pairs.jsonl"
    assert mscxr.main(["--mscxr", str(MSCXR), "--out", str(out)]) == 0
    assert len(out.read_text().splitlines()) == 19


def test_quoted_commas_old_header_and_dropping(tmp_path):
    p = tmp_path / "MS_CXR_Local_Alignment_v1.0.0.csv"
    with open(p, "w", newline="") as f:
        w = csv.writer(f, quoting=csv.QUOTE_MINIMAL)
        w.writerow(["dicom_id", "category_name", "label_text", "path", "x", "y", "w", "h"])
        w.writerow(["d1", "Pneumonia", "Patchy opacity, right lower lobe, likely pneumonia", "files/p1/d1.jpg",
                    10, 20, 30, 40])
        w.writerow(["d1", "Pneumonia", "Patchy opacity, right lower lobe, likely pneumonia", "files/p1/d1.jpg",
                    50, 60, 70, 80])
        w.writerow(["d1", "Lung Opacity", "Patchy airspace opacity", "files/p1/d1.jpg", 1, 2, 3, 4])
        w.writerow(["d2", "Pneumonia", "Patchy opacity, right lower lobe, likely pneumonia", "files/p2/d2.jpg",
                    5, 5, 5, 5])
    rows = mscxr.read_rows(str(p))
    allp = mscxr.build_benchmark(rows, keep_unlocated=True)
    assert [len(q["boxes"]) for q in allp] == [2, 1, 1]
    assert allp[0]["prompt"] == "right lower pneumonia" and allp[0]["width"] is None and allp[0]["split"] is None
    kept = mscxr.build_benchmark(rows)
    assert [q["id"] for q in kept] == [0, 2] and all(q["location"] for q in kept)
