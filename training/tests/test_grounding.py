"""Reference grounding (method.md sections 2-3) against the predecessor's golden output on the tiny model."""
import os

import numpy as np
import pytest
import torch

from sightline_ldm import grounding as G
from sightline_ldm import image_ops
from sightline_ldm.clip_text import CLIPTextConfig, CLIPTextModel
from sightline_ldm.schedule import LATENT_SCALE_FACTOR

from _ldm_fixtures import GOLDEN, TINY_LDM as TINY
from _require import needs

needs_fixtures = needs(GOLDEN, TINY, what="golden heatmap and tiny LDM fixtures (test/fixtures/README.md)")


# ------------------------------------------------------------------ golden reproduction
@pytest.fixture(scope="module")
def golden():
    return torch.load(GOLDEN, map_location="cpu")


@pytest.fixture(scope="module")
def tiny_model():
    from sightline_ldm.autoencoder import build_autoencoder
    from sightline_ldm.unet import build_unet
    torch.set_num_threads(os.cpu_count() or 1)
    t = torch.load(TINY, map_location="cpu")
    ae = build_autoencoder(t["ae_config"])
    ae.load_state_dict(t["ae_state_dict"])
    unet = build_unet(t["unet_config"])
    unet.load_state_dict(t["unet_state_dict"])
    # the golden run used 128x128 images -> 16x16 latents; attention layers 2-7 are 4x4
    return G.GroundingModel(ae.eval(), unet.eval(), image_size=128)


@pytest.fixture(scope="module")
def run(golden, tiny_model):
    """Full pipeline on a 160x128 image whose centre crop is the golden 128x128 image, recording what the
    golden file holds (layers 2-7, steps 30-59); the variants' maps are aggregated from subsets of it."""
    img = golden["image"][0, 0].numpy()
    rng = np.random.default_rng(0)
    padded = np.concatenate([rng.random((128, 16)), img, rng.random((128, 16))], axis=1).astype(np.float32)
    ctx = golden["context"]  # [0] = unconditional (empty prompt), [1] = the phrase
    return G.reference_heatmap(padded, ctx[1], tiny_model, "frozen", uncond_embedding=ctx[0],
                               token_positions=range(golden["token_range"][0], golden["token_range"][1]),
                               kept_steps=range(30, 60), layers=range(2, 8))


def _subset(attention, layers, steps):
    return {l: {s: attention[l][s] for s in steps} for l in layers}


@needs_fixtures
def test_golden_metadata_and_variant_defaults(golden):
    assert golden["token_range"] == [1, 5]  # python range: tokens 1..4 (end exclusive)
    assert list(golden["kept_step_indices"]) == list(range(40, 60))
    assert golden["latent_scale"] == LATENT_SCALE_FACTOR  # the predecessor used the same scale
    fz, tu = G.GroundingOptions.for_variant("frozen"), G.GroundingOptions.for_variant("tuned")
    assert tuple(fz.layers) == (3, 4, 6, 7) and fz.otsu and fz.resolved_kept_steps() == list(range(40, 60))
    assert tuple(tu.layers) == (4, 5, 6, 7) and not tu.otsu and tu.resolved_kept_steps() == list(range(40, 60))
    assert fz.sigma == 2.5 and fz.num_inference_steps == 100 and fz.otsu_bins == 256


@needs_fixtures
def test_golden_latents_and_attention(golden, run):
    traj = run.trajectory
    assert run.geometry["crop_top_left"] == (0, 16) and run.geometry["original_hw"] == (128, 160)
    assert torch.allclose(traj.z0, golden["latent_z0"], atol=1e-5, rtol=0)
    after = torch.stack(traj.after)
    assert after.shape == golden["latents_after_each_inversion_step"].shape  # steps 0..59
    assert (after - golden["latents_after_each_inversion_step"]).abs().max() < 1e-5
    ref = golden["attention_record_layers_2_to_7_steps_30_to_59"]  # layer -> [30 steps, 2 (uncond, cond), 16, 77]
    assert sorted(run.attention) == list(range(2, 8))
    for layer, by_step in run.attention.items():
        assert sorted(by_step) == list(range(30, 60))
        for step, probs in by_step.items():
            assert probs.shape == (1, 16, 77)  # [heads, 4x4, tokens]
            assert (probs[0] - ref[layer][step - 30, 1]).abs().max() < 1e-5, (layer, step)


