"""The Python reference of the grounded diffusion classifier (sightline_eval/classify.py, docs/method.md section 7) and
its shared vectors test/vectors/classify-demo.json (the TypeScript side, main/classification, checks the same file)."""
import json
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch

from _nested import assert_nested_close
from _require import needs
from sightline_eval import classify as C
from sightline_eval.metrics import bootstrap_hash
from sightline_ldm.schedule import alphas_cumprod

REPO = Path(__file__).resolve().parents[2]
VECTORS = REPO / "test" / "vectors" / "classify-demo.json"
# the committed vectors were written on another CPU: float32 arrays agree to this, not bit for bit
CROSS_CPU_ATOL = 1e-5
DEMO = REPO / "models" / "demo"
DEMO_FILES = (DEMO / "reference" / "unet.safetensors", DEMO / "reference" / "config.json",
              *(REPO / rel for _, rel in C.VECTOR_IMAGES))
SHA = "0a429e905d7a9b28f9024246c62510e9d1358cae5d8061af0c9eb12708203e5d"


# ---------------------------------------------------------------- generator
def test_generator_follows_the_spec_by_hand():
    s = C.image_seed(7, SHA)
    assert s == int(bootstrap_hash(7, np.array([0x0A429E90]), np.array([0]))[0, 0])
    u = lambda st, j: (int(bootstrap_hash(s, np.array([st]), np.array([j]))[0, 0]) + 0.5) / 2 ** 32  # noqa: E731
    assert C.uniform(s, 3, 5) == u(3, 5)
    ts, eps = C.draws(7, SHA, 5, 100, 899, (3, 4, 4))
    assert ts[2] == min(899, 100 + math.floor((2 + u(0, 2)) * 800 / 5))
    r = math.sqrt(-2 * math.log(u(1 + 3, 6)))  # draw 3, pair q = 3 -> flat positions 6, 7
    assert eps[3].ravel()[6] == np.float32(r * math.cos(2 * math.pi * u(1 + 3, 7)))
    assert eps[3].ravel()[7] == np.float32(r * math.sin(2 * math.pi * u(1 + 3, 7)))
    assert eps.dtype == np.float32 and eps.shape == (5, 3, 4, 4)


def test_generator_is_deterministic_and_keyed_by_seed_and_image():
    a = C.draws(0, SHA, 8, 0, 999, (3, 16, 16))
    b = C.draws(0, SHA, 8, 0, 999, (3, 16, 16))
    assert a[0] == b[0] and np.array_equal(a[1], b[1])
    other_seed = C.draws(1, SHA, 8, 0, 999, (3, 16, 16))
    other_image = C.draws(0, "f" + SHA[1:], 8, 0, 999, (3, 16, 16))
    assert not np.array_equal(a[1], other_seed[1]) and not np.array_equal(a[1], other_image[1])
    # only the first 8 hex digits key the image; the draws of N samples are a prefix of those of more samples' noise
    assert np.array_equal(a[1], C.draws(0, SHA[:8] + "0" * 56, 8, 0, 999, (3, 16, 16))[1])
    assert np.array_equal(a[1][:3], C.draws(0, SHA, 3, 0, 999, (3, 16, 16))[1])
    # an odd latent length drops the last sine only
    odd = C.draws(0, SHA, 2, 0, 999, (3,))[1]
    even = C.draws(0, SHA, 2, 0, 999, (4,))[1]
    assert np.array_equal(odd, even[:, :3])


@pytest.mark.parametrize("samples,lo,hi", [(4, 0, 999), (32, 0, 999), (7, 100, 300), (10, 5, 7), (3, 42, 42),
                                           (1000, 0, 999)])
def test_timesteps_are_stratified_one_per_stratum(samples, lo, hi):
    ts, _ = C.draws(3, SHA, samples, lo, hi, (1,))
    span = hi - lo + 1
    assert len(ts) == samples and all(lo <= t <= hi for t in ts)
    assert ts == sorted(ts)
    for n, t in enumerate(ts):  # t - lo = floor((n + u) span / N) with u in (0, 1)
        assert math.floor(Fraction(n * span, samples)) <= t - lo < max(1, math.ceil(Fraction((n + 1) * span, samples)))
    if samples == span:
        assert ts == list(range(lo, hi + 1))


