"""The Sightline model bundle: a directory with `manifest.json`, ONNX graphs, a raw token-embedding table and
`tokenizer.json`. `models/README.md` documents every field; this module builds and checks manifests.

Layout
    manifest.json          this description (not hashed itself)
    vae_encoder.onnx       image [B,1,S,S] in [0,1] -> latent z0 = scale_factor * mu  [B,C,S/f,S/f]
    text_encoder.onnx      inputs_embeds [B,77,H] (token embeddings, no positions) -> last_hidden_state [B,77,H]
    token_embedding.f32    the CLIP token-embedding table, raw little-endian float32, row-major [V, H]
    unet.onnx              latent [B,C,h,w], timestep [B] int64, context [B,77,H]
                           -> v_prediction [B,C,h,w], attn_<i> [B,heads,h_i*w_i,77] for i in unet_attention_layers
    unet_attention.onnx    same inputs -> attn_<i> only; the graph ends after the last of these layers
    tokenizer.json         Hugging Face tokenizers format (CLIP byte-level BPE)
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Union

import numpy as np

BUNDLE_FORMAT = "sightline-model-bundle"
BUNDLE_FORMAT_VERSION = 1
MANIFEST = "manifest.json"

PathLike = Union[str, os.PathLike]

# docs/method.md sections 2-3.
DEFAULT_GROUNDING: Dict[str, Dict[str, Any]] = {
    "frozen": {"layers": [3, 4, 6, 7], "num_inference_steps": 100, "step_indices": list(range(40, 60)),
               "otsu": True},
    "tuned": {"layers": [4, 5, 6, 7], "num_inference_steps": 100, "step_indices": list(range(40, 60)),
              "otsu": False},
}
COMMON_GROUNDING: Dict[str, Any] = {
    "timestep_spacing": "trailing",
    "inversion_prompt": "",
    "guidance_scale": 0.0,
    "token_reduction": "mean over the phrase tokens (no start/end/padding)",
    "per_map_normalisation": "min-max",
    "resize": "bilinear, align_corners=false, to image.size",
    "blur_sigma_px": 2.5,
    "blur_truncate": 4.0,
    "otsu_bins": 256,
}


def sha256_file(path: PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(chunk)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def write_f32(path: PathLike, array: Any) -> List[int]:
    """Write an array as raw little-endian float32 (row-major); returns its shape."""
    a = np.ascontiguousarray(np.asarray(array, dtype="<f4"))
    with open(path, "wb") as f:
        f.write(a.tobytes(order="C"))
    return list(a.shape)


def read_f32(path: PathLike, shape: Sequence[int]) -> np.ndarray:
    a = np.fromfile(path, dtype="<f4")
    n = int(np.prod(shape)) if len(shape) else 1
    if a.size != n:
        raise ValueError(f"{path}: {a.size} float32 values, expected {n} for shape {list(shape)}")
    return a.reshape(shape)


def timesteps_for(num_inference_steps: int, step_indices: Iterable[int], num_train_timesteps: int = 1000) -> List[int]:
    """Trailing spacing: t_i = (i + 1) * (T // n) - 1 (9, 19, ..., 999 for n = 100)."""
    d = num_train_timesteps // num_inference_steps
    return [(i + 1) * d - 1 for i in step_indices]


def grounding_defaults(overrides: Optional[Mapping[str, Mapping[str, Any]]] = None) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for variant, base in DEFAULT_GROUNDING.items():
        v = dict(base)
        for k, val in COMMON_GROUNDING.items():
            v.setdefault(k, val)
        if overrides and variant in overrides:
            v.update(overrides[variant])
        v["step_indices"] = [int(i) for i in v["step_indices"]]
        v["timesteps"] = timesteps_for(v["num_inference_steps"], v["step_indices"])
        out[variant] = v
    for variant, extra in (overrides or {}).items():
        if variant not in out:
            # A new variant starts from the frozen pipeline's schedule (100 steps, kept 40..59) unless it says otherwise.
            v = {k: val for k, val in DEFAULT_GROUNDING["frozen"].items() if k in ("num_inference_steps", "step_indices")}
            v.update(COMMON_GROUNDING)
            v.update(extra)
            v["step_indices"] = [int(i) for i in v["step_indices"]]
            v["timesteps"] = timesteps_for(v["num_inference_steps"], v["step_indices"])
            out[variant] = v
    return out


def hash_files(bundle_dir: PathLike, names: Iterable[str]) -> Dict[str, Dict[str, Any]]:
    d = Path(bundle_dir)
    return {n: {"sha256": sha256_file(d / n), "bytes": (d / n).stat().st_size} for n in sorted(names)}


def write_manifest(bundle_dir: PathLike, manifest: Mapping[str, Any]) -> Path:
    p = Path(bundle_dir) / MANIFEST
    with open(p, "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2, sort_keys=False)
        f.write("\n")
    return p


def load_manifest(bundle_dir: PathLike) -> Dict[str, Any]:
    with open(Path(bundle_dir) / MANIFEST, encoding="utf-8") as f:
        m = json.load(f)
    if m.get("format") != BUNDLE_FORMAT:
        raise ValueError(f"{bundle_dir}: not a {BUNDLE_FORMAT} (format={m.get('format')!r})")
    if int(m.get("format_version", -1)) > BUNDLE_FORMAT_VERSION:
        raise ValueError(f"{bundle_dir}: format_version {m.get('format_version')} is newer than this code")
    return m


def verify_bundle(bundle_dir: PathLike, check_hashes: bool = True) -> Dict[str, Any]:
    """Load the manifest and check that every listed file exists with the recorded size (and sha256)."""
    m = load_manifest(bundle_dir)
    d = Path(bundle_dir)
    problems = []
    for name, info in m.get("files", {}).items():
        p = d / name
        if not p.is_file():
            problems.append(f"missing {name}")
            continue
        if p.stat().st_size != info["bytes"]:
            problems.append(f"{name}: {p.stat().st_size} bytes, manifest says {info['bytes']}")
        elif check_hashes and sha256_file(p) != info["sha256"]:
            problems.append(f"{name}: sha256 mismatch")
    table = (m.get("text") or {}).get("token_embedding")
    if table is not None:
        expect = 4 * int(np.prod(table["shape"]))
        p = d / table["file"]
        if p.is_file() and p.stat().st_size != expect:
            problems.append(f"{table['file']}: {p.stat().st_size} bytes, shape {table['shape']} needs {expect}")
    if problems:
        raise ValueError(f"{bundle_dir}: " + "; ".join(problems))
    return m
