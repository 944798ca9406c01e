"""VinDr-CXR benchmark with synthetic prompts (docs/method.md 5.2).

For every ground-truth box of an evaluated class: map it into the 512 model frame (needs the image size),
(mu_x, mu_y, sigma_x, sigma_y) = (centre, side / 6), pick the LUT region with the smallest squared 2-Wasserstein
distance, and take that region's location term (``lut.REGION_TO_LOCATION``: "right lower", "left apical",
"right" for a whole lung, "cardiomegaly" for the cardiac silhouette). All boxes of one (image, reader, class)
form one pair; their locations, de-duplicated in box order, are joined with " and " ("right lower and left
lower consolidation"; no left+right -> bilateral merge, 5.2 says "joined" [our reading], ``merge_bilateral``
turns it on). Prompt = ``locations.compose_prompt(location, class)``.

Classes: the method's pathologies present in VinDr's local labels (Atelectasis, Cardiomegaly, Consolidation,
Edema, Lung Opacity, Pleural effusion -> "Pleural Effusion", Pneumothorax); "No finding" rows are skipped.
Image sizes: a mapping image_id -> (height, width), else read from the DICOM header (pydicom, no pixel data).

CLI: ``python -m sightline_eval.vindr --annotations annotations_test.csv --dicom-dir test/ --lut lut.json
--out pairs.jsonl``.
"""
from __future__ import annotations

import argparse
import collections
import csv
import json
import os
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from . import lut as L
from .locations import compose_prompt, spell

VINDR_TO_CATEGORY = {"Atelectasis": "Atelectasis", "Cardiomegaly": "Cardiomegaly", "Consolidation": "Consolidation",
                     "Edema": "Edema", "Lung Opacity": "Lung Opacity", "Pleural effusion": "Pleural Effusion",
                     "Pneumothorax": "Pneumothorax"}


def dicom_size(path: str) -> Tuple[int, int]:
    import pydicom
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    return int(ds.Rows), int(ds.Columns)


def box_location(lut: Mapping, box_xyxy: Sequence[float], height: int, width: int) -> str:
    """Location term of one box (corner coordinates in original pixels)."""
    size = int(lut.get("frame", L.MODEL_SIZE))
    g = L.box_gaussian(*L.box_to_model_frame(*box_xyxy, height, width, size))
    return L.REGION_TO_LOCATION[L.nearest_region(lut, g)]


def join_locations(locs: Sequence[str], merge_bilateral: bool = False) -> str:
    uniq: List[str] = []
    for l in locs:
        if l not in uniq:
            uniq.append(l)
    if merge_bilateral:
        out: List[str] = []
        for l in uniq:
            side, _, zone = l.partition(" ")
            other = {"left": "right", "right": "left"}.get(side)
            if other and f"{other} {zone}".strip() in uniq:
                l = spell("bilateral", zone)
            if l not in out:
                out.append(l)
        uniq = out
    return " and ".join(uniq)


def build_pairs(rows: Sequence[Mapping[str, str]], lut: Mapping, sizes: Mapping[str, Tuple[int, int]],
                merge_bilateral: bool = False) -> List[dict]:
    groups: Dict[tuple, dict] = collections.OrderedDict()
    for r in rows:
        cat = VINDR_TO_CATEGORY.get(r["class_name"])
        if cat is None or not r.get("x_min"):
            continue
        iid = r["image_id"]
        h, w = sizes[iid]
        xyxy = [float(r[k]) for k in ("x_min", "y_min", "x_max", "y_max")]
        key = (iid, r.get("rad_id") or "", cat)
        g = groups.setdefault(key, {"image_id": iid, "rad_id": key[1], "category": cat, "boxes": [], "locs": [],
                                    "width": w, "height": h})
        g["boxes"].append([xyxy[0], xyxy[1], xyxy[2] - xyxy[0], xyxy[3] - xyxy[1]])
        g["locs"].append(box_location(lut, xyxy, h, w))
    out = []
    for i, g in enumerate(groups.values()):
        loc = join_locations(g.pop("locs"), merge_bilateral)
        out.append(dict(g, id=i, location=loc, prompt=compose_prompt(loc, g["category"])))
    return out


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sightline_eval.vindr")
    ap.add_argument("--annotations", required=True, help="annotations_test.csv")
    ap.add_argument("--dicom-dir", help="folder with {image_id}.dicom (for image sizes)")
    ap.add_argument("--lut", required=True)
    ap.add_argument("--merge-bilateral", action="store_true")
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    with L.open_text(a.annotations) as f:
        rows = list(csv.DictReader(f))
    lut = L.load_lut(a.lut)
    sizes = {}
    for iid in {r["image_id"] for r in rows if r["class_name"] in VINDR_TO_CATEGORY}:
        sizes[iid] = dicom_size(os.path.join(a.dicom_dir, iid + ".dicom"))
    pairs = build_pairs(rows, lut, sizes, a.merge_bilateral)
    with open(a.out, "w", encoding="utf-8") as f:
        for p in pairs:
            f.write(json.dumps(p) + "\n")
    print(f"{len(pairs)} pairs -> {a.out}: " + ", ".join(f"{k} {v}" for k, v in
                                                        sorted(collections.Counter(p['category'] for p in pairs).items())))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
