"""AutoencoderKL with the module structure of MONAI GenerativeModels (loads `autoencoder.pth`).

Supported: 2-D, no attention blocks (`attention_levels` all False, no non-local attention), which is the
public MONAI chest X-ray configuration. Other options raise NotImplementedError.

Quirks reproduced on purpose (they are what the checkpoint was trained with):
- the encoder's downsampling pads right/bottom by one pixel, then a stride-2 3x3 conv without padding;
- the final GroupNorm of encoder and decoder is followed directly by the conv (no activation);
- log-variance is clamped to [-30, 20] before sigma = exp(logvar / 2).
"""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Sequence, Tuple, Union

import torch
from torch import nn
from torch.nn import functional as F

from .layers import ConvOnly, group_norm

# The public MONAI chest X-ray LDM autoencoder.
CXR_AUTOENCODER_CONFIG: Dict[str, Any] = {
    "spatial_dims": 2,
    "in_channels": 1,
    "out_channels": 1,
    "latent_channels": 3,
    "num_channels": [64, 128, 128, 128],
    "num_res_blocks": 2,
    "norm_num_groups": 32,
    "norm_eps": 1e-6,
    "attention_levels": [False, False, False, False],
    "with_encoder_nonlocal_attn": False,
    "with_decoder_nonlocal_attn": False,
}

class ResBlock(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, groups: int, eps: float) -> None:
        super().__init__()
        self.norm1 = group_norm(in_ch, groups, eps)
        self.conv1 = ConvOnly(in_ch, out_ch)
        self.norm2 = group_norm(out_ch, groups, eps)
        self.conv2 = ConvOnly(out_ch, out_ch)
        self.nin_shortcut = nn.Identity() if in_ch == out_ch else ConvOnly(in_ch, out_ch, 1, 1, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        return self.nin_shortcut(x) + h


class Downsample(nn.Module):
    def __init__(self, ch: int) -> None:
        super().__init__()
        self.conv = ConvOnly(ch, ch, kernel_size=3, stride=2, padding=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, (0, 1, 0, 1), mode="constant", value=0.0))


class Upsample(nn.Module):
    def __init__(self, ch: int) -> None:
        super().__init__()
        self.conv = ConvOnly(ch, ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class Encoder(nn.Module):
    def __init__(self, in_ch: int, channels: Sequence[int], latent_ch: int, n_res: Sequence[int], groups: int,
                 eps: float) -> None:
        super().__init__()
        blocks: List[nn.Module] = [ConvOnly(in_ch, channels[0])]
        ch = channels[0]
        for i, out_ch in enumerate(channels):
            for _ in range(n_res[i]):
                blocks.append(ResBlock(ch, out_ch, groups, eps))
                ch = out_ch
            if i != len(channels) - 1:
                blocks.append(Downsample(ch))
        blocks.append(group_norm(ch, groups, eps))
        blocks.append(ConvOnly(ch, latent_ch))
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return x


class Decoder(nn.Module):
    def __init__(self, latent_ch: int, channels: Sequence[int], out_ch: int, n_res: Sequence[int], groups: int,
                 eps: float) -> None:
        super().__init__()
        rev = list(reversed(channels))
        rev_res = list(reversed(n_res))
        blocks: List[nn.Module] = [ConvOnly(latent_ch, rev[0])]
        ch = rev[0]
        for i, level_ch in enumerate(rev):
            for _ in range(rev_res[i]):
                blocks.append(ResBlock(ch, level_ch, groups, eps))
                ch = level_ch
            if i != len(rev) - 1:
                blocks.append(Upsample(ch))
        blocks.append(group_norm(ch, groups, eps))
        blocks.append(ConvOnly(ch, out_ch))
        self.blocks = nn.ModuleList(blocks)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            z = block(z)
        return z


class AutoencoderKL(nn.Module):
    def __init__(self, spatial_dims: int = 2, in_channels: int = 1, out_channels: int = 1,
                 num_res_blocks: Union[int, Sequence[int]] = 2, num_channels: Sequence[int] = (64, 128, 128, 128),
                 attention_levels: Sequence[bool] = (False, False, False, False), latent_channels: int = 3,
                 norm_num_groups: int = 32, norm_eps: float = 1e-6, with_encoder_nonlocal_attn: bool = False,
                 with_decoder_nonlocal_attn: bool = False, use_flash_attention: bool = False,
                 use_checkpointing: bool = False, use_convtranspose: bool = False) -> None:
        super().__init__()
        if spatial_dims != 2:
            raise NotImplementedError("only spatial_dims=2 is supported")
        if any(attention_levels) or with_encoder_nonlocal_attn or with_decoder_nonlocal_attn:
            raise NotImplementedError("autoencoder attention blocks are not supported (the CXR model has none)")
        if use_convtranspose:
            raise NotImplementedError("use_convtranspose is not supported")
        if len(attention_levels) != len(num_channels):
            raise ValueError("attention_levels and num_channels differ in length")
        if any(c % norm_num_groups for c in num_channels):
            raise ValueError("every num_channels entry must be a multiple of norm_num_groups")
        n_res = [int(num_res_blocks)] * len(num_channels) if isinstance(num_res_blocks, int) else list(num_res_blocks)
        self.config: Dict[str, Any] = {
            "spatial_dims": 2, "in_channels": in_channels, "out_channels": out_channels,
            "latent_channels": latent_channels, "num_channels": list(num_channels),
            "num_res_blocks": num_res_blocks, "norm_num_groups": norm_num_groups, "norm_eps": norm_eps,
            "attention_levels": [bool(a) for a in attention_levels],
            "with_encoder_nonlocal_attn": False, "with_decoder_nonlocal_attn": False,
        }
        self.latent_channels = latent_channels
        self.downsample_factor = 2 ** (len(num_channels) - 1)
        self.encoder = Encoder(in_channels, num_channels, latent_channels, n_res, norm_num_groups, norm_eps)
        self.decoder = Decoder(latent_channels, num_channels, out_channels, n_res, norm_num_groups, norm_eps)
        self.quant_conv_mu = ConvOnly(latent_channels, latent_channels, 1, 1, 0)
        self.quant_conv_log_sigma = ConvOnly(latent_channels, latent_channels, 1, 1, 0)
        self.post_quant_conv = ConvOnly(latent_channels, latent_channels, 1, 1, 0)

    def encode(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Image [B, C, H, W] -> (z_mu, z_sigma), each [B, latent, H/f, W/f] (unscaled)."""
        h = self.encoder(x)
        z_mu = self.quant_conv_mu(h)
        log_var = torch.clamp(self.quant_conv_log_sigma(h), -30.0, 20.0)
        return z_mu, torch.exp(log_var / 2)

    def encode_mean(self, x: torch.Tensor) -> torch.Tensor:
        return self.quant_conv_mu(self.encoder(x))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.post_quant_conv(z))

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode_mean(x))

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        z_mu, z_sigma = self.encode(x)
        z = z_mu + torch.randn_like(z_sigma) * z_sigma
        return self.decode(z), z_mu, z_sigma


def build_autoencoder(config: Mapping[str, Any]) -> AutoencoderKL:
    return AutoencoderKL(**dict(config))
