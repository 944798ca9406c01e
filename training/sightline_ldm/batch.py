"""Ground a batch job folder written by the app (issue 16): ``python -m sightline_ldm.batch``.

    cd training && python -m sightline_ldm.batch JOB_DIR --model BUNDLE_DIR --data-root DIR [--out RESULTS_DIR]
        [--shard K] [--device cpu|cuda] [--batch-images N] [--memory-gb G] [--weights SPEC]
    python -m sightline_ldm.batch JOB_DIR --status [--json]
    python -m torch.distributed.run --standalone --nproc_per_node 2 --redirects 2 --tee 1 \\
        -m sightline_ldm.batch JOB_DIR --model BUNDLE_DIR --data-root DIR

Formats, resuming and the figures: sightline_ldm/BATCH.md. stdout: one JSON line per shard sealed and a summary line
(rank 0); stderr: problems. Exit 1 when the job cannot run or a selected shard could not be sealed.

Test hook: ``SIGHTLINE_BATCH_DIE_AFTER=n`` makes a rank ``os._exit(9)`` right after its n-th image record (only rank
``SIGHTLINE_BATCH_DIE_RANK`` when that is set): a killed rank, for the resume tests.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from typing import Any, Dict, List, Optional, Sequence

from .batch_job import Job, JobError, assigned, check_bundle, load_job, sha256_file
from .batch_results import (Progress, check_sealed, move_aside, read_record, seal, staging_dir, status, write_map,
                            write_record)
from .errors import ModelLoadError

PROG = "python -m sightline_ldm.batch"
BARRIER_TIMEOUT_S = 7 * 24 * 3600.0  # the one barrier waits for the slowest rank


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0],
                                 epilog="Formats and figures: training/sightline_ldm/BATCH.md")
    ap.add_argument("job", metavar="JOB_DIR|JOB_DIR/job.json")
    ap.add_argument("--model", metavar="BUNDLE_DIR", help="the model bundle the job names (its manifest.json hash)")
    ap.add_argument("--data-root", metavar="DIR", help="the folder the job's image paths are relative to")
    ap.add_argument("--out", metavar="RESULTS_DIR", help="results folder (default JOB_DIR/results)")
    ap.add_argument("--shard", type=int, metavar="K", help="only shard K (one Slurm array task)")
    ap.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (under torchrun: cuda:LOCAL_RANK)")
    ap.add_argument("--batch-images", type=int, metavar="N", help="images inverted together (default: from memory)")
    ap.add_argument("--memory-gb", type=float, metavar="G",
                    help="activation budget (default: 80%% of free CUDA memory; 4 GB on CPU)")
    ap.add_argument("--weights", metavar="SPEC", help="other PyTorch weights of the same bundle identity "
                    "(e.g. the full MONAI bundle; any spec of sightline_ldm.loading)")
    ap.add_argument("--status", action="store_true", help="print the per-shard / per-rank state and exit 0")
    ap.add_argument("--json", action="store_true", help="with --status: one JSON object")
    return ap.parse_args(argv)


def code_version() -> str:
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        sha = subprocess.run(["git", "-C", here, "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True,
                             timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        sha = ""
    return f"sightline-training 0.1.0{'+git' + sha if sha else ''}"


def print_status(doc: Dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(doc, indent=1))
        return
    print(f"job {doc['jobId']}: {doc['images']} images, {doc['maps']} maps, variants {', '.join(doc['variants'])}")
    print(f"results {doc['results']}")
    for s in doc["shards"]:
        extra = f" ({s['problem']})" if s["problem"] else ""
        print(f"  shard {s['index']}: {s['state']}, {s['done']} of {s['images']} images done{extra}")
    for r in doc["ranks"]:
        state = "finished" if r["finished"] else "running or stopped"
        print(f"  {r['file']}: rank {r['rank']}/{r['world']}: {r['done']} of {r['total']} images, "
              f"{r['skipped']} skipped, {state}, last {r['lastAt']}")


def load_model(args: argparse.Namespace, manifest: Dict[str, Any], device: str):
    from .loading import load_grounding_model
    size = int(manifest.get("image", {}).get("size") or 0) or None
    model, _ = load_grounding_model(args.weights or args.model, device=device,
                                    image_size=size if args.weights else None)
    if size and model.image_size != size:
        raise JobError(f"{args.weights or args.model}: the model frame is {model.image_size} px, the bundle's "
                       f"manifest says {size}")
    return model


def _check_image(job: Job, data_root: str, i: int):
    """-> (image array, None) or (None, problem)."""
    from .grounding import read_image_file
    im = job.images[i]
    path = os.path.join(data_root, *im.path.split("/"))
    if not os.path.isfile(path):
        return None, f"{path}: missing"
    got = sha256_file(path)
    if got != im.sha256:
        return None, f"{path}: sha256 {got[:12]}... is not the job's {im.sha256[:12]}... (another file)"
    try:
        return read_image_file(path), None
    except Exception as e:  # noqa: BLE001 - any unreadable file is reported and skipped, not fatal for the job
        return None, f"{path}: cannot read ({e})"


def run(job: Job, args: argparse.Namespace, results: str, manifest: Dict[str, Any]) -> int:
    import torch
    from sightline_tune import distributed
    from .batch_engine import BatchGrounder, exact_cpu_numerics, ground_backoff, plan_batches

    rank, world, device = distributed.init(args.device, timeout_s=BARRIER_TIMEOUT_S)
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise JobError(f"--device {args.device}: CUDA is not available here")
    exact_cpu_numerics(device)  # before the model exists: mkldnn off for the whole process
    t_start = time.time()
    tag = "all" if args.shard is None else f"shard-{args.shard}"
    selection = job.selection(args.shard)
    shard_of = job.shard_of()
    shards = sorted({shard_of[i] for i in selection})
    mine = assigned(selection, rank, world)
    sealed_ok = set()
    for k in shards:
        ok, problem = check_sealed(results, job, k)
        if ok:
            sealed_ok.add(k)
        elif ok is False and rank == 0:
            bad = move_aside(results, k)
            print(f"{PROG}: shard {k} failed its content check ({problem}); moved to {bad}; redoing it",
                  file=sys.stderr)
    todo = [i for i in mine
            if shard_of[i] not in sealed_ok and read_record(staging_dir(results, shard_of[i]), job, i) is None]
    progress = Progress(results, tag, rank)
    host = socket.gethostname()
    progress.event("start", rank=rank, world=world, images=len(todo), assigned=len(mine), host=host, device=device,
                   pid=os.getpid())
    die_after = int(os.environ.get("SIGHTLINE_BATCH_DIE_AFTER", "0") or 0)
    die_rank = os.environ.get("SIGHTLINE_BATCH_DIE_RANK")
    die = die_after > 0 and (die_rank is None or int(die_rank) == rank)
    done = skipped = maps = 0
    t_ground = time.time()
    model = None
    if todo:
        model = load_model(args, manifest, device)
        exact_cpu_numerics(device, model.unet, model.autoencoder)
        plan = plan_batches(model, job.variants, device, args.batch_images, args.memory_gb,
                            max(len(job.images[i].phrases) for i in todo))
        progress.event("plan", **plan)
        grounder = BatchGrounder(model, job.variants, plan["pairs"])
        t_ground = time.time()
        for a in range(0, len(todo), plan["images"]):
            batch: List[int] = []
            arrays = []
            for i in todo[a:a + plan["images"]]:
                arr, problem = _check_image(job, args.data_root, i)
                if problem:
                    skipped += 1
                    progress.event("skip", index=i, key=job.images[i].key, problem=problem)
                    print(f"{PROG}: image {i} ({job.images[i].key}) skipped: {problem}; its shard cannot be sealed",
                          file=sys.stderr)
                    continue
                batch.append(i)
                arrays.append(arr)
            if not batch:
                continue
            t0 = time.time()
            try:
                grounded = ground_backoff(grounder, arrays, [job.images[i].phrases for i in batch],
                                          lambda b, p: progress.event("backoff", images=b, pairs=p))
            except ValueError as e:  # e.g. a phrase without tokens: the batch's images are reported, the run goes on
                for i in batch:
                    skipped += 1
                    progress.event("skip", index=i, key=job.images[i].key, problem=str(e))
                print(f"{PROG}: images {batch} skipped: {e}", file=sys.stderr)
                continue
            seconds = (time.time() - t0) / len(batch)
            for i, res in zip(batch, grounded):
                k = shard_of[i]
                staging = staging_dir(results, k)
                rec_maps = []
                for v in job.variants:
                    for j, phrase in enumerate(job.images[i].phrases):
                        heat, thr = res[(v.name, j)]
                        rel, digest = write_map(staging, v.name, i, j, heat)
                        rec_maps.append({"variant": v.name, "settings_key": v.settings_key, "phrase_index": j,
                                         "phrase": phrase, "file": rel, "sha256": digest, "threshold": thr})
                write_record(staging, i, {"job_id": job.id, "image": i, "key": job.images[i].key, "shard": k,
                                          "maps": rec_maps, "seconds": round(seconds, 4), "started": t0,
                                          "finished": time.time(), "rank": rank, "world": world, "host": host,
                                          "device": device})
                done += 1
                maps += len(rec_maps)
                progress.event("image", index=i, maps=len(rec_maps), seconds=round(seconds, 4))
                if die and done >= die_after:
                    progress.close()
                    os._exit(9)  # the test hook (module doc): a rank killed mid-shard
    progress.event("finish", rank=rank, images=done, maps=maps, skipped=skipped,
                   seconds=round(time.time() - t_ground, 3))
    progress.close()
    if world > 1:
        distributed.barrier()  # the only collective: every rank's records are written
    code = 0
    if rank == 0:
        code = finish(job, results, shards, tag, world, model, manifest, device, t_start, t_ground)
    if world > 1:
        import torch.distributed as dist
        dist.destroy_process_group()
    return code if rank == 0 else (1 if skipped else 0)


def finish(job: Job, results: str, shards: List[int], tag: str, world: int, model, manifest: Dict[str, Any],
           device: str, t_start: float, t_ground: float) -> int:
    """Rank 0 after the barrier: seal every complete shard, print the shard lines and the summary."""
    import torch
    size = model.image_size if model is not None else int(manifest["image"]["size"])
    prov = {"code_version": code_version(), "torch": torch.__version__, "world_size": world}
    unsealed = []
    for k in shards:
        if check_sealed(results, job, k)[0]:
            continue
        line = seal(results, job, k, size, prov)
        if line:
            print(json.dumps(line), flush=True)
        elif not check_sealed(results, job, k)[0]:
            n_done = sum(1 for i in job.shards[k] if read_record(staging_dir(results, k), job, i))
            unsealed.append(f"shard {k}: {n_done} of {len(job.shards[k])} images done")
    wall = time.time() - t_ground
    runs = [r for r in status(job, results, [])["ranks"] if os.path.basename(r["file"]).startswith(f"{tag}-rank")]
    images = sum(r["done"] for r in runs if r["world"] == world)
    print(json.dumps({"event": "summary", "job_id": job.id, "world_size": world, "device": device,
                      "images": images, "shards_sealed": len(shards) - len(unsealed), "shards": len(shards),
                      "unsealed": unsealed, "seconds": round(time.time() - t_start, 3),
                      "grounding_seconds": round(wall, 3),
                      "images_per_minute": round(images / wall * 60.0, 3) if images and wall > 0 else None}),
          flush=True)
    for u in unsealed:
        print(f"{PROG}: {u}; not sealed (see the progress files' skip events; rerun to finish it)", file=sys.stderr)
    return 1 if unsealed else 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    try:
        job = load_job(args.job)
        results = os.path.abspath(args.out or os.path.join(job.folder, "results"))
        if args.status:
            print_status(status(job, results), args.json)
            return 0
        missing = [f for f, v in (("--model", args.model), ("--data-root", args.data_root)) if not v]
        if missing:
            raise JobError(f"{job.file}: {' and '.join(missing)} required to run the job")
        if not os.path.isdir(args.data_root):
            raise JobError(f"{args.data_root}: --data-root is not a folder")
        job.selection(args.shard)  # a shard the job does not have: refused before anything is written
        manifest = check_bundle(job, args.model)
        os.makedirs(results, exist_ok=True)
        return run(job, args, results, manifest)
    except (JobError, ModelLoadError) as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
