"""The anatomy look-up table of 2D Gaussians (docs/method.md section 4.2) and targets rendered from it.

Input: the Chest ImaGenome gold CSV (`gold_bbox_coordinate_annotations_1000images.csv`, header in docs/datasets.md).
Each region box is taken in original pixels (``original_x1, original_y1, original_x2, original_y2``) and mapped
into the model frame (short side resized to ``size`` = 512, centre crop, exactly as
``sightline_ldm.image_ops.preprocess``: per-axis scale = resized / original with the long side
floor(long * size / short), crop offset floor((L' - size) / 2)). Per box mu = centre, sigma = side / 6; the
four numbers are averaged per region over all images.

The original image size. The gold CSV does not carry it reliably: in the distributed file (and in what
``sightline_world`` writes) ``original_width`` / ``original_height`` are the *box* sizes, not the image size.
Sources, in order:
1. a mapping ``dicom_id -> (height, width)`` given by the caller, e.g. ``read_mimic_metadata_sizes`` on
   ``mimic-cxr-2.0.0-metadata.csv(.gz)`` (``Rows`` = height, ``Columns`` = width; ``image_id`` in the gold CSV is
   ``{dicom_id}.dcm``), or ``read_mscxr_sizes`` on an MS-CXR CSV (``image_width``, ``image_height``);
2. otherwise inferred from the CSV itself: ``x1..y2`` are the same boxes in a 224 x 224 frame (long side resized
   to 224, centred padding), so ``x224 = r * x_orig + pad_x`` with r = 224 / long side; a least-squares fit over
   all boxes of the image gives r and the paddings, hence W = (224 - 2 pad_x) / r and H likewise (rounded;
   accurate to ~1% because the 224 coordinates are integers). Images where neither works are skipped.

Location terms (4.1) -> regions (4.2): "" -> lung, apical -> apical zone, upper/middle/lower -> upper/mid/lower
lung zone, costophrenic -> costophrenic angle, base and pleural -> lower lung zone, lingular -> left mid lung
zone, cardiomegaly -> cardiac silhouette, pulmonary -> both lungs, bilateral / bibasilar -> both sides. Several
locations are joined with " and ". A target is the pixel-wise max of the locations' Gaussians, each with peak 1
(``exp(-dx^2 / 2 sx^2 - dy^2 / 2 sy^2)``, [our choice]) sampled at pixel centres of a grid covering the frame.

Input checks (the app's builder, main/evaluation/lut, behaves the same; test/vectors/lut-demo.json holds what both
give): a CSV without a needed column is refused naming the file and the missing columns; a coordinate of a row of
one of the 13 regions, or a size in a metadata / MS-CXR row, that is not a finite number is an error naming the
file, line and column (``LutInputError``); rows of other regions are not read at all, only counted
(``rows.unknown_region``). The 224-frame fit is closed-form least squares over the image's region rows, sums taken
in row order, and means are plain sequential sums, so that the TypeScript builder gives the same numbers.

CLI: ``python -m sightline_eval.lut --imagenome CSV [--metadata CSV] [--mscxr CSV] [--size N] --out lut.json``;
``python -m sightline_eval.lut --vectors ../test/vectors/lut-demo.json`` writes the shared test vectors.
Reading the CSV inputs lives in ``lut_inputs.py``, the shared vectors in ``lut_vectors.py``.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from .lut_inputs import (COORD_224, COORD_ORIGINAL, IMAGENOME_COLUMNS, LutInputError, _check_header, _mean, _where,
                         dicom_id_of, infer_size_from_224, open_text, parse_number, read_mimic_metadata_sizes,
                         read_mscxr_sizes)

LUT_FORMAT = "sightline-anatomy-lut"
# what the builder does (input checks, fit, averaging): the app's builder has the same number (main/evaluation/lut)
BUILDER_VERSION = 2
MODEL_SIZE = 512

REGIONS: Tuple[str, ...] = (
    "right lung", "right apical zone", "right upper lung zone", "right mid lung zone",
    "right lower lung zone", "right costophrenic angle",
    "left lung", "left apical zone", "left upper lung zone", "left mid lung zone",
    "left lower lung zone", "left costophrenic angle",
    "cardiac silhouette",
)
SIDES = ("left", "right", "bilateral")
ZONE_TO_REGION: Dict[str, str] = {
    "": "lung", "apical": "apical zone", "upper": "upper lung zone", "middle": "mid lung zone",
    "lower": "lower lung zone", "costophrenic": "costophrenic angle", "pleural": "lower lung zone",
    "base": "lower lung zone",
}
# region -> the location term used for synthetic prompts (5.2); lower lung zone is "lower" (base/pleural map there too)
REGION_TO_LOCATION: Dict[str, str] = {"cardiac silhouette": "cardiomegaly"}
for _side in ("left", "right"):
    for _zone in ("", "apical", "upper", "middle", "lower", "costophrenic"):
        REGION_TO_LOCATION[f"{_side} {ZONE_TO_REGION[_zone]}"] = f"{_side} {_zone}".strip()


# ---------------------------------------------------------------- model frame
def model_frame_geometry(height: int, width: int, size: int = MODEL_SIZE) -> Tuple[float, float, int, int]:
    """(scale_y, scale_x, crop_top, crop_left) of preprocess: short side -> size, floor for the long side."""
    if height <= width:
        rh, rw = size, int(width * size / height)
    else:
        rh, rw = int(height * size / width), size
    return rh / height, rw / width, (rh - size) // 2, (rw - size) // 2


def box_to_model_frame(x1: float, y1: float, x2: float, y2: float, height: int, width: int,
                       size: int = MODEL_SIZE) -> Tuple[float, float, float, float]:
    """Corner box in original pixels -> the same box in the size x size model frame (continuous coordinates)."""
    sy, sx, top, left = model_frame_geometry(height, width, size)
    return x1 * sx - left, y1 * sy - top, x2 * sx - left, y2 * sy - top


def box_gaussian(x1: float, y1: float, x2: float, y2: float) -> Tuple[float, float, float, float]:
    """(mu_x, mu_y, sigma_x, sigma_y) of a corner box: centre, side / 6."""
    return (x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1) / 6, (y2 - y1) / 6


# ---------------------------------------------------------------- build
def read_imagenome(path: str, regions: Sequence[str] = REGIONS) -> List[Dict[str, str]]:
    """The gold CSV's rows; refuses a missing column, and a coordinate of a region row that is not a number."""
    with open_text(path) as f:
        reader = csv.DictReader(f)
        header = _check_header(path, reader.fieldnames, IMAGENOME_COLUMNS, "a Chest ImaGenome gold bbox CSV")
        reader.fieldnames = header
        rows = []
        known = set(regions)
        for r in reader:
            if (r.get("bbox_name") or "").strip() in known:
                for c in COORD_224 + COORD_ORIGINAL:
                    parse_number(r.get(c), _where(path, reader.line_num, header, c))
            rows.append(r)
        return rows


