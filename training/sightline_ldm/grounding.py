"""Reference phrase-grounding heatmaps (docs/method.md sections 2 and 3).

This is the yardstick for the app's TypeScript/ONNX runtime: clarity over speed. The pipeline:

1. ``preprocess``: grey [0, 1], short side resized to the model image size (bilinear, antialiased, half-pixel
   centres), centre crop (offset floor((L' - S) / 2)).
2. ``encode_latent``: z0 = latent_scale (``schedule.LATENT_SCALE_FACTOR``) * encoder mean.
3. ``ddim_inversion``: DDIM inversion with the unconditional (empty-prompt) embedding over the "trailing"
   timesteps t_i = 9, 19, ... (n = 100), one MONAI ``reversed_step`` (v-prediction, no x0 clipping, alpha-bar = 0
   beyond t = 999) per step. The U-Net input of step i is z_i (z_0 = the clean latent). Independent of the
   phrase: compute once per image (``Trajectory``) and reuse.
4. ``capture_attention``: at every kept step i (40..59) run the U-Net on (z_i, t_i) with the phrase embedding
   and keep the cross-attention softmax of the chosen layers (a truncated pass that stops after the last one).
5. ``aggregate``: per (layer, step) average the probabilities over the heads (1 head in the MONAI model) and
   over the phrase tokens (the non-special tokens of the unpadded tokenisation), reshape to the layer grid,
   min-max; bilinear resize (align_corners=False) to image_size x image_size; mean over all (layer, step);
   Gaussian blur (sigma 2.5, scipy 'reflect', truncate 4); min-max; optional two-class Otsu (values not above the
   threshold -> 0).
6. ``image_ops.map_to_original``: nearest resize to the original short side, NaN padding where the crop cut.

Variants: "frozen" = layers {3, 4, 6, 7} + Otsu; "tuned" = layers {4, 5, 6, 7}, no Otsu, and the phrase
embedding computed with tuned token-embedding rows (``token_embedding_overrides``: token id -> row; applied to
the phrase only, the unconditional inversion prompt always uses the base embeddings so one inversion serves
every variant). Every number is an option of ``reference_heatmap``.

Verified against ``test/fixtures/reference/golden_heatmaps.pt`` (see tests/test_grounding.py).

This module is the library only. The command line (``python -m sightline_ldm.grounding`` or
``python -m sightline_ldm.grounding_cli``: heatmaps of phrases on an image file, or ``--check-golden`` to print the
differences to the golden fixture) lives in ``sightline_ldm.grounding_cli``.
"""
from __future__ import annotations

import dataclasses
import os
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

import numpy as np
import torch

from . import image_ops
from .schedule import LATENT_SCALE_FACTOR, DDIMSchedule, kept_step_indices

VARIANTS: Dict[str, Dict[str, Any]] = {
    "frozen": {"layers": (3, 4, 6, 7), "otsu": True},
    "tuned": {"layers": (4, 5, 6, 7), "otsu": False},
}


@dataclasses.dataclass
class GroundingModel:
    """The pieces of the LDM the pipeline needs.

    autoencoder: has ``encode_mean(x) -> z_mu``; unet: ``unet(x, t, context, capture_attention=..., stop_after=...)``
    returning ``(v, {layer: probs [B, heads, HW, S]})``; text_encoder (CLIPTextModel) and tokenizer (CLIPTokenizer)
    are optional when fixed embeddings are passed instead of phrases.
    """
    autoencoder: Any
    unet: Any
    text_encoder: Any = None
    tokenizer: Any = None
    image_size: int = 512
    latent_scale: float = LATENT_SCALE_FACTOR

    @property
    def device(self) -> torch.device:
        return next(self.unet.parameters()).device


@dataclasses.dataclass
class GroundingOptions:
    num_inference_steps: int = 100
    kept_steps: Optional[Sequence[int]] = None  # default: n/2 - n/10 .. n/2 + n/10 - 1
    layers: Sequence[int] = (3, 4, 6, 7)
    sigma: float = 2.5
    truncate: float = 4.0
    otsu: bool = True
    otsu_bins: int = 256
    image_size: Optional[int] = None  # default: model.image_size
    latent_scale: Optional[float] = None  # default: model.latent_scale
    antialias: bool = True  # preprocessing resize
    clip_sample: bool = False  # clamp x0 to [-1, 1] in the inversion step (MONAI option; not used)
    beyond_alpha_bar: float = 0.0  # alpha-bar for t >= 1000
    token_positions: Optional[Sequence[int]] = None  # default: from the tokenizer (non-special tokens)
    token_embedding_overrides: Optional[Mapping[int, torch.Tensor]] = None
    uncond_embedding: Optional[torch.Tensor] = None  # default: text encoder on ""
    trajectory: Optional["Trajectory"] = None  # reuse an inversion of the same image

    @classmethod
    def for_variant(cls, variant: str, **overrides) -> "GroundingOptions":
        if variant not in VARIANTS:
            raise ValueError(f"unknown variant {variant!r}; known: {sorted(VARIANTS)}")
        kw = dict(VARIANTS[variant])
        kw.update(overrides)
        return cls(**kw)

    def resolved_kept_steps(self) -> List[int]:
        return list(self.kept_steps) if self.kept_steps is not None else kept_step_indices(self.num_inference_steps)


