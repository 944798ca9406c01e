"""Shared test vectors of the grounding metrics: test/vectors/eval-metrics.json.

Written by the Python reference (``sightline_eval.metrics``) and checked by both test suites: pytest
(``training/tests/test_eval_metrics_vectors.py``: the reference still computes exactly the committed numbers) and
vitest (``test/unit/evaluation/metrics/vectors.test.ts``: the app's TypeScript metrics give the same numbers;
``test/unit/cli/evaluate.test.ts``: ``sightline evaluate`` on the ``evaluate`` pairs written as files).

Contents (deterministic; NaN is written as null):
- ``pairs``: small heatmaps (up to 40 x 40; NaN crop margins, constant, all-NaN, plateaus of a nearest-neighbour
  upsampling, quantised values with ties, values equal to a threshold) with boxes (partly or fully outside the
  image, fractional ones on .5, empty, several per pair) -> ``cnr``, ``cnr_boxes``, ``miou``, ``auc``,
  ``mask_pixels``. ``dtype`` float32 means: cast the listed values to float32 first (as a map read from .npy).
- ``bootstrap``: the generator's hashes and the first indices of the first resamples for some (seed, n).
- ``summaries``: values + classes -> ``summarise`` (mean, CI, per class) for a given n_boot and seed.
- ``evaluate``: pairs of ``pairs`` given a dicom_id, a label_text and a category, with the expected summaries of
  cnr, miou and auc (what ``sightline evaluate`` prints).

Regenerate: ``cd training && /usr/bin/python3 -m sightline_eval.metrics --write-vectors ../test/vectors/eval-metrics.json``
"""
from __future__ import annotations

import argparse
import json
import math
from typing import List, Optional, Sequence

import numpy as np

from . import metrics as M

COMMAND = "cd training && /usr/bin/python3 -m sightline_eval.metrics --write-vectors ../test/vectors/eval-metrics.json"
EVAL_N_BOOT, EVAL_SEED = 1000, 0


def _clean(x):
    """JSON-safe: NaN -> None, numpy scalars -> Python numbers."""
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, (np.floating, float)):
        return None if math.isnan(float(x)) else float(x)
    if isinstance(x, np.integer):
        return int(x)
    return x


def _hand_map() -> np.ndarray:
    h = np.arange(16, dtype=np.float64).reshape(4, 4)
    h[3, 3] = 19
    return h


def _pair(name: str, heat: np.ndarray, boxes: Sequence[Sequence[float]], dtype: str = "float64") -> dict:
    """A case: the values as written (4 decimals keep the file small), scored as ``dtype``."""
    values = np.where(np.isnan(heat), np.nan, np.round(heat, 4))
    scored = values.astype(np.float32) if dtype == "float32" else values
    s = M.score_pair(scored, boxes)
    hn = M.normalise(scored)
    return {"name": name, "width": int(heat.shape[1]), "height": int(heat.shape[0]), "dtype": dtype,
            "heatmap": values.ravel().tolist(), "boxes": [list(map(float, b)) for b in boxes],
            "cnr": s["cnr"], "cnr_boxes": [M.cnr_box(hn, b) for b in boxes], "miou": s["miou"], "auc": s["auc"],
            "mask_pixels": int(M.box_mask(boxes, scored.shape).sum())}


def _blob(shape, cx, cy, sx, sy) -> np.ndarray:
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]] + 0.5
    return np.exp(-0.5 * (((xx - cx) / sx) ** 2 + ((yy - cy) / sy) ** 2))


