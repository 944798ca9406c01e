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

from sightline_ldm.autoencoder import AutoencoderKL
from sightline_ldm.layers import count_parameters
from sightline_ldm.schedule import LATENT_SCALE_FACTOR, alphas_cumprod
from sightline_ldm.tokenizer import CLIPTokenizer, train_bpe
from sightline_ldm.unet import DiffusionModelUNet

from . import data as D
from .demo_export import export
from .recipe import SMOKE, Recipe, Run, build_models, edge_l1, images_tensor, save_atomic, save_grid
from .unet_parts import TokenCache, attention_check, ddim_sample, finding_cells, finding_weighted_mse

SAMPLE_PROMPTS = ["left pleural effusion", "right pleural effusion", "right upper lobe consolidation",
                  "left lower lobe consolidation", "right apical pneumothorax", "cardiomegaly", ""]


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


def sample_sheet(run: Run, r: Recipe, ae, unet, text, tokens, latent_hw, path: Path, n_seeds: int = 3,
                 prompts: Sequence[str] = SAMPLE_PROMPTS) -> None:
    unet.eval(); text.eval(); ae.to(run.device).eval()
    tiles, labels = [], []
    with torch.no_grad():
        rows = [torch.randn(1, 3, *latent_hw, generator=torch.Generator().manual_seed(100 + k))
                for k in range(n_seeds)]
        for s, noise in enumerate(rows):
            z = ddim_sample(unet, text, tokens, list(prompts), noise.expand(len(prompts), -1, -1, -1).contiguous(),
                           r.sample_steps, r.guidance, run.device)
            x = ae.decode(z / LATENT_SCALE_FACTOR).clamp(0, 1)[:, 0].cpu().numpy()
            tiles += list(x)
            labels += [p or "(empty)" for p in prompts] if s == 0 else [""] * len(prompts)
    save_grid(tiles, len(prompts), path, labels, scale=1)
    ae.cpu()


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
