import pytest
import torch

from sightline_ldm.layers import count_parameters, skip_weight_init, timestep_embedding
from sightline_ldm.unet import CXR_UNET_CONFIG, DiffusionModelUNet

from _ldm_fixtures import monai_keys, names_and_shapes, needs_monai_keys, needs_tiny_ldm, tiny_ldm


@pytest.fixture(scope="module")
def tiny():
    d = tiny_ldm()
    unet = DiffusionModelUNet(**d["unet_config"])
    unet.load_state_dict(d["unet_state_dict"], strict=True)
    unet.eval()
    return unet, d


@needs_monai_keys
def test_full_size_config_matches_fixture():
    assert CXR_UNET_CONFIG == monai_keys()["unet"]["config"]


@needs_monai_keys
def test_full_size_state_dict_names_and_shapes_match_monai():
    ref = monai_keys()["unet"]
    with skip_weight_init():
        unet = DiffusionModelUNet(**ref["config"])
    assert names_and_shapes(unet) == [(k, v) for k, v in ref["state_dict"].items()]
    assert count_parameters(unet) == ref["params"] == 263_636_995
    assert unet.num_cross_attention_layers == 11
    grids = [unet.cross_attention_grid(i, (64, 64)) for i in range(11)]
    assert grids == [(32, 32)] * 2 + [(16, 16)] * 6 + [(32, 32)] * 3
    assert all(unet.cross_attention_heads(i) == 1 for i in range(11))


@needs_tiny_ldm
def test_tiny_reproduces_monai_output_and_all_attention_probs(tiny):
    unet, d = tiny
    assert unet.cross_attention_names == d["attn2_names"]
    with torch.no_grad():
        plain = unet(d["x"], d["timesteps"], d["context"])
        out, probs = unet(d["x"], d["timesteps"], d["context"], capture_attention=range(11))
    torch.testing.assert_close(plain, d["unet_out"], atol=1e-5, rtol=0)
    torch.testing.assert_close(out, plain, atol=0, rtol=0)  # capturing does not change the math
    assert sorted(probs) == list(range(11))
    for i, ref in enumerate(d["attn2_probs"]):  # MONAI stores [B*heads, HW, S]
        b = d["x"].shape[0]
        heads = unet.cross_attention_heads(i)
        assert probs[i].shape == (b, heads, ref.shape[1], ref.shape[2])
        torch.testing.assert_close(probs[i].reshape(ref.shape), ref, atol=1e-5, rtol=0)


@needs_tiny_ldm
def test_truncated_forward_stops_after_last_needed_layer(tiny):
    unet, d = tiny
    ran = []
    hooks = [unet.get_submodule(n).register_forward_hook(lambda m, i, o, n=n: ran.append(n))
             for n in ("up_blocks.0.attentions.2", "up_blocks.1.resnets.0", "out")]
    try:
        with torch.no_grad():
            out, probs = unet(d["x"], d["timesteps"], d["context"], capture_attention={3, 4, 6, 7},
                              stop_after=True)
            maps = unet.attention_maps(d["x"], d["timesteps"], d["context"], [4, 5, 6, 7])
    finally:
        for h in hooks:
            h.remove()
    assert out is None and sorted(probs) == [3, 4, 6, 7] and sorted(maps) == [4, 5, 6, 7]
    # layer 7 is up_blocks.0.attentions.2's attn2: that transformer never finishes, nothing after it runs
    assert ran == []
    for i in (3, 4, 6, 7):
        torch.testing.assert_close(probs[i].reshape(d["attn2_probs"][i].shape), d["attn2_probs"][i],
                                   atol=1e-5, rtol=0)


@needs_tiny_ldm
def test_gradients_flow_through_captured_probabilities(tiny):
    unet, d = tiny
    context = d["context"].clone().requires_grad_(True)
    _, probs = unet(d["x"], d["timesteps"], context, capture_attention=[4, 5], stop_after=True)
    loss = sum(p[..., 1:4].mean() for p in probs.values())
    loss.backward()
    assert context.grad is not None and context.grad.abs().sum() > 0
    assert context.grad[:, 10:].abs().sum() > 0  # softmax couples every token


@needs_tiny_ldm
def test_scalar_timestep_and_argument_checks(tiny):
    unet, d = tiny
    x, ctx = d["x"][:1], d["context"][:1]
    with torch.no_grad():
        a = unet(x, torch.tensor(409), ctx)
        b = unet(x, torch.tensor([409]), ctx)
    torch.testing.assert_close(a, b, atol=0, rtol=0)
    with pytest.raises(ValueError):
        unet(x, torch.tensor([409]), ctx, capture_attention=[11])
    with pytest.raises(ValueError):
        unet(x, torch.tensor([409]), None)


def test_timestep_embedding_is_cos_then_sin():
    e = timestep_embedding(torch.tensor([0, 5]), 8)
    assert e.shape == (2, 8)
    torch.testing.assert_close(e[0], torch.tensor([1.0] * 4 + [0.0] * 4))
    torch.testing.assert_close(e[1, 0], torch.cos(torch.tensor(5.0)))


@needs_tiny_ldm
def test_zero_init_like_monai_gives_zero_output():
    d = tiny_ldm()
    torch.manual_seed(0)
    unet = DiffusionModelUNet(**d["unet_config"]).zero_init_like_monai_().eval()
    with torch.no_grad():
        out = unet(d["x"], d["timesteps"], d["context"])
    assert torch.count_nonzero(out) == 0  # MONAI's fresh U-Net predicts 0 until trained
    assert unet.down_blocks[0].resnets[0].conv1.conv.weight.abs().sum() > 0