@needs_fixtures
def test_golden_frozen_heatmap_and_originals(golden, run):
    heat, thr, per_map = G.aggregate(_subset(run.attention, (3, 4, 6, 7), range(40, 60)), run.token_positions, 128)
    assert thr is not None and len(per_map) == 80
    np.testing.assert_allclose(heat, golden["frozen_512_equivalent"].numpy(), atol=1e-4, rtol=0)
    for key, hw in (("160x128", run.geometry["original_hw"]), ("300x256", (256, 300))):
        want = golden["original_sizes"][key].numpy()
        got = image_ops.map_to_original(heat, hw)
        assert got.shape == want.shape
        assert np.array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_allclose(got[~np.isnan(got)], want[~np.isnan(want)], atol=1e-4, rtol=0)


@needs_fixtures
def test_golden_tuned_heatmap(golden, run):
    heat, thr, _ = G.aggregate(_subset(run.attention, (4, 5, 6, 7), range(40, 60)), run.token_positions, 128,
                               otsu=False)
    assert thr is None
    np.testing.assert_allclose(heat, golden["tuned"].numpy(), atol=1e-4, rtol=0)


@needs_fixtures
def test_variant_end_to_end_with_trajectory_reuse(golden, tiny_model, run):
    steps = [40, 59]
    for variant, layers in (("frozen", (3, 4, 6, 7)), ("tuned", (4, 5, 6, 7))):
        r = G.reference_heatmap(None, golden["context"][1], tiny_model, variant, trajectory=run.trajectory,
                                token_positions=[1, 2, 3, 4], kept_steps=steps)
        assert sorted(r.attention) == list(layers) and r.original is None
        heat, thr, _ = G.aggregate(_subset(run.attention, layers, steps), [1, 2, 3, 4], 128, otsu=variant == "frozen")
        np.testing.assert_allclose(r.heatmap, heat, atol=1e-5)
        assert (r.threshold is None) == (variant == "tuned")


@needs_fixtures
def test_text_phrase_path_and_overrides(golden, tiny_model, run):
    """A text phrase goes through tokenizer + CLIP; tuned rows replace token embeddings of the phrase only."""
    from sightline_ldm.tokenizer import BOS, EOS, CLIPTokenizer, bytes_to_unicode
    base = list(bytes_to_unicode().values())
    toks = base + [b + "</w>" for b in base] + [BOS, EOS]
    tok = CLIPTokenizer({t: i for i, t in enumerate(toks)}, [], pad_token="!")
    cfg = CLIPTextConfig(vocab_size=len(toks), hidden_size=48, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, max_position_embeddings=77)
    torch.manual_seed(0)
    clip = CLIPTextModel(cfg).eval()
    model = G.GroundingModel(tiny_model.autoencoder, tiny_model.unet, clip, tok, image_size=128)
    kw = dict(trajectory=run.trajectory, kept_steps=[40, 45])
    r = G.reference_heatmap(None, "ab", model, "tuned", **kw)
    assert r.token_positions == [1, 2]  # 'a', 'b</w>'
    with torch.no_grad():
        ctx = clip(torch.tensor([tok.encode_padded("ab")]))
    r2 = G.reference_heatmap(None, ctx[0], model, "tuned", token_positions=[1, 2], **kw)
    np.testing.assert_allclose(r.heatmap, r2.heatmap, atol=1e-6)
    a_id = tok.vocab["a"]
    vec = torch.randn(48)
    r3 = G.reference_heatmap(None, "ab", model, "tuned", token_embedding_overrides={a_id: vec}, **kw)
    with torch.no_grad():
        ctx3 = clip(torch.tensor([tok.encode_padded("ab")]), token_embedding_overrides={a_id: vec})
    assert torch.allclose(r3.context, ctx3) and not torch.allclose(r3.context, ctx)
    with pytest.raises(ValueError):
        G.reference_heatmap(None, ctx[0], model, "tuned", **kw)  # fixed embedding without token positions
    with pytest.raises(ValueError):
        G.reference_heatmap(None, "ab", model, "nope", **kw)


