import json
import math

import numpy as np
import pytest
import torch

from sightline_ldm.clip_text import CLIPTextConfig, CLIPTextModel, count_parameters
from sightline_ldm.safetensors_io import save_file

from _ldm_fixtures import CLIP_KEYS, needs_clip_keys

def small_config(act="gelu"):
    return CLIPTextConfig(vocab_size=50, hidden_size=16, intermediate_size=24, num_hidden_layers=2,
                          num_attention_heads=4, max_position_embeddings=9, hidden_act=act, layer_norm_eps=1e-5,
                          bos_token_id=48, eos_token_id=49)


def random_model(cfg, seed=0):
    torch.manual_seed(seed)
    m = CLIPTextModel(cfg)
    with torch.no_grad():
        for p in m.parameters():
            p.normal_(0, 0.5)
    return m.eval()


def numpy_reference(sd, cfg, ids):
    """Independent HF-CLIP forward in float64 numpy, one head at a time."""
    P = "text_model."
    g = {k: v.double().numpy() for k, v in sd.items()}
    x = g[P + "embeddings.token_embedding.weight"][ids] + g[P + "embeddings.position_embedding.weight"][:len(ids)]

    def ln(x, w, b):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + cfg.layer_norm_eps) * w + b

    def act(x):
        if cfg.hidden_act == "gelu":
            from scipy.special import erf
            return 0.5 * x * (1 + erf(x / math.sqrt(2)))
        return x / (1 + np.exp(-1.702 * x))

    s, hd = len(ids), cfg.hidden_size // cfg.num_attention_heads
    for i in range(cfg.num_hidden_layers):
        L = f"{P}encoder.layers.{i}."
        h = ln(x, g[L + "layer_norm1.weight"], g[L + "layer_norm1.bias"])
        q = h @ g[L + "self_attn.q_proj.weight"].T + g[L + "self_attn.q_proj.bias"]
        k = h @ g[L + "self_attn.k_proj.weight"].T + g[L + "self_attn.k_proj.bias"]
        v = h @ g[L + "self_attn.v_proj.weight"].T + g[L + "self_attn.v_proj.bias"]
        out = np.zeros_like(h)
        for head in range(cfg.num_attention_heads):
            sl = slice(head * hd, (head + 1) * hd)
            for a in range(s):
                sc = np.array([q[a, sl] @ k[b, sl] / math.sqrt(hd) for b in range(a + 1)])
                w = np.exp(sc - sc.max())
                w /= w.sum()
                out[a, sl] = (w[:, None] * v[:a + 1, sl]).sum(0)
        x = x + out @ g[L + "self_attn.out_proj.weight"].T + g[L + "self_attn.out_proj.bias"]
        h = ln(x, g[L + "layer_norm2.weight"], g[L + "layer_norm2.bias"])
        h = act(h @ g[L + "mlp.fc1.weight"].T + g[L + "mlp.fc1.bias"]) @ g[L + "mlp.fc2.weight"].T + g[L + "mlp.fc2.bias"]
        x = x + h
    return ln(x, g[P + "final_layer_norm.weight"], g[P + "final_layer_norm.bias"])


@needs_clip_keys
def test_sd21_keys_shapes_and_param_count():
    spec = json.loads(CLIP_KEYS.read_text())
    cfg = CLIPTextConfig.from_dict(spec["config"])
    assert cfg == CLIPTextConfig.sd21_base()
    m = CLIPTextModel(cfg, device="meta")  # no allocation, no init: fast
    shapes = {k: list(v.shape) for k, v in m.state_dict().items()}
    assert shapes == spec["state_dict"]
    assert list(shapes) == list(spec["state_dict"])  # same order as HF, too
    assert count_parameters(m) == spec["params"] == 340_387_840


@pytest.mark.parametrize("act", ["gelu", "quick_gelu"])
def test_matches_numpy_reference(act):
    cfg = small_config(act)
    m = random_model(cfg)
    ids = [48, 3, 17, 5, 49, 0, 0, 0, 0]
    out = m(torch.tensor([ids]))
    assert out.shape == (1, 9, 16)
    ref = numpy_reference(m.state_dict(), cfg, ids)
    np.testing.assert_allclose(out[0].detach().double().numpy(), ref, atol=1e-5, rtol=1e-4)


def test_causal_and_forward_embeds_and_overrides():
    cfg = small_config()
    m = random_model(cfg, seed=1)
    ids = torch.tensor([[48, 3, 17, 5, 49, 0, 0]])
    with torch.no_grad():
        a = m(ids)
        ids2 = ids.clone()
        ids2[0, 4] = 7
        b = m(ids2)
        assert torch.allclose(a[0, :4], b[0, :4], atol=1e-6) and not torch.allclose(a[0, 4:], b[0, 4:])
        assert torch.allclose(m.forward_embeds(m.token_embedding(ids)), a, atol=1e-6)
        # override the embedding row of token 17 -> same as editing the table
        vec = torch.randn(16)
        c = m(ids, token_embedding_overrides={17: vec})
        m2 = random_model(cfg, seed=1)
        m2.token_embedding.weight[17] = vec
        assert torch.allclose(c, m2(ids), atol=1e-6)
    # gradients flow into the override vector only through its rows
    vec = torch.zeros(16, requires_grad=True)
    m.requires_grad_(False)
    m(ids, token_embedding_overrides={17: vec}).sum().backward()
    assert vec.grad is not None and vec.grad.abs().sum() > 0


@pytest.mark.parametrize("fmt", ["safetensors", "bin"])
def test_from_pretrained_dir(tmp_path, fmt):
    cfg = small_config("quick_gelu")
    m = random_model(cfg, seed=2)
    sd = dict(m.state_dict())
    sd["text_model.embeddings.position_ids"] = torch.arange(9).unsqueeze(0)  # HF buffer, ignored
    hf_cfg = {"architectures": ["CLIPTextModel"], "hidden_size": 16, "intermediate_size": 24, "num_hidden_layers": 2,
              "num_attention_heads": 4, "max_position_embeddings": 9, "hidden_act": "quick_gelu",
              "layer_norm_eps": 1e-5, "vocab_size": 50, "bos_token_id": 48, "eos_token_id": 49,
              "projection_dim": 8, "torch_dtype": "float32"}
    (tmp_path / "config.json").write_text(json.dumps(hf_cfg))
    if fmt == "safetensors":
        save_file(sd, tmp_path / "model.safetensors")
    else:
        torch.save(sd, tmp_path / "pytorch_model.bin")
    back = CLIPTextModel.from_pretrained_dir(tmp_path)
    assert back.config == cfg
    ids = torch.tensor([[48, 1, 2, 49]])
    with torch.no_grad():
        assert torch.equal(back(ids), m(ids))


def test_strict_loading_errors():
    cfg = small_config()
    m = random_model(cfg)
    sd = dict(m.state_dict())
    del sd["text_model.final_layer_norm.bias"]
    with pytest.raises(ValueError, match="missing"):
        CLIPTextModel(cfg, device="meta").load_hf_state_dict(sd)
    sd = dict(m.state_dict())
    sd["text_model.embeddings.token_embedding.weight"] = torch.zeros(51, 16)
    with pytest.raises(ValueError, match="wrong shape"):
        CLIPTextModel(cfg, device="meta").load_hf_state_dict(sd)
    # keys without the 'text_model.' prefix are accepted
    sd = {k[len("text_model."):]: v for k, v in m.state_dict().items()}
    m2 = CLIPTextModel(cfg, device="meta")
    m2.load_hf_state_dict(sd)
    assert torch.equal(m2.token_embedding.weight, m.token_embedding.weight)
