"""What the demo's U-Net stage uses besides its training loop (``train.py``): the phrase token cache, DDIM sampling
for the sample sheets, the finding-weighted loss and its latent cells, and the held-out attention check."""
from __future__ import annotations

import math
from typing import Any, Dict, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from sightline_ldm.schedule import alphas_cumprod
from sightline_ldm.tokenizer import CLIPTokenizer

from . import data as D


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


def box_cells(box, sx: float, sy: float, image_size: int, gh: int, gw: int) -> Tuple[slice, slice]:
    """(rows, cols) of the gh x gw grid that an (x, y, w, h) box in original pixels touches (scaled by sx, sy into
    the image_size frame; floor at the start, ceil at the end, clipped)."""
    x, y, w, h = box
    x0, x1 = int(x * sx * gw / image_size), int(math.ceil((x + w) * sx * gw / image_size))
    y0, y1 = int(y * sy * gh / image_size), int(math.ceil((y + h) * sy * gh / image_size))
    return slice(max(0, y0), min(gh, y1)), slice(max(0, x0), min(gw, x1))


@torch.no_grad()
def ddim_sample(unet, text, tokens, prompts, z, steps, guidance, device):
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
            for box in f["boxes"].values():
                out[i, 0][box_cells(box, sx, sy, image_size, gh, gw)] = 1.0
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
            for box in boxes:
                mask[box_cells(box, sx, sy, image_size, gh, gw)] = True
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
