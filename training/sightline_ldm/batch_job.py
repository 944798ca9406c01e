"""The batch job folder's ``job.json`` (issue 16; format in sightline_ldm/BATCH.md and docs/datasets.md): reading,
validating, the bundle-hash check, variant settings -> reference-pipeline options, and the shard / rank assignment.

Every problem raises ``JobError`` with a message that names the file and the problem; the command line prints it as
``python -m sightline_ldm.batch: <message>`` and exits 1 (no traceback).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .schedule import trailing_timesteps

JOB_FORMAT = "sightline-batch-job"
JOB_VERSION = 1


class JobError(ValueError):
    """A job, bundle or results folder that cannot be used; the message names the file and the problem."""


def sha256_file(path: str, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


@dataclasses.dataclass(frozen=True)
class VariantSpec:
    """One variant of the job: its name, the app's settings key, and the settings the reference pipeline needs."""
    name: str
    settings_key: str
    layers: Tuple[int, ...]
    num_inference_steps: int
    step_indices: Tuple[int, ...]
    otsu: bool
    otsu_bins: int
    sigma: float
    truncate: float
    clip_sample: bool
    inversion_prompt: str
    token_overrides: Optional[Dict[int, List[float]]]

    @property
    def inversion_key(self) -> Tuple[int, bool, str]:
        """Variants with the same key share one inversion per image (to the largest kept step among them)."""
        return (self.num_inference_steps, self.clip_sample, self.inversion_prompt)


@dataclasses.dataclass(frozen=True)
class ImageSpec:
    index: int
    key: str
    path: str
    sha256: str
    rows: int
    columns: int
    phrases: Tuple[str, ...]


@dataclasses.dataclass
class Job:
    file: str
    folder: str
    raw: Dict[str, Any]
    id: str
    bundle: Dict[str, str]
    variants: List[VariantSpec]
    images: List[ImageSpec]
    shard_size: int
    shards: List[List[int]]

    def shard_of(self) -> Dict[int, int]:
        return {i: k for k, idx in enumerate(self.shards) for i in idx}

    def selection(self, shard: Optional[int]) -> List[int]:
        """Image indices of the selected shards (all, or shard ``shard``) in job order."""
        if shard is None:
            return [i for idx in self.shards for i in idx]
        if not 0 <= shard < len(self.shards):
            raise JobError(f"{self.file}: --shard {shard}: the job has shards 0..{len(self.shards) - 1}")
        return list(self.shards[shard])

    def maps_per_image(self, i: int) -> int:
        return len(self.images[i].phrases) * len(self.variants)


def assigned(selection: Sequence[int], rank: int, world: int) -> List[int]:
    """Image number n of the selection (0-based) goes to rank n % world."""
    return [i for n, i in enumerate(selection) if n % world == rank]


def _need(cond: bool, file: str, where: str, problem: str) -> None:
    if not cond:
        raise JobError(f"{file}: {where}: {problem}")


