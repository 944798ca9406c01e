"""MS-CXR-loc benchmark builder (docs/method.md 5.2).

Reads an MS-CXR local-alignment CSV (v1.0.0 / v1.1.0: ``dicom_id, category_name, label_text, path, x, y, w, h,
image_width, image_height, split``; by header, older files may lack columns), groups rows by (``path``,
``label_text``) into image-phrase pairs with one or more boxes (first-appearance order), rewrites each phrase to
"{location} {pathology}" with ``sightline_eval.locations`` and drops the pairs without a location.

A pair is a dict: ``id`` (running index over all pairs of the CSV, before dropping), ``dicom_id``, ``path``
(relative to MIMIC-CXR-JPG), ``category``, ``label_text``, ``location``, ``prompt``, ``boxes`` ([x, y, w, h]
original pixels), ``width``, ``height`` (None when the CSV lacks them), ``split``.

CLI: ``python -m sightline_eval.mscxr --mscxr CSV --out pairs.jsonl`` (prints kept/dropped counts per class).
"""
from __future__ import annotations

import argparse
import collections
import json
from typing import Dict, List, Optional, Sequence

from .locations import compose_prompt, extract_location
from .lut import open_text


def read_rows(path: str) -> List[Dict[str, str]]:
    import csv
    with open_text(path) as f:
        return list(csv.DictReader(f))


def group_pairs(rows: Sequence[Dict[str, str]]) -> List[dict]:
    """Rows -> pairs (one per (path, label_text)), boxes in row order."""
    pairs: Dict[tuple, dict] = collections.OrderedDict()
    for r in rows:
        key = (r["path"], r["label_text"])
        p = pairs.get(key)
        if p is None:
            def num(k):
                v = r.get(k)
                return int(float(v)) if v not in (None, "") else None
            p = pairs[key] = {"id": len(pairs), "dicom_id": r.get("dicom_id") or r["path"].rsplit("/", 1)[-1][:-4],
                              "path": r["path"], "category": r["category_name"], "label_text": r["label_text"],
                              "boxes": [], "width": num("image_width"), "height": num("image_height"),
                              "split": r.get("split") or None}
        p["boxes"].append([float(r[k]) for k in ("x", "y", "w", "h")])
    return list(pairs.values())


def build_benchmark(rows: Sequence[Dict[str, str]], keep_unlocated: bool = False) -> List[dict]:
    """Pairs with ``location`` and ``prompt`` ("{location} {pathology}"); pairs without a location dropped."""
    out = []
    for p in group_pairs(rows):
        loc = extract_location(p["label_text"], p["category"])
        p = dict(p, location=loc, prompt=compose_prompt(loc, p["category"]) if loc else None)
        if loc or keep_unlocated:
            out.append(p)
    return out


def load_benchmark(csv_path: str, splits: Optional[Sequence[str]] = None) -> List[dict]:
    pairs = build_benchmark(read_rows(csv_path))
    if splits:
        pairs = [p for p in pairs if p["split"] in splits]
    return pairs


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sightline_eval.mscxr", description="MS-CXR -> MS-CXR-loc pairs")
    ap.add_argument("--mscxr", required=True)
    ap.add_argument("--split", action="append", help="keep only these splits (repeatable)")
    ap.add_argument("--out", required=True, help="pairs JSONL")
    a = ap.parse_args(argv)
    rows = read_rows(a.mscxr)
    allp = build_benchmark(rows, keep_unlocated=True)
    if a.split:
        allp = [p for p in allp if p["split"] in a.split]
    kept = [p for p in allp if p["location"]]
    with open(a.out, "w", encoding="utf-8") as f:
        for p in kept:
            f.write(json.dumps(p) + "\n")
    n_all = collections.Counter(p["category"] for p in allp)
    n_kept = collections.Counter(p["category"] for p in kept)
    print(f"{len(rows)} rows -> {len(allp)} pairs, {len(kept)} with a location -> {a.out}")
    for c in sorted(n_all):
        print(f"  {c:18s} {n_kept[c]:5d} / {n_all[c]}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
