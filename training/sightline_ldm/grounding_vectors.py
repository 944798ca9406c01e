"""Test vectors shared by the Python reference and the app's TypeScript grounding runtime (main/grounding).

``parity``: reference heatmaps of the demo bundle (its PyTorch weights under ``models/demo/reference``) on six
images (portrait and landscape JPEG, a 16-bit PNG, a very wide JPEG, DICOM MONOCHROME1 16-bit and MONOCHROME2
14-bit) x three phrases x the frozen and tuned variants: the model-frame map before Otsu, and the Otsu threshold
where the variant applies one. The app must reproduce them from the ONNX graphs (test/unit/grounding/parity.test.ts).

    cd training && /usr/bin/python3 -m sightline_ldm.grounding_vectors parity --out ../test/vectors/grounding-demo

``ops``: the numeric building blocks (schedule, inversion step, antialiased resize, bilinear resize, Gaussian blur,
Otsu, the original-size mapping, preprocessing) on small seeded inputs, written with the functions of
``sightline_ldm.schedule`` and ``sightline_ldm.image_ops`` that the reference pipeline uses. Both test suites
check the committed file: pytest that these functions still produce it, vitest that main/grounding does.

    cd training && /usr/bin/python3 -m sightline_ldm.grounding_vectors ops --out ../test/vectors/grounding-ops.json
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np
import torch

from . import image_ops
from .schedule import DDIMSchedule, alphas_cumprod, ddim_inversion_step, trailing_timesteps


def _f(a) -> list:
    """Float list of an array, rows flattened (row-major); float64 values exactly as JSON numbers."""
    return [float(x) for x in np.asarray(a, dtype=np.float64).ravel()]


def ops_vectors() -> Dict[str, Any]:
    rng = np.random.default_rng(20261203)
    out: Dict[str, Any] = {}

    ab = alphas_cumprod().numpy()
    out["alphas_cumprod"] = {"indices": [0, 1, 9, 409, 599, 998, 999], "values": _f(ab[[0, 1, 9, 409, 599, 998, 999]])}
    out["trailing_timesteps"] = {"num_inference_steps": 100, "values": trailing_timesteps(100)}

    sched = DDIMSchedule(100)
    z = torch.from_numpy(rng.standard_normal((1, 3, 4, 4)).astype(np.float32))
    v = torch.from_numpy(rng.standard_normal((1, 3, 4, 4)).astype(np.float32))
    steps = []
    for t in (9, 409, 989, 999):
        nxt = ddim_inversion_step(z, v, t, sched.alphas_cumprod, 100)
        clipped = ddim_inversion_step(z, v, t, sched.alphas_cumprod, 100, clip_sample=True)
        steps.append({"t": t, "next": _f(nxt), "next_clipped": _f(clipped)})
    out["inversion_step"] = {"sample": _f(z), "v": _f(v), "steps": steps}

    cases = []
    for (h, w), (oh, ow) in (((37, 53), (16, 23)), ((64, 48), (9, 7)), ((5, 7), (16, 22)), ((12, 12), (12, 5))):
        img = rng.random((h, w)).astype(np.float32)
        res = image_ops.resize_bilinear(torch.from_numpy(img), (oh, ow), antialias=True).numpy()
        cases.append({"rows": h, "columns": w, "out_rows": oh, "out_columns": ow, "input": _f(img), "output": _f(res)})
    out["resize_antialiased"] = cases

    cases = []
    for (h, w), (oh, ow) in (((8, 8), (32, 32)), ((16, 16), (40, 40)), ((3, 5), (7, 4))):
        m = rng.random((h, w))
        res = image_ops.resize_bilinear(torch.from_numpy(m), (oh, ow)).numpy()
        cases.append({"rows": h, "columns": w, "out_rows": oh, "out_columns": ow, "input": _f(m), "output": _f(res)})
    out["resize_bilinear"] = cases

    cases = []
    for (h, w), sigma in (((20, 24), 2.5), ((6, 5), 2.5), ((10, 10), 0.8)):
        m = rng.random((h, w))
        cases.append({"rows": h, "columns": w, "sigma": sigma, "truncate": 4.0, "input": _f(m),
                      "output": _f(image_ops.gaussian_blur(m, sigma, 4.0))})
    out["gaussian_blur"] = cases

    cases = []
    for h, w in ((32, 32), (17, 9)):
        m = image_ops.minmax(image_ops.gaussian_blur(rng.random((h, w)) ** 3, 2.0))
        t = image_ops.otsu_threshold(m, 256)
        cases.append({"input": _f(m), "threshold": t})
    out["otsu"] = cases

    m = rng.random((16, 16)).astype(np.float32)
    out["map_to_original"] = [{"size": 16, "rows": r, "columns": c, "map": _f(m),
                               "output": [None if np.isnan(x) else float(x) for x in image_ops.map_to_original(m, (r, c)).ravel()]}
                              for r, c in ((30, 20), (20, 33), (16, 16))]

    cases = []
    for h, w in ((70, 45), (45, 70), (40, 40)):
        img = rng.random((h, w)).astype(np.float32)
        t, geo = image_ops.preprocess(img, 32)
        cases.append({"rows": h, "columns": w, "size": 32, "input": _f(img), "output": _f(t),
                      "resized": list(geo["resized_hw"]), "crop_top_left": list(geo["crop_top_left"])})
    out["preprocess"] = cases
    return out


REPO = Path(__file__).resolve().parents[2]
PARITY_PHRASES = ("right pleural effusion", "cardiomegaly", "left upper lobe consolidation")
PARITY_VARIANTS = ("frozen", "tuned")


def parity_images(out_dir: Path) -> List[Dict[str, str]]:
    """The six images: two demo JPEGs and the two VinDr DICOMs in place, plus a 16-bit PNG and a wide JPEG made
    here from a demo image (written under out_dir)."""
    from PIL import Image

    jpegs = sorted((REPO / "resources/demo/mimic-cxr-jpg/files").rglob("*.jpg"))
    portrait = next(p for p in jpegs if Image.open(p).size[1] > Image.open(p).size[0])
    landscape = next(p for p in jpegs if Image.open(p).size[0] > Image.open(p).size[1])
    dicoms = sorted((REPO / "resources/demo/vindr-cxr").rglob("*.dicom"))
    grey = np.asarray(Image.open(portrait).convert("L"), dtype=np.float64) / 255.0
    h, w = grey.shape
    # 16-bit: the grey image on a gamma curve, so that all 16 bits carry values
    png16 = (np.clip(grey[::2, ::2] ** 0.8, 0, 1) * 65535 + 0.5).astype(np.uint16)  # half size: a small file
    Image.fromarray(png16).save(out_dir / "portrait-16bit.png")
    wide = (grey[h // 3: h // 3 + 200, :] * 255 + 0.5).astype(np.uint8)
    Image.fromarray(wide).save(out_dir / "wide.jpg", quality=92)
    rel = lambda p: os.path.relpath(p, REPO)  # noqa: E731
    return [
        {"name": "portrait-jpeg", "file": rel(portrait)},
        {"name": "landscape-jpeg", "file": rel(landscape)},
        {"name": "portrait-png16", "file": rel(out_dir / "portrait-16bit.png")},
        {"name": "wide-jpeg", "file": rel(out_dir / "wide.jpg")},
        *({"name": f"dicom-{i}", "file": rel(p)} for i, p in enumerate(dicoms)),
    ]


def parity_vectors(out_dir: Path, images: Optional[List[Dict[str, str]]] = None) -> Dict[str, Any]:
    """Writes maps.f32 (every map, float32, in index order) and returns the index."""
    from .bundle import grounding_defaults
    from .grounding import reference_heatmap, read_image_file
    from .loading import load_grounding_model

    bundle = REPO / "models" / "demo"
    model, _ = load_grounding_model(str(bundle))
    manifest = json.loads((bundle / "manifest.json").read_text())
    variants = manifest.get("grounding") or grounding_defaults()
    images = images if images is not None else parity_images(out_dir)
    cases, blobs = [], []
    for img in images:
        image = read_image_file(str(REPO / img["file"]))
        trajectory = None
        for variant in PARITY_VARIANTS:
            v = variants[variant]
            for phrase in PARITY_PHRASES:
                r = reference_heatmap(image, phrase, model, variant, layers=v["layers"], otsu=False, trajectory=trajectory,
                                      kept_steps=v["step_indices"], num_inference_steps=v["num_inference_steps"])
                trajectory = r.trajectory
                heat = r.heatmap.astype(np.float32)
                threshold = image_ops.otsu_threshold(heat.astype(np.float64), v.get("otsu_bins", 256)) if v["otsu"] else None
                cases.append({"image": img["name"], "variant": variant, "phrase": phrase, "offset": len(blobs) * heat.size,
                              "threshold": threshold, "original_hw": list(image.shape)})
                blobs.append(heat.ravel())
    np.concatenate(blobs).astype("<f4").tofile(out_dir / "maps.f32")
    return {"bundle": "models/demo", "bundle_manifest_sha256": hashlib.sha256((bundle / "manifest.json").read_bytes()).hexdigest(),
            "size": model.image_size, "images": images, "cases": cases}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m sightline_ldm.grounding_vectors", description=__doc__.split("\n")[0])
    p.add_argument("what", choices=("ops", "parity"))
    p.add_argument("--out", required=True, help="ops: the JSON file; parity: the folder")
    args = p.parse_args(argv)
    if args.what == "ops":
        doc = {"generated_by": "cd training && /usr/bin/python3 -m sightline_ldm.grounding_vectors ops "
                               "--out ../test/vectors/grounding-ops.json", **ops_vectors()}
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump(doc, f, separators=(",", ":"))
            f.write("\n")
    else:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        doc = {"generated_by": "cd training && /usr/bin/python3 -m sightline_ldm.grounding_vectors parity "
                               "--out ../test/vectors/grounding-demo", **parity_vectors(out)}
        with open(out / "index.json", "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