def test_noise_is_standard_normal():
    _, eps = C.draws(0, SHA, 100, 0, 999, (1000,))
    x = eps.astype(np.float64).ravel()
    assert x.size == 100_000 and np.all(np.isfinite(x))
    assert abs(x.mean()) < 0.015 and abs(x.std() - 1) < 0.01
    assert abs(np.mean(x ** 3)) < 0.05 and abs(np.mean(x ** 4) - 3) < 0.1  # skew 0, kurtosis 3
    assert abs(np.mean(np.abs(x) < 1) - 0.6827) < 0.01


def test_generator_rejects_bad_input():
    with pytest.raises(ValueError, match="hex digest"):
        C.image_seed(0, "not-a-hash")
    with pytest.raises(ValueError, match="samples"):
        C.draws(0, SHA, 0, 0, 999, (3,))
    with pytest.raises(ValueError, match="timestep range"):
        C.draws(0, SHA, 4, 500, 100, (3,))
    with pytest.raises(ValueError, match="seed"):
        C.draws(-1, SHA, 4, 0, 999, (3,))


# ---------------------------------------------------------------- weights and weighted errors
def test_pool_weights_block_means():
    m = np.arange(16, dtype=np.float32).reshape(4, 4)
    np.testing.assert_array_equal(C.pool_weights(m, 2), [[2.5, 4.5], [10.5, 12.5]])
    m[0, 0] = np.nan  # NaN counts as 0 (outside the model's square / under the threshold)
    assert C.pool_weights(m, 2)[0, 0] == (1 + 4 + 5) / 4
    with pytest.raises(ValueError, match="multiple"):
        C.pool_weights(np.zeros((10, 10)), 4)
    with pytest.raises(ValueError, match="square"):
        C.pool_weights(np.zeros((8, 4)), 4)


def test_weighted_error_uniform_fallbacks_and_errors():
    m = np.array([[1.0, 2.0], [3.0, 6.0]])
    assert C.weighted_error(m) == 3.0
    assert C.weighted_error(m, np.zeros((2, 2))) == 3.0  # nothing above the threshold: uniform
    assert C.weighted_error(m, np.array([[0, 0], [1, 3]])) == (3 + 18) / 4
    with pytest.raises(ValueError, match="not negative"):
        C.weighted_error(m, np.array([[0, 0], [-1, 3]]))
    with pytest.raises(ValueError, match="4 weights"):
        C.weighted_error(np.ones(5), np.ones(4))
    assert C.score(m, None, m, np.array([[0, 0], [0, 1]])) == 3.0 - 6.0


def _block_heatmap(size=128, latent=16, rows=(4, 8), cols=(2, 6)):
    """A thresholded model-frame map that is 1 on the latent block rows x cols (0 elsewhere) and its latent mask."""
    f = size // latent
    heat = np.zeros((size, size), dtype=np.float32)
    heat[rows[0] * f:rows[1] * f, cols[0] * f:cols[1] * f] = 1.0
    mask = np.zeros((latent, latent), dtype=bool)
    mask[rows[0]:rows[1], cols[0]:cols[1]] = True
    return heat, mask


def test_heatmap_weighting_picks_the_prompt_that_explains_the_region():
    heat, mask = _block_heatmap()
    m_a = np.where(mask, 0.5, 3.0)  # prompt A: lower error inside its heatmap, higher outside
    m_b = np.full((16, 16), 2.0)
    w = C.pool_weights(heat, 16)
    np.testing.assert_array_equal(w > 0, mask)
    uniform = {"A": C.weighted_error(m_a), "B": C.weighted_error(m_b)}
    weighted = {"A": C.weighted_error(m_a, w), "B": C.weighted_error(m_b, w)}
    assert min(uniform, key=uniform.get) == "B"
    assert min(weighted, key=weighted.get) == "A"
    assert weighted["A"] == 0.5


