"""Checks on a demo run: time `reference_heatmap` on the checkpoint, write the model card's sample sheet.

    cd training && /usr/bin/python3 -m sightline_demo.check [--run-dir DIR] [--samples ../models/demo/samples.png] \
        [--gallery ../models/demo/heatmaps.png] [--heatmaps 0]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Dict, Optional, Sequence

import numpy as np
import torch

from sightline_ldm.grounding import GroundingModel, reference_heatmap
from sightline_ldm.image_ops import heat_overlay, minmax
from sightline_ldm.schedule import LATENT_SCALE_FACTOR

from . import data as D
from .train import Recipe, Run, TokenCache, load_models_from_run, sample_sheet


def load_recipe(run_dir: Path) -> Recipe:
    saved = json.loads((run_dir / "recipe.json").read_text())
    return Recipe(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in saved.items()})


def grounding_model(run_dir: Path):
    r = load_recipe(run_dir)
    ae, unet, text, tok, st = load_models_from_run(run_dir, r)
    return GroundingModel(autoencoder=ae, unet=unet, text_encoder=text, tokenizer=tok, image_size=r.image_size,
                          latent_scale=LATENT_SCALE_FACTOR), r, st


def time_heatmaps(run_dir: Path, data_dir: Path, n: int = 4, layers=(8, 9, 10)):
    model, r, _ = grounding_model(run_dir)
    ddir = D.data_dir_for(data_dir, r.world_seed, r.preset, r.image_size)
    imgs, metas = D.load(ddir, r.cases)
    out = []
    for i in range(r.cases - r.val_cases, r.cases):
        m = metas[i]
        if not m["findings"]:
            continue
        phrase = D.short_phrases({"findings": m["findings"][:1]})[0]
        img = imgs[i].astype(np.float32) / 255.0
        t0 = time.time()
        with torch.no_grad():
            res = reference_heatmap(img, phrase, model, "frozen", layers=list(layers))
        dt = time.time() - t0
        box = list(m["findings"][0]["boxes"].values())
        h = res.heatmap
        mask = np.zeros_like(h, bool)
        for (x, y, w, hh) in box:
            mask[y:y + hh, x:x + w] = True
        inside = float(h[mask].mean()) if mask.any() else float("nan")
        outside = float(h[~mask].mean())
        out.append({"case": i, "phrase": phrase, "seconds": round(dt, 3), "mean_in_box": round(inside, 3),
                    "mean_outside": round(outside, 3)})
        if len(out) >= n:
            break
    return out


# The model card's sheet: each lung finding on both sides (a model that reads laterality draws them mirrored),
# then findings without a side and the empty prompt.
CARD_PROMPTS = ["right pleural effusion", "left pleural effusion", "right upper lobe consolidation",
                "left upper lobe consolidation", "right lower atelectasis", "left lower atelectasis",
                "right apical pneumothorax", "left apical pneumothorax", "pulmonary edema", "cardiomegaly", ""]

LAYER_SETS = {"{8,9,10}": (8, 9, 10), "{9}": (9,), "{8,9}": (8, 9), "{7,8,9}": (7, 8, 9), "{7,9}": (7, 9),
              "{3,4,6,7} (paper frozen)": (3, 4, 6, 7), "{4,5,6,7} (paper tuned)": (4, 5, 6, 7),
              "{0,1,8,9,10}": (0, 1, 8, 9, 10)}


def layer_study(run_dir: Path, data_dir: Path, n: int = 24, sets=LAYER_SETS):
    """Frozen-pipeline heatmaps (DDIM inversion, steps 40..59, no Otsu) of '{location} {finding}' phrases on held-out
    cases, per candidate layer set: mean CNR (method.md 5.1, one box mask) and pointing-game hit rate."""
    from sightline_ldm.grounding import GroundingOptions, aggregate, capture_attention, invert_image
    model, r, _ = grounding_model(run_dir)
    ddir = D.data_dir_for(data_dir, r.world_seed, r.preset, r.image_size)
    imgs, metas = D.load(ddir, r.cases)
    all_layers = sorted({l for s in sets.values() for l in s})
    res = {k: {"cnr": [], "hit": []} for k in sets}
    t_inv, used = [], 0
    opt = GroundingOptions(layers=all_layers, otsu=False)
    for i in range(r.cases - r.val_cases, r.cases):
        m = metas[i]
        if not m["findings"]:
            continue
        f = m["findings"][0]
        phrase = D.short_phrases({"findings": [f]})[0]
        img = imgs[i].astype(np.float32) / 255.0
        t0 = time.time()
        traj, _ = invert_image(img, model, opt)
        ctx = __import__("sightline_ldm.grounding", fromlist=["x"]).text_embedding(model, phrase)
        att = capture_attention(model.unet, traj, ctx, opt.resolved_kept_steps(), all_layers)
        t_inv.append(time.time() - t0)
        pos = model.tokenizer.phrase_token_positions(phrase)
        mask = np.zeros((r.image_size, r.image_size), bool)
        for (x, y, w, h) in f["boxes"].values():
            mask[y:y + h, x:x + w] = True
        grids = {l: model.unet.cross_attention_grid(l, tuple(traj.z0.shape[-2:])) for l in all_layers}
        for k, ls in sets.items():
            heat, _, _ = aggregate({l: att[l] for l in ls}, pos, r.image_size, otsu=False, grids=grids)
            hi, ho = heat[mask], heat[~mask]
            den = np.sqrt(hi.var() + ho.var())
            res[k]["cnr"].append(float((hi.mean() - ho.mean()) / den) if den > 0 else 0.0)
            res[k]["hit"].append(float(mask.reshape(-1)[int(heat.argmax())]))
        used += 1
        if used >= n:
            break
    return {"cases": used, "seconds_per_case_all_layers": round(float(np.mean(t_inv)), 2),
            "sets": {k: {"cnr": round(float(np.mean(v["cnr"])), 3), "pointing": round(float(np.mean(v["hit"])), 3)}
                     for k, v in res.items()}}


def gallery(run_dir: Path, data_dir: Path, out: Path, n: int = 8, layers: Optional[Sequence[int]] = None,
            scale: int = 2) -> Dict[str, object]:
    """A figure of what the model looks at: per held-out case with a sided finding, the phantom with its finding
    box, the frozen heatmap (no Otsu, so the whole map shows) for '{location} {finding}', and for the same phrase
    with left/right swapped. A model that reads laterality moves its map to the other side in the last column."""
    from PIL import Image, ImageDraw
    from sightline_eval.locations import swap_sides
    model, r, st = grounding_model(run_dir)
    cfg_path = run_dir / "demo_config.json"
    if layers is None:
        layers = json.loads(cfg_path.read_text())["grounding"]["frozen"]["layers"] if cfg_path.exists() else [8, 9, 10]
    ddir = D.data_dir_for(data_dir, r.world_seed, r.preset, r.image_size)
    imgs, metas = D.load(ddir, r.cases)
    S, pad, head = r.image_size * scale, 4, 14
    rows = []
    for i in range(r.cases - r.val_cases, r.cases):
        sided = [f for f in metas[i]["findings"] if (f["location"] or "").split(" ")[0] in ("left", "right")]
        if not sided:
            continue
        f = sided[0]
        phrase = D.short_phrases({"findings": [f]})[0]
        img = imgs[i].astype(np.float32) / 255.0
        with torch.no_grad():
            a = reference_heatmap(img, phrase, model, "frozen", layers=list(layers), otsu=False)
            b = reference_heatmap(None, swap_sides(phrase), model, "frozen", layers=list(layers), otsu=False,
                                  trajectory=a.trajectory)
        rows.append((i, phrase, swap_sides(phrase), img, list(f["boxes"].values()), a.heatmap, b.heatmap))
        if len(rows) >= n:
            break
    if not rows:
        raise ValueError(f"{run_dir}: no held-out case with a left/right finding to show")
    sheet = Image.new("RGB", (3 * (S + pad) + pad, len(rows) * (S + head + pad) + pad), (0, 0, 0))
    draw = ImageDraw.Draw(sheet)
    for k, (i, phrase, swapped, img, boxes, h1, h2) in enumerate(rows):
        y = pad + k * (S + head + pad)
        panels = [(f"case {i}: truth", np.repeat(img[..., None], 3, -1)),
                  (phrase, heat_overlay(img, minmax(h1))), (swapped, heat_overlay(img, minmax(h2)))]
        for c, (label, rgb) in enumerate(panels):
            x = pad + c * (S + pad)
            tile = Image.fromarray((np.clip(rgb, 0, 1) * 255).astype(np.uint8)).resize((S, S), Image.NEAREST)
            sheet.paste(tile, (x, y + head))
            for (bx, by, bw, bh) in boxes:
                draw.rectangle([x + bx * scale, y + head + by * scale, x + (bx + bw) * scale - 1,
                                y + head + (by + bh) * scale - 1], outline=(0, 255, 0))
            draw.text((x + 1, y + 1), label[: S // 6], fill=(255, 255, 255))
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    return {"gallery": str(out), "cases": [r_[0] for r_ in rows], "layers": list(layers), "step": st["step"],
            "rows": [{"case": i, "phrase": p1, "swapped": p2, "heat_range": round(float(np.ptp(h1)), 4),
                      "mean_abs_change_when_swapped": round(float(np.abs(h1 - h2).mean()), 4)}
                     for (i, p1, p2, _, _, h1, h2) in rows]}


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m sightline_demo.check", description=__doc__)
    p.add_argument("--run-dir", default=os.path.expanduser("~/.cache/sightline/demo-run"))
    p.add_argument("--data-dir", default=os.path.expanduser("~/.cache/sightline/demo-data"))
    p.add_argument("--samples", help="write a sample contact sheet (prompts naming side + finding) here")
    p.add_argument("--seeds", type=int, default=4)
    p.add_argument("--prompts", help="'|'-separated prompts of the sample sheet (default: CARD_PROMPTS)")
    p.add_argument("--guidance", type=float)
    p.add_argument("--heatmaps", type=int, default=4)
    p.add_argument("--layer-study", type=int, default=0, help="compare layer sets on this many held-out cases")
    p.add_argument("--gallery", help="write a heatmap figure (truth box | phrase | side-swapped phrase) here")
    p.add_argument("--gallery-cases", type=int, default=8)
    args = p.parse_args(argv)
    torch.set_num_threads(os.cpu_count() or 1)
    try:
        _run(args)
    except (FileNotFoundError, ValueError) as e:  # a missing run/data file, no case to show
        print(f"{p.prog}: {e}", file=sys.stderr)
        return 1
    return 0


def _run(args: argparse.Namespace) -> None:
    run_dir = Path(args.run_dir)
    if args.heatmaps:
        res = time_heatmaps(run_dir, Path(args.data_dir), args.heatmaps)
        print(json.dumps({"heatmaps": res}, indent=1))
    if args.layer_study:
        print(json.dumps({"layer_study": layer_study(run_dir, Path(args.data_dir), args.layer_study)}, indent=1))
    if args.gallery:
        print(json.dumps(gallery(run_dir, Path(args.data_dir), Path(args.gallery), args.gallery_cases)))
    if args.samples:
        model, r, st = grounding_model(run_dir)
        if args.guidance is not None:
            r.guidance = args.guidance
        run = Run(run_dir, torch.device("cpu"), quiet=True)
        t0 = time.time()
        sample_sheet(run, r, model.autoencoder, model.unet, model.text_encoder, TokenCache(model.tokenizer),
                     (r.image_size // 8, r.image_size // 8), Path(args.samples), n_seeds=args.seeds,
                     prompts=args.prompts.split("|") if args.prompts else CARD_PROMPTS)
        print(json.dumps({"samples": args.samples, "seconds": round(time.time() - t0, 1), "step": st["step"],
                          "guidance": r.guidance}))


if __name__ == "__main__":
    sys.exit(main())
