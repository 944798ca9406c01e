"""What the app's tuning launcher relies on (sightline_tune): the ``--pairs`` JSON-lines file, the graceful stop
(SIGTERM -> 143, stdin closed -> 3, both with a checkpoint that ``--resume`` continues exactly),
``sightline_tune.check`` (also without torch) and ``--emit-slurm``."""
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from _require import needs
from _tune_run import DEMO, TRAINING, events as _events, make_world, train_cmd
from sightline_tune import data as D
from sightline_tune.pairs_file import NO_VALIDATION, load_pairs_file, split_boxed
from sightline_tune.stop import Stopped, StopGuard

needs_demo = needs(DEMO / "manifest.json", DEMO / "reference", DEMO / "lut.json", what="the demo bundle (models/demo)")
SMALL = {"num_inference_steps": 10, "val_images": 2, "checkpoint_every": 100, "log_every": 1, "val_boot": 50,
         "threads": 1, "lr_scale": 0.5}
CSV_HEAD = "dicom_id,category_name,label_text,path,x,y,w,h,image_width,image_height,split\n"


def _write_jsonl(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return str(path)


def _line(image, **kw):
    return dict({"id": "p1", "image": str(image), "location": "left lower", "category": "Pleural Effusion",
                 "boxes": [[1, 2, 3, 4]], "image_width": 10, "image_height": 10}, **kw)


# ------------------------------------------------------------------ the pairs file
def test_pairs_file_gives_the_pairs_of_load_pairs(tmp_path):
    for n in ("a", "c"):
        (tmp_path / f"{n}.jpg").write_bytes(b"x")
    (tmp_path / "ms.csv").write_text(CSV_HEAD + "\n".join([
        'a,Pleural Effusion,Small left pleural effusion,a.jpg,1,2,3,4,10,12,train',
        'a,Pleural Effusion,Small left pleural effusion,a.jpg,5,5,2,2,10,12,train',
        'c,Atelectasis,Bibasilar atelectasis,c.jpg,1,2,3,4,10,12,train']) + "\n")
    ref, _ = D.load_pairs(str(tmp_path / "ms.csv"), str(tmp_path))
    lines = [{"id": f"p{k}", "image": p["image"], "location": p["location"], "category": p["category"],
              "boxes": p["boxes"], "image_width": p["width"], "image_height": p["height"]} for k, p in enumerate(ref)]
    got, dropped = load_pairs_file(_write_jsonl(tmp_path / "pairs.jsonl", lines))
    assert dropped == {} and len(got) == len(ref) == 2
    for g, r in zip(got, ref):
        assert set(g) == set(r)  # the same keys as data.load_pairs
        for k in ("image", "location", "prompt", "category", "boxes", "width", "height"):
            assert g[k] == r[k], k
    assert [g["prompt"] for g in got] == ["left pleural effusion", "bibasilar atelectasis"]  # composed


def test_pairs_file_prompt_verbatim_relative_images_and_blank_lines(tmp_path):
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "x.png").write_bytes(b"x")
    path = _write_jsonl(tmp_path / "p.jsonl", [
        _line("img/x.png", prompt="Left  lower   loculated pleural effusion"), "",
        _line("img/x.png", id=7, location="right", category="Pneumothorax", boxes=[], prompt=None,
              image_width=None)])
    got, _ = load_pairs_file(path)
    assert got[0]["prompt"] == "Left lower loculated pleural effusion"  # as given (whitespace normalised)
    assert got[1]["prompt"] == "right pneumothorax" and got[1]["id"] == "7" and got[1]["boxes"] == []
    assert got[0]["image"] == str(tmp_path / "img" / "x.png") and got[1]["width"] is None


