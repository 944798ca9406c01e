"""DiffusionModelUNet with the module structure of MONAI GenerativeModels (loads `diffusion_model.pth`).

Supported configuration space: 2-D, `with_conditioning=True` (cross-attention at the attention levels, plain
residual blocks elsewhere), `resblock_updown=False`, no class embedding -- which covers the public MONAI
chest X-ray LDM. Other MONAI options raise NotImplementedError instead of silently differing.

Forward:
    unet(x, t, context)                                   -> v  [B, C, h, w]
    unet(x, t, context, capture_attention={3, 4, 6, 7})    -> (v, {layer: probs})
    unet(x, t, context, capture_attention={3, 4, 6, 7}, stop_after=True)
                                                          -> (None, {layer: probs})  (truncated pass)
`probs` has shape [B, heads, H*W, S] (see attention.py; heads = 1 for the MONAI CXR model), softmax over
the S context tokens, row-major spatial positions on that layer's grid. Captured tensors keep their
autograd graph. `stop_after=True` ends the pass right after the highest requested layer; an int ends it
after that layer index.

Gradient checkpointing (opt-in, for prompt tuning on a GPU): with `unet.grad_checkpointing = True` and grad
enabled, every residual block, spatial transformer, resampler and the output head runs under
`torch.utils.checkpoint` (non-reentrant), so backward recomputes their activations instead of keeping them. The
transformer that holds the `stop_after` layer runs plainly (the stop is an exception, which a recomputation would
raise again); captured probabilities of checkpointed transformers come back as outputs of the checkpointed
function, so they keep their graph. Off (the default), `_run` is the plain pass, bit for bit.
"""
from __future__ import annotations

from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.checkpoint import checkpoint

from .attention import AttentionCapture, CrossAttention, SpatialTransformer, StopForward
from .layers import ConvOnly, group_norm, timestep_embedding

# The public MONAI chest X-ray LDM denoiser (cxr_image_synthesis_latent_diffusion_model).
CXR_UNET_CONFIG: Dict[str, Any] = {
    "spatial_dims": 2,
    "in_channels": 3,
    "out_channels": 3,
    "num_channels": [256, 512, 768],
    "num_res_blocks": 2,
    "attention_levels": [False, True, True],
    "norm_num_groups": 32,
    "norm_eps": 1e-6,
    "resblock_updown": False,
    "num_head_channels": [0, 512, 768],
    "with_conditioning": True,
    "transformer_num_layers": 1,
    "cross_attention_dim": 1024,
}


