"""Noise schedule and DDIM inversion of the chest X-ray LDM (docs/method.md sections 1-2).

Everything here is plain arithmetic on tensors; the U-Net is passed in by the caller.

Conventions (all verified against ``test/fixtures/reference/golden_heatmaps.pt``):

* betas are "scaled linear": ``linspace(sqrt(0.0015), sqrt(0.0205), 1000) ** 2`` computed in float32
  (as MONAI does), ``alpha_bar = cumprod(1 - betas)`` in float32.
* the n inference steps use "trailing" spacing: ``t_i = (i + 1) * (1000 // n) - 1``, i.e. 9, 19, ..., 999
  for n = 100 (ascending, inversion order).
* one inversion step is MONAI's ``DDIMScheduler.reversed_step`` for v-prediction, without clipping of x0,
  with ``alpha_bar[t] = 0`` for ``t >= 1000`` (method.md section 2).
"""
from __future__ import annotations

from typing import List

import torch

NUM_TRAIN_TIMESTEPS = 1000
BETA_START = 0.0015
BETA_END = 0.0205
# The latent scaling factor: the diffusion latent is z0 = LATENT_SCALE_FACTOR * (autoencoder mean), and images
# decode from z0 / LATENT_SCALE_FACTOR. 0.3 is the MONAI chest X-ray bundle's fixed value (the predecessor's golden
# run uses it too); the exporter writes it into every manifest as latent.scale_factor. Use this constant, never
# a literal copy.
LATENT_SCALE_FACTOR = 0.3


def scaled_linear_betas(num_train_timesteps: int = NUM_TRAIN_TIMESTEPS, beta_start: float = BETA_START,
                        beta_end: float = BETA_END) -> torch.Tensor:
    """``linspace(sqrt(beta_start), sqrt(beta_end), T) ** 2`` in float32."""
    return torch.linspace(beta_start ** 0.5, beta_end ** 0.5, num_train_timesteps, dtype=torch.float32) ** 2


def alphas_cumprod(num_train_timesteps: int = NUM_TRAIN_TIMESTEPS, beta_start: float = BETA_START,
                   beta_end: float = BETA_END) -> torch.Tensor:
    """alpha-bar_t = prod_{s <= t} (1 - beta_s), float32, shape [T]."""
    betas = scaled_linear_betas(num_train_timesteps, beta_start, beta_end)
    return torch.cumprod(1.0 - betas, dim=0)


def step_size(num_inference_steps: int, num_train_timesteps: int = NUM_TRAIN_TIMESTEPS) -> int:
    """D = T // n (10 for n = 100)."""
    if num_inference_steps <= 0 or num_inference_steps > num_train_timesteps:
        raise ValueError(f"num_inference_steps must be in 1..{num_train_timesteps}, got {num_inference_steps}")
    return num_train_timesteps // num_inference_steps


def trailing_timesteps(num_inference_steps: int = 100, num_train_timesteps: int = NUM_TRAIN_TIMESTEPS) -> List[int]:
    """Ascending DDIM "trailing" timesteps: t_i = (i + 1) * D - 1 -> 9, 19, ..., 999 for n = 100."""
    d = step_size(num_inference_steps, num_train_timesteps)
    return [(i + 1) * d - 1 for i in range(num_inference_steps)]


def kept_step_indices(num_inference_steps: int = 100) -> List[int]:
    """Indices n/2 - n/10 ... n/2 + n/10 - 1 (40..59 for n = 100), method.md section 2 step 4."""
    n = num_inference_steps
    lo, hi = n // 2 - n // 10, n // 2 + n // 10
    return list(range(lo, hi))


def alpha_bar_at(ab: torch.Tensor, t: int, beyond: float = 0.0) -> torch.Tensor:
    """alpha-bar at integer timestep t; ``beyond`` (0 per method.md) for t >= len(ab)."""
    if t < 0:
        raise ValueError(f"negative timestep {t}")
    if t >= ab.shape[0]:
        return torch.tensor(beyond, dtype=ab.dtype)
    return ab[t]


def v_to_x0_eps(sample: torch.Tensor, v: torch.Tensor, ab_t: torch.Tensor):
    """v-prediction -> (x0, eps): x0 = sqrt(ab) z - sqrt(1-ab) v, eps = sqrt(ab) v + sqrt(1-ab) z."""
    a = ab_t ** 0.5
    b = (1 - ab_t) ** 0.5
    x0 = a * sample - b * v
    eps = a * v + b * sample
    return x0, eps


def x0_eps_to_v(x0: torch.Tensor, eps: torch.Tensor, ab_t: torch.Tensor) -> torch.Tensor:
    """v = sqrt(ab) eps - sqrt(1-ab) x0."""
    return ab_t ** 0.5 * eps - (1 - ab_t) ** 0.5 * x0


def add_noise(x0: torch.Tensor, eps: torch.Tensor, ab_t: torch.Tensor) -> torch.Tensor:
    """Forward diffusion z_t = sqrt(ab) x0 + sqrt(1-ab) eps."""
    return ab_t ** 0.5 * x0 + (1 - ab_t) ** 0.5 * eps


def ddim_inversion_step(sample: torch.Tensor, v: torch.Tensor, t: int, ab: torch.Tensor,
                        num_inference_steps: int = 100, beyond: float = 0.0,
                        clip_sample: bool = False) -> torch.Tensor:
    """One DDIM inversion step t -> t + D (MONAI ``DDIMScheduler.reversed_step``, v-prediction).

    Arithmetic order follows MONAI so that float32 results agree bit for bit as far as possible.
    """
    d = step_size(num_inference_steps, ab.shape[0])
    ab_t = alpha_bar_at(ab, t, beyond)
    ab_next = alpha_bar_at(ab, t + d, beyond)
    beta_t = 1 - ab_t
    x0 = (ab_t ** 0.5) * sample - (beta_t ** 0.5) * v
    eps = (ab_t ** 0.5) * v + (beta_t ** 0.5) * sample
    if clip_sample:
        x0 = torch.clamp(x0, -1, 1)
    direction = (1 - ab_next) ** 0.5 * eps
    return ab_next ** 0.5 * x0 + direction


class DDIMSchedule:
    """Bundle of the schedule numbers used by the grounding pipeline."""

    def __init__(self, num_inference_steps: int = 100, num_train_timesteps: int = NUM_TRAIN_TIMESTEPS,
                 beta_start: float = BETA_START, beta_end: float = BETA_END, beyond: float = 0.0,
                 clip_sample: bool = False):
        self.num_inference_steps = num_inference_steps
        self.num_train_timesteps = num_train_timesteps
        self.alphas_cumprod = alphas_cumprod(num_train_timesteps, beta_start, beta_end)
        self.timesteps = trailing_timesteps(num_inference_steps, num_train_timesteps)
        self.step = step_size(num_inference_steps, num_train_timesteps)
        self.beyond = beyond
        self.clip_sample = clip_sample

    def inversion_step(self, sample: torch.Tensor, v: torch.Tensor, t: int) -> torch.Tensor:
        return ddim_inversion_step(sample, v, t, self.alphas_cumprod.to(sample.device), self.num_inference_steps,
                                   self.beyond, self.clip_sample)
