"""Batched grounding for ``python -m sightline_ldm.batch``: the reference pipeline (sightline_ldm.grounding) run on
several images and several (image, phrase) pairs per U-Net call, with the same numbers as one image at a time.

- One inversion per image serves every phrase and every variant with the same (numInferenceSteps, clipSample,
  inversionPrompt), inverted up to the largest kept step of those variants; B images are inverted together
  (their latents stacked, one U-Net call per step for all B).
- The attention capture runs P (image, phrase) pairs per truncated U-Net call (latents and phrase embeddings
  stacked), keeps only the phrase tokens' columns, and ``grounding.aggregate`` makes the map exactly as for one.
- Each map is the model-frame map BEFORE Otsu (``otsu=False``), its threshold ``otsu_threshold(map as float64)``
  when the variant thresholds, as ``grounding_vectors.parity_vectors`` computes them for the app.

Batch-size invariance on CPU (``exact_cpu_numerics``): oneDNN (mkldnn) picks convolution kernels by batch size and
the BLAS blocks a linear layer's [B x N, D] product differently from [N, D], so a batch of B gave an image latents
~2e-6 and maps ~1.3e-6 away from B = 1. With mkldnn off (the native convolutions compute each sample alike) and
every linear layer applied sample by sample (the exact call B = 1 makes), a batched image is bit for bit the image
alone (measured: difference 0), so the maps equal ``reference_heatmap`` run under the same switch. Convolutions and
attention stay batched. What still moves the last bits (~1e-6) is the BLAS thread count a process starts with
(OMP_NUM_THREADS; torchrun gives its workers 1). On CUDA nothing is switched: cuDNN / cuBLAS may pick per batch
size (not measured yet; expected ~1e-6..1e-5, far inside the app's 1e-3 parity).

Memory (``plan_batches``): the per-image cost is estimated from one batch-1 pass of the encoder and the U-Net with
forward hooks: activations = the U-Net's skip tensors + 4 x its largest single activation (conv / linear / norm
output or attention score matrix), the encoder's 4 x largest activation, plus the stored trajectory
(2 x (last step + 1) latents). A pair of the attention capture costs the U-Net activations only. B = budget // image
cost, P = budget // pair cost (capped at 64 and 256): conservative, not a profile; ``ground_backoff`` halves both
when the device runs out of memory anyway.
"""
from __future__ import annotations

import types
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from . import image_ops
from .attention import CrossAttention
from .batch_job import VariantSpec, group_by_inversion
from .grounding import GroundingModel, aggregate, ddim_inversion, encode_latent, text_embedding
from .schedule import DDIMSchedule

MapResult = Tuple[np.ndarray, Optional[float]]  # (float32 size x size map before Otsu, threshold or None)


def _linear_per_sample(self: nn.Linear, x: torch.Tensor) -> torch.Tensor:
    if x.dim() < 3 or x.shape[0] == 1:
        return F.linear(x, self.weight, self.bias)
    return torch.cat([F.linear(x[b:b + 1], self.weight, self.bias) for b in range(x.shape[0])])


def exact_cpu_numerics(device: str, *modules: nn.Module) -> None:
    """On CPU: per-image results independent of the batch size (module doc). Turns mkldnn off for the process and
    makes the linear layers of ``modules`` run sample by sample. Nothing on CUDA."""
    if str(device).startswith("cuda"):
        return
    torch.backends.mkldnn.enabled = False
    for mod in modules:
        for m in mod.modules() if mod is not None else ():
            if isinstance(m, nn.Linear):
                m.forward = types.MethodType(_linear_per_sample, m)


def _activation_numels(module: nn.Module, run) -> Tuple[int, int]:
    """(sum of the outputs of the modules named like skips, largest single output) of one pass, in elements."""
    largest = [0]
    total = [0]

    def hook(m, inp, out):
        if isinstance(m, CrossAttention):
            q = inp[0]
            n = q.shape[0] * m.num_heads * q.shape[1] * q.shape[1]  # self-attention scores bound the cross ones
            largest[0] = max(largest[0], n)
        elif torch.is_tensor(out):
            largest[0] = max(largest[0], out.numel())
            if isinstance(m, nn.Conv2d):
                total[0] += out.numel()

    hooks = [m.register_forward_hook(hook) for m in module.modules()
             if isinstance(m, (nn.Conv2d, nn.Linear, nn.GroupNorm, nn.LayerNorm, CrossAttention))]
    try:
        with torch.no_grad():
            run()
    finally:
        for h in hooks:
            h.remove()
    return total[0], largest[0]


