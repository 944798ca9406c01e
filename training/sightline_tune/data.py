"""Image-phrase pairs for tuning, the train/validation split, and the per-image latent cache.

Pairs come from an MS-CXR-style CSV (``sightline_eval.mscxr`` groups rows into pairs with boxes) plus an image root,
or from a ``sightline_world`` directory (its ``ms-cxr/*.csv`` and ``mimic-cxr-jpg/``). Each sentence goes through the
standardiser (``sightline_eval.locations.standardise``): negated and resolved findings and sentences without a
location are dropped; the prompt is "{location} {pathology}".

Latent cache (one file per image and setting, ``<cache>/<image sha256[:20]>-<settings key>.pt``, torch.save of a
dict): ``format`` = "sightline-tune-latents", ``version`` = 1, ``bundle_hash``, ``image_sha256``,
``num_inference_steps``, ``steps`` (kept step indices), ``timesteps``, ``latents`` (float32 [T, C, h, w]: the U-Net
input z_i of each kept step of the unconditional DDIM inversion, method.md section 2), ``z0`` ([1, C, h, w]) and
``geometry`` (preprocessing crop, for mapping maps back to the original image). The model is frozen, so the latents
do not depend on the prompt and serve every pair of the image and every epoch.
"""
from __future__ import annotations

import collections
import glob
import hashlib
import json
import os
from typing import Dict, List, Optional, Sequence, Tuple

import torch

from sightline_eval.locations import compose_prompt, standardise
from sightline_eval.mscxr import group_pairs, read_rows

CACHE_FORMAT = "sightline-tune-latents"


class DataError(ValueError):
    """Unusable training data; the message names the file and the problem."""


def resolve_source(data: str, images_root: Optional[str] = None) -> Tuple[str, str]:
    """-> (csv path, image root) for a world directory or a CSV (+ root, default: the CSV's folder)."""
    if os.path.isdir(data):
        csvs = sorted(glob.glob(os.path.join(data, "ms-cxr", "*.csv")))
        if not csvs:
            raise DataError(f"{data}: no ms-cxr/*.csv (generate the world with --formats mimic,mscxr)")
        root = images_root or os.path.join(data, "mimic-cxr-jpg")
        return csvs[0], root
    if not os.path.isfile(data):
        raise DataError(f"{data}: no such file or directory")
    return data, images_root or os.path.dirname(os.path.abspath(data))


def load_pairs(csv_path: str, images_root: str) -> Tuple[List[dict], Dict[str, int]]:
    """Pairs with ``prompt``, ``location``, ``category``, ``boxes``, ``image`` (absolute path); and drop counts."""
    try:
        rows = read_rows(csv_path)
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"{csv_path}: {e}") from e
    need = {"path", "label_text", "category_name", "x", "y", "w", "h"}
    if rows and not need <= set(rows[0]):
        raise DataError(f"{csv_path}: line 1: missing columns {sorted(need - set(rows[0]))}")
    dropped: Dict[str, int] = collections.Counter()
    out = []
    for p in group_pairs(rows):
        s = standardise(p["label_text"], p["category"])
        if s.get("negated") or s.get("resolved"):
            dropped["negated or resolved"] += 1
            continue
        locs = s.get("locations") or []
        if not locs:
            dropped["no location"] += 1
            continue
        loc = " and ".join(locs)
        image = os.path.join(images_root, p["path"])
        if not os.path.isfile(image):
            raise DataError(f"{csv_path}: pair {p['id']} ({p['path']}): image not found under {images_root}")
        out.append(dict(p, location=loc, prompt=compose_prompt(loc, p["category"]), image=image))
    if not out:
        raise DataError(f"{csv_path}: no usable '{{location}} {{pathology}}' pairs ({dict(dropped)})")
    return out, dict(dropped)


def split_pairs(pairs: Sequence[dict], val_images: int, seed: int) -> Tuple[List[dict], List[dict]]:
    """Split by image (never the same image on both sides): the ``val_images`` images first in a seeded hash order."""
    images = sorted({p["image"] for p in pairs},
                    key=lambda s: hashlib.sha256(f"{seed}:{os.path.basename(s)}".encode()).hexdigest())
    if val_images >= len(images):
        raise DataError(f"val_images={val_images} leaves no training image ({len(images)} images)")
    val = set(images[:val_images])
    return [p for p in pairs if p["image"] not in val], [p for p in pairs if p["image"] in val]


def file_sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def settings_key(bundle_hash: str, num_inference_steps: int, steps: Sequence[int], image_size: int) -> str:
    s = json.dumps([bundle_hash, int(num_inference_steps), [int(i) for i in steps], int(image_size)])
    return hashlib.sha256(s.encode()).hexdigest()[:12]


