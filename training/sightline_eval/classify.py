"""Grounded disease classification: the Python reference of the heatmap-weighted diffusion classifier
(docs/method.md section 7; the app's side is main/classification, which must give the same numbers on the same draws).

Conventions (the spec both languages implement; the generator is the contract between them):

* z0 = vae_encoder(image) (latent scale already applied), shape [C, h, w] (demo 3 x 16 x 16).
* Draws: N samples (t_n, eps_n), the SAME for every prompt of an image, from a portable counter-based generator that
  reuses the bootstrap hash of ``metrics.bootstrap_hash`` (murmur3_x86_32 of <b uint32 LE><i uint32 LE>, seeded):

      imageSeed = h(seed, int(sha256hex[:8], 16), 0)           keyed by the image FILE's sha256, not its id
      u(s, j)   = (h(imageSeed, s, j) + 0.5) / 2^32             in (0, 1): log(u) is always finite
      t_n       = min(hi, lo + floor((n + u(0, n)) * (hi - lo + 1) / N))     one draw per stratum of [lo, hi]
      eps_n[j]  (j = 0 .. C*h*w - 1, C-major as the ONNX latent): q = j // 2, u1 = u(1 + n, 2q), u2 = u(1 + n, 2q + 1),
                r = sqrt(-2 ln u1); eps_n[2q] = r cos(2 pi u2), eps_n[2q + 1] = r sin(2 pi u2)
                (computed in float64, stored as float32; an odd length drops the last sine)

* Per prompt p (its CLIP context) and draw n, with ab = alpha_bar[t_n] (``schedule.alphas_cumprod``, float32 values):
  x_t = sqrt(ab) z0 + sqrt(1 - ab) eps_n (float64, fed to the U-Net as float32), v_hat = unet(x_t, t_n, context_p);
  target 'epsilon': eps_hat = sqrt(ab) v_hat + sqrt(1 - ab) x_t, e = |eps_n - eps_hat|;
  target 'v':       v = sqrt(ab) eps_n - sqrt(1 - ab) z0,        e = |v - v_hat|.
  (Per draw |eps - eps_hat| = sqrt(ab) |v - v_hat| exactly: the two targets differ by a per-timestep weight.)
* Error map m_p[y, x] = mean over the N draws and C channels of e (float64, h x w). The weighted error is linear in
  the draws, so every weighting comes from m_p alone: weighted_error(m, w) = sum_i w_i m_i / sum_i w_i; w None or
  all zero -> the plain mean of m (the plain, "uniform" diffusion classifier).
* Weights from a heatmap: the stored model-frame map (S x S, float32, before Otsu) with the variant's Otsu
  threshold applied (values not above it -> 0), pooled to the latent grid: w[y, x] = mean over the f x f block,
  f = S / h (8 on the demo); NaN counts as 0.
* Score of a sample = weighted_error(m_normal, w_normal) - weighted_error(m_pathology, w_pathology): higher = more
  likely positive (the pathology prompt explains the image better).

``python -m sightline_eval.classify --write-vectors ../test/vectors/classify-demo.json`` writes the vectors shared
with the TypeScript side (demo bundle, 2 demo images, 3 prompts, 4 draws; a few seconds).
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import math
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch

from .metrics import bootstrap_hash

TARGETS = ("epsilon", "v")
TWO_32 = 2.0 ** 32


# ---------------------------------------------------------------- the portable generator
def image_seed(seed: int, sha256hex: str) -> int:
    """The image's generator seed: h(seed, first 8 hex digits of the file's sha256, 0)."""
    if not isinstance(sha256hex, str) or len(sha256hex) < 8 or any(c not in "0123456789abcdefABCDEF" for c in sha256hex[:8]):
        raise ValueError(f"image sha256 {sha256hex!r}: expected a hex digest")
    return int(bootstrap_hash(seed, np.array([int(sha256hex[:8], 16)]), np.array([0]))[0, 0])


def uniforms(image_seed_: int, streams: Sequence[int], js: Sequence[int]) -> np.ndarray:
    """u(s, j) for every s in ``streams`` (rows) and j in ``js`` (columns), float64 in (0, 1)."""
    h = bootstrap_hash(int(image_seed_), np.asarray(streams, dtype=np.int64), np.asarray(js, dtype=np.int64))
    return (h.astype(np.float64) + 0.5) / TWO_32


def uniform(image_seed_: int, s: int, j: int) -> float:
    """u(s, j): the j-th uniform of stream s (stream 0: timesteps; stream 1 + n: draw n's noise)."""
    return float(uniforms(image_seed_, [s], [j])[0, 0])


def draws(seed: int, sha256hex: str, samples: int, lo: int, hi: int,
          latent_shape: Sequence[int]) -> Tuple[List[int], np.ndarray]:
    """(timesteps [N], eps float32 [N, *latent_shape]) of one image; see the module doc."""
    if not (isinstance(samples, int) and samples >= 1):
        raise ValueError(f"samples {samples!r}: a positive integer")
    if not (isinstance(lo, int) and isinstance(hi, int) and 0 <= lo <= hi):
        raise ValueError(f"timestep range [{lo}, {hi}]: integers with 0 <= low <= high")
    shape = tuple(int(d) for d in latent_shape)
    length = int(np.prod(shape))
    if length < 1:
        raise ValueError(f"latent shape {shape}: empty")
    s = image_seed(seed, sha256hex)
    n = np.arange(samples)
    span = hi - lo + 1
    u0 = uniforms(s, [0], n)[0]
    t = np.minimum(hi, lo + np.floor((n + u0) * span / samples)).astype(np.int64)  # same operation order as the app
    pairs = (length + 1) // 2
    u = uniforms(s, n + 1, np.arange(2 * pairs))  # [N, 2 * pairs]
    r = np.sqrt(-2.0 * np.log(u[:, 0::2]))
    angle = 2.0 * math.pi * u[:, 1::2]
    eps = np.empty((samples, 2 * pairs), dtype=np.float64)
    eps[:, 0::2] = r * np.cos(angle)
    eps[:, 1::2] = r * np.sin(angle)
    return [int(x) for x in t], eps[:, :length].astype(np.float32).reshape((samples,) + shape)


# ---------------------------------------------------------------- the U-Net error
def _device(unet) -> torch.device:
    return next(unet.parameters()).device


def error_maps(unet, z0, timesteps: Sequence[int], eps, context, alpha_bar,
               targets: Sequence[str] = TARGETS, batch_size: int = 16) -> Dict[str, np.ndarray]:
    """{target: [h, w] float64 mean error over the draws and channels} from ONE U-Net pass per draw.

    z0 [C, h, w] (or [1, C, h, w]); eps [N, C, h, w]; context [S, D] or [1, S, D]; alpha_bar: the 1000 alpha-bars.
    The draws go through the U-Net in batches of ``batch_size`` under no_grad, on the U-Net's device.
    """
    for target in targets:
        if target not in TARGETS:
            raise ValueError(f"target {target!r}: one of {TARGETS}")
    dev = _device(unet)
    z0 = torch.as_tensor(z0).to(dev, torch.float64)
    if z0.dim() == 4:
        if z0.shape[0] != 1:
            raise ValueError(f"z0 of shape {tuple(z0.shape)}: one latent [C, h, w] expected")
        z0 = z0[0]
    eps = torch.as_tensor(eps).to(dev, torch.float64)
    if eps.dim() != 4 or tuple(eps.shape[1:]) != tuple(z0.shape):
        raise ValueError(f"eps of shape {tuple(eps.shape)} does not match z0 {tuple(z0.shape)} as [N, C, h, w]")
    n = eps.shape[0]
    if len(timesteps) != n:
        raise ValueError(f"{len(timesteps)} timesteps for {n} noise draws")
    ctx = torch.as_tensor(context).to(dev, torch.float32)
    if ctx.dim() == 2:
        ctx = ctx[None]
    if ctx.dim() != 3 or ctx.shape[0] != 1:
        raise ValueError(f"context of shape {tuple(ctx.shape)}: [S, D] or [1, S, D] expected")
    ab_all = torch.as_tensor(alpha_bar).to(dev, torch.float64)
    t = torch.as_tensor(list(timesteps), dtype=torch.int64, device=dev)
    sums = {target: torch.zeros(z0.shape[-2:], dtype=torch.float64, device=dev) for target in targets}
    with torch.no_grad():
        for start in range(0, n, max(1, int(batch_size))):
            tb, eb = t[start:start + batch_size], eps[start:start + batch_size]
            ab = ab_all[tb][:, None, None, None]
            sa, sb = ab.sqrt(), (1.0 - ab).sqrt()
            x = (sa * z0 + sb * eb).float()  # what the app feeds the ONNX U-Net
            v_hat = unet(x, tb, ctx.expand(x.shape[0], -1, -1))
            if isinstance(v_hat, tuple):
                v_hat = v_hat[0]
            v_hat = v_hat.double()
            for target in targets:
                if target == "epsilon":
                    e = (eb - (sa * v_hat + sb * x.double())).abs()
                else:
                    e = ((sa * eb - sb * z0) - v_hat).abs()
                sums[target] += e.sum(dim=(0, 1))
    c = z0.shape[0]
    return {target: (s / (n * c)).cpu().numpy() for target, s in sums.items()}


def error_map(unet, z0, timesteps: Sequence[int], eps, context, alpha_bar, target: str = "epsilon",
              batch_size: int = 16) -> np.ndarray:
    """[h, w] float64: the mean over the draws and channels of the error for ``target`` ('epsilon' or 'v')."""
    return error_maps(unet, z0, timesteps, eps, context, alpha_bar, (target,), batch_size)[target]


# ---------------------------------------------------------------- weights and scores
def pool_weights(model_frame_map, latent_size: int) -> np.ndarray:
    """An S x S model-frame map (Otsu already applied) -> latent_size x latent_size block means (float64, NaN = 0)."""
    a = np.asarray(model_frame_map, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"heatmap of shape {a.shape}: a square model-frame map expected")
    size = a.shape[0]
    if latent_size < 1 or size % latent_size:
        raise ValueError(f"heatmap size {size} is not a multiple of the latent size {latent_size}")
    f = size // latent_size
    a = np.where(np.isfinite(a), a, 0.0)
    return a.reshape(latent_size, f, latent_size, f).mean(axis=(1, 3))


def weighted_error(m, w=None) -> float:
    """sum_i w_i m_i / sum_i w_i; the plain mean of m when w is None or sums to 0. Weights finite, not negative."""
    m = np.asarray(m, dtype=np.float64).ravel()
    if m.size == 0:
        raise ValueError("an empty error map")
    if w is not None:
        w = np.asarray(w, dtype=np.float64).ravel()
        if w.size != m.size:
            raise ValueError(f"{w.size} weights for an error map of {m.size} positions")
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise ValueError("weights must be finite and not negative")
        total = float(w.sum())
        if total > 0:
            return float((w * m).sum() / total)
    return float(m.mean())


def score(m_normal, w_normal, m_pathology, w_pathology) -> float:
    """weighted_error(normal) - weighted_error(pathology): higher = more likely positive."""
    return weighted_error(m_normal, w_normal) - weighted_error(m_pathology, w_pathology)


# ---------------------------------------------------------------- one image, end to end
def file_sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def encode_image(model, image) -> torch.Tensor:
    """Preprocess (grounding's ``image_ops.preprocess``) and encode: z0 [C, h, w] float32, scale applied."""
    from sightline_ldm import image_ops
    from sightline_ldm.grounding import encode_latent
    img, _ = image_ops.preprocess(image, model.image_size)
    return encode_latent(model, img, model.latent_scale)[0].float()


def variant_heatmap(model, image, prompt: str, settings: Mapping[str, Any], trajectory=None):
    """The model-frame map of ``prompt`` as the app stores it (float32, before Otsu), its Otsu threshold (None
    without Otsu or on a constant map), the map with the threshold applied, and the inversion (to reuse)."""
    from sightline_ldm import image_ops
    from sightline_ldm.grounding import reference_heatmap
    r = reference_heatmap(image, prompt, model, "frozen", layers=settings["layers"], otsu=False, trajectory=trajectory,
                          kept_steps=settings["step_indices"], num_inference_steps=settings["num_inference_steps"])
    heat = r.heatmap.astype(np.float32)
    threshold = None
    if settings.get("otsu") and heat.max() > heat.min():
        threshold = image_ops.otsu_threshold(heat.astype(np.float64), settings.get("otsu_bins", 256))
    applied = heat if threshold is None else np.where(heat > threshold, heat, np.float32(0))
    return heat, threshold, applied, r.trajectory


@dataclasses.dataclass
class ImageResult:
    sha256: str
    z0: np.ndarray  # [C, h, w] float32
    timesteps: List[int]
    eps: np.ndarray  # [N, C, h, w] float32
    maps: Dict[str, Dict[str, np.ndarray]]  # prompt -> target -> [h, w] error map
    weights: Dict[str, Optional[np.ndarray]]  # prompt -> pooled heatmap weights (None: uniform)
    errors: Dict[str, Dict[str, Dict[str, float]]]  # prompt -> target -> {"uniform", "heatmap"}


def classify_image(model, image_path, prompts: Sequence[str], *, seed: int = 0, samples: int = 32,
                   timesteps: Tuple[int, int] = (0, 999), targets: Sequence[str] = TARGETS,
                   heatmaps: Optional[Mapping[str, np.ndarray]] = None, variant: Optional[Mapping[str, Any]] = None,
                   alpha_bar=None, batch_size: int = 16) -> ImageResult:
    """Error maps and weighted errors of every prompt on one image file (draws keyed by the file's sha256).

    heatmaps: prompt -> model-frame map with Otsu applied; or ``variant``: a manifest ``grounding`` entry (layers,
    otsu, step_indices, num_inference_steps) to compute each prompt's heatmap here (one inversion for all prompts).
    Without either, the weights are uniform (``weights[p]`` None)."""
    from sightline_ldm.grounding import read_image_file, text_embedding
    from sightline_ldm.schedule import alphas_cumprod
    sha = file_sha256(image_path)
    image = read_image_file(str(image_path))
    z0 = encode_image(model, image)
    ts, eps = draws(seed, sha, samples, timesteps[0], timesteps[1], tuple(z0.shape))
    ab = alphas_cumprod() if alpha_bar is None else alpha_bar
    maps, weights, errors, trajectory = {}, {}, {}, None
    for p in prompts:
        maps[p] = error_maps(model.unet, z0, ts, eps, text_embedding(model, p), ab, targets, batch_size)
        heat = heatmaps.get(p) if heatmaps else None
        if heat is None and variant is not None:
            _, _, heat, trajectory = variant_heatmap(model, image, p, variant, trajectory)
        w = pool_weights(heat, z0.shape[-1]) if heat is not None else None
        weights[p] = w
        errors[p] = {t: {"uniform": weighted_error(m), "heatmap": weighted_error(m, w)} for t, m in maps[p].items()}
    return ImageResult(sha, z0.cpu().numpy(), ts, eps, maps, weights, errors)


# ---------------------------------------------------------------- shared vectors
REPO = Path(__file__).resolve().parents[2]
VECTOR_IMAGES = (  # one MS-CXR pneumothorax image, one CheXpert "No Finding" = 1 study (resources/demo)
    ("pneumothorax", "resources/demo/mimic-cxr-jpg/files/p11/p11780978/s53458930/"
                     "2b4f62fa-0452ac76-dde48e3b-40efa94a-1aba31ba.jpg"),
    ("no-finding", "resources/demo/mimic-cxr-jpg/files/p17/p17953813/s50742887/"
                   "11e860f1-1191fca8-227d6447-f32818c4-8d606cea.jpg"),
)
VECTOR_PROMPTS = ("No acute cardiopulmonary process", "pneumothorax", "left apical pneumothorax")
VECTOR_SAMPLES, VECTOR_RANGE, VECTOR_SEED, VECTOR_VARIANT = 4, (0, 999), 0, "frozen"
GENERATOR_SHA = "24628bac13fb6103786e25826f8a791b9aa85a0173345f5719d26d7aa86f4416"  # sha256(b"sightline classify generator")


def _r(a) -> list:
    """Flat list rounded to 9 significant digits (float32 values survive exactly)."""
    return [float(f"{x:.9g}") for x in np.asarray(a, dtype=np.float64).ravel()]


def _g(x: Optional[float]):
    return None if x is None else float(f"{x:.9g}")


def generator_vectors() -> Dict[str, Any]:
    s = image_seed(VECTOR_SEED, GENERATOR_SHA)
    ts, eps = draws(VECTOR_SEED, GENERATOR_SHA, 8, 0, 999, (3, 16, 16))
    return {"seed": VECTOR_SEED, "sha256": GENERATOR_SHA, "image_seed": s,
            "u0": [float(x) for x in uniforms(s, [0], range(8))[0]],
            "u1": [float(x) for x in uniforms(s, [1], range(8))[0]],
            "samples": 8, "timestep_range": [0, 999], "latent_shape": [3, 16, 16], "timesteps": ts,
            "eps_first8": _r(eps[0].ravel()[:8]), "eps_draw7_last4": _r(eps[7].ravel()[-4:])}


def classify_vectors(bundle: Path = REPO / "models" / "demo") -> Dict[str, Any]:
    from sightline_ldm.bundle import grounding_defaults
    from sightline_ldm.grounding import read_image_file, text_embedding
    from sightline_ldm.loading import load_grounding_model
    from sightline_ldm.schedule import alphas_cumprod

    model, _ = load_grounding_model(str(bundle))
    manifest = json.loads((bundle / "manifest.json").read_text())
    settings = (manifest.get("grounding") or grounding_defaults())[VECTOR_VARIANT]
    ab = alphas_cumprod()
    images = []
    for name, rel in VECTOR_IMAGES:
        path = REPO / rel
        image = read_image_file(str(path))
        sha = file_sha256(path)
        z0 = encode_image(model, image)
        ts, eps = draws(VECTOR_SEED, sha, VECTOR_SAMPLES, *VECTOR_RANGE, tuple(z0.shape))
        traj, prompts, errs = None, [], {}
        for p in VECTOR_PROMPTS:
            maps = error_maps(model.unet, z0, ts, eps, text_embedding(model, p), ab, TARGETS)
            _, threshold, applied, traj = variant_heatmap(model, image, p, settings, traj)
            w = pool_weights(applied, z0.shape[-1])
            errs[p] = {t: {"uniform": weighted_error(m), "heatmap": weighted_error(m, w)} for t, m in maps.items()}
            prompts.append({"prompt": p, "threshold": _g(threshold), "weights": _r(w),
                            "error_maps": {t: _r(m) for t, m in maps.items()},
                            "weighted_error": {t: {k: _g(v) for k, v in e.items()} for t, e in errs[p].items()}})
        normal = VECTOR_PROMPTS[0]
        scores = {p: {t: {k: _g(errs[normal][t][k] - errs[p][t][k]) for k in ("uniform", "heatmap")} for t in TARGETS}
                  for p in VECTOR_PROMPTS[1:]}
        images.append({"name": name, "file": rel, "sha256": sha, "z0": _r(z0.cpu()),
                       "draws": {"timesteps": ts, "eps": _r(eps)}, "prompts": prompts, "scores": scores})
    return {"bundle": "models/demo",
            "bundle_manifest_sha256": hashlib.sha256((bundle / "manifest.json").read_bytes()).hexdigest(),
            "seed": VECTOR_SEED, "samples": VECTOR_SAMPLES, "timestep_range": list(VECTOR_RANGE),
            "latent_shape": [int(d) for d in z0.shape], "image_size": model.image_size, "variant": VECTOR_VARIANT,
            "variant_settings": {"layers": list(settings["layers"]), "otsu": bool(settings["otsu"]),
                                 "step_indices": list(settings["step_indices"])},
            "normal_prompt": VECTOR_PROMPTS[0], "generator": generator_vectors(), "images": images}


GENERATED_BY = ("cd training && /usr/bin/python3 -m sightline_eval.classify --write-vectors "
                "../test/vectors/classify-demo.json")


def write_vectors(out) -> None:
    doc = {"generated_by": GENERATED_BY, **classify_vectors()}
    with open(out, "w", encoding="utf-8") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")


def unet_timing(bundle: Path = REPO / "models" / "demo", batches: Sequence[int] = (1, 16), repeats: int = 5,
                rounds: int = 5, device: str = "cpu") -> Dict[int, float]:
    """ms per U-Net call at each batch size (the demo model, a random latent, one prompt; best of ``rounds``)."""
    from sightline_ldm.grounding import text_embedding
    from sightline_ldm.loading import load_grounding_model
    model, _ = load_grounding_model(str(bundle), device=device)
    ctx = text_embedding(model, "pneumothorax")
    shape = tuple(encode_image(model, np.zeros((model.image_size,) * 2, dtype=np.float32)).shape)
    out = {}
    with torch.no_grad():
        for b in batches:
            x = torch.randn((b,) + shape, device=ctx.device)
            t = torch.full((b,), 500, dtype=torch.int64, device=ctx.device)
            cb = ctx.expand(b, -1, -1)
            for _ in range(3):
                model.unet(x, t, cb)
            best = math.inf
            for _ in range(rounds):  # the best round: other load on a shared machine only slows a round down
                if ctx.device.type == "cuda":
                    torch.cuda.synchronize()
                t0 = time.perf_counter()
                for _ in range(repeats):
                    model.unet(x, t, cb)
                if ctx.device.type == "cuda":
                    torch.cuda.synchronize()
                best = min(best, (time.perf_counter() - t0) * 1000 / repeats)
            out[b] = best
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m sightline_eval.classify", description=__doc__.split("\n")[0])
    p.add_argument("--write-vectors", metavar="JSON", help="write the shared vectors (test/vectors/classify-demo.json)")
    p.add_argument("--timing", action="store_true", help="print ms per demo U-Net call at batch 1 and 16")
    p.add_argument("--device", default="cpu", help="torch device for --timing (default cpu)")
    args = p.parse_args(argv)
    if not args.write_vectors and not args.timing:
        p.error("nothing to do: give --write-vectors JSON and/or --timing")
    if args.write_vectors:
        write_vectors(args.write_vectors)
        print(f"wrote {args.write_vectors}", file=sys.stderr)
    if args.timing:
        for b, ms in unet_timing(device=args.device).items():
            print(f"batch {b}: {ms:.2f} ms per U-Net call ({ms / b:.2f} ms per draw)")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