class _OracleUNet(torch.nn.Module):
    """With z0 = 0, x_t = sqrt(1 - ab) eps and the true v = sqrt(ab) eps = sqrt(ab / (1 - ab)) x_t. This U-Net returns
    the true v plus a prompt-dependent offset map: context[0, 0, 0] = 0 -> 0.1 inside the block and 1.0 outside
    (prompt A), = 1 -> 0.5 everywhere (prompt B)."""

    def __init__(self, alpha_bar, mask):
        super().__init__()
        self.ab = torch.as_tensor(alpha_bar, dtype=torch.float64)
        self.register_buffer("mask", torch.as_tensor(mask, dtype=torch.float64))
        self.calls = []

    def forward(self, x, t, context):
        self.calls.append(x.shape[0])
        ab = self.ab.to(x.device)[t][:, None, None, None]
        v = (ab / (1 - ab)).sqrt() * x.double()
        a = torch.where(self.mask.bool(), 0.1, 1.0)
        offset = torch.where(context[:, :1, :1, None] == 0, a, torch.full_like(a, 0.5))
        return (v + offset).float()

    def parameters(self, recurse=True):  # noqa: D102 - the module has no weights; error_map reads the device here
        yield self.mask


def test_constructed_unet_error_maps_drive_the_classifier():
    heat, mask = _block_heatmap()
    ab = alphas_cumprod()
    unet = _OracleUNet(ab, mask)
    ts, eps = C.draws(0, SHA, 6, 0, 999, (3, 16, 16))
    z0 = np.zeros((3, 16, 16), dtype=np.float32)
    ctx_a, ctx_b = torch.zeros(77, 8), torch.ones(77, 8)
    maps_a = C.error_maps(unet, z0, ts, eps, ctx_a, ab, batch_size=4)
    maps_b = C.error_maps(unet, z0, ts, eps, ctx_b, ab, batch_size=4)
    assert unet.calls == [4, 2, 4, 2]
    np.testing.assert_allclose(maps_a["v"], np.where(mask, 0.1, 1.0), atol=1e-6)
    np.testing.assert_allclose(maps_b["v"], 0.5, atol=1e-6)
    mean_sqrt_ab = float(np.mean([math.sqrt(float(ab[t])) for t in ts]))
    np.testing.assert_allclose(maps_a["epsilon"], mean_sqrt_ab * np.where(mask, 0.1, 1.0), atol=1e-5)
    w = C.pool_weights(heat, 16)
    for target in C.TARGETS:
        a, b = maps_a[target], maps_b[target]
        assert C.weighted_error(a) > C.weighted_error(b)  # uniform: B explains the image better
        assert C.weighted_error(a, w) < C.weighted_error(b, w)  # inside the heatmap: A does
        assert C.score(b, w, a, w) > 0  # with B the "normal" prompt, A the pathology: positive
    assert np.array_equal(C.error_map(unet, z0, ts, eps, ctx_a, ab, "v", batch_size=4), maps_a["v"])
    with pytest.raises(ValueError, match="target"):
        C.error_map(unet, z0, ts, eps, ctx_a, ab, "x0")
    with pytest.raises(ValueError, match="timesteps"):
        C.error_maps(unet, z0, ts[:2], eps, ctx_a, ab)


# ---------------------------------------------------------------- the demo model
@pytest.fixture(scope="module")
def demo():
    from sightline_ldm.loading import load_grounding_model
    model, _ = load_grounding_model(str(DEMO))
    return model


@needs(*DEMO_FILES, what="the demo bundle's reference weights and demo images")
def test_epsilon_error_is_sqrt_alpha_bar_times_v_error_per_draw(demo):
    from sightline_ldm.grounding import text_embedding
    ab = alphas_cumprod()
    z0 = C.encode_image(demo, np.linspace(0, 1, 128 * 160, dtype=np.float32).reshape(160, 128))
    ts, eps = C.draws(0, SHA, 6, 0, 999, tuple(z0.shape))
    ctx = text_embedding(demo, "left apical pneumothorax")
    for n, t in enumerate(ts):
        maps = C.error_maps(demo.unet, z0, [t], eps[n:n + 1], ctx, ab)
        np.testing.assert_allclose(maps["epsilon"], math.sqrt(float(ab[t])) * maps["v"], atol=2e-6, rtol=0)
        assert maps["v"].mean() > 1e-3  # a real (non-zero) prediction error
    # batching the draws does not change the maps (beyond float32 noise)
    one = C.error_maps(demo.unet, z0, ts, eps, ctx, ab, batch_size=1)
    all_ = C.error_maps(demo.unet, z0, ts, eps, ctx, ab, batch_size=16)
    for target in C.TARGETS:
        np.testing.assert_allclose(one[target], all_[target], atol=1e-6, rtol=0)


