"""``--emit-slurm``: a Slurm batch script that runs this same tuning on a cluster node (README.md, "Clusters (Slurm)").

The script repeats the run's arguments (paths made absolute, every word ``shlex.quote``d) minus the ones that only
concern the launch (``--emit-slurm``, ``--gpus``, ``--slurm-*``) and minus ``--watch-stdin`` (a batch job's stdin is
/dev/null: the watcher would stop the run at once). With ``--gpus N`` > 1 it runs N processes under
``torch.distributed.run`` on one node (``--redirects 2 --tee 1``: torch 1.13's default fails on Python >= 3.11); a
GPU job gets ``--device cuda`` unless ``--device`` was given. Paths are this machine's: the cluster must see the
same paths (a shared file system), and ``python`` must be the job environment's interpreter with torch.
"""
from __future__ import annotations

import argparse
import os
import re
import shlex
from typing import List

LAUNCH_ONLY = {"emit_slurm", "gpus", "slurm_time", "slurm_partition", "slurm_account", "slurm_cpus", "watch_stdin",
               "help"}
PATH_ARGS = {"bundle", "data", "pairs", "images_root", "lut", "out", "cache", "config"}
TIME = re.compile(r"^(\d+-)?\d{1,3}:\d{2}:\d{2}$")
TRAINING_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # where `-m sightline_tune` imports from


def add_arguments(ap: argparse.ArgumentParser) -> None:
    g = ap.add_argument_group("clusters (Slurm)")
    g.add_argument("--emit-slurm", action="store_true", help="print a Slurm batch script for this run and exit")
    g.add_argument("--gpus", type=int, default=1, help="GPUs (processes under torch.distributed.run); default 1")
    g.add_argument("--slurm-time", default="24:00:00", help="job time limit [D-]HH:MM:SS (default 24:00:00)")
    g.add_argument("--slurm-partition", help="#SBATCH --partition (omitted when absent)")
    g.add_argument("--slurm-account", help="#SBATCH --account (omitted when absent)")
    g.add_argument("--slurm-cpus", type=int, help="#SBATCH --cpus-per-task (default 8 per GPU)")


def run_arguments(ap: argparse.ArgumentParser, args: argparse.Namespace) -> List[str]:
    """The train arguments of the job, in the parser's order, from the parsed values (so abbreviations and
    ``--x=y`` forms come out the same)."""
    out: List[str] = []
    for a in ap._actions:
        if not a.option_strings or a.dest in LAUNCH_ONLY:
            continue
        v = getattr(args, a.dest, None)
        if v is None or v is False:
            continue
        flag = a.option_strings[-1] if a.option_strings[-1].startswith("--") else a.option_strings[0]
        if v is True:
            out.append(flag)
        else:
            out += [flag, os.path.abspath(v) if a.dest in PATH_ARGS else str(v)]
    if args.device is None and args.gpus >= 1:
        out += ["--device", "cuda"]
    return out


def script(ap: argparse.ArgumentParser, args: argparse.Namespace) -> str:
    n = int(args.gpus)
    if n < 1:
        raise ValueError(f"--gpus {n}: at least 1")
    if not TIME.match(args.slurm_time or ""):
        raise ValueError(f"--slurm-time {args.slurm_time!r}: expected [D-]HH:MM:SS, e.g. 24:00:00")
    cpus = args.slurm_cpus or 8 * n
    if cpus < 1:
        raise ValueError(f"--slurm-cpus {cpus}: at least 1")
    out = os.path.abspath(args.out)
    q = shlex.quote
    sb = [f"--job-name={q('sightline-tune-' + os.path.basename(out.rstrip(os.sep)))}", "--nodes=1",
          "--ntasks-per-node=1", f"--gres=gpu:{n}", f"--cpus-per-task={cpus}", f"--time={args.slurm_time}",
          f"--output={q(os.path.join(out, 'slurm-%j.out'))}"]
    if args.slurm_partition:
        sb.append(f"--partition={q(args.slurm_partition)}")
    if args.slurm_account:
        sb.append(f"--account={q(args.slurm_account)}")
    train = ["-m", "sightline_tune.train", *run_arguments(ap, args)]
    if n > 1:
        cmd = ["srun", "python", "-m", "torch.distributed.run", "--nproc_per_node", str(n), "--redirects", "2",
               "--tee", "1", *train]
    else:
        cmd = ["python", *train]
    lines = ["#!/bin/bash", *(f"#SBATCH {s}" for s in sb),
             "# Written by `python -m sightline_tune.train --emit-slurm`. Before `sbatch`: mkdir -p " + q(out),
             "# (Slurm does not create the --output folder). Activate the environment with torch here if needed.",
             "set -euo pipefail",
             f"cd {q(TRAINING_DIR)}",
             " ".join(q(w) for w in cmd)]
    return "\n".join(lines) + "\n"
