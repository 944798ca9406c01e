"""``--pairs FILE``: the tuning pairs as the app curated them (JSON lines), and the split that keeps box-less pairs in
training.

One JSON object per line (blank lines are skipped):

    {"id": "p12", "image": "/abs/path.jpg", "prompt": "left lower pleural effusion", "location": "left lower",
     "category": "Pleural Effusion", "boxes": [[x, y, w, h], ...], "image_width": 2544, "image_height": 3056}

``id`` (string or integer, unique), ``image`` (a .jpg/.png/.dcm path; a relative one is taken from the file's folder),
``location`` (vocabulary locations joined by " and "), ``category`` (one of the 8 MS-CXR pathologies) and ``boxes``
(original image pixels, possibly empty) are required; ``prompt``, ``image_width`` and ``image_height`` may be absent
or null. NO standardisation happens here: the app already curated the pairs and the user may have corrected them.
A missing prompt is ``compose_prompt(location, category)`` (the standardiser's rule, as in ``data.load_pairs``); a
given prompt is used verbatim [our choice: the app's prompt is the winning one, a user's correction included] but
must name every word of its location, otherwise the location rows it is meant to teach would get no gradient.

The pair dicts have exactly the keys of ``data.load_pairs``'s (``id``, ``dicom_id``, ``path``, ``category``,
``label_text``, ``boxes``, ``width``, ``height``, ``split``, ``location``, ``prompt``, ``image``).
"""
from __future__ import annotations

import hashlib
import json
import math
import os
from typing import Dict, List, Optional, Sequence, Tuple

from sightline_eval.locations import PATHOLOGIES, compose_prompt
from sightline_eval.lut import location_regions

from .data import DataError, split_pairs

REQUIRED = ("id", "image", "location", "category", "boxes")
NO_VALIDATION = "no image has a boxed pair: validation skipped"


def _box(v, where: str) -> List[float]:
    if not isinstance(v, list) or len(v) != 4 or not all(isinstance(x, (int, float)) and not isinstance(x, bool)
                                                         and math.isfinite(x) for x in v):
        raise DataError(f"{where}: a box is [x, y, w, h] (4 finite numbers), got {json.dumps(v)}")
    if v[2] <= 0 or v[3] <= 0:
        raise DataError(f"{where}: box {json.dumps(v)} has no area (w and h must be > 0)")
    return [float(x) for x in v]


def _size(d: dict, key: str, where: str) -> Optional[int]:
    v = d.get(key)
    if v is None:
        return None
    if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
        raise DataError(f"{where}: '{key}' must be a positive integer or null, got {json.dumps(v)}")
    return v


def parse_line(d, where: str, folder: str) -> dict:
    """One decoded line -> a pair dict (``where`` = "file: line N" for the messages)."""
    if not isinstance(d, dict):
        raise DataError(f"{where}: expected a JSON object, got {type(d).__name__}")
    missing = [k for k in REQUIRED if d.get(k) is None]
    if missing:
        raise DataError(f"{where}: missing field{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    pid = d["id"]
    if not isinstance(pid, (str, int)) or isinstance(pid, bool) or str(pid) == "":
        raise DataError(f"{where}: 'id' must be a non-empty string or an integer")
    for k in ("image", "location", "category"):
        if not isinstance(d[k], str) or not d[k].strip():
            raise DataError(f"{where}: '{k}' must be a non-empty string")
    category = d["category"]
    if category not in PATHOLOGIES:
        raise DataError(f"{where}: unknown category {category!r} (one of {', '.join(PATHOLOGIES)})")
    location = " ".join(d["location"].split())
    try:
        location_regions(location)
    except ValueError as e:
        raise DataError(f"{where}: location {location!r}: {e}") from e
    prompt = d.get("prompt")
    if prompt is None:
        prompt = compose_prompt(location, category)
    elif not isinstance(prompt, str) or not prompt.strip():
        raise DataError(f"{where}: 'prompt' must be a non-empty string or absent")
    else:
        prompt = " ".join(prompt.split())
        absent = [w for w in location.split() if w != "and" and w not in prompt.lower().split()]
        if absent:
            raise DataError(f"{where}: prompt {prompt!r} does not name its location {location!r} "
                            f"(missing {', '.join(absent)})")
    if not isinstance(d["boxes"], list):
        raise DataError(f"{where}: 'boxes' must be a list of [x, y, w, h]")
    boxes = [_box(b, where) for b in d["boxes"]]
    width, height = _size(d, "image_width", where), _size(d, "image_height", where)
    image = os.path.join(folder, os.path.expanduser(d["image"]))
    if not os.path.isfile(image):
        raise DataError(f"{where}: image not found: {image}")
    return {"id": str(pid), "dicom_id": os.path.splitext(os.path.basename(image))[0], "path": image,
            "category": category, "label_text": prompt, "boxes": boxes, "width": width, "height": height,
            "split": None, "location": location, "prompt": prompt, "image": os.path.abspath(image)}


def load_pairs_file(path: str) -> Tuple[List[dict], Dict[str, int]]:
    """The pairs of a JSON-lines file and the drop counts (always empty: nothing is dropped, a bad line is an error)."""
    folder = os.path.dirname(os.path.abspath(path))
    out: List[dict] = []
    seen: Dict[str, int] = {}
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: {e}") from e
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}: line {n}"
        try:
            d = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(f"{where} column {e.colno}: not JSON ({e.msg})") from e
        p = parse_line(d, where, folder)
        if p["id"] in seen:
            raise DataError(f"{where}: id {p['id']!r} already on line {seen[p['id']]}")
        seen[p["id"]] = n
        out.append(p)
    if not out:
        raise DataError(f"{path}: no pairs (one JSON object per line)")
    return out, {}


def split_boxed(pairs: Sequence[dict], val_images: int, seed: int) -> Tuple[List[dict], List[dict], Optional[str]]:
    """(train, validation, note): validation images are drawn from the images with at least one boxed pair, in the
    seeded order of ``data.split_pairs`` (so a file where every pair has boxes splits exactly as ``split_pairs``).
    A validation image's boxed pairs validate and its box-less pairs (report sentences of the same image) are held
    out of both sides, so that no validation image is ever trained on; every other pair trains. ``note`` says why
    validation is empty when no image has a boxed pair (else None)."""
    if all(p["boxes"] for p in pairs):
        train, val = split_pairs(pairs, val_images, seed)
        return train, val, None
    eligible = {p["image"] for p in pairs if p["boxes"]}
    if not eligible:
        return list(pairs), [], NO_VALIDATION
    images = sorted(eligible, key=lambda s: hashlib.sha256(f"{seed}:{os.path.basename(s)}".encode()).hexdigest())
    val_set = set(images[:val_images])
    train = [p for p in pairs if p["image"] not in val_set]
    if not train:
        raise DataError(f"val_images={val_images} leaves no training image ({len({p['image'] for p in pairs})} images)")
    return train, [p for p in pairs if p["image"] in val_set and p["boxes"]], None
