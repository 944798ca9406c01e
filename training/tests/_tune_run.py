"""What the tests that run ``sightline_tune.train`` on the demo bundle share (test_tune_train, test_tune_app): a tiny
synthetic world to tune on, the trainer's command line and its JSON-line events."""
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TRAINING = REPO / "training"
DEMO = REPO / "models" / "demo"


def make_world(tmp_path_factory, name):
    """6 cases of the 'tiny' preset (seed 77) in the MIMIC and MS-CXR formats, under a fresh temp folder `name`."""
    out = tmp_path_factory.mktemp(name) / "w"
    subprocess.run([sys.executable, "-m", "sightline_world.generate", "--out", str(out), "--cases", "6", "--seed",
                    "77", "--preset", "tiny", "--formats", "mimic,mscxr"], cwd=TRAINING, check=True,
                   capture_output=True)
    return out


def train_cmd(out, cfg, source, cache, *extra):
    """The trainer on the demo bundle: `cfg` written next to `out` as its --config; `source` the data flags
    (["--data", world] or ["--pairs", file]); `cache` the feature cache folder."""
    cfg_path = Path(out).with_suffix(".json")
    cfg_path.write_text(json.dumps(cfg))
    return [sys.executable, "-m", "sightline_tune.train", "--bundle", str(DEMO), *source, "--out", str(out),
            "--config", str(cfg_path), "--cache", str(cache), *extra]


def events(stdout):
    """The trainer's stdout as its events: every non-empty line is one JSON object."""
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]
