"""A small batch job (sightline_ldm/BATCH.md) built the way the app exports one, for tests/test_batch.py: demo MIMIC
JPEGs (resources/demo), two phrases each, the demo bundle's frozen and tuned variants plus its tuned-loc variant
file (token rows), settings converted from models/demo/manifest.json's ``grounding`` section to the app's camelCase
ResolvedSettings (main/grounding/ground.ts resolveSettings), settings_key = settingsKey() of them."""
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TRAINING = REPO / "training"
DEMO = REPO / "models" / "demo"
DATA_ROOT = REPO / "resources" / "demo"
PHRASES = ["right pleural effusion", "cardiomegaly"]


def js_json(obj, sort_keys=False) -> str:
    """JSON.stringify of obj (integral floats without '.0'): the app's settingsKey; sorted keys: its canonicalJson
    (main/batch/format.ts), which the job id hashes."""
    def fix(v):
        if isinstance(v, float) and v.is_integer():
            return int(v)
        if isinstance(v, dict):
            return {k: fix(x) for k, x in v.items()}
        if isinstance(v, list):
            return [fix(x) for x in v]
        return v
    return json.dumps(fix(obj), separators=(",", ":"), ensure_ascii=False, sort_keys=sort_keys)


def resolved(name, g):
    """The app's ResolvedSettings of a manifest grounding entry (key order as resolveSettings writes them)."""
    s = {"variant": name, "layers": list(g["layers"]), "numInferenceSteps": g["num_inference_steps"],
         "stepIndices": list(g["step_indices"]), "timesteps": list(g["timesteps"]), "otsu": g["otsu"],
         "otsuBins": g["otsu_bins"], "sigma": g["blur_sigma_px"], "truncate": g["blur_truncate"],
         "clipSample": g.get("clip_sample", False), "inversionPrompt": g.get("inversion_prompt", "")}
    if g.get("token_overrides"):
        s["tokenOverrides"] = g["token_overrides"]
    return s


def image_entry(p, root, phrases):
    """A job image: key = file stem, path relative to root, sha256 of the bytes, rows/columns of the decoded image."""
    from sightline_ldm.grounding import read_image_file
    h, w = read_image_file(str(p)).shape
    return {"key": Path(p).stem, "path": Path(p).relative_to(root).as_posix(),
            "sha256": hashlib.sha256(Path(p).read_bytes()).hexdigest(), "rows": h, "columns": w,
            "phrases": list(phrases)}


def demo_images(n):
    files = sorted((DATA_ROOT / "mimic-cxr-jpg" / "files").rglob("*.jpg"))[:n]
    return sorted((image_entry(p, DATA_ROOT, PHRASES) for p in files), key=lambda x: (x["key"], x["path"]))


def make_job(folder, n_images=4, shard_size=2, variants=("frozen", "tuned", "tuned-loc"), images=None,
             data_root=DATA_ROOT):
    """Writes folder/job.json (the first n_images demo JPEGs, or ``images`` under ``data_root``); -> the job dict."""
    manifest_bytes = (DEMO / "manifest.json").read_bytes()
    grounding = json.loads(manifest_bytes)["grounding"]
    vs = []
    for name in variants:
        g = grounding.get(name) or json.loads((DEMO / "variants" / f"{name}.json").read_text())["grounding"]
        s = resolved(name, g)
        vs.append({"name": name, "settings_key": hashlib.sha256(js_json(s).encode()).hexdigest()[:24], "settings": s})
    images = images if images is not None else demo_images(n_images)
    bundle = {"name": "sightline-demo-ldm", "version": "0.1.0", "hash": hashlib.sha256(manifest_bytes).hexdigest()}
    job = {"format": "sightline-batch-job", "version": 1,
           "id": hashlib.sha256(js_json({"bundle_hash": bundle["hash"], "variants": vs, "images": images}, True)
                                .encode()).hexdigest()[:24],
           "created_at": "2026-12-04T00:00:00Z", "created_by": "tests/_batch_job.py",
           "source": {"kind": "dataset", "dataset": "demo"}, "bundle": bundle, "variants": vs,
           "data_root": str(data_root), "images": images, "shard_size": shard_size,
           "shards": [list(range(a, min(a + shard_size, len(images)))) for a in range(0, len(images), shard_size)]}
    os.makedirs(folder, exist_ok=True)
    Path(folder, "job.json").write_text(json.dumps(job, indent=1))
    return job


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def batch_cmd(job_dir, *extra, torchrun=0):
    """The runner's command line; torchrun=N: under torch.distributed.run with N CPU processes (a free master port
    rather than --standalone, whose rendezvous port 29400 is fixed in torch 1.13)."""
    args = ["-m", "sightline_ldm.batch", str(job_dir), "--model", str(DEMO), "--data-root", str(DATA_ROOT), *extra]
    if torchrun:
        return [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc_per_node", str(torchrun),
                "--master_port", str(free_port()), "--redirects", "2", "--tee", "1", *args]
    return [sys.executable, *args]


