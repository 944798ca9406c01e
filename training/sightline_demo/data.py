"""Training data for the demo LDM: synthetic phantoms from `sightline_world`, cached as .npz chunks.

Each chunk `chunk_{k:05d}.npz` holds `images` (uint8 [n, S, S]) and `meta` (a JSON string: per case its index,
positive sentences with finding/location/boxes, all report sentences). Chunks are generated in parallel
processes and are reused on the next run (same seed, preset and chunk size -> same files).
"""
from __future__ import annotations

import json
import os
import random
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np
from sightline_eval.locations import compose_prompt  # one spelling of '{location} {pathology}' everywhere

CHUNK = 250


def _resize(img: np.ndarray, size: int) -> np.ndarray:
    if img.shape[0] == size and img.shape[1] == size:
        return img
    from PIL import Image
    h, w = img.shape
    s = size / min(h, w)
    im = Image.fromarray((np.clip(img, 0, 1) * 65535).astype(np.uint16).astype(np.int32), mode="I")
    im = im.resize((max(size, round(w * s)), max(size, round(h * s))), Image.BILINEAR)
    a = np.asarray(im, dtype=np.float32) / 65535.0
    y0, x0 = (a.shape[0] - size) // 2, (a.shape[1] - size) // 2
    return a[y0:y0 + size, x0:x0 + size]


def _case_meta(c) -> Dict[str, Any]:
    t = c.truth
    sents = []
    for s in t["sentences"]:
        sents.append({"text": s["text"], "certainty": s["certainty"], "finding": s.get("finding"),
                      "location": s.get("location"), "box_ids": list(s.get("box_ids") or [])})
    return {"index": int(t["case_index"]), "width": int(t["width"]), "height": int(t["height"]),
            "sentences": sents, "boxes": t["boxes"],
            "findings": [{"finding": f["finding"], "location": f["location"], "boxes": f["boxes"]}
                         for f in t["findings"]]}


def _make_chunk(args: Tuple[str, int, int, int, str, int]) -> str:
    out, seed, start, n, preset, size = args
    from sightline_world.case import generate_case
    path = Path(out) / f"chunk_{start // CHUNK:05d}.npz"
    if path.exists():
        return str(path)
    imgs, metas = [], []
    for i in range(start, start + n):
        c = generate_case(seed, i, preset)
        imgs.append((_resize(c.image.astype(np.float32), size) * 255 + 0.5).clip(0, 255).astype(np.uint8))
        metas.append(_case_meta(c))
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, images=np.stack(imgs), meta=np.array(json.dumps(metas)))
    os.replace(tmp, path)
    return str(path)


def data_dir_for(root: os.PathLike, seed: int, preset: str, size: int) -> Path:
    return Path(root) / f"world-s{seed}-{preset}-{size}px"


def generate(root: os.PathLike, n_cases: int, seed: int = 0, preset: str = "tiny", size: int = 128,
             workers: int = 2, log=print) -> Path:
    d = data_dir_for(root, seed, preset, size)
    d.mkdir(parents=True, exist_ok=True)
    jobs = [(str(d), seed, s, min(CHUNK, n_cases - s), preset, size) for s in range(0, n_cases, CHUNK)]
    todo = [j for j in jobs if not (d / f"chunk_{j[2] // CHUNK:05d}.npz").exists()]
    if todo:
        log(f"[data] generating {sum(j[3] for j in todo)} cases into {d} with {workers} processes")
        if workers <= 1 or len(todo) == 1:
            for j in todo:
                _make_chunk(j)
        else:
            with ProcessPoolExecutor(workers) as ex:
                list(ex.map(_make_chunk, todo))
    return d


def load(d: os.PathLike, n_cases: int) -> Tuple[np.ndarray, List[Dict[str, Any]]]:
    d = Path(d)
    imgs, metas = [], []
    for s in range(0, n_cases, CHUNK):
        z = np.load(d / f"chunk_{s // CHUNK:05d}.npz")
        imgs.append(z["images"])
        metas += json.loads(str(z["meta"]))
    return np.concatenate(imgs)[:n_cases], metas[:n_cases]


# ---------------------------------------------------------------------------------------------- prompts
def positive_sentences(meta: Dict[str, Any]) -> List[str]:
    return [s["text"] for s in meta["sentences"] if s["certainty"] in ("positive", "uncertain") and s["finding"]]


def short_phrases(meta: Dict[str, Any]) -> List[str]:
    """'{location} {pathology}' phrases of the case's findings (method.md 4.1 form), e.g. 'left pleural effusion'."""
    out = []
    for f in meta["findings"]:
        name = f["finding"].lower()
        loc = (f["location"] or "").strip()
        if name == "cardiomegaly":
            out.append("cardiomegaly")
        else:
            out.append(compose_prompt(loc, name) if loc else name)
    return out


class PromptSampler:
    """Base-LDM prompts: a random subset of 1-4 report sentences (in report order), `p_empty` empty.

    [our choice] To strengthen the text conditioning, with probability `p_positive` a case with findings gets a
    prompt built only from its positive sentences and short '{location} {finding}' phrases (1-4 of them, shuffled)
    -- so side + finding words are frequent in training prompts and appear without negation clutter.
    """

    def __init__(self, p_empty: float = 0.1, p_positive: float = 0.5, seed: int = 0) -> None:
        self.p_empty, self.p_positive = p_empty, p_positive
        self.rng = random.Random(seed)

    def __call__(self, meta: Dict[str, Any]) -> str:
        r = self.rng
        if r.random() < self.p_empty:
            return ""
        pos = positive_sentences(meta)
        if pos and r.random() < self.p_positive:
            pool = list(dict.fromkeys(pos + short_phrases(meta)))
            k = r.randint(1, min(4, len(pool)))
            chosen = r.sample(pool, k)
            return " ".join(chosen)
        sents = [s["text"] for s in meta["sentences"]]
        k = r.randint(1, min(4, len(sents)))
        idx = sorted(r.sample(range(len(sents)), k))
        return " ".join(sents[i] for i in idx)


def corpus(metas: Sequence[Dict[str, Any]]) -> List[str]:
    out = []
    for m in metas:
        out += [s["text"] for s in m["sentences"]]
        out += short_phrases(m)
    return out