@pytest.mark.parametrize("line, message", [
    ("{not json", r"line 2 column 2: not JSON"),
    ({"id": "p2", "image": "a.jpg", "category": "Edema", "boxes": []}, r"line 2: missing field location"),
    ({"image": "a.jpg", "category": "Edema", "boxes": []}, r"line 2: missing fields id, location"),
    (_line("nope.jpg", id="p2"), r"line 2: image not found: .*nope.jpg"),
    (_line("a.jpg", id="p2", category="Fracture"), r"line 2: unknown category 'Fracture'"),
    (_line("a.jpg", id="p2", location="upper middle"), r"line 2: location 'upper middle': unknown location"),
    (_line("a.jpg", id="p2", prompt="right lower pleural effusion"), r"line 2: prompt .* does not name its location"),
    (_line("a.jpg", id="p2", boxes=[[1, 2, 3]]), r"line 2: a box is \[x, y, w, h\]"),
    (_line("a.jpg", id="p2", boxes=[[1, 2, 0, 3]]), r"line 2: box .* has no area"),
    (_line("a.jpg", id="p2", image_width=-3), r"line 2: 'image_width' must be a positive integer"),
    (_line("a.jpg"), r"line 2: id 'p1' already on line 1"),
    ("[1, 2]", r"line 2: expected a JSON object"),
])
def test_pairs_file_errors_name_file_and_line(tmp_path, line, message):
    (tmp_path / "a.jpg").write_bytes(b"x")
    path = _write_jsonl(tmp_path / "pairs.jsonl", [_line("a.jpg"), line])
    with pytest.raises(D.DataError, match=r"pairs.jsonl: " + message):
        load_pairs_file(path)


def test_pairs_file_empty_or_missing(tmp_path):
    with pytest.raises(D.DataError, match=r"empty.jsonl: no pairs"):
        load_pairs_file(_write_jsonl(tmp_path / "empty.jsonl", ["", "  "]))
    with pytest.raises(D.DataError, match=r"gone.jsonl"):
        load_pairs_file(str(tmp_path / "gone.jsonl"))


def _pairs(spec):
    """spec: {image: [has boxes per pair]} -> pair dicts (only the keys the split reads)."""
    return [{"image": f"/d/{im}.jpg", "boxes": [[0, 0, 1, 1]] if b else []} for im, bs in spec.items() for b in bs]


def test_split_boxed_validates_on_boxed_pairs_and_never_trains_on_a_validation_image():
    pairs = _pairs({f"i{k}": [True, True] for k in range(6)})
    for seed in (0, 1, 5):  # every pair boxed: exactly data.split_pairs
        assert split_boxed(pairs, 2, seed) == (*D.split_pairs(pairs, 2, seed), None)
    mixed = _pairs({"a": [True], "b": [True, False], "c": [False], "d": [True, True], "e": [True]})
    for seed in range(6):
        train, val, note = split_boxed(mixed, 2, seed)
        val_images = {p["image"] for p in val}
        assert note is None and len(val_images) == 2 and val_images <= {"/d/a.jpg", "/d/b.jpg", "/d/d.jpg", "/d/e.jpg"}
        assert all(p["boxes"] for p in val) and not val_images & {p["image"] for p in train}
        held = 1 if "/d/b.jpg" in val_images else 0  # b's box-less sentence: neither side
        assert len(train) + len(val) + held == len(mixed)
    train, val, note = split_boxed(mixed, 4, 0)  # every image with a box validates: only c trains
    assert {p["image"] for p in train} == {"/d/c.jpg"} and len(val) == 5
    train, val, note = split_boxed(_pairs({"a": [False], "b": [False]}), 2, 0)
    assert val == [] and len(train) == 2 and note == NO_VALIDATION
    with pytest.raises(D.DataError, match="leaves no training image"):
        split_boxed(pairs, 6, 0)
    with pytest.raises(D.DataError, match="leaves no training image"):
        split_boxed(_pairs({"a": [True, False], "b": [True]}), 2, 0)


# ------------------------------------------------------------------ the stop guard, in this process
@pytest.fixture
def guard():
    old = signal.getsignal(signal.SIGTERM)
    yield StopGuard().install()
    signal.signal(signal.SIGTERM, old)


