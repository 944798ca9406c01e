"""Targets and losses of method.md 4.2 / 4.4.

A (per layer) is the cross-attention probability tensor of the kept steps, averaged over heads: [T, D, S].
- ``jittered_params``: every Gaussian's mu_x, mu_y, sigma_x, sigma_y moved uniformly by up to +-jitter * frame
  (jitter = 0.05: "+-5% of the image size"), each time it is used. A sigma is kept >= half its LUT value [our
  choice]: the small regions (costophrenic angles: sigma ~2 px of a 128 px frame, less than the +-6.4 px jitter)
  would otherwise often collapse to a point that no 16 x 16 grid cell sees, leaving an all-zero target.
- ``diversity_loss``: per (t, l) l2-normalise each phrase-token column over D; mean of cos^2 over ordered pairs
  i != j (0 for a one-token phrase).
- ``localisation_loss``: A_sp = mean over phrase tokens; trg = 1[G > 1e-5] * stopgrad(A_sp) + alpha * G;
  mean over t, l of 1 - cos(A_sp, trg) over the D positions.
Layers of different grids are allowed: each layer gets G rendered on its own grid.
"""
from __future__ import annotations

from typing import List, Mapping, Sequence, Tuple

import numpy as np
import torch
from torch.nn import functional as F

from sightline_eval.lut import location_regions, region_params, render_gaussians

EPS_G = 1e-5  # the indicator threshold of the target


def jittered_params(lut: Mapping, location: str, rng: np.random.Generator, jitter: float = 0.05
                    ) -> List[Tuple[float, float, float, float]]:
    frame = float(lut.get("frame", 512))
    out = []
    for region in location_regions(location):
        p0 = np.asarray(region_params(lut, region), dtype=np.float64)
        p = p0 + rng.uniform(-jitter, jitter, size=4) * frame
        p[2:] = np.maximum(p[2:], 0.5 * p0[2:])
        out.append(tuple(float(v) for v in p))
    return out


def target_map(lut: Mapping, params, grid: Tuple[int, int]) -> torch.Tensor:
    """G on a (rows, cols) grid, flattened row-major to [D] (float32).

    Sigmas below half a grid cell are raised to it [our choice]: G is sampled at the cell centres, and a narrower
    Gaussian between two centres would leave the target (almost) empty on that grid."""
    f = float(lut.get("frame", 512))
    rows, cols = grid
    params = [(mx, my, max(sx, 0.5 * f / cols), max(sy, 0.5 * f / rows)) for mx, my, sx, sy in params]
    return torch.from_numpy(render_gaussians(params, tuple(grid), (f, f)).reshape(-1)).float()


def diversity_loss(a: torch.Tensor, positions: Sequence[int]) -> torch.Tensor:
    """a: [T, D, S] -> mean over t and ordered pairs i != j of cos^2 between phrase-token columns."""
    cols = F.normalize(a[:, :, list(positions)], dim=1)  # [T, D, P]
    p = cols.shape[-1]
    if p < 2:
        return a.new_zeros(())
    gram = torch.matmul(cols.transpose(1, 2), cols) ** 2  # [T, P, P]
    off = gram.sum(dim=(1, 2)) - torch.diagonal(gram, dim1=1, dim2=2).sum(-1)
    return (off / (p * (p - 1))).mean()


def localisation_loss(a: torch.Tensor, positions: Sequence[int], g: torch.Tensor, alpha: float = 0.1
                      ) -> torch.Tensor:
    """a: [T, D, S]; g: [D] -> mean over t of 1 - cos(A_sp, trg)."""
    a_sp = a[:, :, list(positions)].mean(-1)  # [T, D]
    g = g.to(a_sp)
    trg = (g > EPS_G).to(a_sp) * a_sp.detach() + alpha * g
    return (1.0 - F.cosine_similarity(a_sp, trg.expand_as(a_sp), dim=1)).mean()


def pair_losses(attention: Mapping[int, torch.Tensor], positions: Sequence[int], targets: Mapping[int, torch.Tensor],
                alpha: float = 0.1, div_weight: float = 1.0):
    """attention: layer -> [T, heads, D, S]; targets: layer -> G [D]. Returns (total, l_div, l_loc), each the mean
    over layers (= mean over t, l as 4.4, every layer having T steps)."""
    divs, locs = [], []
    for layer in sorted(attention):
        a = attention[layer].float().mean(1)  # heads
        divs.append(diversity_loss(a, positions))
        locs.append(localisation_loss(a, positions, targets[layer], alpha))
    l_div = torch.stack(divs).mean()
    l_loc = torch.stack(locs).mean()
    return div_weight * l_div + l_loc, l_div, l_loc
