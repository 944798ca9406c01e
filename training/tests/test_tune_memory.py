"""Mixed precision and gradient checkpointing of the tuning loop (TuneConfig.amp, TuneConfig.grad_checkpointing) on
the demo bundle with a tiny world and the 10-step schedule (tuning steps 3..5), in process.

- checkpointing gives the plain run's codebook gradients (to 1e-6) and rows after 3 steps, and cuts the U-Net's
  activation memory (measured with torch's profiler: printed, and it must be lower);
- bf16 autocast (torch 1.13's CPU autocast) runs 3 steps with finite losses, rows near the float32 run's;
  float32 passes are unchanged by it (validation and the variant stay float32);
- fp16 on the CPU and an unknown amp mode are refused with a clear message; a resume with another amp is refused,
  a checkpoint from before these settings resumes with their defaults.
Figures measured on the 2-core dev machine are in sightline_tune/README.md ("Mixed precision and gradient
checkpointing")."""
import json
import math
import time
from pathlib import Path

import pytest
import torch

from _require import needs
from _tune_run import DEMO, make_world
from sightline_tune.config import TuneConfig
from sightline_tune.train import Tuner

pytestmark = needs(DEMO / "manifest.json", DEMO / "reference", DEMO / "lut.json", what="the demo bundle (models/demo)")
SMALL = {"num_inference_steps": 10, "val_images": 0, "checkpoint_every": 0, "log_every": 1, "threads": 1,
         "lr_scale": 0.5, "steps": 3, "batch_size": 2}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return make_world(tmp_path_factory, "memworld")


def _tuner(world, out, **kw) -> Tuner:
    return Tuner(str(DEMO), str(world), str(out), TuneConfig(**dict(SMALL, **kw)),
                 cache_dir=str(Path(world).parent / "cache"), say=lambda m: None)


def _run(world, out, **kw):
    """A 3-step run: (tuner, final rows, seconds per step, the step events)."""
    t = _tuner(world, out, **kw)
    t.run()
    steps = [e for e in t.log if e["event"] == "step"]
    return t, t.codebook.rows.detach().clone(), steps


@pytest.fixture(scope="module")
def fp32(world, tmp_path_factory):
    _run(world, tmp_path_factory.mktemp("warm"), steps=1)  # fills the latent cache: the timed runs only tune
    t0 = time.time()
    run = _run(world, tmp_path_factory.mktemp("fp32"))
    return run + ((time.time() - t0) / SMALL["steps"],)


def _one_item_grad(t: Tuner) -> torch.Tensor:
    t.codebook.rows.grad = None
    t.loss_and_backward(t.pair_at(0), 0)
    return t.codebook.rows.grad.detach().clone()


def test_checkpointing_gives_the_same_gradients_and_rows(world, fp32, tmp_path, capsys):
    plain, rows_plain, _, _ = fp32
    ck, rows_ck, _ = _run(world, tmp_path / "ck", grad_checkpointing=True)
    assert ck.model.unet.grad_checkpointing and not plain.model.unet.grad_checkpointing
    g_plain, g_ck = _one_item_grad(plain), _one_item_grad(ck)
    assert float(g_plain.abs().max()) > 1e-3  # a real gradient, not two zeros
    assert float((g_plain - g_ck).abs().max()) <= 1e-6
    assert float((rows_plain - rows_ck).abs().max()) <= 1e-6
    assert float((rows_ck - ck.codebook.initial).abs().max()) > 1e-3  # and the rows moved
    start = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"start"' in line][-1]
    assert start["event"] == "start" and start["amp"] == "off" and start["grad_checkpointing"] is True


def _peak_bytes(fn) -> int:
    """Peak of the CPU memory torch allocates while ``fn`` runs (profiler allocation/free events in time order)."""
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    cur = peak = 0
    for e in sorted(prof.events(), key=lambda e: e.time_range.start):
        cur += e.cpu_memory_usage if e.name == "[memory]" else e.self_cpu_memory_usage
        peak = max(peak, cur)
    return peak


def test_checkpointing_cuts_activation_memory():
    """One U-Net pass of 4 latents (batch 4) up to the demo's tuned layers {8,9,10} and its backward."""
    from sightline_ldm.loading import load_grounding_model
    unet = load_grounding_model(str(DEMO))[0].unet.eval().requires_grad_(False)
    g = torch.Generator().manual_seed(0)
    x, t = torch.randn(4, 3, 16, 16, generator=g), torch.tensor([309, 409, 509, 609])
    ctx = torch.randn(1, 77, unet.config["cross_attention_dim"], generator=g)

    def step():
        c = ctx.clone().requires_grad_(True)
        _, probs = unet(x, t, c.expand(4, -1, -1), capture_attention=[8, 9, 10], stop_after=True)
        sum(p.float().pow(2).sum() for p in probs.values()).backward()

    peaks = {}
    for on in (False, True):
        unet.grad_checkpointing = on
        step()  # warm-up
        peaks[on] = _peak_bytes(step)
    print(f"\n[memory] demo U-Net to layer 10, batch 4, forward+backward peak: plain {peaks[False] / 2**20:.1f} MiB, "
          f"checkpointed {peaks[True] / 2**20:.1f} MiB")
    assert 0 < peaks[True] < 0.75 * peaks[False]