@dataclasses.dataclass
class Trajectory:
    """DDIM inversion of one image: ``inputs[i]`` is the U-Net input latent of step i (``inputs[0]`` = z0)."""
    z0: torch.Tensor
    timesteps: List[int]
    inputs: List[torch.Tensor]  # z_i for i = 0..last
    after: List[torch.Tensor]  # the latent after step i (= inputs[i + 1])

    def input_at(self, i: int) -> torch.Tensor:
        return self.inputs[i]


@dataclasses.dataclass
class HeatmapResult:
    heatmap: np.ndarray  # image_size x image_size, [0, 1]
    original: Optional[np.ndarray]  # original H x W, NaN outside the crop (None when no original size known)
    threshold: Optional[float]  # Otsu threshold (None without Otsu)
    attention: Dict[int, Dict[int, torch.Tensor]]  # layer -> step -> probs [heads, HW, S] (conditional sample)
    per_map: Dict[tuple, np.ndarray]  # (layer, step) -> min-max normalised grid map
    trajectory: Trajectory
    context: torch.Tensor  # [1, 77, D] phrase embedding used
    token_positions: List[int]
    geometry: Optional[dict]


# ---------------------------------------------------------------- text
def text_embedding(model: GroundingModel, text: str,
                   overrides: Optional[Mapping[int, torch.Tensor]] = None) -> torch.Tensor:
    """CLIP last hidden state [1, 77, D] of ``text`` (padded tokenisation), with optional tuned token rows."""
    if model.text_encoder is None or model.tokenizer is None:
        raise ValueError("a text phrase needs model.text_encoder and model.tokenizer (or pass an embedding)")
    te_device = next(model.text_encoder.parameters()).device
    ids = torch.tensor([model.tokenizer.encode_padded(text)], device=te_device)
    with torch.no_grad():
        return model.text_encoder(ids, token_embedding_overrides=overrides).float().to(model.device)


def _as_context(e: torch.Tensor, device) -> torch.Tensor:
    e = torch.as_tensor(e, dtype=torch.float32)
    if e.dim() == 2:
        e = e.unsqueeze(0)
    if e.dim() != 3 or e.shape[0] != 1:
        raise ValueError(f"embedding must be [S, D] or [1, S, D], got {tuple(e.shape)}")
    return e.to(device)


# ---------------------------------------------------------------- steps 1-3
def encode_latent(model: GroundingModel, image01: torch.Tensor, latent_scale: float) -> torch.Tensor:
    """z0 = latent_scale * mu (no sampling)."""
    with torch.no_grad():
        return latent_scale * model.autoencoder.encode_mean(image01.to(model.device))


def ddim_inversion(unet, z0: torch.Tensor, uncond: torch.Tensor, schedule: DDIMSchedule, last_step: int) -> Trajectory:
    """Steps 0..last_step of the DDIM inversion driven by the unconditional embedding (guidance 0)."""
    z = z0
    inputs, after = [], []
    with torch.no_grad():
        for i in range(last_step + 1):
            t = schedule.timesteps[i]
            inputs.append(z)
            v = unet(z, torch.tensor([t], device=z.device), uncond)
            z = schedule.inversion_step(z, v, t)
            after.append(z)
    return Trajectory(z0=z0, timesteps=list(schedule.timesteps), inputs=inputs, after=after)


# ---------------------------------------------------------------- step 4
def capture_attention(unet, trajectory: Trajectory, context: torch.Tensor, steps: Sequence[int],
                      layers: Sequence[int]) -> Dict[int, Dict[int, torch.Tensor]]:
    """layer -> step -> softmax probabilities [heads, HW, S] of the U-Net at (z_i, t_i) with ``context``."""
    layers = sorted(int(l) for l in layers)
    out: Dict[int, Dict[int, torch.Tensor]] = {l: {} for l in layers}
    with torch.no_grad():
        for i in steps:
            z = trajectory.input_at(i)
            t = torch.tensor([trajectory.timesteps[i]], device=z.device)
            _, probs = unet(z, t, context, capture_attention=layers, stop_after=True)
            for l in layers:
                out[l][i] = probs[l][0].float().cpu()
    return out


