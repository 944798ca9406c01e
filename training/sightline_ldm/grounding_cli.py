"""Command line of the reference grounding (``sightline_ldm.grounding``): heatmaps of phrases on one image file,
or ``--check-golden`` (the differences to the predecessor's golden output).

    cd training && python3 -m sightline_ldm.grounding --model ../models/demo --image FILE.jpg|.png|.dcm \\
        --phrase 'left pleural effusion' [--phrase ...] [--out DIR]
    cd training && python3 -m sightline_ldm.grounding --check-golden [FIXTURES_DIR]

(``python3 -m sightline_ldm.grounding_cli`` is the same.) Without FIXTURES_DIR, ``--check-golden`` reads
``$SIGHTLINE_FIXTURES`` or else the repository's ``test/fixtures``. Problems with the inputs are printed as
``python -m sightline_ldm.grounding: message`` with a non-zero exit status, never as a traceback.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Dict, Optional, Sequence

import numpy as np
import torch

from . import image_ops
from .bundle import grounding_defaults
from .errors import ModelLoadError
from .grounding import VARIANTS, GroundingOptions, check_golden, invert_image, read_image_file, reference_heatmap
from .loading import load_grounding_model

PROG = "python -m sightline_ldm.grounding"
REPO_FIXTURES = Path(__file__).resolve().parents[2] / "test" / "fixtures"
GOLDEN_TOLERANCES = {"z0": 1e-5, "latents": 1e-5, "attention": 1e-5}  # everything else (maps): 1e-4


def default_fixtures_dir() -> str:
    """``$SIGHTLINE_FIXTURES`` when set, else the repository's test/fixtures (test/fixtures/README.md)."""
    return os.environ.get("SIGHTLINE_FIXTURES") or str(REPO_FIXTURES)


def _save_outputs(out_dir: str, slug: str, image: np.ndarray, heat: np.ndarray) -> Dict[str, str]:
    """heat: the map at the image's size (NaN outside the model's centre crop, drawn as 0)."""
    from PIL import Image
    heat = np.nan_to_num(heat, nan=0.0)
    paths = {"heatmap": os.path.join(out_dir, f"heatmap_{slug}.png"),
             "overlay": os.path.join(out_dir, f"overlay_{slug}.png")}
    Image.fromarray((np.clip(heat, 0, 1) * 65535 + 0.5).astype(np.uint16)).save(paths["heatmap"])
    rgb = image_ops.heat_overlay(image, heat)
    Image.fromarray((rgb * 255 + 0.5).astype(np.uint8)).save(paths["overlay"])
    return paths


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG,
        description="Reference heatmaps (docs/method.md sections 2-3) of phrases on one image, or the golden check.",
        epilog="Example: --model ../models/demo --image ../resources/demo/mimic-cxr-jpg/files/.../x.jpg "
               "--phrase 'right pleural effusion' --out /tmp/heat")
    p.add_argument("--check-golden", metavar="FIXTURES_DIR", nargs="?", const="",
                   help="reproduce the golden heatmaps (default dir: $SIGHTLINE_FIXTURES or the repo's test/fixtures)")
    p.add_argument("--model", help="model bundle with reference/ weights, export JSON config, its directory, "
                                   "MONAI bundle or preset (sightline_ldm.loading)")
    p.add_argument("--image", help="PNG, JPEG or DICOM file")
    p.add_argument("--phrase", action="append", default=[], help="repeatable; one inversion serves all phrases")
    p.add_argument("--variant", default="frozen", help="grounding variant of the model (e.g. frozen, paper-frozen): "
                   "its layers/Otsu/steps are the defaults; 'tuned' uses the base token embeddings here")
    p.add_argument("--layers", help="comma-separated cross-attention layers (default: the variant's)")
    p.add_argument("--otsu", choices=("on", "off"), help="default: the variant's")
    p.add_argument("--num-inference-steps", type=int)
    p.add_argument("--out", help="directory for heatmap_<phrase>.png (16-bit, original size) and overlay_<phrase>.png")
    p.add_argument("--device", default="cpu")
    return p