class ResnetBlock(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, temb_ch: int, groups: int, eps: float) -> None:
        super().__init__()
        self.norm1 = group_norm(in_ch, groups, eps)
        self.conv1 = ConvOnly(in_ch, out_ch)
        self.time_emb_proj = nn.Linear(temb_ch, out_ch)
        self.norm2 = group_norm(out_ch, groups, eps)
        self.conv2 = ConvOnly(out_ch, out_ch)
        self.skip_connection = nn.Identity() if in_ch == out_ch else ConvOnly(in_ch, out_ch, 1, 1, 0)

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time_emb_proj(F.silu(emb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return self.skip_connection(x) + h


class Downsample(nn.Module):
    def __init__(self, ch: int) -> None:
        super().__init__()
        self.op = ConvOnly(ch, ch, kernel_size=3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class Upsample(nn.Module):
    def __init__(self, ch: int) -> None:
        super().__init__()
        self.conv = ConvOnly(ch, ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class DownBlock(nn.Module):
    """Residual blocks (+ cross-attention after each when `attn` is set) and an optional downsampler."""

    def __init__(self, in_ch: int, out_ch: int, temb_ch: int, n_res: int, groups: int, eps: float,
                 add_downsample: bool, attn: Optional[Dict[str, Any]]) -> None:
        super().__init__()
        if attn is not None:  # MONAI registers `attentions` before `resnets` in the cross-attention blocks
            self.attentions = nn.ModuleList([SpatialTransformer(out_ch, **attn) for _ in range(n_res)])
        else:
            self.attentions = None
        self.resnets = nn.ModuleList(
            [ResnetBlock(in_ch if i == 0 else out_ch, out_ch, temb_ch, groups, eps) for i in range(n_res)])
        self.downsampler = Downsample(out_ch) if add_downsample else None

    def forward(self, h: torch.Tensor, emb: torch.Tensor, context: Optional[torch.Tensor],
                capture: Optional[AttentionCapture]) -> Tuple[torch.Tensor, List[torch.Tensor]]:
        outs: List[torch.Tensor] = []
        for i, resnet in enumerate(self.resnets):
            h = resnet(h, emb)
            if self.attentions is not None:
                h = self.attentions[i](h, context=context, capture=capture)
            outs.append(h)
        if self.downsampler is not None:
            h = self.downsampler(h)
            outs.append(h)
        return h, outs


class CrossAttnMidBlock(nn.Module):
    def __init__(self, ch: int, temb_ch: int, groups: int, eps: float, attn: Dict[str, Any]) -> None:
        super().__init__()
        self.resnet_1 = ResnetBlock(ch, ch, temb_ch, groups, eps)
        self.attention = SpatialTransformer(ch, **attn)
        self.resnet_2 = ResnetBlock(ch, ch, temb_ch, groups, eps)

    def forward(self, h: torch.Tensor, emb: torch.Tensor, context: Optional[torch.Tensor],
                capture: Optional[AttentionCapture]) -> torch.Tensor:
        h = self.resnet_1(h, emb)
        h = self.attention(h, context=context, capture=capture)
        return self.resnet_2(h, emb)


class UpBlock(nn.Module):
    def __init__(self, in_ch: int, prev_out_ch: int, out_ch: int, temb_ch: int, n_res: int, groups: int,
                 eps: float, add_upsample: bool, attn: Optional[Dict[str, Any]]) -> None:
        super().__init__()
        if attn is not None:
            self.attentions = nn.ModuleList([SpatialTransformer(out_ch, **attn) for _ in range(n_res)])
        else:
            self.attentions = None
        resnets = []
        for i in range(n_res):
            skip_ch = in_ch if i == n_res - 1 else out_ch
            res_in = prev_out_ch if i == 0 else out_ch
            resnets.append(ResnetBlock(res_in + skip_ch, out_ch, temb_ch, groups, eps))
        self.resnets = nn.ModuleList(resnets)
        self.upsampler = Upsample(out_ch) if add_upsample else None

    def forward(self, h: torch.Tensor, skips: List[torch.Tensor], emb: torch.Tensor,
                context: Optional[torch.Tensor], capture: Optional[AttentionCapture]) -> torch.Tensor:
        for i, resnet in enumerate(self.resnets):
            h = resnet(torch.cat([h, skips.pop()], dim=1), emb)
            if self.attentions is not None:
                h = self.attentions[i](h, context=context, capture=capture)
        if self.upsampler is not None:
            h = self.upsampler(h)
        return h


def _as_list(v: Union[int, Sequence[int]], n: int) -> List[int]:
    return [int(v)] * n if isinstance(v, int) else [int(x) for x in v]


class DiffusionModelUNet(nn.Module):
    grad_checkpointing: bool = False  # see the module docstring; a plain attribute, not in the state dict

    def __init__(self, spatial_dims: int = 2, in_channels: int = 3, out_channels: int = 3,
                 num_channels: Sequence[int] = (256, 512, 768), num_res_blocks: Union[int, Sequence[int]] = 2,
                 attention_levels: Sequence[bool] = (False, True, True), norm_num_groups: int = 32,
                 norm_eps: float = 1e-6, resblock_updown: bool = False,
                 num_head_channels: Union[int, Sequence[int]] = 8, with_conditioning: bool = True,
                 transformer_num_layers: int = 1, cross_attention_dim: Optional[int] = 1024,
                 num_class_embeds: Optional[int] = None, upcast_attention: bool = False) -> None:
        super().__init__()
        if spatial_dims != 2:
            raise NotImplementedError("only spatial_dims=2 is supported")
        if resblock_updown:
            raise NotImplementedError("resblock_updown=True is not supported")
        if num_class_embeds is not None:
            raise NotImplementedError("class embeddings are not supported")
        if not with_conditioning or cross_attention_dim is None:
            raise NotImplementedError("only the cross-attention (with_conditioning=True) U-Net is supported")
        n_levels = len(num_channels)
        if len(attention_levels) != n_levels:
            raise ValueError("attention_levels and num_channels differ in length")
        if any(c % norm_num_groups for c in num_channels):
            raise ValueError("every num_channels entry must be a multiple of norm_num_groups")
        head_ch = _as_list(num_head_channels, n_levels)
        n_res = _as_list(num_res_blocks, n_levels)
        self.config: Dict[str, Any] = {
            "spatial_dims": 2, "in_channels": in_channels, "out_channels": out_channels,
            "num_channels": list(num_channels), "num_res_blocks": num_res_blocks,
            "attention_levels": [bool(a) for a in attention_levels], "norm_num_groups": norm_num_groups,
            "norm_eps": norm_eps, "resblock_updown": False, "num_head_channels": num_head_channels,
            "with_conditioning": True, "transformer_num_layers": transformer_num_layers,
            "cross_attention_dim": cross_attention_dim,
        }
        self.block_out_channels = list(num_channels)
        groups, eps = norm_num_groups, norm_eps

        def attn_cfg(level: int) -> Optional[Dict[str, Any]]:
            if not attention_levels[level]:
                return None
            ch = num_channels[level]
            return {"num_heads": ch // head_ch[level], "head_dim": head_ch[level],
                    "num_layers": transformer_num_layers, "norm_groups": groups, "norm_eps": eps,
                    "cross_attention_dim": cross_attention_dim}

        self.conv_in = ConvOnly(in_channels, num_channels[0])
        temb = num_channels[0] * 4
        self.time_embed = nn.Sequential(nn.Linear(num_channels[0], temb), nn.SiLU(), nn.Linear(temb, temb))

        self.down_blocks = nn.ModuleList()
        out_ch = num_channels[0]
        for i in range(n_levels):
            in_ch, out_ch = out_ch, num_channels[i]
            self.down_blocks.append(DownBlock(in_ch, out_ch, temb, n_res[i], groups, eps,
                                              add_downsample=i != n_levels - 1, attn=attn_cfg(i)))
        mid_attn = attn_cfg(n_levels - 1)
        if mid_attn is None:  # MONAI builds a cross-attention mid block whenever conditioning is on
            mid_attn = {"num_heads": num_channels[-1] // head_ch[-1], "head_dim": head_ch[-1],
                        "num_layers": transformer_num_layers, "norm_groups": groups, "norm_eps": eps,
                        "cross_attention_dim": cross_attention_dim}
        self.middle_block = CrossAttnMidBlock(num_channels[-1], temb, groups, eps, mid_attn)

        self.up_blocks = nn.ModuleList()
        rev = list(reversed(num_channels))
        rev_res = list(reversed(n_res))
        out_ch = rev[0]
        for i in range(n_levels):
            prev_out, out_ch = out_ch, rev[i]
            in_ch = rev[min(i + 1, n_levels - 1)]
            level = n_levels - 1 - i
            self.up_blocks.append(UpBlock(in_ch, prev_out, out_ch, temb, rev_res[i] + 1, groups, eps,
                                          add_upsample=i != n_levels - 1, attn=attn_cfg(level)))

        self.out = nn.Sequential(group_norm(num_channels[0], groups, eps), nn.SiLU(),
                                 ConvOnly(num_channels[0], out_channels))

        # Index the cross-attention layers in module order (= execution order).
        self.cross_attention_names: List[str] = []
        for name, module in self.named_modules():
            if isinstance(module, CrossAttention) and name.endswith(".attn2"):
                module.layer_index = len(self.cross_attention_names)
                self.cross_attention_names.append(name)

    # ------------------------------------------------------------------ helpers
    def zero_init_like_monai_(self) -> "DiffusionModelUNet":
        """Zero the layers MONAI zero-initialises (each ResnetBlock's conv2, each SpatialTransformer's proj_out,
        the output conv), for training a new model from scratch the way MONAI would; returns self."""
        with torch.no_grad():
            for m in self.modules():
                targets = []
                if isinstance(m, ResnetBlock):
                    targets.append(m.conv2)
                elif isinstance(m, SpatialTransformer):
                    targets.append(m.proj_out)
                for t in targets:
                    for p in t.parameters():
                        p.zero_()
            for p in self.out[2].parameters():
                p.zero_()
        return self

    @property
    def num_cross_attention_layers(self) -> int:
        return len(self.cross_attention_names)

    def cross_attention_grid(self, layer: int, latent_hw: Tuple[int, int] = (64, 64)) -> Tuple[int, int]:
        """(h, w) of a cross-attention layer's spatial grid for a given latent size."""
        name = self.cross_attention_names[layer]
        parts = name.split(".")
        n_levels = len(self.block_out_channels)
        if parts[0] == "down_blocks":
            level = int(parts[1])
        elif parts[0] == "middle_block":
            level = n_levels - 1
        else:
            level = n_levels - 1 - int(parts[1])
        f = 2 ** level
        return latent_hw[0] // f, latent_hw[1] // f

    def cross_attention_heads(self, layer: int) -> int:
        module = self.get_submodule(self.cross_attention_names[layer])
        assert isinstance(module, CrossAttention)
        return module.num_heads

    # ------------------------------------------------------------------ forward
    def forward(self, x: torch.Tensor, timesteps: torch.Tensor, context: Optional[torch.Tensor] = None,
                capture_attention: Optional[Iterable[int]] = None,
                stop_after: Union[None, bool, int] = None) -> Any:
        capture: Optional[AttentionCapture] = None
        if capture_attention is not None or (stop_after is not None and stop_after is not False):
            layers = sorted({int(i) for i in (capture_attention or ())})
            for i in layers:
                if not 0 <= i < self.num_cross_attention_layers:
                    raise ValueError(f"cross-attention layer {i} out of range 0..{self.num_cross_attention_layers - 1}")
            stop: Optional[int]
            if stop_after is True:
                if not layers:
                    raise ValueError("stop_after=True needs capture_attention")
                stop = layers[-1]
            elif stop_after is None or stop_after is False:
                stop = None
            else:
                stop = int(stop_after)
            capture = AttentionCapture(layers, stop)
        if context is None:
            raise ValueError("this U-Net is text-conditioned: pass context [B, S, cross_attention_dim]")
        if not torch.is_tensor(timesteps):
            timesteps = torch.tensor([timesteps], device=x.device)
        if timesteps.dim() == 0:
            timesteps = timesteps.reshape(1).expand(x.shape[0])

        try:
            out: Optional[torch.Tensor] = self._run(x, timesteps, context, capture)
        except StopForward:
            out = None
        if capture is None:
            return out
        return out, capture.probs

    def _run(self, x: torch.Tensor, timesteps: torch.Tensor, context: torch.Tensor,
             capture: Optional[AttentionCapture]) -> torch.Tensor:
        if self.grad_checkpointing and torch.is_grad_enabled():
            return self._run_checkpointed(x, timesteps, context, capture)
        emb = self.time_embed(timestep_embedding(timesteps, self.block_out_channels[0]).to(x.dtype))
        h = self.conv_in(x)
        skips: List[torch.Tensor] = [h]
        for block in self.down_blocks:
            h, outs = block(h, emb, context, capture)
            skips.extend(outs)
        h = self.middle_block(h, emb, context, capture)
        for block in self.up_blocks:
            h = block(h, skips, emb, context, capture)
        return self.out(h)

    # ------------------------------------------------------------------ checkpointed pass
    @staticmethod
    def _ckpt(fn: Any, *args: torch.Tensor) -> Any:
        """fn(*args), its activations recomputed in backward; plain when nothing upstream needs a gradient."""
        if not any(a.requires_grad for a in args):
            return fn(*args)
        return checkpoint(fn, *args, use_reentrant=False)

    def _attn_unit(self, attn: SpatialTransformer, h: torch.Tensor, context: torch.Tensor,
                   capture: Optional[AttentionCapture]) -> torch.Tensor:
        idx = [blk.attn2.layer_index for blk in attn.transformer_blocks]
        if capture is None:
            return self._ckpt(lambda a, c: attn(a, context=c), h, context)
        if capture.stop_after is not None and any(i is not None and i >= capture.stop_after for i in idx):
            return attn(h, context=context, capture=capture)  # raises StopForward: not recomputable
        want = [i for i in idx if i in capture.layers]

        def fn(a: torch.Tensor, c: torch.Tensor) -> Tuple[torch.Tensor, ...]:
            local = AttentionCapture(want)  # a fresh recorder: a recomputation must not touch `capture`
            out = attn(a, context=c, capture=local)
            return (out, *[local.probs[i] for i in want])

        res = self._ckpt(fn, h, context)
        for i, p in zip(want, res[1:]):
            capture.probs[i] = p
        return res[0]

    def _run_checkpointed(self, x: torch.Tensor, timesteps: torch.Tensor, context: torch.Tensor,
                          capture: Optional[AttentionCapture]) -> torch.Tensor:
        """`_run` unit by unit (the same operations in the same order), each unit checkpointed."""
        emb = self.time_embed(timestep_embedding(timesteps, self.block_out_channels[0]).to(x.dtype))
        h = self.conv_in(x)
        skips: List[torch.Tensor] = [h]
        for block in self.down_blocks:
            for i, resnet in enumerate(block.resnets):
                h = self._ckpt(resnet, h, emb)
                if block.attentions is not None:
                    h = self._attn_unit(block.attentions[i], h, context, capture)
                skips.append(h)
            if block.downsampler is not None:
                h = self._ckpt(block.downsampler, h)
                skips.append(h)
        mid = self.middle_block
        h = self._ckpt(mid.resnet_1, h, emb)
        h = self._attn_unit(mid.attention, h, context, capture)
        h = self._ckpt(mid.resnet_2, h, emb)
        for block in self.up_blocks:
            for i, resnet in enumerate(block.resnets):
                h = self._ckpt(lambda a, s, e, r=resnet: r(torch.cat([a, s], dim=1), e), h, skips.pop(), emb)
                if block.attentions is not None:
                    h = self._attn_unit(block.attentions[i], h, context, capture)
            if block.upsampler is not None:
                h = self._ckpt(block.upsampler, h)
        return self._ckpt(self.out, h)

    def attention_maps(self, x: torch.Tensor, timesteps: torch.Tensor, context: torch.Tensor,
                       layers: Iterable[int]) -> Dict[int, torch.Tensor]:
        """Truncated forward: the probabilities of `layers` only, stopping after the highest of them."""
        _, probs = self.forward(x, timesteps, context, capture_attention=layers, stop_after=True)
        return probs


def build_unet(config: Mapping[str, Any]) -> DiffusionModelUNet:
    return DiffusionModelUNet(**dict(config))
