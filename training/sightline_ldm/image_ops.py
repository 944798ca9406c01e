"""Small, explicit image operations used by the reference grounding pipeline (method.md sections 1-2).

Written to be re-implemented line by line in the app's TypeScript runtime, so each function states its
exact convention. Arrays are numpy float64 unless stated.
"""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F


# ---------------------------------------------------------------- intensity / geometry
def to_grey01(image) -> np.ndarray:
    """Image (numpy / PIL / torch; HxW, HxWxC, 1xHxW or 1x1xHxW) -> float32 HxW in [0, 1].

    Integer images are divided by their dtype's maximum (uint8 /255, uint16 /65535); float and bool images
    are taken as already in [0, 1]. Colour images become grey with ITU-R 601 luma (0.299 R + 0.587 G +
    0.114 B) on the first three channels; an alpha channel is ignored.
    """
    if _is_pil(image):
        if image.mode in ("I;16", "I;16B", "I;16L"):
            arr = np.asarray(image).astype(np.uint16)
        elif image.mode == "I":
            arr = np.asarray(image)
            arr = arr.astype(np.uint16) if arr.max(initial=0) <= 65535 else arr.astype(np.float64) / arr.max()
        elif image.mode == "F":
            arr = np.asarray(image, dtype=np.float32)
        else:
            arr = np.asarray(image.convert("RGB") if image.mode not in ("L", "RGB", "RGBA") else image)
    elif torch.is_tensor(image):
        arr = image.detach().cpu().numpy()
    else:
        arr = np.asarray(image)
    while arr.ndim > 2 and arr.shape[0] == 1:  # 1x1xHxW, 1xHxW
        arr = arr[0]
    if arr.ndim == 3:
        if arr.shape[-1] == 1:
            arr = arr[..., 0]
        elif arr.shape[-1] in (3, 4):
            arr = arr[..., :3]
            scale = _int_scale(arr)
            a = arr.astype(np.float64) / scale
            arr = 0.299 * a[..., 0] + 0.587 * a[..., 1] + 0.114 * a[..., 2]
            return arr.astype(np.float32)
        else:
            raise ValueError(f"cannot interpret image of shape {arr.shape}")
    if arr.ndim != 2:
        raise ValueError(f"cannot interpret image of shape {arr.shape}")
    return (arr.astype(np.float64) / _int_scale(arr)).astype(np.float32)


def _is_pil(image) -> bool:
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover
        return False
    return isinstance(image, Image.Image)


def _int_scale(arr: np.ndarray) -> float:
    if arr.dtype == np.bool_:
        return 1.0
    if np.issubdtype(arr.dtype, np.integer):
        return float(np.iinfo(arr.dtype).max)
    return 1.0


def resized_short_side_shape(h: int, w: int, size: int) -> Tuple[int, int]:
    """(H', W') with the short side = size and the long side = floor(long * size / short) (torchvision Resize)."""
    if h <= w:
        return size, int(w * size / h)
    return int(h * size / w), size


def crop_box(h: int, w: int, size: int) -> Tuple[int, int]:
    """(top, left) of a size x size centre crop of an h x w image: floor((h - size) / 2), floor((w - size) / 2)."""
    return (h - size) // 2, (w - size) // 2


def resize_bilinear(img: torch.Tensor, size: Tuple[int, int], antialias: bool = False) -> torch.Tensor:
    """Bilinear resize of [..., H, W] with half-pixel centres (align_corners=False); antialias for downscaling."""
    shape = img.shape
    x = img.reshape(-1, 1, shape[-2], shape[-1])
    if (shape[-2], shape[-1]) != tuple(size):
        kw = {"antialias": True} if antialias else {}
        x = F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=False, **kw)
    return x.reshape(*shape[:-2], size[0], size[1])


def preprocess(image, size: int, antialias: bool = True) -> Tuple[torch.Tensor, dict]:
    """Grey [0,1] -> short side resized to ``size`` (bilinear, antialiased) -> centre crop size x size.

    Returns the [1, 1, size, size] float32 tensor and the geometry needed to map results back.
    """
    grey = to_grey01(image)
    h, w = grey.shape
    rh, rw = resized_shape = resized_short_side_shape(h, w, size)
    t = torch.from_numpy(np.ascontiguousarray(grey))
    t = resize_bilinear(t, resized_shape, antialias=antialias)
    top, left = crop_box(rh, rw, size)
    t = t[top:top + size, left:left + size].contiguous()
    return t[None, None], {"original_hw": (h, w), "resized_hw": (rh, rw), "crop_top_left": (top, left),
                           "size": size}