def pair_cases() -> List[dict]:
    rng = np.random.default_rng(2026)
    cases = []
    h = _hand_map()
    cases.append(_pair("hand 4x4 (test_eval_metrics' hand-computed case)", h, [(0, 0, 2, 2)]))
    cases.append(_pair("hand 4x4, two boxes", h, [(0, 0, 2, 2), (2, 2, 2, 2)]))
    padded = np.full((4, 6), np.nan)
    padded[:, 1:5] = h
    cases.append(_pair("NaN margin columns", padded, [(1, 0, 2, 2)]))
    cases.append(_pair("box in the NaN margin", padded, [(5, 0, 1, 4)]))
    cases.append(_pair("box half in the NaN margin", padded, [(0, 0, 3, 2)]))
    cases.append(_pair("all NaN", np.full((4, 4), np.nan), [(0, 0, 2, 2)]))
    cases.append(_pair("constant", np.full((5, 4), 0.7), [(1, 1, 2, 2)], "float32"))
    cases.append(_pair("box covers the image", h, [(0, 0, 4, 4)]))
    cases.append(_pair("boxes outside and partly outside", h, [(10, 10, 3, 3), (-2, -2, 3, 3)]))
    cases.append(_pair("no boxes", h, []))
    cases.append(_pair("empty box", h, [(2, 2, 0, 0), (1, 1, 1, 1)]))
    r = rng.random((8, 8))
    cases.append(_pair("boxes on .5 (half to even)", r,
                       [(0.5, 1.5, 2, 2), (2.5, 2.5, 1.0, 1.0), (3.5, 0.5, 1.5, 3.0), (1.4999, 4.5001, 2.5, 2.5)]))
    cases.append(_pair("negative .5 box", r, [(-0.5, -1.5, 3.0, 3.0), (6.5, 6.5, 5, 5)]))
    for k, (hh, ww) in enumerate([(40, 40), (32, 40), (40, 31)]):
        m = rng.random((hh, ww)) + 2 * _blob((hh, ww), ww * 0.3, hh * 0.6, 5, 4)
        s = min(hh, ww)  # the model's square, NaN outside it (method.md 2.7)
        top, left = (hh - s) // 2, (ww - s) // 2
        m_nan = np.full((hh, ww), np.nan)
        m_nan[top:top + s, left:left + s] = m[top:top + s, left:left + s]
        boxes = [(ww * 0.3 - 5.5, hh * 0.6 - 4.5, 11, 9)]
        boxes += [tuple(np.round(rng.uniform([-3, -3, 1, 1], [ww - 2, hh - 2, 15, 12]), 1)) for _ in range(k + 1)]
        cases.append(_pair(f"random {hh}x{ww} with a blob, NaN outside the square, {len(boxes)} boxes", m_nan, boxes, "float32"))
    q = np.floor(rng.random((20, 30)) * 11) / 10  # values k/10: ties everywhere, and values equal to a threshold
    q[0, 0], q[-1, -1] = 0.0, 1.0
    cases.append(_pair("quantised to tenths (ties, values at the thresholds)", q, [(3, 2, 10, 8), (20, 10, 6, 6)]))
    small = rng.random((10, 10))
    up = np.repeat(np.repeat(small, 4, axis=0), 4, axis=1)  # nearest-neighbour upsampling: plateaus
    cases.append(_pair("plateaus of an upsampled map, box inside one cell", up, [(9, 13, 2, 2), (8, 12, 4, 4)], "float32"))
    cases.append(_pair("plateaus, float64", up, [(9, 13, 2, 2), (0, 0, 20, 40)]))
    big = _blob((40, 40), 12, 20, 6, 8) + 0.8 * _blob((40, 40), 30, 10, 3, 3)
    cases.append(_pair("two blobs, five overlapping boxes", big,
                       [(6, 12, 12, 16), (8, 14, 10, 10), (27, 7, 6, 6), (0, 30, 40, 10), (15.5, 15.5, 10, 10)], "float32"))
    skew = rng.lognormal(0, 2, (24, 36))
    skew[:, :6] = np.nan
    skew[:, 30:] = np.nan
    cases.append(_pair("heavy-tailed values, wide NaN margins", skew, [(10, 5, 8, 8), (0, 0, 8, 24)]))
    return cases


def bootstrap_cases() -> dict:
    hashes = []
    for seed, b, i in [(0, 0, 0), (0, 0, 1), (0, 1, 0), (1, 0, 0), (12345, 9999, 85), (2 ** 32 - 1, 2 ** 32 - 1, 2 ** 32 - 1),
                       (2026, 123456, 2 ** 21 - 1)]:
        hashes.append({"seed": seed, "b": b, "i": i, "h": int(M.bootstrap_hash(seed, np.array([b]), np.array([i]))[0, 0])})
    indices = []
    for seed, n in [(0, 1), (0, 7), (0, 86), (12345, 1000), (2 ** 32 - 1, 2 ** 21)]:
        first = 16 if n > 16 else n
        full = M.bootstrap_indices(seed, 0, 3, n) if n <= 1000 else None
        if full is None:  # n = 2^21: only the first draws (the hash of draw i does not depend on n)
            h = M.bootstrap_hash(seed, np.arange(3), np.arange(first))
            rows = ((h.astype(np.uint64) * np.uint64(n)) >> np.uint64(32)).astype(np.int64)
        else:
            rows = full[:, :first]
        indices.append({"seed": seed, "n": n, "resamples": rows.tolist()})
    return {"definition": "h = MurmurHash3_x86_32(<b as uint32 LE><i as uint32 LE>, seed); index = floor(h * n / 2^32)",
            "hashes": hashes, "indices": indices}


