import numpy as np
import pytest
import torch

from sightline_ldm import schedule as S

from _ldm_fixtures import GOLDEN, needs_golden


def test_betas_and_alpha_bars():
    b = S.scaled_linear_betas()
    assert b.dtype == torch.float32 and b.shape == (1000,)
    assert abs(b[0].item() - 0.0015) < 1e-9 and abs(b[-1].item() - 0.0205) < 1e-8
    ref = np.cumprod(1 - np.linspace(0.0015 ** 0.5, 0.0205 ** 0.5, 1000) ** 2)
    np.testing.assert_allclose(S.alphas_cumprod().double().numpy(), ref, rtol=2e-5)


@needs_golden
def test_alpha_bars_and_timesteps_equal_golden_bitwise():
    g = torch.load(GOLDEN, map_location="cpu")
    assert torch.equal(S.alphas_cumprod(), g["alphas_cumprod"])
    assert S.trailing_timesteps(100) == g["timesteps_ascending"].tolist()
    assert S.kept_step_indices(100) == list(g["kept_step_indices"])


def test_trailing_timesteps_and_kept_steps():
    t = S.trailing_timesteps(100)
    assert t[:3] == [9, 19, 29] and t[-1] == 999 and len(t) == 100
    assert S.trailing_timesteps(50)[:2] == [19, 39] and S.trailing_timesteps(50)[-1] == 999
    assert S.trailing_timesteps(10) == [99, 199, 299, 399, 499, 599, 699, 799, 899, 999]
    assert S.kept_step_indices(100) == list(range(40, 60))
    assert [S.trailing_timesteps(100)[i] for i in (40, 59)] == [409, 599]
    assert S.kept_step_indices(50) == list(range(20, 30))
    with pytest.raises(ValueError):
        S.trailing_timesteps(0)


def test_conversions_round_trip():
    g = torch.Generator().manual_seed(0)
    x0, eps = torch.randn(2, 3, 4, 4, generator=g).double()
    ab = S.alphas_cumprod().double()
    for t in (9, 409, 999):
        z = S.add_noise(x0, eps, ab[t])
        v = S.x0_eps_to_v(x0, eps, ab[t])
        x0b, epsb = S.v_to_x0_eps(z, v, ab[t])
        assert torch.allclose(x0b, x0, atol=1e-12) and torch.allclose(epsb, eps, atol=1e-12)


def test_inversion_step_formula():
    g = torch.Generator().manual_seed(1)
    x0, eps = torch.randn(2, 3, 4, 4, generator=g).double()
    ab = S.alphas_cumprod().double()
    # with the exact v, one inversion step moves z_t to z_{t+D} on the same (x0, eps)
    for t in (9, 409, 589):
        z = S.add_noise(x0, eps, ab[t])
        v = S.x0_eps_to_v(x0, eps, ab[t])
        out = S.ddim_inversion_step(z, v, t, ab, 100)
        assert torch.allclose(out, S.add_noise(x0, eps, ab[t + 10]), atol=1e-12)
    # written out (method.md section 2) for one arbitrary v
    z = torch.randn(1, 3, 2, 2, generator=g).double()
    v = torch.randn(1, 3, 2, 2, generator=g).double()
    a, an = ab[409], ab[419]
    x0h = a.sqrt() * z - (1 - a).sqrt() * v
    epsh = a.sqrt() * v + (1 - a).sqrt() * z
    assert torch.allclose(S.ddim_inversion_step(z, v, 409, ab), an.sqrt() * x0h + (1 - an).sqrt() * epsh, atol=1e-14)
    # alpha-bar = 0 beyond t = 999: the last step lands on eps; D = 20 for n = 50
    assert torch.allclose(S.ddim_inversion_step(z, v, 999, ab), (1 - ab[999]).sqrt() * z + ab[999].sqrt() * v)
    a19, a39 = ab[19], ab[39]
    expect = a39.sqrt() * (a19.sqrt() * z - (1 - a19).sqrt() * v) + (1 - a39).sqrt() * (a19.sqrt() * v
                                                                                     + (1 - a19).sqrt() * z)
    assert torch.allclose(S.ddim_inversion_step(z, v, 19, ab, 50), expect, atol=1e-14)
    # optional MONAI clip_sample clamps x0 to [-1, 1]
    big = torch.full((1, 1, 1, 1), 50.0, dtype=torch.float64)
    zero = torch.zeros_like(big)
    clipped = S.ddim_inversion_step(big, zero, 409, ab, clip_sample=True)
    x0c = torch.clamp(a.sqrt() * big, -1, 1)
    assert torch.allclose(clipped, an.sqrt() * x0c + (1 - an).sqrt() * (1 - a).sqrt() * big)


def test_schedule_object():
    s = S.DDIMSchedule(100)
    assert s.step == 10 and s.timesteps[0] == 9
    z = torch.zeros(1, 3, 2, 2)
    assert torch.equal(s.inversion_step(z, z, 9), z)