# ------------------------------------------------------------------ image operations
@pytest.mark.parametrize("shape,sigma", [((128, 128), 2.5), ((7, 5), 2.5), ((3, 40), 1.0), ((33, 17), 0.7)])
def test_gaussian_blur_matches_scipy(shape, sigma):
    from scipy import ndimage
    a = np.random.default_rng(1).random(shape)
    np.testing.assert_allclose(image_ops.gaussian_blur(a, sigma), ndimage.gaussian_filter(a, sigma, mode="reflect",
                                                                                            truncate=4.0), atol=1e-12)
    assert len(image_ops.gaussian_kernel1d(2.5)) == 21  # radius int(4 * 2.5 + 0.5) = 10


def test_histogram_matches_numpy():
    rng = np.random.default_rng(2)
    for a in (rng.random((40, 50)), rng.normal(size=(64, 64)).astype(np.float32), np.linspace(0, 1, 257)):
        counts, centres = image_ops.histogram01(a)
        c2, e2 = np.histogram(a, bins=256, range=(a.min(), a.max()))
        assert np.array_equal(counts, c2)
        np.testing.assert_allclose(centres, (e2[:-1] + e2[1:]) / 2, atol=1e-6)


def _otsu_brute_force(a, nbins=256):
    """Textbook Otsu: maximise w0 w1 (mu0 - mu1)^2 over bin-centre thresholds (first maximum)."""
    counts, edges = np.histogram(a, bins=nbins, range=(a.min(), a.max()))
    centres = (edges[:-1] + edges[1:]) / 2
    best, best_t = -1, None
    for i in range(nbins - 1):
        c0, c1 = counts[:i + 1], counts[i + 1:]
        w0, w1 = c0.sum(), c1.sum()
        if w0 == 0 or w1 == 0:
            score = 0.0
        else:
            mu0 = (c0 * centres[:i + 1]).sum() / w0
            mu1 = (c1 * centres[i + 1:]).sum() / w1
            score = w0 * w1 * (mu0 - mu1) ** 2
        if score > best * (1 + 1e-12) + 1e-300:
            best, best_t = score, centres[i]
    return best_t


def _otsu_skimage_lut(a, nbins=256):
    """scikit-image threshold_multiotsu(classes=2) as implemented there (float32 moments, bin indices)."""
    counts, edges = np.histogram(a.ravel(), bins=nbins, range=(a.min(), a.max()))
    centres = (edges[:-1] + edges[1:]) / 2.0
    prob = (counts / counts.sum()).astype(np.float32)
    nvalues = np.count_nonzero(prob)
    if nvalues == 2:
        return centres[np.flatnonzero(prob)[0]]
    zeroth = np.cumsum(prob, dtype=np.float32)
    first = np.cumsum(np.arange(nbins, dtype=np.float32) * prob, dtype=np.float32)

    def var(i, j):
        m0 = zeroth[j] - (zeroth[i - 1] if i > 0 else np.float32(0))
        m1 = first[j] - (first[i - 1] if i > 0 else np.float32(0))
        return np.float32(m1 * m1 / m0) if m0 > 0 else np.float32(0)

    best, idx = np.float32(0), 0
    for i in range(nbins - 1):
        s = np.float32(var(0, i) + var(i + 1, nbins - 1))
        if s > best:
            best, idx = s, i
    return centres[idx]


