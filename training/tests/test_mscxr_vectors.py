"""test/vectors/ms-cxr-pairs.json: sightline_eval.mscxr.group_pairs groups MS-CXR CSV rows into image-phrase pairs
exactly as the app's importer does (main/studies/datasets/ms-cxr.ts; test/unit/studies/dataset-import.test.ts checks
the same file)."""
import csv
import io
import json
from pathlib import Path

from sightline_eval.mscxr import group_pairs

VECTORS = Path(__file__).resolve().parents[2] / "test" / "vectors" / "ms-cxr-pairs.json"


def test_group_pairs_matches_shared_vectors():
    doc = json.loads(VECTORS.read_text(encoding="utf-8"))
    assert len(doc["cases"]) >= 3
    for case in doc["cases"]:
        rows = list(csv.DictReader(io.StringIO(case["csv"], newline="")))
        got = [{k: v for k, v in p.items() if k != "id"} for p in group_pairs(rows)]
        assert got == case["pairs"], case["name"]
        assert [p["id"] for p in group_pairs(rows)] == list(range(len(case["pairs"])))
