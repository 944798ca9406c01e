"""Reference heatmaps for the model card (docs/method.md 5.3), all original-size:

- ``location_heatmap``: location-only prior: the LUT Gaussians of the prompt's location rendered on the model frame
  (``lut['frame']`` x ``lut['frame']``, pixel-wise max of peak-1 Gaussians) and mapped back to the original image like
  a model heatmap (method.md 2.7: nearest resize to the short side, NaN where the centre crop cut). Ignores the image.
- ``oracle_heatmap``: Gaussian from the ground-truth box(es): mu = box centre, sigma = side / 3 per axis (5.3),
  max over boxes, evaluated at original pixel centres; NaN outside the centre crop by default, so it is an upper
  bound for a model that only sees the crop [our choice; ``crop_nan=False`` keeps the whole image].
- ``random_heatmap``: seeded uniform noise on the model frame mapped back the same way.
- ``side_swap_check``: any heatmap function scored on the sided pairs as written and with left/right swapped.
"""
from __future__ import annotations

import re
from typing import List, Optional, Sequence, Tuple

import numpy as np

from . import lut as L

SIDE_RE = re.compile(r"\b(left|right)\b", re.I)


def crop_square(hw: Tuple[int, int]) -> Tuple[int, int, int]:
    """(top, left, side) of the centre square the model sees (side = short side)."""
    h, w = hw
    s = min(h, w)
    return (h - s) // 2, (w - s) // 2, s


def to_original(model_map: np.ndarray, hw: Tuple[int, int]) -> np.ndarray:
    """Model-frame map -> original H x W with NaN padding (same as sightline_ldm.image_ops.map_to_original)."""
    h, w = hw
    top, left, s = crop_square(hw)
    a = np.asarray(model_map)
    ih, iw = a.shape
    ys = np.minimum(np.floor((np.arange(s) + 0.5) * ih / s).astype(np.int64), ih - 1)
    xs = np.minimum(np.floor((np.arange(s) + 0.5) * iw / s).astype(np.int64), iw - 1)
    out = np.full((h, w), np.nan, dtype=np.float32)
    out[top:top + s, left:left + s] = a[ys[:, None], xs[None, :]]
    return out


def location_model_map(lut: dict, location: str, size: Optional[int] = None) -> np.ndarray:
    f = float(lut.get("frame", L.MODEL_SIZE))
    n = int(size or f)
    params = [L.region_params(lut, r) for r in L.location_regions(location)]
    return L.render_gaussians(params, (n, n), (f, f))


def location_heatmap(lut: dict, location: str, hw: Tuple[int, int], size: Optional[int] = None) -> np.ndarray:
    return to_original(location_model_map(lut, location, size), hw)


def oracle_heatmap(boxes: Sequence[Sequence[float]], hw: Tuple[int, int], crop_nan: bool = True,
                   sigma_fraction: float = 1.0 / 3.0) -> np.ndarray:
    h, w = hw
    params = [(x + bw / 2, y + bh / 2, bw * sigma_fraction, bh * sigma_fraction) for x, y, bw, bh in boxes]
    out = L.render_gaussians(params, (h, w), (float(h), float(w))).astype(np.float32)
    if crop_nan:
        top, left, s = crop_square(hw)
        m = np.full((h, w), np.nan, dtype=np.float32)
        m[top:top + s, left:left + s] = out[top:top + s, left:left + s]
        out = m
    return out


def random_heatmap(hw: Tuple[int, int], rng: np.random.Generator, size: int = 512) -> np.ndarray:
    return to_original(rng.random((size, size)), hw)


def side_swap_check(pairs: Sequence[dict], heatmap_fn, phrase_key: str = "prompt") -> List[dict]:
    """Score the pairs whose phrase names a side twice: as written and with left/right swapped.

    ``heatmap_fn(pair, phrase) -> original-size NaN-padded heatmap``. Returns records
    ``{id, category, phrase, swapped, cnr, miou, auc}`` (two per sided pair); a model that reads laterality scores
    lower on the swapped ones (the location-only prior drops to ~0 mIoU).
    """
    from . import metrics as M
    from .locations import swap_sides
    out = []
    for p in pairs:
        text = p[phrase_key]
        if not SIDE_RE.search(text):
            continue
        for swapped, phrase in ((False, text), (True, swap_sides(text))):
            out.append(dict(M.score_pair(heatmap_fn(p, phrase), p["boxes"]), id=p["id"], category=p["category"],
                            phrase=phrase, swapped=swapped))
    return out