# ---------------------------------------------------------------- steps 5-6
def layer_map(probs: torch.Tensor, token_positions: Sequence[int], grid_hw) -> np.ndarray:
    """[heads, HW, S] -> mean over heads and phrase tokens -> grid -> min-max (float64)."""
    m = probs.double().mean(0)[:, list(token_positions)].mean(-1)
    return image_ops.minmax(m.reshape(grid_hw).numpy())


def aggregate(attention: Dict[int, Dict[int, torch.Tensor]], token_positions: Sequence[int], image_size: int,
              sigma: float = 2.5, truncate: float = 4.0, otsu: bool = True, otsu_bins: int = 256,
              grids: Optional[Mapping[int, tuple]] = None):
    """Per-(layer, step) maps -> averaged, blurred, normalised (and Otsu-thresholded) heatmap."""
    per_map: Dict[tuple, np.ndarray] = {}
    acc = np.zeros((image_size, image_size), dtype=np.float64)
    n = 0
    for layer in sorted(attention):
        for step in sorted(attention[layer]):
            probs = attention[layer][step]
            hw = probs.shape[1]
            grid = tuple(grids[layer]) if grids and layer in grids else (int(round(hw ** 0.5)),) * 2
            if grid[0] * grid[1] != hw:
                raise ValueError(f"layer {layer}: {hw} positions do not fit grid {grid}")
            m = layer_map(probs, token_positions, grid)
            per_map[(layer, step)] = m
            up = image_ops.resize_bilinear(torch.from_numpy(m), (image_size, image_size)).numpy()
            acc += up
            n += 1
    if n == 0:
        raise ValueError("no attention maps to aggregate")
    heat = acc / n
    heat = image_ops.gaussian_blur(heat, sigma, truncate)
    heat = image_ops.minmax(heat)
    threshold = None
    if otsu:
        heat, threshold = image_ops.apply_otsu(heat, otsu_bins)
    return heat.astype(np.float32), threshold, per_map


# ---------------------------------------------------------------- all together
def invert_image(image, model: GroundingModel, options: Optional[GroundingOptions] = None, **kw):
    """Preprocess + encode + inversion up to the last kept step. Returns (trajectory, geometry)."""
    opt = options or GroundingOptions(**kw)
    size = opt.image_size or model.image_size
    scale = model.latent_scale if opt.latent_scale is None else opt.latent_scale
    img, geometry = image_ops.preprocess(image, size, antialias=opt.antialias)
    z0 = encode_latent(model, img, scale)
    schedule = DDIMSchedule(opt.num_inference_steps, beyond=opt.beyond_alpha_bar, clip_sample=opt.clip_sample)
    uncond = _as_context(opt.uncond_embedding, model.device) if opt.uncond_embedding is not None \
        else text_embedding(model, "")
    last = max(opt.resolved_kept_steps())
    return ddim_inversion(model.unet, z0, uncond, schedule, last), geometry


def reference_heatmap(image, phrase: Union[str, torch.Tensor], model: GroundingModel, variant: str = "frozen",
                      **options) -> HeatmapResult:
    """Heatmap of ``phrase`` on ``image`` (method.md sections 2-3).

    phrase: text (tokenised and encoded with the model's CLIP) or a fixed embedding [77, D] / [1, 77, D]
    (then ``token_positions`` must be given). ``image`` may be None when ``trajectory`` is given.
    Options: any field of ``GroundingOptions``; the variant sets the defaults for ``layers`` and ``otsu``.
    """
    opt = GroundingOptions.for_variant(variant, **options)
    size = opt.image_size or model.image_size
    steps = opt.resolved_kept_steps()
    if not steps:
        raise ValueError("no kept steps")

    if isinstance(phrase, str):
        context = text_embedding(model, phrase, opt.token_embedding_overrides)
        positions = list(opt.token_positions) if opt.token_positions is not None \
            else model.tokenizer.phrase_token_positions(phrase)
    else:
        if opt.token_embedding_overrides:
            raise ValueError("token_embedding_overrides need a text phrase")
        if opt.token_positions is None:
            raise ValueError("a fixed phrase embedding needs token_positions")
        context = _as_context(phrase, model.device)
        positions = list(opt.token_positions)
    if not positions:
        raise ValueError("the phrase has no tokens")

    geometry = None
    if opt.trajectory is not None:
        traj = opt.trajectory
        if len(traj.inputs) <= max(steps):
            raise ValueError("the given trajectory stops before the last kept step")
    else:
        if image is None:
            raise ValueError("need an image or a trajectory")
        traj, geometry = invert_image(image, model, opt)

    latent_hw = tuple(traj.z0.shape[-2:])
    grids = {l: model.unet.cross_attention_grid(l, latent_hw) for l in opt.layers} \
        if hasattr(model.unet, "cross_attention_grid") else None
    attention = capture_attention(model.unet, traj, context, steps, opt.layers)
    heat, threshold, per_map = aggregate(attention, positions, size, opt.sigma, opt.truncate, opt.otsu,
                                         opt.otsu_bins, grids)
    original = image_ops.map_to_original(heat, geometry["original_hw"]) if geometry else None
    return HeatmapResult(heatmap=heat, original=original, threshold=threshold, attention=attention,
                         per_map=per_map, trajectory=traj, context=context, token_positions=positions,
                         geometry=geometry)