# The BLAS (OpenBLAS here) threads per process change the last bits of a map (~1e-6): torchrun starts its workers
# with OMP_NUM_THREADS=1, so every run and the reference of the tests use 1 (a process reads it once, at start).
PINNED = {"OMP_NUM_THREADS": "1"}


def run_batch(job_dir, *extra, torchrun=0, env=None):
    e = dict(os.environ, **PINNED, **(env or {}))
    return subprocess.run(batch_cmd(job_dir, *extra, torchrun=torchrun), cwd=TRAINING, capture_output=True, text=True,
                          env=e)


def json_lines(stdout):
    """The JSON lines of stdout (torchrun's '[default0]:' prefixes removed)."""
    out = []
    for line in stdout.splitlines():
        if line.startswith("[default"):
            line = line.split(":", 1)[1]
        line = line.strip()
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def reference_maps(job_dir, out_npz):
    """reference_heatmap (one image at a time, the trajectory shared by its phrases and variants, as
    grounding_vectors.parity_vectors) of every (image, variant, phrase) of the job, in a fresh process with the
    pinned BLAS threads and the runner's CPU switch; -> {(image, variant, phrase): (map, threshold)}."""
    code = f"import _batch_job as B; B._write_reference({str(job_dir)!r}, {str(out_npz)!r})"
    env = dict(os.environ, **PINNED, PYTHONPATH=os.pathsep.join([str(TRAINING), str(TRAINING / "tests")]))
    subprocess.run([sys.executable, "-c", code], cwd=TRAINING, check=True, env=env)
    with open(out_npz, "r", encoding="utf-8") as f:
        index = json.load(f)
    import numpy as np
    blob = np.load(str(out_npz) + ".npy")
    return {(e["image"], e["variant"], e["phrase"]): (blob[n], e["threshold"]) for n, e in enumerate(index)}


def _write_reference(job_dir, out):
    import numpy as np
    import torch
    from sightline_ldm import image_ops
    from sightline_ldm.batch_engine import exact_cpu_numerics
    from sightline_ldm.batch_job import load_job, options_of
    from sightline_ldm.grounding import read_image_file, reference_heatmap
    from sightline_ldm.loading import load_grounding_model

    job = load_job(job_dir)
    model, _ = load_grounding_model(str(DEMO))
    exact_cpu_numerics("cpu")  # mkldnn off, as in the runner (batch_engine's doc); batch 1 needs nothing more
    index, maps = [], []
    for im in job.images:
        image = read_image_file(str(DATA_ROOT / im.path))
        traj = None
        for v in job.variants:
            rows = {k: torch.tensor(r) for k, r in v.token_overrides.items()} if v.token_overrides else None
            for p in im.phrases:
                r = reference_heatmap(image, p, model, "frozen", trajectory=traj, token_embedding_overrides=rows,
                                      **options_of(v))
                traj = r.trajectory
                thr = image_ops.otsu_threshold(r.heatmap.astype(np.float64), v.otsu_bins) if v.otsu else None
                index.append({"image": im.index, "variant": v.name, "phrase": p, "threshold": thr})
                maps.append(r.heatmap)
    np.save(out + ".npy", np.stack(maps))
    with open(out, "w", encoding="utf-8") as f:
        json.dump(index, f)
