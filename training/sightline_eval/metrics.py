"""Grounding metrics (docs/method.md section 5.1).

Per image-phrase pair; boxes are ``(x, y, w, h)`` in original pixel coordinates; the heatmap is the original-size
map, NaN where the model's centre crop cut the image. Every heatmap is min-max normalised over its non-NaN
pixels before scoring (a constant map becomes all zeros, as ``sightline_ldm.image_ops.minmax``).

Conventions where 5.1 leaves room ([our choice], written so the app can mirror them):
- Box pixels: rows ``round(y) .. round(y + h) - 1``, columns ``round(x) .. round(x + w) - 1`` (Python ``round``,
  i.e. half to even), clipped to the image; integer boxes give exactly ``mask[y:y+h, x:x+w] = 1``. A box fully
  outside the image covers nothing.
- The box mask is the union over the pair's boxes on the full image, NaN pixels included (a box cut by the
  crop costs IoU); NaN pixels are never "> thr".
- CNR of one box: inside = non-NaN pixels in the box, outside = all other non-NaN pixels of the image (not
  "outside the union"); population variances; CNR = 0 when either side is empty or var_in + var_out == 0.
- IoU = |pred & mask| / |pred | mask|, 0 when the union is empty.
- AUC-ROC over the non-NaN pixels, positives = mask pixels; exact Mann-Whitney with mid-ranks for ties;
  0.5 when there are no positive or no negative pixels.
- All-NaN heatmap: CNR 0, mIoU 0, AUC 0.5.
- Bootstrap draws: a portable counter-based generator (MurmurHash3_x86_32 of the resample and draw numbers, see
  ``bootstrap_hash``), not numpy's default_rng, so that the app draws the same resamples.

The app computes the same numbers in TypeScript (``main/evaluation/metrics``); ``test/vectors/eval-metrics.json``
(written by ``python -m sightline_eval.metrics --write-vectors PATH``, see ``metrics_vectors``) is checked by both
test suites.
"""
from __future__ import annotations

import dataclasses
from typing import Dict, Iterable, Mapping, Sequence, Tuple

import numpy as np

THRESHOLDS: Tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5)

Box = Sequence[float]  # x, y, w, h in original pixels


# ---------------------------------------------------------------- per pair
def normalise(heatmap: np.ndarray) -> np.ndarray:
    """float64 copy, min-max normalised over the non-NaN pixels (constant -> 0; NaN stays NaN)."""
    h = np.array(heatmap, dtype=np.float64)
    finite = ~np.isnan(h)
    if not finite.any():
        return h
    lo, hi = h[finite].min(), h[finite].max()
    if hi > lo:
        h[finite] = (h[finite] - lo) / (hi - lo)
    else:
        h[finite] = 0.0
    return h


def box_slices(box: Box, shape: Tuple[int, int]) -> Tuple[slice, slice]:
    """(rows, cols) slices of a box, clipped to the image (possibly empty)."""
    x, y, w, h = (float(v) for v in box)
    H, W = shape
    y0, y1 = int(round(y)), int(round(y + h))
    x0, x1 = int(round(x)), int(round(x + w))
    y0, y1 = min(max(y0, 0), H), min(max(y1, 0), H)
    x0, x1 = min(max(x0, 0), W), min(max(x1, 0), W)
    return slice(y0, max(y0, y1)), slice(x0, max(x0, x1))


def box_mask(boxes: Iterable[Box], shape: Tuple[int, int]) -> np.ndarray:
    """Union of the boxes as a bool H x W mask."""
    m = np.zeros(shape, dtype=bool)
    for b in boxes:
        rs, cs = box_slices(b, shape)
        m[rs, cs] = True
    return m


def cnr_box(heat: np.ndarray, box: Box) -> float:
    """Signed CNR of one box on a (normalised, NaN-padded) heatmap; 0 if undefined."""
    inside = np.zeros(heat.shape, dtype=bool)
    rs, cs = box_slices(box, heat.shape)
    inside[rs, cs] = True
    valid = ~np.isnan(heat)
    a = heat[inside & valid]
    b = heat[~inside & valid]
    if a.size == 0 or b.size == 0:
        return 0.0
    den = a.var() + b.var()  # population variances (ddof=0)
    if not den > 0:
        return 0.0
    return float((a.mean() - b.mean()) / np.sqrt(den))


def cnr(heat: np.ndarray, boxes: Sequence[Box]) -> float:
    """Mean over the pair's boxes of the per-box CNR (0 without boxes)."""
    if len(boxes) == 0:
        return 0.0
    return float(np.mean([cnr_box(heat, b) for b in boxes]))