def cached_latents(image_path: str, model, bundle_hash: str, num_inference_steps: int, steps: Sequence[int],
                   cache_dir: str, uncond: torch.Tensor) -> dict:
    """Load or compute (and store) the latents of ``steps`` for one image; see the module doc for the format."""
    from sightline_ldm import grounding as G
    digest = file_sha256(image_path)
    key = settings_key(bundle_hash, num_inference_steps, steps, model.image_size)
    path = os.path.join(cache_dir, f"{digest[:20]}-{key}.pt")
    if os.path.isfile(path):
        entry = torch.load(path, map_location="cpu")
        if entry.get("format") == CACHE_FORMAT and entry.get("image_sha256") == digest:
            return entry
    img = G.read_image_file(image_path)
    opt = G.GroundingOptions(num_inference_steps=num_inference_steps, kept_steps=list(steps), uncond_embedding=uncond)
    traj, geometry = G.invert_image(img, model, opt)
    entry = {"format": CACHE_FORMAT, "version": 1, "bundle_hash": bundle_hash, "image_sha256": digest,
             "num_inference_steps": int(num_inference_steps), "steps": [int(i) for i in steps],
             "timesteps": [int(traj.timesteps[i]) for i in steps],
             "latents": torch.cat([traj.inputs[i] for i in steps]).float().cpu(),
             "z0": traj.z0.float().cpu(), "geometry": geometry}
    os.makedirs(cache_dir, exist_ok=True)
    tmp = path + f".tmp{os.getpid()}"
    torch.save(entry, tmp)
    os.replace(tmp, path)
    return entry


def precompute_latents(images: Sequence[str], model, bundle_hash: str, num_inference_steps: int,
                       steps: Sequence[int], cache_dir: str, uncond: torch.Tensor, batch: int = 16) -> int:
    """Fill the cache for the images not yet in it, ``batch`` images per U-Net call (same file format as
    ``cached_latents``; the batched inversion equals the per-image one to float rounding). Returns how many were new."""
    from sightline_ldm import grounding as G
    from sightline_ldm import image_ops
    from sightline_ldm.schedule import DDIMSchedule
    key = settings_key(bundle_hash, num_inference_steps, steps, model.image_size)
    todo = []
    for path in images:
        digest = file_sha256(path)
        if not os.path.isfile(os.path.join(cache_dir, f"{digest[:20]}-{key}.pt")):
            todo.append((path, digest))
    os.makedirs(cache_dir, exist_ok=True)
    schedule = DDIMSchedule(num_inference_steps)
    for a in range(0, len(todo), batch):
        part = todo[a:a + batch]
        imgs, geos = zip(*(image_ops.preprocess(G.read_image_file(p), model.image_size) for p, _ in part))
        z0 = G.encode_latent(model, torch.cat(imgs), model.latent_scale)
        ctx = uncond.to(model.device).expand(z0.shape[0], -1, -1)
        traj = G.ddim_inversion(model.unet, z0, ctx, schedule, max(steps))
        for j, (path, digest) in enumerate(part):
            entry = {"format": CACHE_FORMAT, "version": 1, "bundle_hash": bundle_hash, "image_sha256": digest,
                     "num_inference_steps": int(num_inference_steps), "steps": [int(i) for i in steps],
                     "timesteps": [int(traj.timesteps[i]) for i in steps],
                     "latents": torch.stack([traj.inputs[i][j] for i in steps]).float().cpu(),
                     "z0": z0[j:j + 1].float().cpu(), "geometry": geos[j]}
            tmp = os.path.join(cache_dir, f"{digest[:20]}-{key}.pt.tmp{os.getpid()}")
            torch.save(entry, tmp)
            os.replace(tmp, os.path.join(cache_dir, f"{digest[:20]}-{key}.pt"))
    return len(todo)


def trajectory_of(entry: dict, device) -> "object":
    """A ``grounding.Trajectory`` holding only the kept steps (enough for ``reference_heatmap``)."""
    from sightline_ldm.grounding import Trajectory
    last = max(entry["steps"])
    inputs: List[Optional[torch.Tensor]] = [None] * (last + 1)
    for k, i in enumerate(entry["steps"]):
        inputs[i] = entry["latents"][k:k + 1].to(device)
    timesteps = [0] * (last + 1)
    for i, t in zip(entry["steps"], entry["timesteps"]):
        timesteps[i] = int(t)
    return Trajectory(z0=entry["z0"].to(device), timesteps=timesteps, inputs=inputs, after=[])
