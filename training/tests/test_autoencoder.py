import pytest
import torch

from sightline_ldm.autoencoder import CXR_AUTOENCODER_CONFIG, AutoencoderKL
from sightline_ldm.layers import count_parameters, skip_weight_init

from _ldm_fixtures import monai_keys, names_and_shapes, needs_monai_keys, needs_tiny_ldm, tiny_ldm


@needs_monai_keys
def test_full_size_config_matches_fixture():
    assert CXR_AUTOENCODER_CONFIG == monai_keys()["autoencoder"]["config"]


@needs_monai_keys
def test_full_size_state_dict_names_and_shapes_match_monai():
    ref = monai_keys()["autoencoder"]
    with skip_weight_init():
        ae = AutoencoderKL(**ref["config"])
    assert names_and_shapes(ae) == [(k, v) for k, v in ref["state_dict"].items()]  # same names, shapes, order
    assert count_parameters(ae) == ref["params"] == 4_607_848


@needs_tiny_ldm
def test_tiny_reproduces_monai_outputs():
    d = tiny_ldm()
    ae = AutoencoderKL(**d["ae_config"])
    ae.load_state_dict(d["ae_state_dict"], strict=True)
    ae.eval()
    with torch.no_grad():
        mu, sigma = ae.encode(d["image"])
        recon = ae.decode(d["z_mu"])
        torch.testing.assert_close(mu, d["z_mu"], atol=1e-5, rtol=0)
        torch.testing.assert_close(sigma, d["z_sigma"], atol=1e-5, rtol=0)
        torch.testing.assert_close(recon, d["recon"], atol=1e-5, rtol=0)
        torch.testing.assert_close(ae.encode_mean(d["image"]), d["z_mu"], atol=1e-5, rtol=0)
        # reconstruct = decode(encode_mean): the same ops as above, chained
        torch.testing.assert_close(ae.reconstruct(d["image"]), ae.decode(mu), atol=1e-6, rtol=0)
        # end to end, mu's rounding (< 1e-5) is amplified by the decoder: 2.1e-5 on Debian 12's torch 1.13 (AVX2)
        torch.testing.assert_close(ae.reconstruct(d["image"]), d["recon"], atol=5e-5, rtol=0)
    assert mu.shape == (1, 3, 8, 8) and ae.downsample_factor == 8


@needs_tiny_ldm
def test_unsupported_options_fail_loudly():
    cfg = dict(tiny_ldm()["ae_config"])
    cfg["with_encoder_nonlocal_attn"] = True
    with pytest.raises(NotImplementedError):
        AutoencoderKL(**cfg)
