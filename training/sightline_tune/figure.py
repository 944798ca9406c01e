"""Before/after heatmap examples of a tuned variant (issue 13's "heatmap examples before/after").

    cd training && /usr/bin/python3 -m sightline_tune.figure --bundle ../models/demo \\
        --variant ../models/demo/variants/tuned-loc.json \\
        --mscxr /tmp/sl_eval/world80/ms-cxr/MS_CXR_Local_Alignment_v1.1.0.csv \\
        --images-root /tmp/sl_eval/world80/mimic-cxr-jpg --rows 6 --out before-after.png

One row per MS-CXR-loc pair whose prompt names a side (the first ``--rows`` in CSV order, one per image): the image
in the model frame with the pair's boxes, the bundle's default variant (``frozen``) for the prompt, the tuned
variant for the prompt, and the tuned variant for the prompt with left and right swapped. Each map is drawn as the
app shows it: the variant's own settings (layers, kept steps, Otsu) through ``grounding.reference_heatmap``; the
label under each panel gives the pair's CNR and mIoU of that map (``sightline_eval.metrics.score_pair`` at the
original size). A tuned variant that reads the prompt should sit on the boxes in the third column and move away in
the fourth. ``--json`` writes the rows' scores.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import List, Optional, Sequence

import numpy as np


def _variant_options(grounding: dict) -> dict:
    return {"layers": tuple(int(l) for l in grounding["layers"]), "otsu": bool(grounding.get("otsu", False)),
            "kept_steps": [int(i) for i in grounding["step_indices"]],
            "num_inference_steps": int(grounding.get("num_inference_steps", 100))}


def _box_in_frame(box, geometry: dict, size: int):
    """[x, y, w, h] in original pixels -> the model frame (short side resized to ``size``, centre crop)."""
    h, w = geometry["original_hw"] if "original_hw" in geometry else (geometry["rows"], geometry["columns"])
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    s = size / side
    x, y, bw, bh = box
    return (x - left) * s, (y - top) * s, bw * s, bh * s


def build(bundle: str, variant_file: str, mscxr_csv: str, images_root: str, rows: int = 6, tile: int = 192,
          log=print) -> tuple:
    """-> (PIL image, per-row scores)."""
    import torch
    from PIL import Image, ImageDraw
    from sightline_eval import metrics as M
    from sightline_eval import mscxr
    from sightline_eval.locations import swap_sides
    from sightline_eval.references import SIDE_RE
    from sightline_ldm import grounding as G
    from sightline_ldm.image_ops import heat_overlay, map_to_original, minmax, preprocess
    from sightline_ldm.loading import load_grounding_model

    from .variant import load_variant, token_overrides_tensors

    model, _ = load_grounding_model(bundle)
    with open(os.path.join(bundle, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    frozen = _variant_options(manifest["grounding"]["frozen"])
    doc = load_variant(variant_file, bundle)
    tuned = dict(_variant_options(doc["grounding"]), token_embedding_overrides=token_overrides_tensors(doc))
    pairs, seen = [], set()
    for p in mscxr.build_benchmark(mscxr.read_rows(mscxr_csv)):
        if p["prompt"] and SIDE_RE.search(p["prompt"]) and p["path"] not in seen:
            seen.add(p["path"])
            pairs.append(p)
        if len(pairs) >= rows:
            break
    if not pairs:
        raise ValueError(f"{mscxr_csv}: no located pair whose prompt names a side")

    size, pad, head = model.image_size, 4, 28
    sheet = Image.new("RGB", (4 * (tile + pad) + pad, len(pairs) * (tile + head + pad) + pad), (0, 0, 0))
    draw = ImageDraw.Draw(sheet)
    scores: List[dict] = []
    for k, p in enumerate(pairs):
        img = G.read_image_file(os.path.join(images_root, p["path"]))
        frame, _ = preprocess(img, size)
        grey = frame[0, 0].numpy()
        uncond = G.text_embedding(model, "")
        with torch.no_grad():
            common = dict(uncond_embedding=uncond)
            a = G.reference_heatmap(img, p["prompt"], model, "frozen", **common, **frozen)
            b = G.reference_heatmap(None, p["prompt"], model, "frozen", trajectory=a.trajectory, **common, **tuned)
            swapped = swap_sides(p["prompt"])
            c = G.reference_heatmap(None, swapped, model, "frozen", trajectory=a.trajectory, **common, **tuned)
        row = {"image": p["path"], "prompt": p["prompt"], "swapped": swapped}
        panels = [("image + boxes", np.repeat(grey[..., None], 3, -1))]
        for key, label, r in (("frozen", "frozen", a), ("tuned", doc.get("name", "tuned"), b),
                              ("tuned_swapped", "swapped", c)):
            s = M.score_pair(map_to_original(r.heatmap, img.shape), p["boxes"])
            row[key] = {"cnr": round(float(s["cnr"]), 3), "miou": round(float(s["miou"]), 3)}
            panels.append((f"{label}: CNR {s['cnr']:.2f} mIoU {100 * s['miou']:.0f}%", heat_overlay(grey, minmax(r.heatmap))))
        scores.append(row)
        y = pad + k * (tile + head + pad)
        for c_, (label, rgb) in enumerate(panels):
            x = pad + c_ * (tile + pad)
            im = Image.fromarray((np.clip(rgb, 0, 1) * 255).astype(np.uint8)).resize((tile, tile), Image.BILINEAR)
            sheet.paste(im, (x, y + head))
            scale = tile / size
            for box in p["boxes"]:
                bx, by, bw, bh = _box_in_frame(box, {"original_hw": img.shape[:2]}, size)
                draw.rectangle([x + bx * scale, y + head + by * scale, x + (bx + bw) * scale - 1,
                                y + head + (by + bh) * scale - 1], outline=(0, 255, 0))
            text = (p["prompt"] if c_ == 0 else swapped if c_ == 3 else p["prompt"])[: tile // 6]
            draw.text((x + 1, y + 1), text, fill=(255, 255, 255))
            draw.text((x + 1, y + 14), label[: tile // 6], fill=(200, 200, 200))
        log(f"[figure] {k + 1}/{len(pairs)} {p['prompt']}")
    return sheet, scores


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m sightline_tune.figure", description=__doc__.split("\n")[0])
    p.add_argument("--bundle", required=True, help="the model bundle directory (with reference/ weights)")
    p.add_argument("--variant", required=True, help="the tuned variant file (variant.json)")
    p.add_argument("--mscxr", required=True, help="MS-CXR CSV")
    p.add_argument("--images-root", required=True, help="the root the CSV's paths are relative to")
    p.add_argument("--rows", type=int, default=6)
    p.add_argument("--tile", type=int, default=192, help="panel size in pixels")
    p.add_argument("--out", required=True, help="PNG to write")
    p.add_argument("--json", help="the rows' scores")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    import torch
    torch.set_num_threads(max(1, args.threads))
    from .variant import VariantError
    try:
        sheet, scores = build(args.bundle, args.variant, args.mscxr, args.images_root, args.rows, args.tile,
                              log=lambda m: print(m, file=sys.stderr, flush=True))
    except (VariantError, ValueError, OSError) as e:
        print(f"{p.prog}: {e}", file=sys.stderr)
        return 1
    sheet.save(args.out, optimize=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(scores, f, indent=1)
    print(json.dumps({"out": args.out, "rows": len(scores)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