def build_lut(rows: Sequence[Mapping[str, str]], sizes: Optional[Mapping[str, Tuple[int, int]]] = None,
              size: int = MODEL_SIZE, regions: Sequence[str] = REGIONS) -> dict:
    """Average (mu_x, mu_y, sigma_x, sigma_y) per region in the model frame. ``sizes``: dicom_id -> (H, W).
    Rows of other regions are only counted; images are those with a row of a region."""
    sizes = sizes or {}
    by_image: Dict[str, List[Mapping[str, str]]] = {}
    unknown = 0
    for r in rows:
        if (r.get("bbox_name") or "").strip() not in regions:
            unknown += 1
            continue
        by_image.setdefault(r["image_id"], []).append(r)
    acc = {k: [] for k in regions}
    source_counts = {"given": 0, "inferred_224": 0, "skipped": 0}
    for image_id, rs in by_image.items():
        did = dicom_id_of(image_id)
        hw = sizes.get(did) or sizes.get(image_id)
        if hw is not None:
            source_counts["given"] += 1
        else:
            hw = infer_size_from_224(rs)
            if hw is None:
                source_counts["skipped"] += 1
                continue
            source_counts["inferred_224"] += 1
        h, w = hw
        for r in rs:
            box = [parse_number(r[k]) for k in COORD_ORIGINAL]
            acc[r["bbox_name"].strip()].append(box_gaussian(*box_to_model_frame(*box, h, w, size)))
    out_regions = {}
    used = 0
    for k in regions:
        if not acc[k]:
            continue
        m = [_mean([g[i] for g in acc[k]]) for i in range(4)]
        out_regions[k] = {"mu_x": m[0], "mu_y": m[1], "sigma_x": m[2], "sigma_y": m[3], "n": len(acc[k])}
        used += len(acc[k])
    return {"format": LUT_FORMAT, "version": 1, "builder": BUILDER_VERSION, "frame": size, "regions": out_regions,
            "images": len(by_image), "image_size_source": source_counts,
            "rows": {"read": len(rows), "used": used, "unknown_region": unknown},
            "note": "model frame: short side resized to frame, centre crop; mu = box centre, sigma = side / 6"}