def _int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _variant(file: str, n: int, v: Any) -> VariantSpec:
    w = f"variants[{n}]"
    _need(isinstance(v, dict), file, w, "not an object")
    name, key, s = v.get("name"), v.get("settings_key"), v.get("settings")
    _need(isinstance(name, str) and name != "" and "/" not in name and not name.startswith("."), file, f"{w}.name",
          f"{name!r} is not a variant name (a non-empty string without '/')")
    _need(isinstance(key, str) and key != "", file, f"{w}.settings_key", "missing")
    _need(isinstance(s, dict), file, f"{w}.settings", "not an object")
    w = f"{w}.settings"
    for field, check, what in (("layers", lambda x: isinstance(x, list) and x and all(_int(i) and i >= 0 for i in x),
                                "a non-empty list of layer indices"),
                               ("numInferenceSteps", lambda x: _int(x) and x >= 1, "a positive integer"),
                               ("stepIndices", lambda x: isinstance(x, list) and x and all(_int(i) for i in x),
                                "a non-empty list of step indices"),
                               ("otsu", lambda x: isinstance(x, bool), "true or false"),
                               ("otsuBins", lambda x: _int(x) and x >= 2, "an integer >= 2"),
                               ("sigma", lambda x: _number(x) and x >= 0, "a number >= 0"),
                               ("truncate", lambda x: _number(x) and x > 0, "a number > 0"),
                               ("clipSample", lambda x: isinstance(x, bool), "true or false"),
                               ("inversionPrompt", lambda x: isinstance(x, str), "a string")):
        _need(field in s and check(s[field]), file, f"{w}.{field}", f"expected {what}, got {s.get(field)!r}")
    n_steps = s["numInferenceSteps"]
    _need(all(0 <= i < n_steps for i in s["stepIndices"]), file, f"{w}.stepIndices",
          f"every index must be in 0..{n_steps - 1}")
    if "timesteps" in s:  # the app writes them; they must be the trailing schedule's (what the pipeline uses)
        want = [trailing_timesteps(n_steps)[i] for i in s["stepIndices"]]
        _need(s["timesteps"] == want, file, f"{w}.timesteps",
              f"not the trailing timesteps of stepIndices for {n_steps} steps ({want[:3]}...)")
    overrides = s.get("tokenOverrides")
    rows: Optional[Dict[int, List[float]]] = None
    if overrides is not None:
        _need(isinstance(overrides, dict), file, f"{w}.tokenOverrides", "not an object")
        rows = {}
        width = None
        for tok, row in overrides.items():
            _need(tok.isdigit(), file, f"{w}.tokenOverrides", f"key {tok!r} is not a token id")
            _need(isinstance(row, list) and row and all(_number(x) for x in row), file, f"{w}.tokenOverrides[{tok}]",
                  "not a list of numbers")
            width = len(row) if width is None else width
            _need(len(row) == width, file, f"{w}.tokenOverrides[{tok}]", f"{len(row)} numbers, the others {width}")
            rows[int(tok)] = [float(x) for x in row]
    return VariantSpec(name=name, settings_key=key, layers=tuple(int(i) for i in s["layers"]),
                       num_inference_steps=int(n_steps), step_indices=tuple(int(i) for i in s["stepIndices"]),
                       otsu=bool(s["otsu"]), otsu_bins=int(s["otsuBins"]), sigma=float(s["sigma"]),
                       truncate=float(s["truncate"]), clip_sample=bool(s["clipSample"]),
                       inversion_prompt=s["inversionPrompt"], token_overrides=rows)


def _image(file: str, n: int, v: Any) -> ImageSpec:
    w = f"images[{n}]"
    _need(isinstance(v, dict), file, w, "not an object")
    for field in ("key", "path", "sha256"):
        _need(isinstance(v.get(field), str) and v[field] != "", file, f"{w}.{field}", "missing or not a string")
    p = v["path"]
    _need(not p.startswith("/") and "\\" not in p and ".." not in p.split("/"), file, f"{w}.path",
          f"{p!r} is not a POSIX path relative to the data root")
    _need(len(v["sha256"]) == 64 and all(c in "0123456789abcdef" for c in v["sha256"]), file, f"{w}.sha256",
          "not a lower-case sha256 hex digest")
    for field in ("rows", "columns"):
        _need(_int(v.get(field)) and v[field] > 0, file, f"{w}.{field}", "not a positive integer")
    ph = v.get("phrases")
    _need(isinstance(ph, list) and ph and all(isinstance(x, str) and x.strip() for x in ph), file, f"{w}.phrases",
          "not a non-empty list of phrases")
    _need(len(set(ph)) == len(ph), file, f"{w}.phrases", "phrases repeat")
    return ImageSpec(index=n, key=v["key"], path=p, sha256=v["sha256"], rows=v["rows"], columns=v["columns"],
                     phrases=tuple(ph))


