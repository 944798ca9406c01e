"""sightline_tune.loss: L_div, L_loc (method.md 4.4) against hand values, the stop-gradient, the jitter."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from _require import require

from sightline_tune.loss import diversity_loss, jittered_params, localisation_loss, pair_losses, target_map

LUT = {"frame": 128, "regions": {"right lung": {"mu_x": 40.0, "mu_y": 50.0, "sigma_x": 8.0, "sigma_y": 12.0},
                                 "left lung": {"mu_x": 90.0, "mu_y": 50.0, "sigma_x": 8.0, "sigma_y": 12.0}}}


def test_diversity_identical_orthogonal_single():
    a = torch.zeros(2, 4, 5)
    a[:, 0, 1] = a[:, 0, 2] = 1.0  # tokens 1 and 2 identical columns
    assert float(diversity_loss(a, [1, 2])) == pytest.approx(1.0)
    b = torch.zeros(2, 4, 5)
    b[:, 0, 1] = 1.0
    b[:, 3, 2] = 1.0  # disjoint support
    assert float(diversity_loss(b, [1, 2])) == pytest.approx(0.0)
    assert float(diversity_loss(b, [1])) == 0.0


def test_diversity_hand_value():
    a = torch.zeros(1, 2, 3)
    a[0, :, 0] = torch.tensor([1.0, 0.0])
    a[0, :, 1] = torch.tensor([1.0, 1.0])  # cos with col 0 = 1/sqrt2 -> cos^2 = 0.5
    a[0, :, 2] = torch.tensor([0.0, 1.0])  # cos with 0 = 0, with 1 = 0.5
    # ordered pairs: (0,1) (1,0) 0.5 each, (1,2) (2,1) 0.5 each, (0,2) (2,0) 0 -> 2 / 6
    assert float(diversity_loss(a, [0, 1, 2])) == pytest.approx(2 / 6)


def test_localisation_zero_when_attention_is_the_target():
    g = target_map(LUT, [(40.0, 50.0, 8.0, 12.0, )], (16, 16))
    a = g.reshape(1, -1, 1).repeat(3, 1, 4)  # every token's column = G
    assert float(localisation_loss(a, [1, 2], g, alpha=0.1)) == pytest.approx(0.0, abs=1e-6)


def test_localisation_hand_value_and_stopgrad():
    torch.manual_seed(0)
    a = torch.rand(2, 6, 3, dtype=torch.float64, requires_grad=True)
    g = torch.tensor([0.0, 1e-6, 0.2, 1.0, 0.5, 0.0], dtype=torch.float64)
    loss = localisation_loss(a, [1, 2], g, alpha=0.1)
    sp = a.detach()[:, :, [1, 2]].mean(-1).numpy()
    gn = g.numpy()
    trg = (gn > 1e-5) * sp + 0.1 * gn
    cos = (sp * trg).sum(1) / np.linalg.norm(sp, axis=1) / np.linalg.norm(trg, axis=1)
    assert float(loss) == pytest.approx(float(np.mean(1 - cos)), rel=1e-12)
    loss.backward()
    # the gradient treats trg as a constant: d/dsp (1 - cos(sp, trg)) with trg fixed
    sp_t = torch.tensor(sp, requires_grad=True)
    ref = (1 - torch.nn.functional.cosine_similarity(sp_t, torch.tensor(trg), dim=1)).mean()
    ref.backward()
    got = a.grad[:, :, 1] * 2  # each of the 2 tokens gets half of d/dsp
    assert torch.allclose(got, sp_t.grad, atol=1e-12)
    assert float(a.grad[:, :, 0].abs().sum()) == 0.0  # a special/other token gets nothing


def test_pair_losses_mean_over_layers():
    a = torch.rand(3, 1, 4, 5)
    g = torch.rand(4)
    tot, div, loc = pair_losses({8: a, 9: a}, [1, 2], {8: g, 9: g}, 0.1, div_weight=0.5)
    d1 = diversity_loss(a.mean(1), [1, 2])
    assert float(div) == pytest.approx(float(d1))
    assert float(tot) == pytest.approx(0.5 * float(div) + float(loc))


def test_jitter_bounds_seeded_and_sigma_floor():
    ps = [jittered_params(LUT, "bilateral", np.random.default_rng([0, 1, s])) for s in range(200)]
    assert ps[5] == jittered_params(LUT, "bilateral", np.random.default_rng([0, 1, 5]))
    arr = np.array(ps)  # [200, 2 regions, 4]
    base = np.array([[40, 50, 8, 12], [90, 50, 8, 12]], dtype=float)
    dev = arr - base
    assert np.abs(dev).max() <= 0.05 * 128 + 1e-9
    assert np.abs(dev[..., :2]).max() > 0.04 * 128  # it does jitter (up to the bound)
    assert (arr[..., 2:] >= 0.5 * base[:, 2:] - 1e-12).all()


def test_target_pixel_max_of_peak_one_gaussians():
    g = target_map(LUT, [(40.0, 50.0, 8.0, 12.0), (90.0, 50.0, 8.0, 12.0)], (16, 16)).reshape(16, 16)
    assert float(g.max()) <= 1.0 and float(g.max()) > 0.9
    assert float(g[6, 5]) > 0.5 and float(g[6, 11]) > 0.5 and float(g[0, 0]) < 1e-3


def test_demo_lut_targets_never_empty_under_jitter():
    path = Path(__file__).resolve().parents[2] / "models" / "demo" / "lut.json"
    require(path, what="the demo bundle's LUT")
    lut = json.loads(path.read_text())
    worst = min(float(target_map(lut, jittered_params(lut, loc, np.random.default_rng(s)), (16, 16)).max())
                for s in range(50) for loc in ("right costophrenic", "left costophrenic", "left apical"))
    assert worst > 1e-5
