"""The batch results folder (issue 16; layout in sightline_ldm/BATCH.md): progress files, per-image staging records,
sealed shards, and the content checks that make a rerun resumable.

An image counts as done only when its record (written last, atomically) exists and every map file it lists has the
sha256 the record gives; a sealed shard only when every file its shard.json lists has its sha256. Nothing here trusts
a file for existing.
"""
from __future__ import annotations

import csv
import datetime
import hashlib
import io
import json
import os
import time
from typing import Any, Dict, Iterable, List, Optional, Tuple

import numpy as np

from .batch_job import Job, sha256_file

SHARD_FORMAT = "sightline-batch-shard"
RECORD_FORMAT = "sightline-batch-image"


def iso(t: Optional[float] = None) -> str:
    return datetime.datetime.fromtimestamp(time.time() if t is None else t, datetime.timezone.utc) \
        .isoformat(timespec="seconds").replace("+00:00", "Z")


def atomic_write(path: str, data: bytes, fsync: bool = True) -> None:
    """tmp + os.replace in the same folder: a reader sees the old file or the whole new one, never a torn one."""
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
        if fsync:
            f.flush()
            os.fsync(f.fileno())
    os.replace(tmp, path)


def atomic_json(path: str, obj: Any) -> None:
    atomic_write(path, (json.dumps(obj, indent=1) + "\n").encode("utf-8"))


def shard_name(k: int) -> str:
    return f"shard-{k:05d}"


def staging_dir(results: str, k: int) -> str:
    return os.path.join(results, "staging", shard_name(k))


def sealed_dir(results: str, k: int) -> str:
    return os.path.join(results, "shards", shard_name(k))


class Progress:
    """progress/<tag>-rank<r>.jsonl: one JSON line per event, appended and flushed per line."""

    def __init__(self, results: str, tag: str, rank: int) -> None:
        d = os.path.join(results, "progress")
        os.makedirs(d, exist_ok=True)
        self.path = os.path.join(d, f"{tag}-rank{rank}.jsonl")
        self.f = open(self.path, "a", encoding="utf-8")
        if self.f.tell() > 0:  # a killed run may have left a torn last line: start on a fresh one
            with open(self.path, "rb") as r:
                r.seek(-1, os.SEEK_END)
                if r.read(1) != b"\n":
                    self.f.write("\n")

    def event(self, event: str, **kw: Any) -> None:
        self.f.write(json.dumps({"event": event, **kw, "t": iso()}) + "\n")
        self.f.flush()

    def close(self) -> None:
        self.f.close()


def npy_bytes(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(a, dtype=np.float32), allow_pickle=False)
    return buf.getvalue()


def write_map(staging: str, variant: str, i: int, j: int, heat: np.ndarray) -> Tuple[str, str]:
    """Writes <variant>/<i>-<j>.npy atomically (fsynced: on disk before the record that vouches for it);
    -> (file relative to the shard, sha256)."""
    rel = f"{variant}/{i}-{j}.npy"
    os.makedirs(os.path.join(staging, variant), exist_ok=True)
    data = npy_bytes(heat)
    atomic_write(os.path.join(staging, rel), data)
    return rel, hashlib.sha256(data).hexdigest()


def write_record(staging: str, i: int, record: Dict[str, Any]) -> None:
    atomic_json(os.path.join(staging, f"{i}.json"), dict(record, format=RECORD_FORMAT))


def expected_maps(job: Job, i: int) -> List[Tuple[str, str, int, str]]:
    """(variant, settings_key, phrase index, phrase) of every map image i must have, in shard.json order."""
    im = job.images[i]
    return [(v.name, v.settings_key, j, p) for v in job.variants for j, p in enumerate(im.phrases)]


def _files_ok(folder: str, maps: Iterable[Dict[str, Any]]) -> Optional[str]:
    """None when every listed file exists with its sha256, else the first problem."""
    for m in maps:
        path = os.path.join(folder, m["file"])
        if not os.path.isfile(path):
            return f"{m['file']}: missing"
        if sha256_file(path) != m["sha256"]:
            return f"{m['file']}: sha256 differs from the record (changed or torn)"
    return None