def test_bf16_autocast_runs_and_stays_near_float32(world, fp32, tmp_path):
    plain, rows32, steps32, sec32 = fp32
    t0 = time.time()
    t, rows16, steps = _run(world, tmp_path / "bf16", amp="bf16")
    sec16 = (time.time() - t0) / SMALL["steps"]
    assert [e["step"] for e in steps] == [1, 2, 3] and all(math.isfinite(e["loss"]) for e in steps)
    assert t.codebook.rows.dtype == torch.float32 and t.scaler is None
    # Adam moves every coordinate by about lr whatever its gradient's size, so coordinates whose gradient is near 0
    # can go either way: compare the displacements as vectors, and one item's gradient
    d32, d16 = rows32 - plain.codebook.initial, rows16 - plain.codebook.initial
    rel_rows = float((d16 - d32).norm() / d32.norm())
    cos = float(torch.nn.functional.cosine_similarity(d16.reshape(-1), d32.reshape(-1), dim=0))
    g32, g16 = _one_item_grad(plain), _one_item_grad(t)
    rel_grad = float((g16 - g32).norm() / g32.norm())
    loss_gap = max(abs(a["loss"] - b["loss"]) for a, b in zip(steps, steps32))
    print(f"\n[bf16] one item's gradient: relative l2 error {rel_grad:.3g}; row displacements after 3 steps: "
          f"relative l2 {rel_rows:.3g}, cosine {cos:.4f}, max |bf16 - fp32| {float((d16 - d32).abs().max()):.3g} "
          f"(lr {t.lr:.3g}); loss gap {loss_gap:.3g}; s/step fp32 {sec32:.2f}, bf16 {sec16:.2f} (this CPU, "
          "incl. the run's set-up)")
    assert rel_grad < 0.1 and rel_rows < 0.5 and cos > 0.85 and loss_gap < 0.02
    # outside autocast (validation, the variant) the float32 pass is bit for bit the plain one
    g = torch.Generator().manual_seed(1)
    x, ts, c = torch.randn(2, 3, 16, 16, generator=g), torch.tensor([400, 500]), torch.randn(2, 77, 128, generator=g)
    with torch.no_grad():
        assert torch.equal(t.model.unet(x, ts, c), plain.model.unet(x, ts, c))
    doc = (tmp_path / "bf16" / "variant.json").read_text()
    assert '"amp": "bf16"' in doc


def test_fp16_on_cpu_and_unknown_modes_are_refused(world, tmp_path):
    with pytest.raises(ValueError, match=r"amp 'fp16' needs a CUDA device .*use amp 'bf16' or 'off'"):
        _tuner(world, tmp_path / "a", amp="fp16")
    with pytest.raises(ValueError, match=r"amp must be one of \['off', 'bf16', 'fp16'\], got 'fp8'"):
        _tuner(world, tmp_path / "b", amp="fp8")
    with pytest.raises(ValueError, match="grad_checkpointing must be true or false"):
        _tuner(world, tmp_path / "c", grad_checkpointing="yes")


class _StubScaler:
    """GradScaler's interface on the CPU (torch's needs CUDA): scales the loss by 2**10, unscales in ``step``, and
    reports the second step as non-finite (skipped, scale halved) as fp16 overflow would."""

    def __init__(self):
        self.scale_value, self.calls = 1024.0, 0

    def scale(self, loss):
        return loss * self.scale_value

    def get_scale(self):
        return self.scale_value

    def step(self, opt):
        self.calls += 1
        if self.calls == 2:
            return
        for group in opt.param_groups:
            for p in group["params"]:
                p.grad.div_(self.scale_value)
        opt.step()

    def update(self):
        if self.calls == 2:
            self.scale_value /= 2

    def state_dict(self):
        return {"scale": self.scale_value}


def test_scaled_steps_and_skipped_steps_are_counted(world, fp32, tmp_path):
    """The fp16 wiring (loss scaled in backward, the step through the scaler, a skipped step counted and said)."""
    said = []
    t = _tuner(world, tmp_path / "s", steps=3)
    t.scaler, t.say = _StubScaler(), said.append
    t.run()
    steps = [e for e in t.log if e["event"] == "step"]
    assert [e["amp_skipped"] for e in steps] == [0, 1, 1]
    assert any("step 2 skipped" in m and "1 skipped so far" in m for m in said)
    ck = torch.load(tmp_path / "s" / "checkpoint.pt")
    assert ck["amp_skipped"] == 1 and ck["scaler"] == {"scale": 512.0}
    # the skipped step is not applied: the rows are not the plain run's
    plain_rows = fp32[1]
    assert float((t.codebook.rows.detach() - plain_rows).abs().max()) > 1e-4


def test_resume_with_another_amp_is_refused(world, tmp_path):
    out = tmp_path / "r"
    _tuner(world, out, steps=1, checkpoint_every=1).run()
    with pytest.raises(ValueError, match=r"settings differ from the checkpoint's \(\['amp'\]\)"):
        _tuner(world, out, steps=2, checkpoint_every=1, amp="bf16").run(resume=True)
    with pytest.raises(ValueError, match=r"\['grad_checkpointing'\]"):
        _tuner(world, out, steps=2, checkpoint_every=1, grad_checkpointing=True).run(resume=True)
    # a checkpoint written before these settings existed ran with their defaults: it resumes
    ck = torch.load(out / "checkpoint.pt")
    for k in ("amp", "grad_checkpointing"):
        del ck["config"][k]
    torch.save(ck, out / "checkpoint.pt")
    t = _tuner(world, out, steps=2, checkpoint_every=1)
    assert t.resume() and t.step == 1
