"""The demo's recipe (every number of the demo training run, method.md 1 and models/demo/MODEL_CARD.md), the run
folder, and the small helpers the stages of ``train.py`` share (atomic saves, model construction, image tensors,
the sample grid)."""
from __future__ import annotations

import dataclasses
import json
import math
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch

from sightline_ldm.autoencoder import AutoencoderKL
from sightline_ldm.clip_text import CLIPTextConfig, CLIPTextModel
from sightline_ldm.unet import DiffusionModelUNet

PHASE2_FROM = 3923  # the U-Net step of the demo run's checkpoint when the second phase was introduced


# ----------------------------------------------------------------------------------------------- recipe
@dataclasses.dataclass
class Recipe:
    cases: int = 4000
    val_cases: int = 64           # the last cases: held out for the attention check
    world_seed: int = 0
    preset: str = "tiny"
    image_size: int = 128
    seed: int = 1234
    vocab_size: int = 1024
    # autoencoder: x8 like the paper's (128 px -> 3 x 16 x 16)
    ae_channels: Sequence[int] = (32, 32, 64, 64)
    ae_res_blocks: int = 1
    ae_groups: int = 16
    ae_steps: int = 800
    ae_crop: int = 64             # train on random crops (fully convolutional; 4x cheaper than 128 px)
    ae_batch: int = 16
    ae_lr: float = 5e-4
    ae_kl: float = 1e-6
    ae_edge: float = 0.5
    # U-Net: 2 levels, attention at both -> 11 cross-attention layers with the paper's module roles
    unet_channels: Sequence[int] = (32, 64)
    unet_attention: Sequence[bool] = (True, True)
    unet_res_blocks: int = 2
    unet_groups: int = 16
    # text encoder (CLIP-structured)
    text_hidden: int = 128
    text_layers: int = 2
    text_heads: int = 4
    text_mlp: int = 512
    unet_steps: int = 100000
    unet_batch: int = 16
    unet_lr: float = 3e-4
    unet_warmup: int = 200
    p_empty: float = 0.1
    p_positive: float = 0.6
    # [our choice] second phase from this U-Net step on (the first sitting ran 3,700 steps without it, the second
    # sitting's checkpoint added PHASE2_FROM - 3700 more): positives in more prompts, and the v-MSE weighted up
    # inside the finding boxes so that drawing the prompted finding where it is pays off in the loss
    phase2_step: int = PHASE2_FROM
    phase2_p_positive: float = 0.85
    phase2_finding_weight: float = 4.0
    sample_minutes: float = 10.0
    checkpoint_minutes: float = 5.0
    sample_steps: int = 50
    guidance: float = 3.0
    attn_check_cases: int = 32

    def ae_config(self) -> Dict[str, Any]:
        n = len(self.ae_channels)
        return {"spatial_dims": 2, "in_channels": 1, "out_channels": 1, "latent_channels": 3,
                "num_channels": list(self.ae_channels), "num_res_blocks": self.ae_res_blocks,
                "norm_num_groups": self.ae_groups, "norm_eps": 1e-6, "attention_levels": [False] * n,
                "with_encoder_nonlocal_attn": False, "with_decoder_nonlocal_attn": False}

    def unet_config(self) -> Dict[str, Any]:
        return {"spatial_dims": 2, "in_channels": 3, "out_channels": 3, "num_channels": list(self.unet_channels),
                "num_res_blocks": self.unet_res_blocks, "attention_levels": list(self.unet_attention),
                "norm_num_groups": self.unet_groups, "norm_eps": 1e-6, "resblock_updown": False,
                # one head per attention layer, as in the MONAI CXR model
                "num_head_channels": [c if a else 0 for c, a in zip(self.unet_channels, self.unet_attention)],
                "with_conditioning": True, "transformer_num_layers": 1, "cross_attention_dim": self.text_hidden}

    def text_config(self) -> Dict[str, Any]:
        return {"vocab_size": self.vocab_size, "hidden_size": self.text_hidden, "intermediate_size": self.text_mlp,
                "num_hidden_layers": self.text_layers, "num_attention_heads": self.text_heads,
                "max_position_embeddings": 77, "hidden_act": "gelu", "layer_norm_eps": 1e-5}


SMOKE = dict(phase2_step=2, ae_crop=0, cases=20, val_cases=4, ae_steps=3, ae_batch=4, unet_steps=3, unet_batch=4, vocab_size=600,
             ae_channels=(16, 16, 16, 16), unet_channels=(16, 32), text_hidden=32, text_mlp=64, text_heads=2,
             sample_steps=4, attn_check_cases=2, unet_warmup=1)


# ----------------------------------------------------------------------------------------------- helpers
class Run:
    def __init__(self, run_dir: Path, device: torch.device, quiet: bool = False) -> None:
        self.dir, self.device, self.quiet = run_dir, device, quiet
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "samples").mkdir(exist_ok=True)
        self.log_path = run_dir / "log.jsonl"

    def log(self, msg: str, **fields: Any) -> None:
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        if not self.quiet:
            print(f"[{now}] {msg}", flush=True)
        with open(self.log_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(dict(time=now, msg=msg, **fields)) + "\n")


def save_atomic(obj: Any, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def build_models(r: Recipe):
    torch.manual_seed(r.seed)
    ae = AutoencoderKL(**r.ae_config())
    unet = DiffusionModelUNet(**r.unet_config()).zero_init_like_monai_()
    text = CLIPTextModel(CLIPTextConfig.from_dict(r.text_config()))
    with torch.no_grad():
        text.token_embedding.weight.normal_(0, 0.02)
        text.text_model.embeddings.position_embedding.weight.normal_(0, 0.01)
    return ae, unet, text


def images_tensor(imgs_u8: np.ndarray, idx: Sequence[int], device) -> torch.Tensor:
    return torch.from_numpy(imgs_u8[np.asarray(idx)].astype(np.float32) / 255.0)[:, None].to(device)


def edge_l1(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    dx = lambda t: t[..., :, 1:] - t[..., :, :-1]
    dy = lambda t: t[..., 1:, :] - t[..., :-1, :]
    return (dx(a) - dx(b)).abs().mean() + (dy(a) - dy(b)).abs().mean()


def save_grid(tiles: List[np.ndarray], cols: int, path: Path, labels: Optional[List[str]] = None,
              scale: int = 1) -> None:
    from PIL import Image, ImageDraw
    h, w = tiles[0].shape
    pad = 14 if labels else 0
    rows = math.ceil(len(tiles) / cols)
    sheet = Image.new("L", (cols * w * scale, rows * (h * scale + pad)), 0)
    draw = ImageDraw.Draw(sheet)
    for k, t in enumerate(tiles):
        im = Image.fromarray((np.clip(t, 0, 1) * 255).astype(np.uint8))
        if scale != 1:
            im = im.resize((w * scale, h * scale), Image.BILINEAR)
        x, y = (k % cols) * w * scale, (k // cols) * (h * scale + pad)
        sheet.paste(im, (x, y + pad))
        if labels and labels[k]:
            draw.text((x + 2, y + 1), labels[k][: max(4, w * scale // 6)], fill=255)
    sheet.save(path)