def resize_nearest(a: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """Nearest resize with half-pixel centres: src = min(floor((dst + 0.5) * in / out), in - 1)."""
    h, w = a.shape
    oh, ow = size
    ys = np.minimum(np.floor((np.arange(oh) + 0.5) * h / oh).astype(np.int64), h - 1)
    xs = np.minimum(np.floor((np.arange(ow) + 0.5) * w / ow).astype(np.int64), w - 1)
    return a[ys[:, None], xs[None, :]]


def map_to_original(heatmap: np.ndarray, original_hw: Tuple[int, int]) -> np.ndarray:
    """Model-frame S x S heatmap -> original H x W: nearest resize to the short side, NaN where the crop cut.

    The square of side min(H, W) sits at (floor((H - s) / 2), floor((W - s) / 2)), mirroring the centre crop.
    """
    h, w = original_hw
    s = min(h, w)
    out = np.full((h, w), np.nan, dtype=np.float32)
    top, left = crop_box(h, w, s)
    out[top:top + s, left:left + s] = resize_nearest(np.asarray(heatmap), (s, s))
    return out


# ---------------------------------------------------------------- normalisation / blur / Otsu
def minmax(a: np.ndarray) -> np.ndarray:
    """(a - min) / (max - min); an all-constant array becomes all zeros."""
    lo, hi = a.min(), a.max()
    if not hi > lo:
        return np.zeros_like(a)
    return (a - lo) / (hi - lo)


def gaussian_kernel1d(sigma: float, truncate: float = 4.0) -> np.ndarray:
    """scipy.ndimage's kernel: radius = int(truncate * sigma + 0.5), exp(-x^2 / (2 sigma^2)), normalised."""
    radius = int(truncate * float(sigma) + 0.5)
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    k = np.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


def gaussian_blur(a: np.ndarray, sigma: float, truncate: float = 4.0) -> np.ndarray:
    """Separable Gaussian like scipy.ndimage.gaussian_filter(mode='reflect'): edges mirrored including the
    edge sample (d c b a | a b c d), i.e. numpy's 'symmetric' padding; rows then columns, float64."""
    if sigma <= 0:
        return np.asarray(a, dtype=np.float64).copy()
    k = gaussian_kernel1d(sigma, truncate)
    r = (len(k) - 1) // 2
    out = np.asarray(a, dtype=np.float64)
    for axis in (0, 1):
        n = out.shape[axis]
        # index map of symmetric reflection, valid for any radius (also r > n)
        idx = np.arange(-r, n + r)
        period = 2 * n
        idx = np.mod(idx, period)
        idx = np.where(idx >= n, period - 1 - idx, idx)
        padded = np.take(out, idx, axis=axis)
        acc = np.zeros_like(out)
        for j in range(len(k)):
            sl = [slice(None)] * 2
            sl[axis] = slice(j, j + n)
            acc += k[j] * padded[tuple(sl)]
        out = acc
    return out


def histogram01(a: np.ndarray, nbins: int = 256) -> Tuple[np.ndarray, np.ndarray]:
    """Histogram over [min, max] in ``nbins`` equal bins, as numpy.histogram(a, nbins, range=(min, max)):
    bin = floor((x - min) / (max - min) * nbins), the maximum in the last bin. Returns (counts, bin centres)."""
    a = np.asarray(a, dtype=np.float64).ravel()
    lo, hi = float(a.min()), float(a.max())
    if not hi > lo:
        raise ValueError("histogram of a constant image")
    idx = np.floor((a - lo) / (hi - lo) * nbins).astype(np.int64)
    idx = np.clip(idx, 0, nbins - 1)
    counts = np.bincount(idx, minlength=nbins)
    edges = lo + (hi - lo) * np.arange(nbins + 1) / nbins
    return counts, (edges[:-1] + edges[1:]) / 2


def otsu_threshold(a: np.ndarray, nbins: int = 256) -> float:
    """Two-class Otsu threshold as scikit-image's threshold_multiotsu(a, classes=2, nbins=256).

    With p_k the bin probabilities, for each split index i (class 0 = bins 0..i, class 1 = bins i+1..nbins-1)
    maximise sum over the two classes of (sum_k k p_k)^2 / (sum_k p_k) (equivalently the between-class
    variance); the first maximum wins; the threshold is the centre of bin i. Values > threshold are kept.
    If only two bins are occupied the threshold is the centre of the first occupied bin (same rule).
    """
    counts, centres = histogram01(a, nbins)
    p = counts / counts.sum()
    k = np.arange(nbins, dtype=np.float64)
    m0 = np.cumsum(p)  # class-0 zeroth moment for split i
    m1 = np.cumsum(k * p)  # class-0 first moment
    t0, t1 = m0[-1], m1[-1]
    best, best_i = -1.0, 0
    for i in range(nbins - 1):
        s = 0.0
        if m0[i] > 0:
            s += m1[i] ** 2 / m0[i]
        if t0 - m0[i] > 0:
            s += (t1 - m1[i]) ** 2 / (t0 - m0[i])
        if s > best:
            best, best_i = s, i
    return float(centres[best_i])


def apply_otsu(a: np.ndarray, nbins: int = 256) -> Tuple[np.ndarray, Optional[float]]:
    """Values not above the Otsu threshold -> 0. A constant map is returned unchanged (threshold None)."""
    if not a.max() > a.min():
        return a.copy(), None
    t = otsu_threshold(a, nbins)
    return np.where(a > t, a, 0.0).astype(a.dtype), t


def heat_overlay(grey: np.ndarray, heat: np.ndarray, alpha: float = 0.55) -> np.ndarray:
    """RGB float HxWx3 in [0, 1]: the grey image under ``heat`` (in [0, 1]; NaN drawn as 0) in a black-red-yellow-
    white ramp, blended by ``alpha * heat`` so that cold regions show the image unchanged."""
    h = np.clip(np.nan_to_num(heat, nan=0.0), 0, 1)[..., None]
    ramp = np.concatenate([np.clip(3 * h, 0, 1), np.clip(3 * h - 1, 0, 1), np.clip(3 * h - 2, 0, 1)], -1)
    g = np.clip(grey, 0, 1)[..., None].repeat(3, -1)
    return (1 - alpha * h) * g + alpha * h * ramp