def read_record(staging: str, job: Job, i: int) -> Optional[Dict[str, Any]]:
    """Image i's record when the image is done (record + every file with its sha256), else None."""
    path = os.path.join(staging, f"{i}.json")
    try:
        with open(path, encoding="utf-8") as f:
            rec = json.load(f)
        want = [(m["variant"], m["settings_key"], m["phrase_index"], m["phrase"]) for m in rec["maps"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if rec.get("job_id") != job.id or rec.get("image") != i or want != expected_maps(job, i):
        return None
    return rec if _files_ok(staging, rec["maps"]) is None else None


def check_sealed(results: str, job: Job, k: int) -> Tuple[Optional[bool], Optional[str]]:
    """(None, None) when shard k is not sealed; (True, None) when it passes the content check; (False, problem)."""
    d = sealed_dir(results, k)
    if not os.path.isdir(d):
        return None, None
    try:
        with open(os.path.join(d, "shard.json"), encoding="utf-8") as f:
            doc = json.load(f)
        maps = doc["maps"]
        got = [(m["image"], m["variant"], m["phrase"]) for m in maps]
    except (OSError, ValueError, KeyError, TypeError) as e:
        return False, f"shard.json unreadable ({e})"
    if doc.get("format") != SHARD_FORMAT or doc.get("job_id") != job.id or doc.get("shard") != k:
        return False, "shard.json is not this job's shard"
    want = [(i, v, p) for i in job.shards[k] for v, _, _, p in expected_maps(job, i)]
    if got != want:
        return False, f"shard.json lists {len(got)} maps, the job wants {len(want)} (or in another order)"
    problem = _files_ok(d, maps)
    return (problem is None), problem


def move_aside(results: str, k: int) -> str:
    bad = os.path.join(results, "shards", f"{shard_name(k)}.bad-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}")
    os.replace(sealed_dir(results, k), bad)
    return bad


def seal(results: str, job: Job, k: int, size: int, provenance: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """Renames shard k's staging folder into shards/ once all its images are done; -> the shard summary or None."""
    staging = staging_dir(results, k)
    records = [read_record(staging, job, i) for i in job.shards[k]]
    if not all(records):
        return None
    maps: List[Dict[str, Any]] = []
    for rec in records:
        im = job.images[rec["image"]]
        for m in rec["maps"]:
            maps.append({"image": im.index, "key": im.key, "image_sha256": im.sha256, "variant": m["variant"],
                         "settings_key": m["settings_key"], "phrase": m["phrase"], "file": m["file"],
                         "sha256": m["sha256"], "threshold": m["threshold"]})
    for v in job.variants:
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(["dicom_id", "label_text", "file"])
        for m in maps:
            if m["variant"] == v.name:
                w.writerow([m["key"], m["phrase"], m["file"].split("/", 1)[1]])
        os.makedirs(os.path.join(staging, v.name), exist_ok=True)
        atomic_write(os.path.join(staging, v.name, "index.csv"), out.getvalue().encode("utf-8"))
    hosts = sorted({r.get("host", "") for r in records})
    devices = sorted({r.get("device", "") for r in records})
    prov = dict(provenance, host=",".join(hosts), device=",".join(devices),
                started_at=iso(min(r["started"] for r in records)),
                finished_at=iso(max(r["finished"] for r in records)),
                seconds=round(sum(r["seconds"] for r in records), 3))
    doc = {"format": SHARD_FORMAT, "version": 1, "job_id": job.id, "bundle_hash": job.bundle["hash"], "shard": k,
           "size": size, "maps": maps, "provenance": prov}
    atomic_json(os.path.join(staging, "shard.json"), doc)
    os.makedirs(os.path.join(results, "shards"), exist_ok=True)
    ok, _ = check_sealed(results, job, k)
    if ok is False:
        move_aside(results, k)
    elif ok:
        return None  # sealed meanwhile (never rewrite a sealed shard)
    os.replace(staging, sealed_dir(results, k))
    d = sealed_dir(results, k)
    for name in os.listdir(d):  # the per-image records and stray temp files are not part of a sealed shard
        if (name.endswith(".json") and name != "shard.json") or ".tmp-" in name:
            os.remove(os.path.join(d, name))
    return {"event": "shard", "shard": k, "images": len(records), "maps": len(maps), "folder": d}


def _ranks(results: str) -> List[Dict[str, Any]]:
    out = []
    d = os.path.join(results, "progress")
    for name in sorted(os.listdir(d)) if os.path.isdir(d) else []:
        if not name.endswith(".jsonl"):
            continue
        events = []
        with open(os.path.join(d, name), encoding="utf-8", errors="replace") as f:
            for line in f:
                try:
                    events.append(json.loads(line))
                except ValueError:
                    continue  # a torn line (a killed rank)
        starts = [n for n, e in enumerate(events) if e.get("event") == "start"]
        if not starts:
            continue
        run = events[starts[-1]:]
        s = run[0]
        out.append({"file": os.path.join("progress", name), "rank": s.get("rank", 0), "world": s.get("world", 1),
                    "done": sum(1 for e in run if e.get("event") == "image"), "total": s.get("images", 0),
                    "skipped": sum(1 for e in run if e.get("event") == "skip"), "lastAt": run[-1].get("t"),
                    "finished": run[-1].get("event") == "finish"})
    return out


def status(job: Job, results: str, shards: Optional[List[int]] = None) -> Dict[str, Any]:
    """The results folder's state as its files say (content-checked), for ``--status``."""
    rows = []
    for k in (range(len(job.shards)) if shards is None else shards):
        ok, problem = check_sealed(results, job, k)
        n = len(job.shards[k])
        if ok:
            rows.append({"index": k, "images": n, "state": "sealed", "done": n, "problem": None})
            continue
        done = sum(1 for i in job.shards[k] if read_record(staging_dir(results, k), job, i))
        state = "bad" if ok is False else ("partial" if done else "pending")
        rows.append({"index": k, "images": n, "state": state, "done": done, "problem": problem})
    return {"folder": job.folder, "results": results, "jobId": job.id, "bundle": job.bundle,
            "variants": [v.name for v in job.variants], "images": len(job.images),
            "maps": sum(job.maps_per_image(i) for i in range(len(job.images))), "shards": rows,
            "ranks": _ranks(results)}