def check_golden(fixtures_dir: str, device: str = "cpu") -> Dict[str, float]:
    """Reproduce test/fixtures/reference/golden_heatmaps.pt (under ``fixtures_dir``); returns the max abs differences.

    A missing fixture raises ``FileNotFoundError`` naming the file."""
    from .autoencoder import build_autoencoder
    from .unet import build_unet
    paths = [os.path.join(fixtures_dir, "monai", "tiny_ldm.pt"),
             os.path.join(fixtures_dir, "reference", "golden_heatmaps.pt")]
    for path in paths:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{path}: golden-check fixture not found (see test/fixtures/README.md)")
    t, g = (torch.load(path, map_location="cpu") for path in paths)
    ae = build_autoencoder(t["ae_config"])
    ae.load_state_dict(t["ae_state_dict"])
    unet = build_unet(t["unet_config"])
    unet.load_state_dict(t["unet_state_dict"])
    model = GroundingModel(ae.eval().to(device), unet.eval().to(device), image_size=g["image"].shape[-1])
    ctx = g["context"]
    pos = list(range(*g["token_range"]))
    r = reference_heatmap(g["image"], ctx[1], model, "frozen", uncond_embedding=ctx[0], token_positions=pos,
                          kept_steps=range(30, 60), layers=range(2, 8))
    ref = g["attention_record_layers_2_to_7_steps_30_to_59"]
    att = max(float((r.attention[l][s][0] - ref[l][s - 30, 1]).abs().max()) for l in range(2, 8)
              for s in range(30, 60))
    frozen, _, _ = aggregate({l: {s: r.attention[l][s] for s in range(40, 60)} for l in (3, 4, 6, 7)}, pos,
                             model.image_size)
    tuned, _, _ = aggregate({l: {s: r.attention[l][s] for s in range(40, 60)} for l in (4, 5, 6, 7)}, pos,
                            model.image_size, otsu=False)
    out = {
        "z0": float((r.trajectory.z0.cpu() - g["latent_z0"]).abs().max()),
        "latents": float((torch.stack(r.trajectory.after).cpu() - g["latents_after_each_inversion_step"]).abs().max()),
        "attention": att,
        "frozen": float(np.abs(frozen - g["frozen_512_equivalent"].numpy()).max()),
        "tuned": float(np.abs(tuned - g["tuned"].numpy()).max()),
    }
    for key, want in g["original_sizes"].items():
        w, h = (int(v) for v in key.split("x"))
        got = image_ops.map_to_original(frozen, (h, w))
        want = want.numpy()
        same_nan = np.array_equal(np.isnan(got), np.isnan(want))
        out[f"original_{key}"] = float(np.nanmax(np.abs(got - want))) if same_nan else float("inf")
    return out


def read_image_file(path: str) -> np.ndarray:
    """A radiograph file -> float32 HxW in [0, 1], bright = dense (PNG/JPEG via Pillow; DICOM via pydicom with the
    modality rescale and MONOCHROME1 inverted)."""
    with open(path, "rb") as fh:
        head = fh.read(132)
    if head[128:132] == b"DICM" or path.lower().endswith((".dcm", ".dicom")):
        import pydicom
        from pydicom.pixel_data_handlers.util import apply_modality_lut, apply_voi_lut
        ds = pydicom.dcmread(path)
        if "PixelData" not in ds:
            raise ValueError(f"{path}: DICOM without pixel data")
        a = apply_modality_lut(ds.pixel_array, ds).astype(np.float64)
        if a.ndim != 2:
            raise ValueError(f"{path}: expected one grey frame, got pixel data of shape {a.shape}")
        if "WindowCenter" in ds or "VOILUTSequence" in ds:  # the file's own first window, as a viewer shows it
            a = apply_voi_lut(a, ds, index=0).astype(np.float64)
        lo, hi = float(a.min()), float(a.max())
        a = (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)
        if str(getattr(ds, "PhotometricInterpretation", "")).upper() == "MONOCHROME1":
            a = 1.0 - a
        return a.astype(np.float32)
    from PIL import Image
    with Image.open(path) as im:
        return image_ops.to_grey01(im)


if __name__ == "__main__":  # pragma: no cover - `python -m sightline_ldm.grounding` is the documented command line
    from .grounding_cli import main
    raise SystemExit(main())