def estimate_costs(model: GroundingModel, last_step: int) -> Dict[str, int]:
    """Bytes per image (inversion) and per (image, phrase) pair (attention capture); see the module doc."""
    dev = model.device
    size = model.image_size
    x = torch.zeros(1, 1, size, size, device=dev)
    _, enc_largest = _activation_numels(model.autoencoder, lambda: model.autoencoder.encode_mean(x))
    with torch.no_grad():
        z = model.autoencoder.encode_mean(x)
    ctx_dim = (getattr(model.unet, "config", None) or {}).get("cross_attention_dim") or 768
    ctx = torch.zeros(1, 77, int(ctx_dim), device=dev)
    t = torch.tensor([409], device=dev)
    convs, largest = _activation_numels(model.unet, lambda: model.unet(z, t, ctx))
    # conv outputs over-count the skips (every conv, not just block outputs): conservative on purpose
    unet = 4 * (convs + 4 * largest)
    trajectory = 4 * z.numel() * 2 * (last_step + 1)
    return {"image_bytes": unet + 4 * 4 * enc_largest + trajectory, "pair_bytes": unet}


def memory_budget(device: str, memory_gb: Optional[float]) -> int:
    """Bytes for activations: --memory-gb, else 80% of the free CUDA memory, else 4 GB on CPU."""
    if memory_gb is not None:
        return int(memory_gb * (1 << 30))
    if str(device).startswith("cuda"):
        free, _ = torch.cuda.mem_get_info(torch.device(device))
        return int(0.8 * free)
    return 4 << 30