def test_otsu_matches_brute_force_and_skimage_rule():
    rng = np.random.default_rng(3)
    cases = [rng.random((64, 64)),
             np.concatenate([rng.normal(0.2, 0.05, 2000), rng.normal(0.7, 0.1, 1000)]),
             image_ops.gaussian_blur(rng.random((128, 128)), 2.5),
             rng.beta(0.5, 3, size=(50, 50))]
    for a in cases:
        a = image_ops.minmax(a)
        t = image_ops.otsu_threshold(a)
        assert abs(t - _otsu_brute_force(a)) < 1e-12
        assert abs(t - _otsu_skimage_lut(a)) < 1e-12
    # hand case: two clusters -> threshold at the centre of the last bin of the low cluster
    a = np.array([0.0, 0.0, 0.098, 0.1, 0.9, 1.0, 1.0])
    t = image_ops.otsu_threshold(a)
    assert abs(t - (25 + 0.5) / 256) < 1e-12  # 0.098 and 0.1 fall in bin 25 = [0.0977, 0.1016)
    kept, thr = image_ops.apply_otsu(a)
    # the threshold is the bin centre 0.0996: the upper half of its bin survives (scikit-image behaviour)
    assert thr == t and kept.tolist() == [0, 0, 0, 0.1, 0.9, 1.0, 1.0]
    # exactly two occupied bins -> the first occupied one
    assert abs(image_ops.otsu_threshold(np.array([0.0, 1.0, 1.0])) - 0.5 / 256) < 1e-12
    const, thr = image_ops.apply_otsu(np.full((3, 3), 0.5))
    assert thr is None and np.all(const == 0.5)


def test_resize_and_map_to_original():
    a = np.arange(16, dtype=np.float32).reshape(4, 4)
    up = image_ops.resize_nearest(a, (8, 8))
    assert np.array_equal(up, np.kron(a, np.ones((2, 2))))
    assert np.array_equal(image_ops.resize_nearest(a, (2, 2)), a[[1, 3]][:, [1, 3]])  # half-pixel centres
    m = image_ops.map_to_original(a, (9, 6))  # odd margin: top = floor(3 / 2) = 1
    assert m.shape == (9, 6)
    assert np.isnan(m[0]).all() and np.isnan(m[7:]).all() and not np.isnan(m[1:7]).any()
    m = image_ops.map_to_original(a, (4, 4))
    assert np.array_equal(m, a)
    # bilinear with half-pixel centres (align_corners=False), as the torch reference
    t = torch.tensor([[0.0, 1.0]])
    r = image_ops.resize_bilinear(t, (1, 4)).numpy()
    np.testing.assert_allclose(r, [[0.0, 0.25, 0.75, 1.0]])


def test_preprocess_geometry_and_grey():
    from PIL import Image
    rng = np.random.default_rng(4)
    img8 = (rng.random((256, 300)) * 255).astype(np.uint8)
    x, geo = image_ops.preprocess(img8, 128)
    assert x.shape == (1, 1, 128, 128) and x.dtype == torch.float32
    assert geo["resized_hw"] == (128, 150) and geo["crop_top_left"] == (0, 11)
    assert 0 <= x.min() and x.max() <= 1
    # portrait, uint16, PIL, RGB
    x16, geo16 = image_ops.preprocess((rng.random((301, 256)) * 65535).astype(np.uint16), 128)
    assert geo16["resized_hw"] == (150, 128) and geo16["crop_top_left"] == (11, 0)
    g = image_ops.to_grey01(Image.fromarray(img8))
    np.testing.assert_allclose(g, img8 / 255.0, atol=1e-6)
    rgb = np.stack([img8, img8, img8], -1)
    np.testing.assert_allclose(image_ops.to_grey01(rgb), img8 / 255.0, atol=1e-6)
    np.testing.assert_allclose(image_ops.to_grey01(Image.fromarray(rgb)), img8 / 255.0, atol=1e-6)
    t = torch.rand(1, 1, 5, 6)
    assert np.array_equal(image_ops.to_grey01(t), t[0, 0].numpy())
    # same size: no resampling at all
    f = rng.random((64, 64)).astype(np.float32)
    y, _ = image_ops.preprocess(f, 64)
    assert np.array_equal(y[0, 0].numpy(), f)
