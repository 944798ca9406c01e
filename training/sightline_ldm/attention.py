"""Transformer pieces of the U-Net (MONAI GenerativeModels layout) with opt-in attention capture.

Parameter names follow MONAI's `SpatialTransformer` / `BasicTransformerBlock` / `CrossAttention`:
`norm`, `proj_in.conv`, `transformer_blocks.<i>.{attn1,ff,attn2,norm1,norm2,norm3}`, `proj_out.conv`,
`attn*.to_q/to_k/to_v` (no bias), `attn*.to_out.0` (with bias), `ff.linear1` (GEGLU, 2 x mlp_dim outputs)
and `ff.linear2`.

Attention capture
-----------------
Every cross-attention (`attn2`) module of a U-Net gets an index in module order (`layer_index`, 0..10 for
the MONAI chest X-ray configuration). A forward pass may carry an `AttentionCapture`; each `attn2` whose
index the capture asks for stores its softmax probabilities

    probs[b, h, n, s] = softmax_s(Q K^T / sqrt(head_dim)),   shape [B, heads, H*W, S]

(`n` = row-major position y * W + x on that layer's grid, `s` = context token, S = 77 for CLIP). The
stored tensor is the very tensor the layer multiplies with V, so it carries gradients. When the capture
has a `stop_after` index, the forward pass ends (by an internal exception that the U-Net catches) as soon
as that layer's probabilities exist: nothing after it runs, which is what the truncated "attention-only"
U-Net needs.
"""
from __future__ import annotations

from typing import Dict, Iterable, Optional

import torch
from torch import nn
from torch.nn import functional as F

from .layers import ConvOnly, group_norm


class StopForward(Exception):
    """Raised inside a forward pass once the last requested attention layer has been recorded."""


class AttentionCapture:
    """Recorder passed down one forward pass.

    layers: cross-attention indices to record. stop_after: index after which the pass ends (None: run to
    the end). `probs` maps layer index -> tensor [B, heads, H*W, S] once the pass has run.
    """

    def __init__(self, layers: Optional[Iterable[int]] = None, stop_after: Optional[int] = None) -> None:
        self.layers = frozenset(int(i) for i in (layers or ()))
        self.stop_after = None if stop_after is None else int(stop_after)
        self.probs: Dict[int, torch.Tensor] = {}

    def record(self, index: int, probs: torch.Tensor) -> None:
        if index in self.layers:
            self.probs[index] = probs
        if self.stop_after is not None and index >= self.stop_after:
            raise StopForward()


class CrossAttention(nn.Module):
    """Multi-head (cross-)attention; `context=None` makes it self-attention."""

    def __init__(self, query_dim: int, cross_attention_dim: Optional[int] = None, num_heads: int = 8,
                 head_dim: int = 64) -> None:
        super().__init__()
        inner = num_heads * head_dim
        ctx_dim = query_dim if cross_attention_dim is None else cross_attention_dim
        self.num_heads = num_heads
        self.head_dim = head_dim
        self.scale = head_dim ** -0.5
        self.to_q = nn.Linear(query_dim, inner, bias=False)
        self.to_k = nn.Linear(ctx_dim, inner, bias=False)
        self.to_v = nn.Linear(ctx_dim, inner, bias=False)
        self.to_out = nn.Sequential(nn.Linear(inner, query_dim), nn.Dropout(0.0))
        # Set by the U-Net for its cross-attention layers (module order); None = never captured.
        self.layer_index: Optional[int] = None

    def _split(self, t: torch.Tensor) -> torch.Tensor:
        b, n, _ = t.shape
        return t.reshape(b, n, self.num_heads, self.head_dim).permute(0, 2, 1, 3)  # [B, heads, N, d]

    def forward(self, x: torch.Tensor, context: Optional[torch.Tensor] = None,
                capture: Optional[AttentionCapture] = None) -> torch.Tensor:
        ctx = x if context is None else context
        q = self._split(self.to_q(x))
        k = self._split(self.to_k(ctx))
        v = self._split(self.to_v(ctx))
        scores = torch.matmul(q, k.transpose(-1, -2)) * self.scale
        probs = scores.softmax(dim=-1)  # [B, heads, N, S]
        if capture is not None and self.layer_index is not None:
            capture.record(self.layer_index, probs)
        out = torch.matmul(probs, v)  # [B, heads, N, d]
        b, _, n, _ = out.shape
        out = out.permute(0, 2, 1, 3).reshape(b, n, self.num_heads * self.head_dim)
        return self.to_out(out)


class GEGLUFeedForward(nn.Module):
    """MONAI `MLPBlock(act="GEGLU")`: linear1 -> (a, gate) halves -> a * gelu(gate) -> linear2."""

    def __init__(self, dim: int, mlp_dim: int) -> None:
        super().__init__()
        self.linear1 = nn.Linear(dim, mlp_dim * 2)
        self.linear2 = nn.Linear(mlp_dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, gate = self.linear1(x).chunk(2, dim=-1)
        return self.linear2(a * F.gelu(gate))


class BasicTransformerBlock(nn.Module):
    def __init__(self, dim: int, num_heads: int, head_dim: int, cross_attention_dim: Optional[int]) -> None:
        super().__init__()
        # Registration order matters for state_dict order: attn1, ff, attn2, norm1, norm2, norm3.
        self.attn1 = CrossAttention(dim, None, num_heads, head_dim)
        self.ff = GEGLUFeedForward(dim, dim * 4)
        self.attn2 = CrossAttention(dim, cross_attention_dim, num_heads, head_dim)
        self.norm1 = nn.LayerNorm(dim)
        self.norm2 = nn.LayerNorm(dim)
        self.norm3 = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor, context: Optional[torch.Tensor] = None,
                capture: Optional[AttentionCapture] = None) -> torch.Tensor:
        x = self.attn1(self.norm1(x)) + x
        x = self.attn2(self.norm2(x), context=context, capture=capture) + x
        x = self.ff(self.norm3(x)) + x
        return x


class SpatialTransformer(nn.Module):
    def __init__(self, channels: int, num_heads: int, head_dim: int, num_layers: int, norm_groups: int,
                 norm_eps: float, cross_attention_dim: Optional[int]) -> None:
        super().__init__()
        inner = num_heads * head_dim
        self.norm = group_norm(channels, norm_groups, norm_eps)
        self.proj_in = ConvOnly(channels, inner, kernel_size=1, padding=0)
        self.transformer_blocks = nn.ModuleList(
            [BasicTransformerBlock(inner, num_heads, head_dim, cross_attention_dim) for _ in range(num_layers)])
        self.proj_out = ConvOnly(inner, channels, kernel_size=1, padding=0)

    def forward(self, x: torch.Tensor, context: Optional[torch.Tensor] = None,
                capture: Optional[AttentionCapture] = None) -> torch.Tensor:
        b, _, h, w = x.shape
        residual = x
        x = self.proj_in(self.norm(x))
        inner = x.shape[1]
        x = x.permute(0, 2, 3, 1).reshape(b, h * w, inner)
        for block in self.transformer_blocks:
            x = block(x, context=context, capture=capture)
        x = x.reshape(b, h, w, inner).permute(0, 3, 1, 2)
        return self.proj_out(x) + residual