def plan_batches(model: GroundingModel, variants: Sequence[VariantSpec], device: str, batch_images: Optional[int],
                 memory_gb: Optional[float], max_phrases: int) -> Dict[str, Any]:
    """-> {"images": B, "pairs": P, "budget_bytes", "image_bytes", "pair_bytes"}."""
    last = max(max(v.step_indices) for v in variants)
    cost = estimate_costs(model, last)
    budget = memory_budget(device, memory_gb)
    if batch_images is not None:
        b = max(1, int(batch_images))
        p = b * max(1, max_phrases)
    else:
        b = int(min(64, max(1, budget // max(1, cost["image_bytes"]))))
        p = int(min(256, max(1, budget // max(1, cost["pair_bytes"]))))
    return {"images": b, "pairs": p, "budget_bytes": budget, **cost}


class BatchGrounder:
    """Grounds lists of images with their phrases for every variant of a job, the model loaded once."""

    def __init__(self, model: GroundingModel, variants: Sequence[VariantSpec], pairs_per_call: int = 16) -> None:
        self.model = model
        self.variants = list(variants)
        self.groups = group_by_inversion(self.variants)
        self.pairs_per_call = max(1, int(pairs_per_call))
        self._contexts: Dict[Tuple[Optional[str], str], torch.Tensor] = {}
        self._overrides = {v.name: {k: torch.tensor(r, dtype=torch.float32) for k, r in v.token_overrides.items()}
                           for v in self.variants if v.token_overrides}

    def context(self, v: VariantSpec, phrase: str) -> torch.Tensor:
        """The phrase embedding [1, 77, D] with the variant's token rows (tuned variants), cached."""
        key = (v.name if v.name in self._overrides else None, phrase)
        if key not in self._contexts:
            self._contexts[key] = text_embedding(self.model, phrase, self._overrides.get(v.name))
        return self._contexts[key]

    def positions(self, phrase: str) -> List[int]:
        return list(self.model.tokenizer.phrase_token_positions(phrase))

    def invert(self, images: Sequence[np.ndarray], key: Tuple[int, bool, str], last: int):
        """One batched DDIM inversion of ``images`` (all preprocessed to the model frame) up to step ``last``."""
        n_steps, clip, prompt = key
        m = self.model
        x = torch.cat([image_ops.preprocess(im, m.image_size)[0] for im in images])
        z0 = encode_latent(m, x, m.latent_scale)
        uncond = text_embedding(m, prompt)  # the base embeddings: one inversion serves every variant of the key
        sched = DDIMSchedule(n_steps, clip_sample=clip)
        return ddim_inversion(m.unet, z0, uncond.expand(len(images), -1, -1), sched, last)

    def ground(self, images: Sequence[np.ndarray],
               phrases: Sequence[Sequence[str]]) -> List[Dict[Tuple[str, int], MapResult]]:
        """-> per image {(variant name, phrase index): (map, threshold)}."""
        m = self.model
        out: List[Dict[Tuple[str, int], MapResult]] = [{} for _ in images]
        for key, vs in self.groups:
            last = max(max(v.step_indices) for v in vs)
            traj = self.invert(images, key, last)
            latent_hw = tuple(traj.z0.shape[-2:])
            for v in vs:
                grids = {l: m.unet.cross_attention_grid(l, latent_hw) for l in v.layers} \
                    if hasattr(m.unet, "cross_attention_grid") else None
                pairs = [(b, j) for b in range(len(images)) for j in range(len(phrases[b]))]
                for a in range(0, len(pairs), self.pairs_per_call):
                    chunk = pairs[a:a + self.pairs_per_call]
                    for (b, j), att in zip(chunk, self._capture(traj, v, chunk, phrases)):
                        n_tok = len(self.positions(phrases[b][j]))
                        heat, _, _ = aggregate(att, range(n_tok), m.image_size, v.sigma, v.truncate, otsu=False,
                                               otsu_bins=v.otsu_bins, grids=grids)
                        heat = heat.astype(np.float32)
                        thr = image_ops.otsu_threshold(heat.astype(np.float64), v.otsu_bins) if v.otsu else None
                        out[b][(v.name, j)] = (heat, None if thr is None else float(thr))
        return out

    def _capture(self, traj, v: VariantSpec, chunk, phrases) -> List[Dict[int, Dict[int, torch.Tensor]]]:
        """layer -> step -> probs [heads, HW, phrase tokens] of each pair of ``chunk`` (one U-Net call per step)."""
        layers = sorted(v.layers)
        pos = [self.positions(phrases[b][j]) for b, j in chunk]
        for (b, j), p in zip(chunk, pos):
            if not p:
                raise ValueError(f"the phrase {phrases[b][j]!r} has no tokens")
        ctx = torch.cat([self.context(v, phrases[b][j]) for b, j in chunk])
        rows = torch.tensor([b for b, _ in chunk], device=traj.z0.device)
        out: List[Dict[int, Dict[int, torch.Tensor]]] = [{l: {} for l in layers} for _ in chunk]
        with torch.no_grad():
            for i in v.step_indices:
                z = traj.inputs[i].index_select(0, rows)
                t = torch.tensor([traj.timesteps[i]], device=z.device)
                _, probs = self.model.unet(z, t, ctx, capture_attention=layers, stop_after=True)
                for n, p in enumerate(pos):
                    cols = torch.tensor(p, device=z.device)
                    for l in layers:
                        # only the phrase columns: the head / token means of layer_map are unchanged by the cut
                        out[n][l][i] = probs[l][n].index_select(-1, cols).float().cpu()
        return out


def is_out_of_memory(e: BaseException) -> bool:
    return isinstance(e, RuntimeError) and "out of memory" in str(e)


def ground_backoff(grounder: BatchGrounder, images: Sequence[np.ndarray], phrases: Sequence[Sequence[str]],
                   on_backoff=None) -> List[Dict[Tuple[str, int], MapResult]]:
    """``grounder.ground``, halving the images per call and the pairs per call while the device runs out of memory
    (the cost estimate is no profile; either phase may be the one that failed); ``on_backoff(images, pairs)`` hears
    of each step. Raises when one image with one pair per call does not fit, and on any other error."""
    try:
        return grounder.ground(images, phrases)
    except RuntimeError as e:
        if not is_out_of_memory(e) or (len(images) <= 1 and grounder.pairs_per_call <= 1):
            raise
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    grounder.pairs_per_call = max(1, grounder.pairs_per_call // 2)
    h = max(1, len(images) // 2)
    if on_backoff:
        on_backoff(h, grounder.pairs_per_call)
    if h == len(images):
        return ground_backoff(grounder, images, phrases, on_backoff)
    return ground_backoff(grounder, images[:h], phrases[:h], on_backoff) + \
        ground_backoff(grounder, images[h:], phrases[h:], on_backoff)