def load_lut(path: str) -> dict:
    with open(path, encoding="utf-8") as f:
        lut = json.load(f)
    if lut.get("format") != LUT_FORMAT:
        raise ValueError(f"{path}: not a {LUT_FORMAT}")
    return lut


def save_lut(lut: Mapping, path: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(lut, f, indent=2)
        f.write("\n")


# ---------------------------------------------------------------- locations -> regions -> targets
def location_parts(location: str) -> List[str]:
    return [p.strip() for p in location.split(" and ") if p.strip()]


def location_regions(location: str) -> List[str]:
    """A vocabulary location (possibly several joined with " and ") -> region names (ordered, unique)."""
    regions: List[str] = []
    for part in location_parts(location):
        if part == "cardiomegaly":
            regions.append("cardiac silhouette")
        elif part == "pulmonary":
            regions += ["right lung", "left lung"]
        elif part == "lingular":
            regions.append("left mid lung zone")
        elif part == "bibasilar":
            regions += ["right lower lung zone", "left lower lung zone"]
        else:
            words = part.split(" ", 1)
            side, zone = words[0], (words[1].strip() if len(words) > 1 else "")
            if side not in SIDES or zone not in ZONE_TO_REGION:
                raise ValueError(f"unknown location {part!r}")
            for s in (["right", "left"] if side == "bilateral" else [side]):
                regions.append(f"{s} {ZONE_TO_REGION[zone]}")
    out: List[str] = []
    for r in regions:
        if r not in out:
            out.append(r)
    return out


def region_params(lut: Mapping, region: str) -> Tuple[float, float, float, float]:
    g = lut["regions"][region]
    return g["mu_x"], g["mu_y"], g["sigma_x"], g["sigma_y"]


def render_gaussians(params: Iterable[Tuple[float, float, float, float]], shape: Tuple[int, int],
                     frame: Tuple[float, float]) -> np.ndarray:
    """Pixel-wise max of peak-1 Gaussians (mu/sigma in a frame of size (frame_h, frame_w)) sampled at the
    pixel centres of an ``shape`` = (rows, cols) grid covering the frame. float64; zeros without Gaussians."""
    rows, cols = shape
    fh, fw = frame
    ys = (np.arange(rows) + 0.5) * fh / rows
    xs = (np.arange(cols) + 0.5) * fw / cols
    out = np.zeros((rows, cols))
    for mx, my, sx, sy in params:
        sx, sy = max(float(sx), 1e-6), max(float(sy), 1e-6)
        gx = np.exp(-0.5 * ((xs - mx) / sx) ** 2)
        gy = np.exp(-0.5 * ((ys - my) / sy) ** 2)
        out = np.maximum(out, gy[:, None] * gx[None, :])
    return out


def render_target(lut: Mapping, location: str, grid: int = 16) -> np.ndarray:
    """Target G of a location on a grid x grid map of the model frame (4.2; 16 x 16 = the attention grid)."""
    f = float(lut.get("frame", MODEL_SIZE))
    return render_gaussians([region_params(lut, r) for r in location_regions(location)], (grid, grid), (f, f))


# ---------------------------------------------------------------- synthetic prompts (5.2)
def w2_squared(a: Sequence[float], b: Sequence[float]) -> float:
    """Squared 2-Wasserstein distance of two axis-aligned Gaussians (mu_x, mu_y, sigma_x, sigma_y)."""
    return float(sum((float(p) - float(q)) ** 2 for p, q in zip(a, b)))


def nearest_region(lut: Mapping, gaussian: Sequence[float], regions: Optional[Sequence[str]] = None) -> str:
    """The LUT region with the smallest squared W2 distance (ties: first in REGIONS order)."""
    names = [r for r in (regions or REGIONS) if r in lut["regions"]]
    if not names:
        raise ValueError("empty LUT")
    d = [w2_squared(gaussian, region_params(lut, r)) for r in names]
    return names[int(np.argmin(d))]


# ---------------------------------------------------------------- files -> LUT (the CLI, the app's vectors)
def build_from_files(imagenome: str, metadata: Sequence[str] = (), mscxr: Sequence[str] = (),
                     size: int = MODEL_SIZE) -> dict:
    """What the CLI builds: MS-CXR sizes, then metadata sizes over them, then the gold CSV."""
    sizes: Dict[str, Tuple[int, int]] = {}
    for m in mscxr:
        sizes.update(read_mscxr_sizes(m))
    for m in metadata:
        sizes.update(read_mimic_metadata_sizes(m))
    return build_lut(read_imagenome(imagenome), sizes, size)


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m sightline_eval.lut", description=__doc__.split("\n")[0])
    p.add_argument("--vectors", help="write the shared test vectors (test/vectors/lut-demo.json) and stop")
    p.add_argument("--imagenome", help="gold_bbox_coordinate_annotations_1000images.csv")
    p.add_argument("--metadata", action="append", default=[],
                   help="mimic-cxr-2.0.0-metadata.csv(.gz) for image sizes (Rows/Columns); repeatable")
    p.add_argument("--mscxr", action="append", default=[], help="MS-CXR CSV(s) with image_width/image_height")
    p.add_argument("--size", type=int, default=MODEL_SIZE, help="model frame (default 512)")
    p.add_argument("--out")
    a = p.parse_args(argv)
    if a.vectors:
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        from .lut_vectors import vectors
        with open(a.vectors, "w", encoding="utf-8") as f:
            json.dump(vectors(root), f)
            f.write("\n")
        print(f"wrote {a.vectors}")
        return 0
    if not a.imagenome or not a.out:
        p.error("--imagenome and --out are needed (or --vectors)")
    try:
        lut = build_from_files(a.imagenome, a.metadata, a.mscxr, a.size)
    except LutInputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    save_lut(lut, a.out)
    missing = [r for r in REGIONS if r not in lut["regions"]]
    print(f"LUT: {len(lut['regions'])} regions from {lut['images']} images "
          f"(image sizes: {lut['image_size_source']}) -> {a.out}")
    for r, g in lut["regions"].items():
        print(f"  {r:26s} mu=({g['mu_x']:6.1f}, {g['mu_y']:6.1f}) sigma=({g['sigma_x']:5.1f}, {g['sigma_y']:5.1f}) "
              f"n={g['n']}")
    if missing:
        print(f"warning: no boxes for {missing}", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
