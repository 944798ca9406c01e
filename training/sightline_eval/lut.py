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
"""
from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import math
import os
import re
import sys
import tempfile
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import numpy as np

LUT_FORMAT = "sightline-anatomy-lut"
# what the builder does (input checks, fit, averaging): the app's builder has the same number (main/evaluation/lut)
BUILDER_VERSION = 2
MODEL_SIZE = 512

IMAGENOME_COLUMNS = ("image_id", "bbox_name", "x1", "y1", "x2", "y2",
                     "original_x1", "original_y1", "original_x2", "original_y2")
COORD_224 = ("x1", "y1", "x2", "y2")
COORD_ORIGINAL = ("original_x1", "original_y1", "original_x2", "original_y2")
METADATA_COLUMNS = ("dicom_id", "Rows", "Columns")
MSCXR_COLUMNS = ("dicom_id", "image_width", "image_height")
# a decimal number as written in these CSVs; Python's float() would also take "nan", "inf" and "1_0"
NUMBER_RE = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")

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


def open_text(path: str):
    """Text handle for a CSV, transparently gunzipping ``.gz``."""
    if str(path).endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


class LutInputError(ValueError):
    """A CSV the builder cannot use: the message names the file (and the line and column of a bad value)."""


def parse_number(value, where: str = "") -> float:
    """A finite number from a CSV cell (strict: see NUMBER_RE) or an in-memory int/float; else LutInputError."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        v = float(value)
    elif isinstance(value, str) and NUMBER_RE.fullmatch(value):
        v = float(value)
    else:
        shown = "empty" if value is None or (isinstance(value, str) and not value.strip()) else repr(value)
        raise LutInputError(f"{where}: {shown} is not a number")
    if not math.isfinite(v):
        raise LutInputError(f"{where}: {value!r} is not a finite number")
    return v


def _where(path: str, line: int, header: Sequence[str], column: str) -> str:
    return f"{path}: line {line}, column {header.index(column) + 1} ({column})"


def _check_header(path: str, header: Optional[Sequence[str]], needed: Sequence[str], what: str) -> List[str]:
    header = [h.strip() for h in (header or [])]
    missing = [c for c in needed if c not in header]
    if missing:
        found = f"its header is {','.join(header)}" if header else "it is empty"
        raise LutInputError(f"{path}: not {what}: missing column(s) {', '.join(missing)} ({found})")
    return header


def _read_sizes(path: str, columns: Tuple[str, str, str], what: str) -> Dict[str, Tuple[int, int]]:
    """dicom_id -> (height, width) from the columns (id, height, width); rows with an empty size are skipped."""
    key, hcol, wcol = columns
    out = {}
    with open_text(path) as f:
        reader = csv.reader(f)
        header = _check_header(path, next(reader, None), columns, what)
        idx = {c: header.index(c) for c in columns}
        for rec in reader:
            if not rec:
                continue
            cell = {c: (rec[i] if i < len(rec) else "") for c, i in idx.items()}
            if not cell[hcol].strip() or not cell[wcol].strip():
                continue
            hw = []
            for c in (hcol, wcol):
                where = _where(path, reader.line_num, header, c)
                v = math.trunc(parse_number(cell[c], where))
                if v < 1:
                    raise LutInputError(f"{where}: {cell[c]!r} is not a positive image size")
                hw.append(v)
            out[cell[key]] = (hw[0], hw[1])
    return out


def read_mimic_metadata_sizes(path: str) -> Dict[str, Tuple[int, int]]:
    """dicom_id -> (height, width) from ``mimic-cxr-2.0.0-metadata.csv(.gz)`` (Rows, Columns)."""
    return _read_sizes(path, ("dicom_id", "Rows", "Columns"), "a MIMIC-CXR metadata CSV")


def read_mscxr_sizes(path: str) -> Dict[str, Tuple[int, int]]:
    """dicom_id -> (height, width) from an MS-CXR CSV that has image_width / image_height."""
    return _read_sizes(path, ("dicom_id", "image_height", "image_width"), "an MS-CXR CSV with image sizes")


def dicom_id_of(image_id: str) -> str:
    return image_id[:-4] if image_id.endswith(".dcm") else image_id


def _mean(values: Sequence[float]) -> float:
    s = 0.0
    for v in values:  # sequential, as the TypeScript builder sums
        s += v
    return s / len(values)


def round_half_up(v: float) -> int:
    return int(math.floor(v + 0.5))


