"""CLIP text encoder with Hugging Face ``CLIPTextModel`` state-dict naming.

Architecture (HF ``modeling_clip``): token + learned position embeddings; N pre-LayerNorm transformer layers
``x += out_proj(causal_self_attention(layer_norm1(x)))``, ``x += fc2(act(fc1(layer_norm2(x))))``; final LayerNorm.
Output: ``last_hidden_state`` [B, S, H] after ``final_layer_norm`` (what Stable Diffusion 2.x conditions on).

``forward_embeds`` takes token embeddings directly (position embeddings are added inside), so tuned rows
of the token-embedding table can be substituted (method.md sections 3-4).
"""
from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Dict, Mapping, Optional, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from .safetensors_io import load_file as load_safetensors

PREFIX = "text_model."
IGNORED_KEYS = ("text_model.embeddings.position_ids",)


@dataclasses.dataclass
class CLIPTextConfig:
    vocab_size: int = 49408
    hidden_size: int = 1024
    intermediate_size: int = 4096
    num_hidden_layers: int = 23
    num_attention_heads: int = 16
    max_position_embeddings: int = 77
    hidden_act: str = "gelu"
    layer_norm_eps: float = 1e-5
    bos_token_id: int = 49406
    eos_token_id: int = 49407
    pad_token_id: Optional[int] = None

    @classmethod
    def sd21_base(cls) -> "CLIPTextConfig":
        """Stable Diffusion 2.1-base text encoder (OpenCLIP ViT-H/14 text tower, penultimate layer = 23 layers)."""
        return cls()

    @classmethod
    def from_dict(cls, d: Mapping) -> "CLIPTextConfig":
        if "text_config" in d and isinstance(d["text_config"], Mapping):  # a full CLIPModel config
            d = d["text_config"]
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    @classmethod
    def from_json_file(cls, path: Union[str, os.PathLike]) -> "CLIPTextConfig":
        with open(path, encoding="utf-8") as f:
            return cls.from_dict(json.load(f))

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["model_type"] = "clip_text_model"
        d["architectures"] = ["CLIPTextModel"]
        return d

    @property
    def head_dim(self) -> int:
        if self.hidden_size % self.num_attention_heads:
            raise ValueError("hidden_size must be divisible by num_attention_heads")
        return self.hidden_size // self.num_attention_heads


def activation(name: str):
    if name == "gelu":  # exact (erf) GELU
        return lambda x: F.gelu(x)
    if name == "quick_gelu":
        return lambda x: x * torch.sigmoid(1.702 * x)
    if name in ("gelu_new", "gelu_pytorch_tanh"):
        return lambda x: F.gelu(x, approximate="tanh")
    if name == "relu":
        return F.relu
    raise ValueError(f"unsupported hidden_act {name!r}")


class CLIPAttention(nn.Module):
    def __init__(self, cfg: CLIPTextConfig, **factory):
        super().__init__()
        h = cfg.hidden_size
        self.num_heads = cfg.num_attention_heads
        self.head_dim = cfg.head_dim
        self.scale = self.head_dim ** -0.5
        self.k_proj = nn.Linear(h, h, **factory)
        self.v_proj = nn.Linear(h, h, **factory)
        self.q_proj = nn.Linear(h, h, **factory)
        self.out_proj = nn.Linear(h, h, **factory)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor]) -> torch.Tensor:
        b, s, h = x.shape

        def heads(t):
            return t.view(b, s, self.num_heads, self.head_dim).transpose(1, 2)  # [B, nh, S, hd]

        q = heads(self.q_proj(x) * self.scale)
        k = heads(self.k_proj(x))
        v = heads(self.v_proj(x))
        w = q @ k.transpose(-1, -2)  # [B, nh, S, S]
        if mask is not None:
            w = w + mask
        w = torch.softmax(w, dim=-1)
        o = (w @ v).transpose(1, 2).reshape(b, s, h)
        return self.out_proj(o)


class CLIPMLP(nn.Module):
    def __init__(self, cfg: CLIPTextConfig, **factory):
        super().__init__()
        self.act = activation(cfg.hidden_act)
        self.fc1 = nn.Linear(cfg.hidden_size, cfg.intermediate_size, **factory)
        self.fc2 = nn.Linear(cfg.intermediate_size, cfg.hidden_size, **factory)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class CLIPEncoderLayer(nn.Module):
    def __init__(self, cfg: CLIPTextConfig, **factory):
        super().__init__()
        self.self_attn = CLIPAttention(cfg, **factory)
        self.layer_norm1 = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps, **factory)
        self.layer_norm2 = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps, **factory)
        self.mlp = CLIPMLP(cfg, **factory)

    def forward(self, x, mask):
        x = x + self.self_attn(self.layer_norm1(x), mask)
        x = x + self.mlp(self.layer_norm2(x))
        return x


class CLIPEncoder(nn.Module):
    def __init__(self, cfg: CLIPTextConfig, **factory):
        super().__init__()
        self.layers = nn.ModuleList([CLIPEncoderLayer(cfg, **factory) for _ in range(cfg.num_hidden_layers)])

    def forward(self, x, mask):
        for layer in self.layers:
            x = layer(x, mask)
        return x


class CLIPTextEmbeddings(nn.Module):
    def __init__(self, cfg: CLIPTextConfig, **factory):
        super().__init__()
        self.token_embedding = nn.Embedding(cfg.vocab_size, cfg.hidden_size, **factory)
        self.position_embedding = nn.Embedding(cfg.max_position_embeddings, cfg.hidden_size, **factory)