def iou(pred: np.ndarray, mask: np.ndarray) -> float:
    union = np.count_nonzero(pred | mask)
    if union == 0:
        return 0.0
    return float(np.count_nonzero(pred & mask) / union)


def miou(heat: np.ndarray, mask: np.ndarray, thresholds: Sequence[float] = THRESHOLDS) -> float:
    """Mean over thresholds of IoU((heat > thr), mask); NaN pixels are never above a threshold."""
    h = np.where(np.isnan(heat), -np.inf, heat)
    return float(np.mean([iou(h > t, mask) for t in thresholds]))


def auc_roc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Exact ROC AUC (Mann-Whitney U / (n_pos n_neg)), mid-ranks for ties; 0.5 if a class is empty."""
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(labels, dtype=bool).ravel()
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return 0.5
    order = np.argsort(s, kind="mergesort")
    ss = s[order]
    # mid-ranks: every run of equal values gets the mean of its 1-based ranks
    starts = np.r_[0, np.flatnonzero(np.diff(ss)) + 1]
    ends = np.r_[starts[1:], ss.size]
    mid = (starts + ends + 1) / 2.0
    ranks = np.empty(ss.size)
    ranks[order] = np.repeat(mid, ends - starts)
    u = ranks[y].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def score_pair(heatmap: np.ndarray, boxes: Sequence[Box], thresholds: Sequence[float] = THRESHOLDS,
               normalise_first: bool = True) -> Dict[str, float]:
    """{'cnr', 'miou', 'auc'} of one image-phrase pair (heatmap original-size, NaN-padded)."""
    heat = normalise(heatmap) if normalise_first else np.asarray(heatmap, dtype=np.float64)
    mask = box_mask(boxes, heat.shape)
    valid = ~np.isnan(heat)
    return {"cnr": cnr(heat, boxes), "miou": miou(heat, mask, thresholds),
            "auc": auc_roc(heat[valid], mask[valid])}


# ---------------------------------------------------------------- aggregation
@dataclasses.dataclass
class Summary:
    """Class-mean summary of one metric: value, 95% CI, and per class (mean, lo, hi, n)."""
    metric: str
    mean: float
    lo: float
    hi: float
    n: int
    per_class: Dict[str, Tuple[float, float, float, int]]

    def as_dict(self) -> dict:
        return {"metric": self.metric, "mean": self.mean, "ci95": [self.lo, self.hi], "n": self.n,
                "per_class": {k: {"mean": v[0], "ci95": [v[1], v[2]], "n": v[3]} for k, v in self.per_class.items()}}


def class_mean(values: Sequence[float], classes: Sequence[str]) -> Tuple[float, Dict[str, float]]:
    """(unweighted mean of the per-class means, {class: mean})."""
    v = np.asarray(values, dtype=np.float64)
    c = np.asarray(classes)
    per = {k: float(v[c == k].mean()) for k in sorted(set(c.tolist()))}
    return (float(np.mean(list(per.values()))) if per else float("nan")), per


# The bootstrap's draws come from a portable counter-based generator, so that the app (TypeScript,
# main/evaluation/metrics/summary.ts) draws exactly the same resamples (test/vectors/eval-metrics.json):
#   h(seed, b, i) = MurmurHash3_x86_32 of the 8 bytes <b as uint32 little-endian><i as uint32 little-endian>,
#                   with ``seed`` as the murmur seed (b = resample 0..n_boot-1, i = draw 0..n-1)
#   index(seed, b, i) = floor(h * n / 2^32)          (multiply-shift; bias below n / 2^32)
# numpy's default_rng (PCG64 + SeedSequence + Lemire rejection) would have to be reimplemented bit for bit in the
# app; this is a dozen uint32 operations in either language, and vectorises over b and i.
_C1, _C2 = np.uint32(0xCC9E2D51), np.uint32(0x1B873593)


def _rotl(x: np.ndarray, r: int) -> np.ndarray:
    return (x << np.uint32(r)) | (x >> np.uint32(32 - r))


def _murmur_block(h: np.ndarray, k: np.ndarray) -> np.ndarray:
    k = _rotl(k * _C1, 15) * _C2
    h = _rotl(h ^ k, 13)
    return h * np.uint32(5) + np.uint32(0xE6546B64)


def fmix32(h: np.ndarray) -> np.ndarray:
    """murmur3's finaliser (uint32 arrays, wrapping arithmetic)."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def bootstrap_hash(seed: int, resamples: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """h(seed, b, i) for every b in ``resamples`` (rows) and i in ``draws`` (columns): uint32 [len(b), len(i)]."""
    if not (isinstance(seed, (int, np.integer)) and 0 <= int(seed) < 2 ** 32):
        raise ValueError(f"bootstrap seed {seed!r}: an integer in 0 .. 2^32 - 1")
    b = np.asarray(resamples, dtype=np.uint32)[:, None]
    i = np.asarray(draws, dtype=np.uint32)[None, :]
    h = _murmur_block(np.full(b.shape, seed, dtype=np.uint32), b)  # depends on (seed, b) only
    h = _murmur_block(h, i) ^ np.uint32(8)  # the message length in bytes
    return fmix32(h)