def infer_size_from_224(rows: Sequence[Mapping[str, str]]) -> Optional[Tuple[int, int]]:
    """(height, width) of one image from its gold rows' 224-frame and original coordinates (see module doc)."""
    xs_o, xs_224, ys_o, ys_224 = [], [], [], []
    for r in rows:
        xs_o += [parse_number(r["original_x1"]), parse_number(r["original_x2"])]
        ys_o += [parse_number(r["original_y1"]), parse_number(r["original_y2"])]
        xs_224 += [parse_number(r["x1"]), parse_number(r["x2"])]
        ys_224 += [parse_number(r["y1"]), parse_number(r["y2"])]
    if len(xs_o) < 4:
        return None
    # x224 = r * xo + px ; y224 = r * yo + py (one shared r): least squares in closed form. For a given r the best
    # offsets are px = mean(x224) - r mean(xo) (likewise y), so r is the pooled slope of the centred coordinates.
    mxo, mx, myo, my = _mean(xs_o), _mean(xs_224), _mean(ys_o), _mean(ys_224)
    num = den = 0.0
    for o, v in zip(xs_o, xs_224):
        num += (o - mxo) * (v - mx)
        den += (o - mxo) * (o - mxo)
    for o, v in zip(ys_o, ys_224):
        num += (o - myo) * (v - my)
        den += (o - myo) * (o - myo)
    if not den > 0:
        return None
    r = num / den
    if not r > 0:
        return None
    px, py = mx - r * mxo, my - r * myo
    w, h = (224.0 - 2 * px) / r, (224.0 - 2 * py) / r
    if not (w > 0 and h > 0):
        return None
    return round_half_up(h), round_half_up(w)


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


# ---------------------------------------------------------------- shared test vectors (test/vectors/lut-demo.json)
GOLD_HEADER = ("image_id,x1,y1,x2,y2,width,height,bbox_name,annot_id,original_x1,original_x2,original_y1,original_y2,"
               "original_width,original_height,annotator,coord224,coord_original")
# A hand-made gold CSV: a1 (1200 x 900) has no size anywhere, so it is inferred from the 224 frame; b2 and e5 (no
# ".dcm") get theirs from the metadata below; c3 has one region row (nothing to fit: skipped); trachea rows are of
# no region (not read: empty coordinates are fine there); one name has spaces around it; a quoted field has commas.
TINY_IMAGENOME = "\n".join([
    GOLD_HEADER,
    'a1.dcm,28,47,103,177,75,130,right lung,x01,150,550,100,800,400,700,t,"[28, 47, 103, 177]","[150, 100, 550, 800]"',
    'a1.dcm,121,47,196,177,75,130,left lung,x02,650,1050,100,800,400,700,t,"[121, 47, 196, 177]",""',
    'a1.dcm,,,,,,,trachea,x03,,,,,,,t,,',
    'a1.dcm,93,103,149,168,56,65,cardiac silhouette,x04,500,800,400,750,300,350,t,,',
    'a1.dcm,28,131,103,177,75,46, right lower lung zone ,x05,150,550,550,800,400,250,t,,',
    'b2.dcm,45,34,108,202,63,168,right lung,x06,100,380,150,900,280,750,t,,',
    'b2.dcm,116,34,179,202,63,168,left lung,x07,420,700,150,900,280,750,t,,',
    'b2.dcm,49,34,108,58,59,24,right apical zone,x08,120,380,150,260,260,110,t,,',
    'c3.dcm,2,2,20,20,18,18,left lung,x09,10,90,10,90,80,80,t,,',
    'e5,131,153,153,175,22,22,left costophrenic angle,x10,600.5,700.25,700,800,100,100,t,,',
    'e5,0,0,0,0,0,0,trachea,x11,not,a,number,here,0,0,t,,',
]) + "\n"
TINY_METADATA = "dicom_id,subject_id,study_id,ViewPosition,Rows,Columns\nb2,1,1,PA,1000,800\ne5,2,2,PA,1024.0,1024\nzz,3,3,PA,,\n"

DEMO_GOLD = "resources/demo/chest-imagenome/gold_dataset/gold_bbox_coordinate_annotations_1000images.csv"
DEMO_METADATA = "resources/demo/mimic-cxr-jpg/mimic-cxr-2.0.0-metadata.csv"
DEMO_MSCXR = "resources/demo/ms-cxr/MS_CXR_Local_Alignment_v1.1.0.csv"
VECTOR_LOCATIONS = ("right", "left lower", "bilateral apical", "cardiomegaly", "pulmonary", "lingular",
                    "bibasilar", "left base", "right pleural", "right costophrenic and left upper", "bilateral")


