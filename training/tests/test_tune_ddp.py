"""DDP (sightline_tune.distributed): 2 gloo CPU processes under torch.distributed.run == 1 process at the same global
batch (2), to 1e-6 in the final rows. Opt-in (SIGHTLINE_SLOW=1): three processes load the model, ~1 min on 2 cores.

torch 1.13's torchrun on Python >= 3.11 fails with its default ``--redirects 0`` (``Std.from_str`` relies on
iterating the zero flag, which 3.11 no longer does), hence ``--redirects 2 --tee 1``; the protocol lines then carry
torchrun's ``[default0]:`` prefix."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from _require import needs

REPO = Path(__file__).resolve().parents[2]
TRAINING = REPO / "training"
DEMO = REPO / "models" / "demo"
pytestmark = [needs(DEMO / "manifest.json", DEMO / "reference", what="the demo bundle (models/demo)"),
              pytest.mark.skipif(os.environ.get("SIGHTLINE_SLOW") != "1", reason="~1 min; SIGHTLINE_SLOW=1")]
CFG = {"num_inference_steps": 10, "val_images": 0, "checkpoint_every": 0, "log_every": 1, "threads": 1,
       "lr_scale": 0.5, "batch_size": 2, "steps": 3}


def test_two_gloo_processes_equal_one(tmp_path):
    world = tmp_path / "w"
    subprocess.run([sys.executable, "-m", "sightline_world.generate", "--out", str(world), "--cases", "6", "--seed",
                    "77", "--preset", "tiny", "--formats", "mimic,mscxr"], cwd=TRAINING, check=True,
                   capture_output=True)
    (tmp_path / "c.json").write_text(json.dumps(CFG))
    args = ["-m", "sightline_tune.train", "--bundle", str(DEMO), "--data", str(world), "--config",
            str(tmp_path / "c.json"), "--cache", str(tmp_path / "cache")]
    one = subprocess.run([sys.executable, *args, "--out", str(tmp_path / "one")], cwd=TRAINING, capture_output=True,
                         text=True)
    assert one.returncode == 0, one.stderr
    two = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port",
                          "29531", "--redirects", "2", "--tee", "1", *args, "--out", str(tmp_path / "two")],
                         cwd=TRAINING, capture_output=True, text=True)
    assert two.returncode == 0, two.stderr[-3000:]
    start = [json.loads(l.split(":", 1)[1]) for l in two.stdout.splitlines() if '"event": "start"' in l][0]
    assert start["world_size"] == 2 and start["batch_size"] == 2
    a = json.loads((tmp_path / "one" / "variant.json").read_text())["grounding"]["token_overrides"]
    b = json.loads((tmp_path / "two" / "variant.json").read_text())["grounding"]["token_overrides"]
    assert max(abs(x - y) for k in a for x, y in zip(a[k], b[k])) <= 1e-6
    assert max(abs(x) for k in a for x in a[k]) > 0