def bootstrap_indices(seed: int, first: int, count: int, n: int) -> np.ndarray:
    """Pair indices of resamples ``first .. first + count - 1``: int64 [count, n], each in 0 .. n - 1."""
    if not 0 < n <= 2 ** 21:  # the app computes h * n exactly in a double
        raise ValueError(f"bootstrap over {n} pairs: 1 .. 2^21 are supported")
    h = bootstrap_hash(seed, np.arange(first, first + count), np.arange(n))
    return ((h.astype(np.uint64) * np.uint64(n)) >> np.uint64(32)).astype(np.int64)


def bootstrap_class_mean(values: Sequence[float], classes: Sequence[str], n_boot: int = 10000, seed: int = 0,
                         chunk: int = 1000) -> Tuple[np.ndarray, Dict[str, np.ndarray]]:
    """Bootstrap over pairs: resample all pairs with replacement (resample b draws pair ``index(seed, b, i)`` for
    i = 0..n-1, the generator above), recompute each class mean and their unweighted mean (classes absent from a
    resample are left out of that resample's mean; a class's own statistic is NaN there). Returns (class-mean
    statistics [n_boot], {class: [n_boot]})."""
    v = np.asarray(values, dtype=np.float64)
    c = np.asarray(classes)
    n = v.size
    names = sorted(set(c.tolist()))
    k = len(names)
    code = np.searchsorted(np.array(names), c) if n else np.zeros(0, dtype=np.int64)
    stats = np.empty(n_boot)
    per = np.empty((k, n_boot))
    done = 0
    while done < n_boot:
        m = min(chunk, n_boot - done)
        idx = bootstrap_indices(seed, done, m, n)
        # per (resample, class): count and total, summed in draw order (as the app does)
        key = (np.arange(m)[:, None] * k + code[idx]).ravel()
        cnt = np.bincount(key, minlength=m * k).reshape(m, k).astype(np.float64)
        tot = np.bincount(key, weights=v[idx].ravel(), minlength=m * k).reshape(m, k)
        with np.errstate(invalid="ignore", divide="ignore"):
            means = tot / cnt  # NaN where a class is absent
        per[:, done:done + m] = means.T
        stats[done:done + m] = np.nanmean(means, axis=1)
        done += m
    return stats, {name: per[j] for j, name in enumerate(names)}


def summarise(values: Sequence[float], classes: Sequence[str], metric: str = "", n_boot: int = 10000,
              seed: int = 0, alpha: float = 0.05) -> Summary:
    """Class-mean of ``values`` with a percentile bootstrap CI (and per-class means with CIs)."""
    mean, per_mean = class_mean(values, classes)
    c = np.asarray(classes)
    if len(values) == 0:
        return Summary(metric, float("nan"), float("nan"), float("nan"), 0, {})
    if n_boot > 0:
        stats, per_stats = bootstrap_class_mean(values, classes, n_boot, seed)
        q = (100 * alpha / 2, 100 * (1 - alpha / 2))
        lo, hi = (float(x) for x in np.nanpercentile(stats, q))
        per = {}
        for k in per_mean:
            plo, phi = (float(x) for x in np.nanpercentile(per_stats[k], q))
            per[k] = (per_mean[k], plo, phi, int((c == k).sum()))
    else:
        lo = hi = float("nan")
        per = {k: (per_mean[k], float("nan"), float("nan"), int((c == k).sum())) for k in per_mean}
    return Summary(metric, mean, lo, hi, len(values), per)


def summarise_records(records: Sequence[Mapping], metrics: Sequence[str] = ("cnr", "miou", "auc"),
                      class_key: str = "category", n_boot: int = 10000, seed: int = 0) -> Dict[str, Summary]:
    """records: dicts with ``class_key`` and the metric values (output of ``score_pair`` plus the class)."""
    classes = [r[class_key] for r in records]
    return {m: summarise([r[m] for r in records], classes, m, n_boot, seed) for m in metrics}


if __name__ == "__main__":
    import sys

    from .metrics_vectors import main

    sys.exit(main())