def resolve_job_file(arg: str) -> str:
    path = os.path.join(arg, "job.json") if os.path.isdir(arg) else arg
    if not os.path.isfile(path):
        raise JobError(f"{path}: no such job file (give JOB_DIR or JOB_DIR/job.json)")
    return path


def load_job(arg: str) -> Job:
    """Reads and validates JOB_DIR/job.json (or the file itself)."""
    file = resolve_job_file(arg)
    try:
        with open(file, encoding="utf-8") as f:
            raw = json.load(f)
    except json.JSONDecodeError as e:
        raise JobError(f"{file}: line {e.lineno} column {e.colno}: {e.msg}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise JobError(f"{file}: cannot read: {e}") from None
    _need(isinstance(raw, dict), file, "top level", "not a JSON object")
    _need(raw.get("format") == JOB_FORMAT, file, "format", f"expected {JOB_FORMAT!r}, got {raw.get('format')!r}")
    _need(raw.get("version") == JOB_VERSION, file, "version",
          f"version {raw.get('version')!r} is not supported (this runner reads version {JOB_VERSION})")
    _need(isinstance(raw.get("id"), str) and raw["id"] != "", file, "id", "missing")
    b = raw.get("bundle")
    _need(isinstance(b, dict) and all(isinstance(b.get(k), str) for k in ("name", "version", "hash")), file, "bundle",
          "expected {name, version, hash} strings")
    vs = raw.get("variants")
    _need(isinstance(vs, list) and vs, file, "variants", "not a non-empty list")
    variants = [_variant(file, n, v) for n, v in enumerate(vs)]
    names = [v.name for v in variants]
    _need(len(set(names)) == len(names), file, "variants", f"variant names repeat: {names}")
    ims = raw.get("images")
    _need(isinstance(ims, list), file, "images", "not a list")
    images = [_image(file, n, v) for n, v in enumerate(ims)]
    size = raw.get("shard_size")
    _need(_int(size) and size >= 1, file, "shard_size", "not a positive integer")
    shards = raw.get("shards")
    _need(isinstance(shards, list) and all(isinstance(s, list) and all(_int(i) for i in s) for s in shards), file,
          "shards", "not a list of lists of image indices")
    want = [list(range(a, min(a + size, len(images)))) for a in range(0, len(images), size)]
    _need(shards == want, file, "shards", f"not the contiguous blocks of shard_size {size} over {len(images)} images")
    return Job(file=file, folder=os.path.dirname(os.path.abspath(file)), raw=raw, id=raw["id"], bundle=dict(b),
               variants=variants, images=images, shard_size=size, shards=shards)


def check_bundle(job: Job, bundle_dir: str) -> Dict[str, Any]:
    """sha256(BUNDLE/manifest.json) must be the job's bundle hash (the app's bundle hash). Returns the manifest."""
    path = os.path.join(bundle_dir, "manifest.json")
    if not os.path.isfile(path):
        raise JobError(f"{path}: no bundle manifest (--model must be the model bundle folder the job names)")
    got = sha256_file(path)
    if got != job.bundle["hash"]:
        raise JobError(f"{job.file}: made with bundle {job.bundle['name']!r} hash {job.bundle['hash']}, but {path} "
                       f"has sha256 {got}; use the bundle the job was exported with")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def options_of(v: VariantSpec) -> Dict[str, Any]:
    """``reference_heatmap`` keyword options of a variant (the map BEFORE Otsu, as parity_vectors computes it)."""
    return dict(layers=list(v.layers), otsu=False, kept_steps=list(v.step_indices),
                num_inference_steps=v.num_inference_steps, sigma=v.sigma, truncate=v.truncate,
                clip_sample=v.clip_sample)


def group_by_inversion(variants: Sequence[VariantSpec]) -> List[Tuple[Tuple[int, bool, str], List[VariantSpec]]]:
    """Variants grouped by their inversion key, in job order of each group's first variant."""
    groups: Dict[Tuple[int, bool, str], List[VariantSpec]] = {}
    for v in variants:
        groups.setdefault(v.inversion_key, []).append(v)
    return list(groups.items())