def test_stop_is_deferred_to_the_end_of_a_critical_section(guard):
    done = []
    with pytest.raises(Stopped) as e:
        with guard.critical():
            with guard.critical():  # nested: only the outermost end raises
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(0.05)
                done.append("inner")
            done.append("outer")
        done.append("after")  # not reached
    assert done == ["inner", "outer"] and e.value.code == 143 and e.value.reason == "sigterm"
    with guard.critical():  # stopping already: a second signal and later sections change nothing
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)
    assert guard.requested


def test_stop_outside_a_critical_section_is_immediate(guard):
    reached = []
    with pytest.raises(Stopped):
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(100):
            time.sleep(0.01)
        reached.append(1)
    assert not reached


def test_end_of_stdin_stops_with_status_3():
    old = signal.getsignal(signal.SIGTERM)
    r, w = os.pipe()
    try:
        g = StopGuard().install(watch_stdin=True, stream=os.fdopen(r, "rb"))
        os.write(w, b"still here")
        time.sleep(0.2)
        assert not g.requested  # data is not the end
        with pytest.raises(Stopped) as e:
            os.close(w)
            for _ in range(500):
                time.sleep(0.01)
        assert e.value.code == 3 and e.value.reason == "stdin"
    finally:
        signal.signal(signal.SIGTERM, old)


# ------------------------------------------------------------------ runs on the demo bundle
@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return make_world(tmp_path_factory, "appworld")


def _cmd(out, cfg, source, *extra):
    return train_cmd(out, cfg, source, Path(out).parent / "cache", *extra)


def _rows(out):
    return json.loads((Path(out) / "variant.json").read_text())["grounding"]["token_overrides"]


def _max_diff(a, b):
    assert sorted(a) == sorted(b)
    return max(abs(x - y) for k in a for x, y in zip(a[k], b[k]))