def build_from_files(imagenome: str, metadata: Sequence[str] = (), mscxr: Sequence[str] = (),
                     size: int = MODEL_SIZE) -> dict:
    """What the CLI builds: MS-CXR sizes, then metadata sizes over them, then the gold CSV."""
    sizes: Dict[str, Tuple[int, int]] = {}
    for m in mscxr:
        sizes.update(read_mscxr_sizes(m))
    for m in metadata:
        sizes.update(read_mimic_metadata_sizes(m))
    return build_lut(read_imagenome(imagenome), sizes, size)


def vectors(root: str) -> dict:
    """The shared LUT vectors: file cases name paths relative to the repository root ``root``; the tiny case's CSVs
    are inline (written to files by each test)."""
    files = [
        {"name": "demo-512-metadata", "imagenome": DEMO_GOLD, "metadata": [DEMO_METADATA], "mscxr": [], "frame": 512},
        {"name": "demo-128-metadata", "imagenome": DEMO_GOLD, "metadata": [DEMO_METADATA], "mscxr": [], "frame": 128},
        {"name": "demo-512-inferred", "imagenome": DEMO_GOLD, "metadata": [], "mscxr": [], "frame": 512},
        {"name": "demo-512-mscxr", "imagenome": DEMO_GOLD, "metadata": [], "mscxr": [DEMO_MSCXR], "frame": 512},
    ]
    cases = []
    for c in files:
        lut = build_from_files(os.path.join(root, c["imagenome"]), [os.path.join(root, m) for m in c["metadata"]],
                               [os.path.join(root, m) for m in c["mscxr"]], c["frame"])
        cases.append({**c, "lut": lut})
    with tempfile.TemporaryDirectory() as tmp:
        gold, meta = os.path.join(tmp, "gold.csv"), os.path.join(tmp, "metadata.csv")
        for path, text in ((gold, TINY_IMAGENOME), (meta, TINY_METADATA)):
            with open(path, "w", encoding="utf-8", newline="") as f:
                f.write(text)
        tiny = [{"name": "tiny-512-metadata", "metadata": True, "frame": 512},
                {"name": "tiny-300-inferred", "metadata": False, "frame": 300}]
        for c in tiny:
            cases.append({**c, "lut": build_from_files(gold, [meta] if c["metadata"] else [], [], c["frame"])})
    demo = cases[1]["lut"]
    geometry = [[h, w, s, list(model_frame_geometry(h, w, s))]
                for h, w, s in ((600, 800, 512), (800, 600, 512), (716, 549, 128), (513, 758, 128), (1000, 1, 512),
                                (2544, 3056, 512), (512, 512, 512), (333, 1000, 300))]
    targets = [{"location": loc, "grid": grid, "values": render_target(demo, loc, grid).ravel().tolist()}
               for loc in VECTOR_LOCATIONS for grid in (16,)]
    targets.append({"location": "right lower", "grid": 7, "values": render_target(demo, "right lower", 7).ravel().tolist()})
    gaussians = [[64.0, 64.0, 10.0, 20.0], [30.0, 90.0, 5.0, 5.0], [100.0, 40.0, 8.0, 12.0], [64.0, 10.0, 30.0, 4.0],
                 [0.0, 0.0, 0.0, 0.0], list(region_params(demo, "left mid lung zone"))]
    nearest = [{"gaussian": g, "region": nearest_region(demo, g)} for g in gaussians]
    boxes = [[[90, 65, 251, 389], 716, 549], [[300, 100, 480, 300], 716, 549], [[150, 400, 400, 560], 646, 526],
             [[10, 10, 60, 60], 1000, 1000], [[500, 700, 900, 950], 1024, 1024]]
    box_locations = []
    for box, h, w in boxes:
        g = box_gaussian(*box_to_model_frame(*box, h, w, int(demo["frame"])))
        box_locations.append({"box": box, "height": h, "width": w, "region": nearest_region(demo, g),
                              "location": REGION_TO_LOCATION[nearest_region(demo, g)]})
    return {
        "generated_by": "cd training && /usr/bin/python3 -m sightline_eval.lut --vectors ../test/vectors/lut-demo.json",
        "builder": BUILDER_VERSION,
        "tiny_imagenome": TINY_IMAGENOME,
        "tiny_metadata": TINY_METADATA,
        "cases": cases,
        "geometry": geometry,
        "location_regions": {loc: location_regions(loc) for loc in VECTOR_LOCATIONS + ("right lower and left upper",)},
        "targets_lut": "demo-128-metadata",
        "targets": targets,
        "nearest": nearest,
        "box_locations": box_locations,
    }


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
