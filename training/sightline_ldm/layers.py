"""Small building blocks shared by the autoencoder and the U-Net.

The module tree mirrors MONAI GenerativeModels so that the public checkpoints load key for key: MONAI's
`Convolution(conv_only=True)` is an `nn.Sequential` holding one child called `conv`, hence the parameter
names `<...>.conv.weight`. `ConvOnly` reproduces exactly that nesting.
"""
from __future__ import annotations

import contextlib
import math
from typing import Iterator

import torch
from torch import nn


class ConvOnly(nn.Module):
    """A 2-D convolution nested one level deep (`self.conv`), like MONAI's `Convolution(conv_only=True)`."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1,
                 padding: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=kernel_size, stride=stride,
                              padding=padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


def group_norm(channels: int, groups: int, eps: float) -> nn.GroupNorm:
    return nn.GroupNorm(num_groups=groups, num_channels=channels, eps=eps, affine=True)


def timestep_embedding(timesteps: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding [cos | sin] of integer (or float) timesteps, shape [B] -> [B, dim].

    Frequencies exp(-ln(max_period) * k / (dim // 2)), k = 0 .. dim//2 - 1; an odd `dim` is zero-padded.
    """
    if timesteps.dim() != 1:
        raise ValueError(f"timesteps must be 1-D [B], got shape {tuple(timesteps.shape)}")
    half = dim // 2
    k = torch.arange(half, dtype=torch.float32, device=timesteps.device)
    freqs = torch.exp(k * (-math.log(max_period) / half))
    args = timesteps.to(torch.float32)[:, None] * freqs[None, :]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2 == 1:
        emb = nn.functional.pad(emb, (0, 1))
    return emb


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@contextlib.contextmanager
def skip_weight_init() -> Iterator[None]:
    """Build modules without running their random initialisers (weights are left uninitialised).

    For key/shape checks and for modules whose weights are loaded right after construction: building the
    263.6M-parameter U-Net this way costs an allocation instead of seconds of Kaiming init.
    """
    classes = [nn.Linear, nn.Conv2d, nn.GroupNorm, nn.LayerNorm, nn.Embedding]
    own = {cls: cls.__dict__.get("reset_parameters") for cls in classes}  # None: inherited
    try:
        for cls in classes:
            cls.reset_parameters = lambda self: None  # type: ignore[assignment]
        yield
    finally:
        for cls, fn in own.items():
            if fn is None:
                delattr(cls, "reset_parameters")
            else:
                cls.reset_parameters = fn  # type: ignore[assignment]