@needs(VECTORS, *DEMO_FILES, what="the shared classifier vectors and the demo bundle")
def test_committed_vectors_are_a_fresh_write(tmp_path):
    C.write_vectors(tmp_path / "fresh.json")
    fresh = json.loads((tmp_path / "fresh.json").read_text())
    committed = json.loads(VECTORS.read_text())
    assert fresh["bundle_manifest_sha256"] == committed["bundle_manifest_sha256"], "the demo bundle changed: regenerate"
    assert fresh["generator"] == committed["generator"]  # the generator exactly
    for im in committed["images"]:  # the files the vectors name are the ones in the tree
        assert C.file_sha256(REPO / im["file"]) == im["sha256"], im["file"]
    # float32 z0, error maps and heatmaps differ across CPUs (another BLAS/oneDNN kernel: up to 1.5e-6 measured
    # between two x86 machines); the scores, sums of those, stay within 1e-7
    assert_nested_close(fresh, committed, atol=CROSS_CPU_ATOL)
    assert VECTORS.stat().st_size < 300_000


@needs(VECTORS, what="the shared classifier vectors")
def test_committed_vectors_are_self_consistent():
    """What the TypeScript side recomputes from the file alone: weighted errors and scores from its maps and weights,
    and the draws from the generator."""
    doc = json.loads(VECTORS.read_text())
    assert doc["samples"] == 4 and doc["timestep_range"] == [0, 999] and doc["variant_settings"]["layers"] == [7, 9]
    shape = tuple(doc["latent_shape"])
    for im in doc["images"]:
        ts, eps = C.draws(doc["seed"], im["sha256"], doc["samples"], *doc["timestep_range"], shape)
        assert ts == im["draws"]["timesteps"]
        assert np.array_equal(eps.ravel(), np.array(im["draws"]["eps"], dtype=np.float32))
        errs = {}
        for p in im["prompts"]:
            w = np.array(p["weights"])
            assert w.size == 256 and np.any(w > 0) and np.all(w >= 0) and np.any(w == 0)  # Otsu cut something
            for t in C.TARGETS:
                m = np.array(p["error_maps"][t])
                got = {"uniform": C.weighted_error(m), "heatmap": C.weighted_error(m, w)}
                for k, v in got.items():
                    assert abs(v - p["weighted_error"][t][k]) < 1e-7
                errs.setdefault(p["prompt"], {})[t] = got
        normal = doc["normal_prompt"]
        for p, by_target in im["scores"].items():
            for t, s in by_target.items():
                for k, v in s.items():
                    assert abs(errs[normal][t][k] - errs[p][t][k] - v) < 1e-7


@needs(VECTORS, *DEMO_FILES, what="the shared classifier vectors and the demo bundle")
def test_classify_image_reproduces_the_vectors(demo):
    """The end-to-end entry point (file -> sha256 -> draws -> error maps) gives the vectors' maps and errors."""
    doc = json.loads(VECTORS.read_text())
    im = doc["images"][0]
    prompts = [p["prompt"] for p in im["prompts"]]
    manifest = json.loads((DEMO / "manifest.json").read_text())
    kw = dict(seed=doc["seed"], samples=doc["samples"], timesteps=tuple(doc["timestep_range"]))
    r = C.classify_image(demo, REPO / im["file"], prompts, variant=manifest["grounding"][doc["variant"]], **kw)
    assert r.sha256 == im["sha256"] and r.timesteps == im["draws"]["timesteps"]
    np.testing.assert_allclose(r.z0.ravel(), im["z0"], atol=CROSS_CPU_ATOL, rtol=0)
    for p in im["prompts"]:
        np.testing.assert_allclose(r.weights[p["prompt"]].ravel(), p["weights"], atol=CROSS_CPU_ATOL, rtol=0)
        for t in C.TARGETS:
            np.testing.assert_allclose(r.maps[p["prompt"]][t].ravel(), p["error_maps"][t], atol=CROSS_CPU_ATOL, rtol=0)
            for k in ("uniform", "heatmap"):
                assert abs(r.errors[p["prompt"]][t][k] - p["weighted_error"][t][k]) < 1e-6
    plain = C.classify_image(demo, REPO / im["file"], prompts[:1], targets=("v",), **kw)
    assert plain.weights[prompts[0]] is None and set(plain.maps[prompts[0]]) == {"v"}  # no heatmap: uniform only
    assert plain.errors[prompts[0]]["v"]["heatmap"] == plain.errors[prompts[0]]["v"]["uniform"]