@needs_demo
def test_pairs_run_without_boxes_skips_validation(world, tmp_path):
    csv_path, root = D.resolve_source(str(world))
    ref, _ = D.load_pairs(csv_path, root)
    lines = [{"id": f"p{k}", "image": p["image"], "location": p["location"], "category": p["category"],
              "boxes": []} for k, p in enumerate(ref)]
    pairs = _write_jsonl(tmp_path / "pairs.jsonl", lines)
    r = subprocess.run(_cmd(tmp_path / "nb", dict(SMALL, steps=2, otsu=True), ["--pairs", pairs]), cwd=TRAINING,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    ev = _events(r.stdout)
    assert ev[0]["event"] == "start" and ev[0]["val_pairs"] == 0 and ev[0]["train_pairs"] == len(ref)
    assert ev[0]["val_note"] == NO_VALIDATION and NO_VALIDATION in r.stderr
    assert "validation" not in [e["event"] for e in ev] and ev[-1]["event"] == "done"
    doc = json.loads((tmp_path / "nb" / "variant.json").read_text())
    assert doc["metrics"] == {"before": None, "after": None, "note": NO_VALIDATION}
    assert doc["grounding"]["otsu"] is True and doc["settings"]["otsu"] is True  # the config's, into the variant
    bad = subprocess.run(_cmd(tmp_path / "bad", SMALL, ["--pairs", str(tmp_path / "none.jsonl")]), cwd=TRAINING,
                         capture_output=True, text=True)
    assert bad.returncode == 2 and _events(bad.stdout)[-1]["event"] == "error" and "none.jsonl" in bad.stderr


@pytest.fixture(scope="module")
def full_run(world, tmp_path_factory):
    """The uninterrupted reference: 6 steps on the world's CSV (validation on)."""
    out = tmp_path_factory.mktemp("full") / "run"
    r = subprocess.run(_cmd(out, dict(SMALL, steps=6), ["--data", str(world)]), cwd=TRAINING, capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    return _rows(out)


def _stop_after_first_step(cmd, stop):
    """Start ``cmd``, call ``stop(proc)`` after its first ``step`` event; -> (exit status, events)."""
    proc = subprocess.Popen(cmd, cwd=TRAINING, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    events = []
    for line in proc.stdout:
        events.append(json.loads(line))
        if events[-1]["event"] == "step" and events[-1]["step"] == 1:
            stop(proc)
    proc.wait(timeout=120)
    return proc.returncode, events


@needs_demo
@pytest.mark.parametrize("how, status", [("sigterm", 143), ("stdin", 3)])
def test_stop_checkpoints_and_resume_is_exact(world, full_run, tmp_path, how, status):
    out = tmp_path / how
    cmd = _cmd(out, dict(SMALL, steps=6), ["--data", str(world)], "--watch-stdin")
    code, ev = _stop_after_first_step(cmd, (lambda p: p.send_signal(signal.SIGTERM)) if how == "sigterm" else
                                      (lambda p: p.stdin.close()))
    assert code == status
    last = ev[-1]
    assert last["event"] == "checkpoint" and last["stopped"] == how and last["path"] == str(out / "checkpoint.pt")
    assert 1 <= last["step"] < 6 and not (out / "variant.json").exists()
    assert torch.load(out / "checkpoint.pt")["step"] == last["step"]
    steps = [e["step"] for e in ev if e["event"] == "step"]
    # the checkpoint holds the last completed step; its `step` event may not be out yet when the stop lands
    assert steps == list(range(1, len(steps) + 1)) and last["step"] in (steps[-1], steps[-1] + 1)
    res = subprocess.run(cmd[:-1] + ["--resume"], cwd=TRAINING, capture_output=True, text=True)  # no --watch-stdin
    assert res.returncode == 0, res.stderr
    rev = _events(res.stdout)
    assert rev[0]["resumed"] is True and rev[0]["step"] == last["step"] and rev[-1]["event"] == "done"
    assert _max_diff(_rows(out), full_run) <= 1e-6  # stated tolerance: same rows as the uninterrupted run


@needs_demo
def test_stop_during_the_latent_inversion(world, tmp_path):
    """SIGTERM before the first step (the inversion of a new cache): checkpoint of step 0, exit 143, resumable."""
    out = tmp_path / "early"
    cmd = _cmd(out, dict(SMALL, steps=3), ["--data", str(world)])
    cmd[cmd.index("--cache") + 1] = str(tmp_path / "fresh-cache")
    proc = subprocess.Popen(cmd, cwd=TRAINING, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    first = json.loads(proc.stdout.readline())
    assert first["event"] == "start"
    proc.send_signal(signal.SIGTERM)
    rest = [json.loads(line) for line in proc.stdout]
    assert proc.wait(timeout=60) == 143
    assert [e["event"] for e in rest] == ["checkpoint"]  # no validation, no step: stopped in the inversion
    assert rest[-1] == {"event": "checkpoint", "step": 0, "path": str(out / "checkpoint.pt"), "stopped": "sigterm"}
    res = subprocess.run(cmd + ["--resume"], cwd=TRAINING, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    rev = _events(res.stdout)
    assert rev[0]["resumed"] is True and rev[0]["step"] == 0 and rev[-1]["event"] == "done"


# ------------------------------------------------------------------ check
def _check(env_extra=None, *args):
    env = dict(os.environ, **(env_extra or {}))
    t0 = time.time()
    r = subprocess.run([sys.executable, "-m", "sightline_tune.check", *args], cwd=TRAINING, capture_output=True,
                       text=True, env=env, timeout=60)
    return r, time.time() - t0


def test_check_reports_torch():
    r, _ = _check()
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert set(doc) == {"python", "python_version", "torch", "cuda", "devices", "modules", "problem"}
    assert doc["python"] == sys.executable and doc["torch"] == torch.__version__ and doc["problem"] is None
    if torch.cuda.is_available():
        assert doc["cuda"] == torch.version.cuda and len(doc["devices"]) == torch.cuda.device_count()
        assert doc["devices"][0]["memory_mib"] > 0
    else:
        assert doc["cuda"] is None and doc["devices"] == []
        r, _ = _check(None, "--device", "cuda")
        doc = json.loads(r.stdout)
        assert r.returncode == 0 and "sees no CUDA device" in doc["problem"]


def test_check_without_torch_is_fast_and_says_what_to_do(tmp_path):
    fake = tmp_path / "torch"
    fake.mkdir()
    (fake / "__init__.py").write_text('raise ImportError("torch is hidden by the test")\n')
    r, seconds = _check({"PYTHONPATH": f"{tmp_path}{os.pathsep}{TRAINING}"})
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["torch"] is None and doc["cuda"] is None and doc["devices"] == []
    assert doc["problem"].startswith(f"torch is not installed for {sys.executable}: install torch (https://pytorch")
    assert seconds < 5


# ------------------------------------------------------------------ slurm
def _slurm(*args):
    r = subprocess.run([sys.executable, "-m", "sightline_tune.train", "--emit-slurm", *args], cwd=TRAINING,
                       capture_output=True, text=True, timeout=60)
    return r


def test_emit_slurm_single_gpu_quotes_paths(tmp_path):
    data = tmp_path / "my data" / "pairs.jsonl"
    r = _slurm("--bundle", str(DEMO), "--pairs", str(data), "--out", str(tmp_path / "run 1"), "--seed", "3",
               "--watch-stdin", "--slurm-account", "lab")
    assert r.returncode == 0, r.stderr
    text = r.stdout
    sb = [line for line in text.splitlines() if line.startswith("#SBATCH")]
    assert "#SBATCH --gres=gpu:1" in sb and "#SBATCH --ntasks-per-node=1" in sb and "#SBATCH --time=24:00:00" in sb
    assert "#SBATCH --cpus-per-task=8" in sb and "#SBATCH --account=lab" in sb
    assert not any("--partition" in s for s in sb)
    assert f"#SBATCH --output={shlex.quote(str(tmp_path / 'run 1' / 'slurm-%j.out'))}" in sb
    cmd = shlex.split(text.strip().splitlines()[-1])
    assert cmd[:4] == ["python", "-m", "sightline_tune.train", "--bundle"]
    assert cmd[cmd.index("--pairs") + 1] == str(data)  # one word despite the space
    assert cmd[cmd.index("--out") + 1] == str(tmp_path / "run 1") and cmd[cmd.index("--seed") + 1] == "3"
    assert cmd[cmd.index("--device") + 1] == "cuda"
    assert not {"--watch-stdin", "--emit-slurm", "--gpus", "--slurm-account"} & set(cmd)
    assert text.startswith("#!/bin/bash\n") and f"cd {shlex.quote(str(TRAINING))}" in text


def test_emit_slurm_several_gpus_and_bad_time(tmp_path):
    r = _slurm("--bundle", "b", "--data", "w", "--out", "o", "--gpus", "4", "--device", "cuda", "--resume",
               "--slurm-time", "2-00:00:00", "--slurm-partition", "gpu a100")
    assert r.returncode == 0, r.stderr
    assert "#SBATCH --gres=gpu:4\n" in r.stdout and "#SBATCH --cpus-per-task=32\n" in r.stdout
    assert "#SBATCH --partition='gpu a100'\n" in r.stdout and "#SBATCH --time=2-00:00:00\n" in r.stdout
    cmd = shlex.split(r.stdout.strip().splitlines()[-1])
    assert cmd[:12] == ["srun", "python", "-m", "torch.distributed.run", "--nproc_per_node", "4", "--redirects", "2",
                        "--tee", "1", "-m", "sightline_tune.train"]
    assert cmd[cmd.index("--data") + 1] == str(TRAINING / "w") and "--resume" in cmd
    assert cmd.count("--device") == 1
    bad = _slurm("--bundle", "b", "--data", "w", "--out", "o", "--slurm-time", "3h")
    assert bad.returncode == 2 and "--slurm-time '3h': expected [D-]HH:MM:SS" in bad.stderr and bad.stdout == ""
