"""test/vectors/benchmark-demo.json is the MS-CXR-loc and VinDr-CXR pair lists the Python reference builds from the
demo's ground truth (sightline_eval.mscxr.build_benchmark with the dropped pairs kept, sightline_eval.vindr.build_pairs
with the shipped demo LUT, models/demo/lut.json), and the MS-CXR-loc pairs' scores (CNR, mIoU, AUC) of the oracle and
location-only LUT reference rows (sightline_eval.references), the latter also with the location's sides swapped. The app builds the same lists from the database after importing
the demo (test/unit/evaluation/benchmarks/definitions.test.ts checks the same file).

Regenerate after a deliberate change: ``cd training && PYTHONPATH=. /usr/bin/python3 tests/test_benchmark_vectors.py``.
"""
import csv
import json
from pathlib import Path

from _require import needs, require_module

from sightline_eval import lut as L
from sightline_eval import metrics as M
from sightline_eval.locations import swap_sides
from sightline_eval import mscxr, references as R, vindr

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "test" / "vectors" / "benchmark-demo.json"
DEMO = ROOT / "resources" / "demo"
MSCXR = DEMO / "ms-cxr" / "MS_CXR_Local_Alignment_v1.1.0.csv"
VINDR = DEMO / "vindr-cxr"
DEMO_LUT = ROOT / "models" / "demo" / "lut.json"


def build() -> dict:
    pairs = mscxr.build_benchmark(mscxr.read_rows(str(MSCXR)), keep_unlocated=True)
    lut = L.load_lut(str(DEMO_LUT))

    def scores(heat, boxes):
        return {k: float(v) for k, v in M.score_pair(heat, boxes).items()}

    ms = []
    for p in pairs:
        hw = (p["height"], p["width"])
        ref = {"oracle": scores(R.oracle_heatmap(p["boxes"], hw), p["boxes"])}
        if p["location"]:
            ref["lut"] = scores(R.location_heatmap(lut, p["location"], hw), p["boxes"])
            if R.SIDE_RE.search(p["location"]):  # the side-swap check of the location-only row (model_card.py)
                ref["lut_swapped"] = scores(R.location_heatmap(lut, swap_sides(p["location"]), hw), p["boxes"])
        ms.append({"dicom_id": p["dicom_id"], "label_text": p["label_text"], "category": p["category"], "location": p["location"],
                   "prompt": p["prompt"], "boxes": p["boxes"], "width": p["width"], "height": p["height"], "references": ref})
    vd = []
    for split in ("train", "test"):
        with open(VINDR / "annotations" / f"annotations_{split}.csv", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        sizes = {iid: vindr.dicom_size(str(VINDR / split / f"{iid}.dicom"))
                 for iid in {r["image_id"] for r in rows if r["class_name"] in vindr.VINDR_TO_CATEGORY}}
        for p in vindr.build_pairs(rows, lut, sizes):
            vd.append({"image_id": p["image_id"], "rad_id": p["rad_id"], "category": p["category"], "location": p["location"],
                       "prompt": p["prompt"], "boxes": p["boxes"]})
    return {"description": __doc__.strip().split("\n\n")[0], "lut": "models/demo/lut.json", "mscxr": ms, "vindr": vd}


@needs(VECTORS, MSCXR, VINDR, DEMO_LUT, what="the shared benchmark vectors and the demo data")
def test_committed_vectors_are_what_the_reference_builds():
    require_module("pydicom")
    committed = json.loads(VECTORS.read_text())
    assert json.loads(json.dumps(build())) == committed
    assert len(committed["mscxr"]) == 19 and all(p["prompt"] for p in committed["mscxr"])  # every demo phrase has a location
    assert len({p["rad_id"] for p in committed["vindr"]}) > 1, "the demo's VinDr train split has several readers"


if __name__ == "__main__":
    VECTORS.write_text(json.dumps(build(), indent=1) + "\n")
    print(f"wrote {VECTORS}")