def _fail(message: str) -> int:
    print(f"{PROG}: {message}", file=sys.stderr)
    return 1


def run_check_golden(fixtures_dir: str, device: str) -> int:
    diffs = check_golden(fixtures_dir or default_fixtures_dir(), device)
    ok = True
    for k, v in diffs.items():
        good = v <= GOLDEN_TOLERANCES.get(k, 1e-4)
        ok &= good
        print(f"{k:20s} max|diff| = {v:.3g} {'ok' if good else 'FAIL'}")
    return 0 if ok else 1


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m sightline_ldm.grounding --model M --image FILE --phrase TEXT [...]`` or ``--check-golden``."""
    torch.set_num_threads(os.cpu_count() or 1)
    p = build_parser()
    a = p.parse_args(argv)
    if a.check_golden is not None:
        try:
            return run_check_golden(a.check_golden, a.device)
        except FileNotFoundError as e:
            return _fail(str(e))
    if not (a.model or a.image or a.phrase):
        p.print_help()
        return 0
    if not (a.model and a.image and a.phrase):
        p.error("--model, --image and at least one --phrase are needed")
    try:
        image = read_image_file(a.image)  # before the model: a bad file fails fast
    except Exception as e:  # noqa: BLE001 - Pillow/pydicom raise many types; the user needs the file and the reason
        p.error(f"{a.image}: cannot read the image ({type(e).__name__}: {e})")
    try:
        model, desc = load_grounding_model(a.model, device=a.device)
    except (ModelLoadError, FileNotFoundError) as e:
        return _fail(str(e))
    variants = desc.get("grounding") or {}
    if a.variant not in variants and a.variant not in VARIANTS:
        p.error(f"unknown variant {a.variant!r}; this model has {sorted(set(variants) | set(VARIANTS))}")
    opts: Dict[str, object] = {}
    if a.variant in variants:  # the model's own defaults for the variant (e.g. the demo's layers 7,9), resolved
        v = grounding_defaults(variants)[a.variant]  # as the exporter writes them into a manifest
        opts.update(layers=list(v["layers"]), otsu=bool(v.get("otsu", False)),
                    num_inference_steps=int(v["num_inference_steps"]), kept_steps=list(v["step_indices"]))
    if a.layers:
        opts["layers"] = [int(x) for x in a.layers.split(",")]
    if a.otsu:
        opts["otsu"] = a.otsu == "on"
    if a.num_inference_steps:
        opts["num_inference_steps"] = a.num_inference_steps
        opts.pop("kept_steps", None)
    if a.out:
        os.makedirs(a.out, exist_ok=True)
    base = a.variant if a.variant in VARIANTS else "frozen"  # model-only variants carry their own layers/Otsu
    options = GroundingOptions.for_variant(base, **opts)
    if not options.resolved_kept_steps():
        p.error(f"--num-inference-steps {options.num_inference_steps} leaves no kept step (use 10 or more)")
    t0 = time.time()
    slugs: set = set()
    with torch.no_grad():
        traj, geometry = invert_image(image, model, options)
        t_inv = time.time() - t0
        for phrase in a.phrase:
            t1 = time.time()
            res = reference_heatmap(None, phrase, model, base, trajectory=traj, **opts)
            original = image_ops.map_to_original(res.heatmap, geometry["original_hw"])
            y, x = np.unravel_index(int(np.argmax(np.nan_to_num(original, nan=-1.0))), original.shape)
            rec = {"phrase": phrase, "variant": a.variant, "layers": list(options.layers),
                   "otsu_threshold": res.threshold, "peak_xy": [int(x), int(y)],
                   "seconds": round(time.time() - t1, 3), "inversion_seconds": round(t_inv, 3)}
            if a.out:
                slug = re.sub(r"[^a-z0-9]+", "-", phrase.lower()).strip("-")[:60] or "phrase"
                slug = next(c for c in [slug] + [f"{slug}-{k}" for k in range(2, 10 ** 6)] if c not in slugs)
                slugs.add(slug)
                rec.update(_save_outputs(a.out, slug, image, original))
            print(json.dumps(rec))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
