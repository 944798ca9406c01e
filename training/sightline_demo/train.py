"""Train the Sightline demo LDM on synthetic phantoms, stage by stage, resuming from the last checkpoint.

    cd training && /usr/bin/python3 -m sightline_demo.train [--run-dir DIR] [--data-dir DIR] [--export ../models/demo]
    cd training && /usr/bin/python3 -m sightline_demo.train --smoke --run-dir /tmp/x --export /tmp/x/bundle

Stages (each skipped when its final checkpoint exists; an interrupted stage resumes from its last checkpoint):
  data       phantoms from sightline_world (cached .npz chunks under --data-dir)
  tokenizer  CLIP-layout byte-level BPE trained on the synthetic reports -> RUN/tokenizer/tokenizer.json
  ae         KL autoencoder (L1 + L2 + edge L1 + small KL); the latent is then re-parametrised exactly so that
             s * z_mu has zero mean / unit variance per channel, s = the bundle's fixed latent scale factor
             (sightline_ldm.schedule.LATENT_SCALE_FACTOR, 0.3)
  latents    z0 = s * z_mu of every training image (cached; the U-Net trains on these)
  unet       U-Net + CLIP-structured text encoder jointly, v-prediction, scaled-linear schedule, 1000 steps;
             every --sample-minutes a sample sheet (DDIM 50 steps) and an attention check are written
  export     RUN/demo_config.json + RUN/weights.pt -> bundle via sightline_ldm.export (text encoder frozen from here)
See training/sightline_demo/README.md.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import random
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from sightline_ldm.autoencoder import AutoencoderKL
from sightline_ldm.clip_text import CLIPTextConfig, CLIPTextModel
from sightline_ldm.layers import count_parameters
from sightline_ldm.schedule import LATENT_SCALE_FACTOR, alphas_cumprod
from sightline_ldm.tokenizer import CLIPTokenizer, train_bpe
from sightline_ldm.unet import DiffusionModelUNet

from . import data as D

PHASE2_FROM = 3923  # the U-Net step of the demo run's checkpoint when the second phase was introduced
SAMPLE_PROMPTS = ["left pleural effusion", "right pleural effusion", "right upper lobe consolidation",
                  "left lower lobe consolidation", "right apical pneumothorax", "cardiomegaly", ""]


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


# ----------------------------------------------------------------------------------------------- stages
def stage_tokenizer(run: Run, r: Recipe, metas) -> CLIPTokenizer:
    path = run.dir / "tokenizer" / "tokenizer.json"
    if path.exists():
        return CLIPTokenizer.from_tokenizer_json(path)
    t0 = time.time()
    tok = train_bpe(D.corpus(metas), vocab_size=r.vocab_size)
    path.parent.mkdir(exist_ok=True)
    tok.save_tokenizer_json(path)
    run.log(f"tokenizer: {len(tok)} tokens in {time.time() - t0:.1f}s", stage="tokenizer", vocab=len(tok))
    return CLIPTokenizer.from_tokenizer_json(path)


def stage_autoencoder(run: Run, r: Recipe, ae: AutoencoderKL, imgs: np.ndarray, train_idx: List[int]) -> None:
    final = run.dir / "autoencoder_final.pt"
    if final.exists():
        ae.load_state_dict(torch.load(final, map_location="cpu")["model"])
        return
    ck = run.dir / "autoencoder.pt"
    dev = run.device
    ae.to(dev).train()
    opt = torch.optim.Adam(ae.parameters(), lr=r.ae_lr)
    step, wall = 0, 0.0
    if ck.exists():
        s = torch.load(ck, map_location="cpu")
        ae.load_state_dict(s["model"]); opt.load_state_dict(s["opt"]); step, wall = s["step"], s["wall"]
        run.log(f"autoencoder: resumed at step {step}")
    rng = np.random.default_rng(r.seed + step)
    t0, last_ck, acc = time.time(), time.time(), []
    while step < r.ae_steps:
        x = images_tensor(imgs, rng.choice(train_idx, r.ae_batch), dev)
        if r.ae_crop and r.ae_crop < x.shape[-1]:
            c = r.ae_crop
            oy, ox = rng.integers(0, x.shape[-2] - c + 1), rng.integers(0, x.shape[-1] - c + 1)
            x = x[..., oy:oy + c, ox:ox + c]
        lr = r.ae_lr * (0.5 * (1 + math.cos(math.pi * step / r.ae_steps)) * 0.9 + 0.1)
        for g in opt.param_groups:
            g["lr"] = lr
        rec, mu, sigma = ae(x)
        kl = 0.5 * (mu.pow(2) + sigma.pow(2) - torch.log(sigma.pow(2) + 1e-12) - 1).sum(dim=(1, 2, 3)).mean()
        l1, l2 = (rec - x).abs().mean(), (rec - x).pow(2).mean()
        loss = l1 + l2 + r.ae_edge * edge_l1(rec, x) + r.ae_kl * kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        acc.append([loss.item(), l1.item(), kl.item()])
        if step % 50 == 0 or step == r.ae_steps:
            m = np.mean(acc, 0)
            run.log(f"ae step {step}/{r.ae_steps} loss {m[0]:.4f} l1 {m[1]:.4f} kl {m[2]:.1f} "
                    f"({step * r.ae_batch / max(wall + time.time() - t0, 1e-6):.1f} img/s)",
                    stage="ae", step=step, loss=float(m[0]), l1=float(m[1]), kl=float(m[2]))
            acc = []
        if time.time() - last_ck > r.checkpoint_minutes * 60:
            save_atomic({"model": ae.state_dict(), "opt": opt.state_dict(), "step": step,
                         "wall": wall + time.time() - t0}, ck)
            last_ck = time.time()
    wall += time.time() - t0
    ae.eval()
    # exact re-parametrisation: LATENT_SCALE_FACTOR * z_mu -> zero mean, unit variance per channel
    with torch.no_grad():
        zs = [ae.encode_mean(images_tensor(imgs, train_idx[i:i + 64], dev)) for i in range(0, min(len(train_idx), 512), 64)]
        z = torch.cat(zs)
        m = z.mean(dim=(0, 2, 3))
        sd = z.std(dim=(0, 2, 3)).clamp_min(1e-6)
        k = 1.0 / (LATENT_SCALE_FACTOR * sd)
        qm = ae.quant_conv_mu.conv if hasattr(ae.quant_conv_mu, "conv") else ae.quant_conv_mu
        pq = ae.post_quant_conv.conv if hasattr(ae.post_quant_conv, "conv") else ae.post_quant_conv
        pq.bias.add_(torch.einsum("oi,i->o", pq.weight[:, :, 0, 0], m))
        pq.weight.mul_((1.0 / k)[None, :, None, None])
        qm.weight.mul_(k[:, None, None, None])
        qm.bias.sub_(m).mul_(k)
        # sanity: decode(encode) unchanged, latent standardised
        x = images_tensor(imgs, train_idx[:16], dev)
        z2 = ae.encode_mean(x) * LATENT_SCALE_FACTOR
        rec = ae.decode(z2 / LATENT_SCALE_FACTOR)
        err = (rec - x).abs().mean().item()
        tiles = [t for pair in zip(x[:8, 0].cpu().numpy(), rec[:8, 0].clamp(0, 1).cpu().numpy()) for t in pair]
        save_grid(tiles, 8, run.dir / "samples" / "autoencoder_recon.png")
    run.log(f"autoencoder done: {step} steps, {wall / 60:.1f} min, recon L1 {err:.4f}, latent mean "
            f"{[round(v, 3) for v in m.tolist()]} sd {[round(v, 3) for v in sd.tolist()]} folded into the weights; "
            f"{LATENT_SCALE_FACTOR}*z now std {z2.std().item():.3f}", stage="ae", done=True, recon_l1=err, wall_s=wall)
    save_atomic({"model": ae.state_dict(), "step": step, "wall": wall, "recon_l1": err}, final)
    ae.cpu()


def stage_latents(run: Run, ae: AutoencoderKL, imgs: np.ndarray) -> torch.Tensor:
    path = run.dir / "latents.pt"
    if path.exists():
        return torch.load(path)
    dev = run.device
    ae.to(dev).eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(imgs), 64):
            out.append((ae.encode_mean(images_tensor(imgs, range(i, min(i + 64, len(imgs))), dev))
                        * LATENT_SCALE_FACTOR).cpu())
    z = torch.cat(out)
    save_atomic(z, path)
    run.log(f"latents: {tuple(z.shape)} std {z.std().item():.3f}", stage="latents")
    ae.cpu()
    return z


class TokenCache:
    def __init__(self, tok: CLIPTokenizer) -> None:
        self.tok, self.cache = tok, {}

    def __call__(self, texts: Sequence[str]) -> torch.Tensor:
        rows = []
        for t in texts:
            if t not in self.cache:
                self.cache[t] = self.tok.encode_padded(t, 77)
            rows.append(self.cache[t])
        return torch.tensor(rows, dtype=torch.long)


def sample_sheet(run: Run, r: Recipe, ae, unet, text, tokens, latent_hw, path: Path, n_seeds: int = 3,
                 prompts: Sequence[str] = SAMPLE_PROMPTS) -> None:
    unet.eval(); text.eval(); ae.to(run.device).eval()
    tiles, labels = [], []
    with torch.no_grad():
        rows = [torch.randn(1, 3, *latent_hw, generator=torch.Generator().manual_seed(100 + k))
                for k in range(n_seeds)]
        for s, noise in enumerate(rows):
            z = _ddim_from(unet, text, tokens, list(prompts), noise.expand(len(prompts), -1, -1, -1).contiguous(),
                           r.sample_steps, r.guidance, run.device)
            x = ae.decode(z / LATENT_SCALE_FACTOR).clamp(0, 1)[:, 0].cpu().numpy()
            tiles += list(x)
            labels += [p or "(empty)" for p in prompts] if s == 0 else [""] * len(prompts)
    save_grid(tiles, len(prompts), path, labels, scale=1)
    ae.cpu()


@torch.no_grad()
def _ddim_from(unet, text, tokens, prompts, z, steps, guidance, device):
    ab = alphas_cumprod().to(device)
    z = z.to(device)
    cond = text(tokens(prompts).to(device))
    unc = text(tokens([""] * len(prompts)).to(device))
    d = 1000 // steps
    for t in range(999, -1, -d)[:steps]:
        tt = torch.full((len(prompts),), t, device=device, dtype=torch.long)
        if guidance != 1.0:
            vu, vc = unet(torch.cat([z, z]), torch.cat([tt, tt]), torch.cat([unc, cond])).chunk(2)
            v = vu + guidance * (vc - vu)
        else:
            v = unet(z, tt, cond)
        a = ab[t]
        x0 = a.sqrt() * z - (1 - a).sqrt() * v
        eps = a.sqrt() * v + (1 - a).sqrt() * z
        a_prev = ab[t - d] if t - d >= 0 else torch.tensor(1.0, device=device)
        z = a_prev.sqrt() * x0 + (1 - a_prev).sqrt() * eps
    return z


def finding_weighted_mse(v: torch.Tensor, target: torch.Tensor, cells: torch.Tensor, weight: float) -> torch.Tensor:
    """MSE with the finding cells ([B,1,h,w] in {0,1}) weighted `weight` times, normalised by the mean weight so
    that the loss keeps its scale; plain MSE for weight 1."""
    if weight == 1.0:
        return F.mse_loss(v, target)
    w = 1.0 + (weight - 1.0) * cells
    return ((v - target) ** 2 * w).mean() / w.mean()


def finding_cells(metas, image_size: int, lat_hw) -> torch.Tensor:
    """[N, 1, h, w] float: 1 on the latent cells any finding box of case i touches, else 0. Square images only
    (the `tiny` preset): a non-square image is centre-cropped by the data stage, which this mapping ignores."""
    gh, gw = lat_hw
    out = torch.zeros(len(metas), 1, gh, gw)
    for i, m in enumerate(metas):
        if m["width"] != m["height"]:
            raise ValueError(f"case {m.get('index', i)}: finding cells need square images, got "
                             f"{m['width']}x{m['height']} (use the 'tiny' preset)")
        sx, sy = image_size / m["width"], image_size / m["height"]
        for f in m["findings"]:
            for (x, y, w, h) in f["boxes"].values():
                x0, x1 = int(x * sx * gw / image_size), int(math.ceil((x + w) * sx * gw / image_size))
                y0, y1 = int(y * sy * gh / image_size), int(math.ceil((y + h) * sy * gh / image_size))
                out[i, 0, max(0, y0):min(gh, y1), max(0, x0):min(gw, x1)] = 1.0
    return out


@torch.no_grad()
def attention_check(unet, text, tokens: TokenCache, latents: torch.Tensor, metas, val_idx: Sequence[int],
                    image_size: int, device, timesteps=(409, 509, 599), seed: int = 0) -> Dict[str, Any]:
    """For held-out cases with a positive finding: attention of the '{location} {finding}' phrase tokens at each
    cross-attention layer (forward-noised latent at a few mid timesteps). Per layer: mean fraction of the
    attention mass inside the finding's boxes divided by the boxes' area fraction ('mass ratio', 1 = chance), and
    the pointing-game hit rate (argmax inside a box)."""
    unet.eval(); text.eval()
    ab = alphas_cumprod().to(device)
    g = torch.Generator().manual_seed(seed)
    n_layers = unet.num_cross_attention_layers
    ratio = {l: [] for l in range(n_layers)}
    hit = {l: [] for l in range(n_layers)}
    used = 0
    for i in val_idx:
        m = metas[i]
        if not m["findings"]:
            continue
        f = m["findings"][0]
        phrase = D.short_phrases({"findings": [f]})[0]
        pos = tokens.tok.phrase_token_positions(phrase)
        boxes = list(f["boxes"].values())
        sx, sy = image_size / m["width"], image_size / m["height"]
        ctx = text(tokens([phrase]).to(device))
        acc: Dict[int, torch.Tensor] = {}
        for t in timesteps:
            z0 = latents[i:i + 1].to(device)
            eps = torch.randn(z0.shape, generator=g).to(device)
            a = ab[t]
            zt = a.sqrt() * z0 + (1 - a).sqrt() * eps
            _, probs = unet(zt, torch.tensor([t], device=device), ctx, capture_attention=range(n_layers))
            for l, p in probs.items():
                mp = p[0].mean(0)[:, pos].mean(-1)  # [HW]
                acc[l] = acc.get(l, 0) + mp / len(timesteps)
        for l, mp in acc.items():
            gh, gw = unet.cross_attention_grid(l, tuple(latents.shape[-2:]))
            mask = np.zeros((gh, gw), bool)
            for (x, y, w, h) in boxes:
                x0_, x1_ = int(x * sx * gw / image_size), int(math.ceil((x + w) * sx * gw / image_size))
                y0_, y1_ = int(y * sy * gh / image_size), int(math.ceil((y + h) * sy * gh / image_size))
                mask[max(0, y0_):min(gh, y1_), max(0, x0_):min(gw, x1_)] = True
            a_map = mp.reshape(gh, gw).cpu().numpy()
            frac = mask.mean()
            if frac <= 0 or frac >= 1:
                continue
            ratio[l].append(float(a_map[mask].sum() / max(a_map.sum(), 1e-12) / frac))
            hit[l].append(float(mask.reshape(-1)[int(a_map.argmax())]))
        used += 1
    return {"cases": used,
            "mass_ratio": {l: round(float(np.mean(v)), 3) if v else None for l, v in ratio.items()},
            "pointing": {l: round(float(np.mean(v)), 3) if v else None for l, v in hit.items()}}


def stage_unet(run: Run, r: Recipe, ae, unet, text, tok: CLIPTokenizer, latents: torch.Tensor, metas,
               train_idx: List[int], val_idx: List[int], deadline: Optional[float]) -> Dict[str, Any]:
    ck = run.dir / "unet.pt"
    dev = run.device
    unet.to(dev).train(); text.to(dev).train()
    params = list(unet.parameters()) + list(text.parameters())
    opt = torch.optim.AdamW(params, lr=r.unet_lr, weight_decay=0.0)
    st = {"step": 0, "images_seen": 0, "wall": 0.0, "sheets": 0}
    if ck.exists():
        s = torch.load(ck, map_location="cpu")
        unet.load_state_dict(s["unet"]); text.load_state_dict(s["text"]); opt.load_state_dict(s["opt"])
        st = s["state"]
        run.log(f"unet: resumed at step {st['step']} ({st['images_seen']} images seen)")
    if st["step"] >= r.unet_steps:
        return st
    tokens = TokenCache(tok)
    sampler = D.PromptSampler(r.p_empty, r.p_positive, seed=r.seed + st["step"])
    box_cells = finding_cells(metas, r.image_size, tuple(latents.shape[-2:])).to(dev)
    rng = np.random.default_rng(r.seed + 7 + st["step"])
    torch.manual_seed(r.seed + 11 + st["step"])
    ab = alphas_cumprod().to(dev)
    lat_hw = tuple(latents.shape[-2:])
    last_ck = last_sheet = time.time()
    acc: List[float] = []
    log_every = 25 if r.unet_steps > 100 else 1

    def checkpoint() -> None:
        st["wall"] += time.time() - checkpoint.t
        checkpoint.t = time.time()
        save_atomic({"unet": unet.state_dict(), "text": text.state_dict(), "opt": opt.state_dict(), "state": st,
                     "recipe": dataclasses.asdict(r)}, ck)
    checkpoint.t = time.time()

    def sheet_and_check() -> None:
        name = f"sheet_{st['step']:07d}.png"
        sample_sheet(run, r, ae, unet, text, tokens, lat_hw, run.dir / "samples" / name)
        chk = attention_check(unet, text, tokens, latents, metas, val_idx[: r.attn_check_cases], r.image_size, dev)
        st["sheets"] += 1
        st["last_attention_check"] = chk
        run.log(f"samples/{name}; attention check ({chk['cases']} cases) mass ratio per layer "
                f"{chk['mass_ratio']}; pointing {chk['pointing']}", stage="unet", step=st["step"], sheet=name,
                attention=chk)
        unet.train(); text.train()

    while st["step"] < r.unet_steps:
        if deadline is not None and time.time() > deadline:
            run.log("unet: deadline reached")
            break
        phase2 = st["step"] >= r.phase2_step
        sampler.p_positive = r.phase2_p_positive if phase2 else r.p_positive
        idx = rng.choice(train_idx, r.unet_batch)
        z0 = latents[idx].to(dev)
        prompts = [sampler(metas[i]) for i in idx]
        ids = tokens(prompts).to(dev)
        t = torch.randint(0, 1000, (len(idx),), device=dev)
        eps = torch.randn_like(z0)
        a = ab[t][:, None, None, None]
        zt = a.sqrt() * z0 + (1 - a).sqrt() * eps
        v_target = a.sqrt() * eps - (1 - a).sqrt() * z0
        lr = r.unet_lr * min(1.0, (st["step"] + 1) / r.unet_warmup)
        for gp in opt.param_groups:
            gp["lr"] = lr
        v = unet(zt, t, text(ids))
        loss = finding_weighted_mse(v, v_target, box_cells[idx], r.phase2_finding_weight if phase2 else 1.0)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        st["step"] += 1
        st["images_seen"] += len(idx)
        acc.append(loss.item())
        if st["step"] % log_every == 0:
            el = st["wall"] + time.time() - checkpoint.t
            run.log(f"unet step {st['step']} loss {np.mean(acc):.4f} lr {lr:.2e} images {st['images_seen']} "
                    f"({st['images_seen'] / max(el, 1e-6):.1f} img/s over {el / 60:.1f} min)",
                    stage="unet", step=st["step"], loss=float(np.mean(acc)), images_seen=st["images_seen"])
            acc = []
        if time.time() - last_ck > r.checkpoint_minutes * 60:
            checkpoint(); last_ck = time.time()
        if time.time() - last_sheet > r.sample_minutes * 60:
            sheet_and_check(); checkpoint(); last_sheet = last_ck = time.time()
    checkpoint()
    sheet_and_check()
    checkpoint()
    return st


# ----------------------------------------------------------------------------------------------- export
def export(run: Run, r: Recipe, ae, unet, text, out: Path, layers: Dict[str, List[int]], st: Dict[str, Any]) -> Dict:
    from sightline_ldm import export as E
    w = run.dir / "weights.pt"
    torch.save({"autoencoder": ae.cpu().state_dict(), "unet": unet.cpu().state_dict(),
                "text_encoder": text.cpu().state_dict()}, w)
    cfg = {"name": "sightline-demo-ldm", "version": "0.1.0",
           "licence": "Apache-2.0 (weights trained by Sightline on synthetic phantoms; not for clinical use)",
           "description": f"Demo LDM trained on {r.cases - r.val_cases} synthetic sightline_world phantoms "
                          f"({r.image_size}px); {st.get('step', 0)} U-Net steps, {st.get('images_seen', 0)} images "
                          "seen. Not a medical model.",
           "image_size": r.image_size, "autoencoder": r.ae_config(), "unet": r.unet_config(),
           "text_encoder": r.text_config(), "weights": "weights.pt", "tokenizer": "tokenizer",
           "grounding": {"frozen": {"layers": layers["frozen"]}, "tuned": {"layers": layers["tuned"]},
                         # the paper's layer sets (8x8 grid here), for comparison
                         "paper-frozen": {"layers": [3, 4, 6, 7], "otsu": True, "num_inference_steps": 100,
                                          "step_indices": list(range(40, 60))},
                         "paper-tuned": {"layers": [4, 5, 6, 7], "otsu": False, "num_inference_steps": 100,
                                         "step_indices": list(range(40, 60))}}}
    cfg_path = run.dir / "demo_config.json"
    cfg_path.write_text(json.dumps(cfg, indent=1))
    rc = E.main(["--config", str(cfg_path), "--out", str(out)])
    if rc:
        raise RuntimeError(f"{cfg_path}: export to {out} failed (exit status {rc}; its message is above)")
    write_reference_weights(cfg, {"autoencoder": ae, "unet": unet, "text_encoder": text}, out / "reference")
    return json.loads((out / "manifest.json").read_text())


def write_reference_weights(cfg: Dict[str, Any], models: Dict[str, torch.nn.Module], ref: Path) -> None:
    """The torch weights beside the ONNX bundle, as safetensors (no pickle), so that the Python reference pipeline
    (`sightline_ldm.grounding`, `sightline_eval.model_card --bundle-or-checkpoint models/demo/reference`) runs on
    exactly the shipped model without the run directory."""
    from sightline_ldm.safetensors_io import save_file
    ref.mkdir(parents=True, exist_ok=True)
    files = {}
    for part, m in models.items():
        files[part] = f"{part}.safetensors"
        save_file({k: v.detach().cpu().contiguous() for k, v in m.state_dict().items()}, ref / files[part],
                  metadata={"model": cfg["name"], "version": cfg["version"], "part": part})
    from sightline_ldm.bundle import sha256_file
    ref_cfg = dict(cfg, weights=files, tokenizer="..",  # the bundle's own tokenizer.json, one directory up
                   sha256={f: sha256_file(ref / f) for f in files.values()})
    (ref / "config.json").write_text(json.dumps(ref_cfg, indent=1))


# ----------------------------------------------------------------------------------------------- main
def load_models_from_run(run_dir: Path, r: Recipe):
    ae, unet, text = build_models(r)
    ae.load_state_dict(torch.load(run_dir / "autoencoder_final.pt", map_location="cpu")["model"])
    s = torch.load(run_dir / "unet.pt", map_location="cpu")
    unet.load_state_dict(s["unet"]); text.load_state_dict(s["text"])
    tok = CLIPTokenizer.from_tokenizer_json(run_dir / "tokenizer" / "tokenizer.json")
    return ae.eval(), unet.eval(), text.eval(), tok, s["state"]


def choose_layers(st: Dict[str, Any], unet: DiffusionModelUNet, latent_hw) -> Dict[str, List[int]]:
    """Default layers: the finest-grid layers (16x16 for the demo: the decoder's {8,9,10}); recorded with the
    attention check that motivates them."""
    grids = {l: unet.cross_attention_grid(l, latent_hw) for l in range(unet.num_cross_attention_layers)}
    finest = max(g[0] for g in grids.values())
    fine = [l for l, g in grids.items() if g[0] == finest]
    dec = [l for l in fine if unet.cross_attention_names[l].startswith("up_blocks")]
    chosen = dec or fine
    return {"frozen": chosen, "tuned": chosen}


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m sightline_demo.train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run-dir", default=os.path.expanduser("~/.cache/sightline/demo-run"))
    p.add_argument("--data-dir", default=os.path.expanduser("~/.cache/sightline/demo-data"))
    p.add_argument("--export", help="bundle dir to write at the end (e.g. ../models/demo)")
    p.add_argument("--smoke", action="store_true", help="tiny data and a few steps per stage (CI)")
    p.add_argument("--export-only", action="store_true", help="export the last U-Net checkpoint without training")
    p.add_argument("--frozen-layers", help="default layers of the 'frozen' variant in the manifest (default 8,9,10)")
    p.add_argument("--tuned-layers", help="default layers of the 'tuned' variant in the manifest (default 8,9,10)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1), help="data generation processes")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--stop-at", help="UTC HH:MM: stop the U-Net stage (checkpointed) at this time; resume later")
    p.add_argument("--max-minutes", type=float, help="stop the U-Net stage after this many minutes of this sitting")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a Recipe field")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    torch.set_num_threads(max(1, args.threads))
    r = Recipe(**SMOKE) if args.smoke else Recipe()
    for kv in args.set:
        k, v = kv.split("=", 1)
        cur = getattr(r, k)
        setattr(r, k, type(cur)(json.loads(v)) if not isinstance(cur, str) else v)
    run_dir = Path(args.run_dir)
    run = Run(run_dir, torch.device(args.device), args.quiet)
    rp = run_dir / "recipe.json"
    if rp.exists() and not args.set:
        saved = json.loads(rp.read_text())
        r = Recipe(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in saved.items()})
    rp.write_text(json.dumps(dataclasses.asdict(r), indent=1))
    t_start = time.time()
    deadline = None
    if args.stop_at:
        hh, mm = map(int, args.stop_at.split(":"))
        now = datetime.now(timezone.utc)
        target = now.replace(hour=hh, minute=mm, second=0, microsecond=0)
        if target < now:
            target = target.replace(day=now.day + 1)
        deadline = time.time() + (target - now).total_seconds()
    if args.max_minutes is not None:
        d2 = time.time() + args.max_minutes * 60
        deadline = d2 if deadline is None else min(deadline, d2)
    run.log(f"start: {' '.join(sys.argv if argv is None else ['train'] + list(argv))}; device {args.device}; "
            f"torch {torch.__version__}; threads {torch.get_num_threads()}", recipe=dataclasses.asdict(r))

    random.seed(r.seed); np.random.seed(r.seed)
    ddir = D.generate(args.data_dir, r.cases, r.world_seed, r.preset, r.image_size, workers=args.workers, log=run.log)
    imgs, metas = D.load(ddir, r.cases)
    train_idx = list(range(r.cases - r.val_cases))
    val_idx = list(range(r.cases - r.val_cases, r.cases))
    tok = stage_tokenizer(run, r, [metas[i] for i in train_idx])
    ae, unet, text = build_models(r)
    if len(tok) > r.vocab_size:
        print(f"{p.prog}: the tokenizer ({len(tok)} tokens) is larger than the text encoder's vocabulary "
              f"({r.vocab_size})", file=sys.stderr)
        return 1
    run.log(f"parameters: autoencoder {count_parameters(ae)}, unet {count_parameters(unet)}, "
            f"text encoder {count_parameters(text)}", stage="models")
    stage_autoencoder(run, r, ae, imgs, train_idx)
    latents = stage_latents(run, ae, imgs)
    if args.export_only:
        s = torch.load(run_dir / "unet.pt", map_location="cpu")
        unet.load_state_dict(s["unet"]); text.load_state_dict(s["text"])
        st = s["state"]
    else:
        st = stage_unet(run, r, ae, unet, text, tok, latents, metas, train_idx, val_idx, deadline)
    run.log(f"sitting done in {(time.time() - t_start) / 60:.1f} min; U-Net step {st['step']}, "
            f"{st['images_seen']} images seen, U-Net wall {st['wall'] / 60:.1f} min", stage="done", state=st)
    if args.export:
        for m in (ae, unet, text):
            m.cpu().eval()
            for q in m.parameters():
                q.requires_grad_(False)  # the text encoder is frozen after base training
        layers = choose_layers(st, unet, tuple(latents.shape[-2:]))
        if args.frozen_layers:
            layers["frozen"] = [int(v) for v in args.frozen_layers.split(",")]
        if args.tuned_layers:
            layers["tuned"] = [int(v) for v in args.tuned_layers.split(",")]
        try:
            man = export(run, r, ae, unet, text, Path(args.export), layers, st)
        except RuntimeError as e:  # the exporter's own message is printed already
            print(f"{p.prog}: {e}", file=sys.stderr)
            return 1
        size = sum(v["bytes"] for v in man["files"].values())
        run.log(f"exported {args.export} ({size / 1e6:.1f} MB), grounding layers {layers}", stage="export",
                bundle_bytes=size)
    return 0


if __name__ == "__main__":
    sys.exit(main())