class CLIPTextTransformer(nn.Module):
    def __init__(self, cfg: CLIPTextConfig, **factory):
        super().__init__()
        self.embeddings = CLIPTextEmbeddings(cfg, **factory)
        self.encoder = CLIPEncoder(cfg, **factory)
        self.final_layer_norm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps, **factory)


class CLIPTextModel(nn.Module):
    """``CLIPTextModel(config)``; ``device='meta'`` builds the module without allocating/initialising weights."""

    def __init__(self, config: Optional[CLIPTextConfig] = None, device=None, dtype=None):
        super().__init__()
        self.config = config or CLIPTextConfig()
        factory = {}
        if device is not None:
            factory["device"] = device
        if dtype is not None:
            factory["dtype"] = dtype
        self.text_model = CLIPTextTransformer(self.config, **factory)

    # -------------------------------------------------------------- pieces
    @property
    def token_embedding(self) -> nn.Embedding:
        return self.text_model.embeddings.token_embedding

    def embed_tokens(self, input_ids: torch.Tensor,
                     overrides: Optional[Mapping[int, torch.Tensor]] = None) -> torch.Tensor:
        """Token embeddings [B, S, H]; rows of token ids in ``overrides`` are replaced by the given vectors."""
        emb = self.token_embedding(input_ids)
        for tok_id, vec in (overrides or {}).items():
            sel = (input_ids == int(tok_id)).unsqueeze(-1)  # [B, S, 1]
            emb = torch.where(sel, vec.to(device=emb.device, dtype=emb.dtype), emb)  # differentiable in vec
        return emb

    @staticmethod
    def causal_mask(seq_len: int, device=None, dtype=torch.float32) -> torch.Tensor:
        """Additive mask [S, S]: 0 on and below the diagonal, the dtype's most negative value above it."""
        m = torch.full((seq_len, seq_len), torch.finfo(dtype).min, device=device, dtype=dtype)
        return torch.triu(m, diagonal=1)

    def forward_embeds(self, inputs_embeds: torch.Tensor) -> torch.Tensor:
        """inputs_embeds [B, S, H] (token embeddings, no positions) -> last_hidden_state [B, S, H]."""
        b, s, h = inputs_embeds.shape
        if s > self.config.max_position_embeddings:
            raise ValueError(f"sequence length {s} > max_position_embeddings {self.config.max_position_embeddings}")
        tm = self.text_model
        x = inputs_embeds + tm.embeddings.position_embedding.weight[:s].unsqueeze(0)
        mask = self.causal_mask(s, device=x.device, dtype=x.dtype)
        x = tm.encoder(x, mask)
        return tm.final_layer_norm(x)

    def forward(self, input_ids: torch.Tensor,
                token_embedding_overrides: Optional[Mapping[int, torch.Tensor]] = None) -> torch.Tensor:
        """input_ids [B, S] (or [S]) -> last_hidden_state [B, S, H]."""
        if input_ids.dim() == 1:
            input_ids = input_ids.unsqueeze(0)
        return self.forward_embeds(self.embed_tokens(input_ids, token_embedding_overrides))

    # -------------------------------------------------------------- loading
    def load_hf_state_dict(self, sd: Mapping[str, torch.Tensor]) -> None:
        """Strict load of an HF-named state dict ('text_model.' prefix optional; position_ids ignored)."""
        fixed: Dict[str, torch.Tensor] = {}
        for k, v in sd.items():
            key = k if k.startswith(PREFIX) else PREFIX + k
            if key in IGNORED_KEYS:
                continue
            fixed[key] = v
        own = self.state_dict()
        missing = sorted(set(own) - set(fixed))
        unexpected = sorted(set(fixed) - set(own))
        bad = [k for k in own if k in fixed and tuple(fixed[k].shape) != tuple(own[k].shape)]
        if missing or unexpected or bad:
            raise ValueError(f"CLIP state dict mismatch: missing {missing[:5]}{'...' if len(missing) > 5 else ''}, "
                             f"unexpected {unexpected[:5]}{'...' if len(unexpected) > 5 else ''}, "
                             f"wrong shape {[(k, tuple(fixed[k].shape), tuple(own[k].shape)) for k in bad[:5]]}")
        if any(p.is_meta for p in self.parameters()):
            self.to_empty(device="cpu")
        self.load_state_dict(fixed, strict=True)

    @classmethod
    def from_pretrained_dir(cls, directory: Union[str, os.PathLike], dtype=torch.float32) -> "CLIPTextModel":
        """HF directory: config.json + model.safetensors or pytorch_model.bin."""
        d = Path(directory)
        cfg = CLIPTextConfig.from_json_file(d / "config.json")
        if (d / "model.safetensors").exists():
            sd = load_safetensors(d / "model.safetensors")
        elif (d / "pytorch_model.bin").exists():
            sd = torch.load(d / "pytorch_model.bin", map_location="cpu")
        else:
            raise FileNotFoundError(f"{d}: neither model.safetensors nor pytorch_model.bin")
        model = cls(cfg, device="meta")
        model.load_hf_state_dict(sd)
        model = model.to(dtype)
        model.eval()
        return model

    def save_pretrained_dir(self, directory: Union[str, os.PathLike], safetensors: bool = True) -> None:
        from .safetensors_io import save_file
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        with open(d / "config.json", "w", encoding="utf-8") as f:
            json.dump(self.config.to_dict(), f, indent=1)
        sd = {k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()}
        if safetensors:
            save_file(sd, d / "model.safetensors", metadata={"format": "pt"})
        else:
            torch.save(sd, d / "pytorch_model.bin")


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