def _summary(values, classes, n_boot, seed) -> dict:
    s = M.summarise(values, classes, n_boot=n_boot, seed=seed)
    return {"mean": s.mean, "ci_low": s.lo, "ci_high": s.hi, "n": s.n,
            "per_class": {k: {"mean": v[0], "ci_low": v[1], "ci_high": v[2], "n": v[3]} for k, v in s.per_class.items()}}


def summary_cases() -> List[dict]:
    rng = np.random.default_rng(7)
    out = []

    def add(name, values, classes, n_boot=1000, seed=0):
        values = [float(v) for v in values]
        out.append({"name": name, "values": values, "classes": list(classes), "n_boot": n_boot, "seed": seed,
                    "expected": _summary(values, classes, n_boot, seed)})

    add("three classes", np.round(rng.normal(1, 0.5, 12), 6), list("aabbbbcccccc"))
    add("a class with one pair (absent from about a third of the resamples)", [0.0, 0.1, 0.2, 10.0], ["a", "a", "a", "b"], seed=1)
    add("one pair", [0.42], ["Edema"])
    cats = ["Atelectasis", "Cardiomegaly", "Consolidation", "Edema", "Lung Opacity", "Pleural Effusion", "Pneumonia",
            "Pneumothorax"]
    cls = [cats[i] for i in rng.integers(0, 8, 300)]
    add("300 pairs, the 8 MS-CXR classes", rng.normal(1.2, 0.8, 300), cls, seed=2026)
    add("86 pairs, 10000 resamples (the model card's setting)", rng.random(86), [cats[i] for i in rng.integers(0, 8, 86)],
        n_boot=10000, seed=0)
    add("class names sorted by code point", rng.random(10),
        ["\uff21", "\U0001F600", "Z", "a", "\u00c9dema", "Edema", "\uff21", "\U0001F600", "Z", "a"], seed=3)
    add("constant values", [0.3] * 10, ["a"] * 5 + ["b"] * 5)
    add("no resamples", [1.0, 2.0, 4.0], ["a", "b", "b"], n_boot=0)
    add("largest seed", rng.random(20), ["x", "y"] * 10, seed=2 ** 32 - 1)
    add("large values, many ties", np.round(rng.normal(0, 1e6, 50)), [cats[i % 3] for i in range(50)], seed=99)
    return out


def evaluate_case(pairs: Sequence[dict]) -> dict:
    """The float32 pairs with all boxes inside the image, as an MS-CXR benchmark, with the expected summaries."""
    cats = ["Pneumonia", "Edema", "Pleural Effusion"]
    chosen = [p for p in pairs if p["dtype"] == "float32" and p["boxes"] and all(
        b[0] >= 0 and b[1] >= 0 and b[0] + b[2] <= p["width"] and b[1] + b[3] <= p["height"] for b in p["boxes"])]
    records = []
    items = []
    for k, p in enumerate(chosen):
        item = {"pair": p["name"], "dicom_id": f"vec{k:02d}", "label_text": f"finding, case {k}", "category": cats[k % len(cats)]}
        items.append(item)
        records.append({"category": item["category"], "cnr": p["cnr"], "miou": p["miou"], "auc": p["auc"]})
    summaries = M.summarise_records(records, n_boot=EVAL_N_BOOT, seed=EVAL_SEED)
    expected = {m: _summary([r[m] for r in records], [r["category"] for r in records], EVAL_N_BOOT, EVAL_SEED)
                for m in summaries}
    return {"n_boot": EVAL_N_BOOT, "seed": EVAL_SEED, "pairs": items, "expected": expected}


def build() -> dict:
    pairs = pair_cases()
    return _clean({"generated_by": COMMAND, "reference": "training/sightline_eval/metrics.py",
                   "thresholds": list(M.THRESHOLDS), "pairs": pairs, "bootstrap": bootstrap_cases(),
                   "summaries": summary_cases(), "evaluate": evaluate_case(pairs)})


def dumps(data: dict) -> str:
    return json.dumps(data, indent=None, separators=(",", ":"), ensure_ascii=False, allow_nan=False) + "\n"


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sightline_eval.metrics", description=__doc__.split("\n")[0])
    ap.add_argument("--write-vectors", metavar="JSON", required=True, help="where to write the shared vectors")
    a = ap.parse_args(argv)
    with open(a.write_vectors, "w", encoding="utf-8") as f:
        f.write(dumps(build()))
    print(f"wrote {a.write_vectors}")
    return 0
