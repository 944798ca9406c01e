"""Cost of one U-Net call: parameters, multiply-accumulates counted on the real forward, measured CPU time.

    cd training && python -m sightline_ldm.unet_cost [--config cxr|mid|tiny] [--latent 64] [--batch 1] [--repeats 3]

MACs are counted with forward hooks on every Conv2d / Linear plus the two attention matmuls (Q K^T and
P V) of every attention layer; FLOPs = 2 x MACs (norms, softmax and activations are left out: < 1%).
Weights are random (timing does not depend on their values). Prints one JSON object.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from typing import Dict, Optional, Sequence

import torch
from torch import nn

from .attention import CrossAttention
from .layers import count_parameters


def count_macs(unet: nn.Module, x: torch.Tensor, t: torch.Tensor, ctx: torch.Tensor, **kw) -> int:
    total = [0]

    def conv_hook(m: nn.Conv2d, inp, out):
        total[0] += out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    def linear_hook(m: nn.Linear, inp, out):
        total[0] += out.numel() * m.in_features

    def attn_hook(m: CrossAttention, inp, out):
        q_len = inp[0].shape[1]
        ctx_in = kw_ctx.get(id(m))
        b = inp[0].shape[0]
        k_len = ctx_in if ctx_in is not None else q_len
        total[0] += 2 * b * m.num_heads * q_len * k_len * m.head_dim

    kw_ctx: Dict[int, Optional[int]] = {}
    hooks = []
    for name, m in unet.named_modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(linear_hook))
        elif isinstance(m, CrossAttention):
            kw_ctx[id(m)] = ctx.shape[1] if name.endswith("attn2") else None
            hooks.append(m.register_forward_hook(attn_hook))
    try:
        with torch.no_grad():
            unet(x, t, ctx, **kw)
    finally:
        for h in hooks:
            h.remove()
    return total[0]


def time_calls(fn, repeats: int):
    """(wall ms per call, process CPU ms per call) over `repeats` calls after one warm-up call."""
    fn()
    wall, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - t0) * 1000.0)
        cpu.append((time.process_time() - c0) * 1000.0)
    return wall, cpu


def main(argv: Optional[Sequence[str]] = None) -> int:
    torch.set_num_threads(os.cpu_count() or 1)
    from .export import PRESETS
    from .unet import DiffusionModelUNet

    p = argparse.ArgumentParser(prog="python -m sightline_ldm.unet_cost", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default="cxr", choices=sorted(PRESETS))
    p.add_argument("--latent", type=int, default=64)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--layers", default="3,4,6,7", help="attention layers for the truncated-call timing")
    p.add_argument("--device", default="cpu")
    a = p.parse_args(argv)
    spec = PRESETS[a.config]
    torch.manual_seed(0)
    unet = DiffusionModelUNet(**spec["unet"]).eval().to(a.device)
    c = spec["unet"]["in_channels"]
    x = torch.randn(a.batch, c, a.latent, a.latent, device=a.device)
    t = torch.full((a.batch,), 409, dtype=torch.int64, device=a.device)
    ctx = torch.randn(a.batch, 77, spec["unet"]["cross_attention_dim"], device=a.device)
    layers = [int(s) for s in a.layers.split(",")]
    macs = count_macs(unet, x, t, ctx)
    macs_trunc = count_macs(unet, x, t, ctx, capture_attention=layers, stop_after=True)

    def sync():
        if a.device.startswith("cuda"):
            torch.cuda.synchronize()

    def full():
        with torch.no_grad():
            unet(x, t, ctx)
        sync()

    def trunc():
        with torch.no_grad():
            unet(x, t, ctx, capture_attention=layers, stop_after=True)
        sync()

    ms_full, cpu_full = time_calls(full, a.repeats)
    ms_trunc, cpu_trunc = time_calls(trunc, a.repeats)
    med = lambda v: round(sorted(v)[len(v) // 2], 1)  # noqa: E731
    print(json.dumps({
        "config": a.config, "device": a.device, "threads": torch.get_num_threads(), "torch": torch.__version__,
        "batch": a.batch, "latent": [a.latent, a.latent], "unet_parameters": count_parameters(unet),
        "gmacs_per_call": round(macs / 1e9, 2), "gflops_per_call": round(2 * macs / 1e9, 2),
        "gflops_truncated_call": round(2 * macs_trunc / 1e9, 2), "truncated_layers": layers,
        "ms_per_call": [round(v, 1) for v in ms_full], "ms_per_call_median": med(ms_full),
        "cpu_ms_per_call_median": med(cpu_full),
        "ms_truncated_call": [round(v, 1) for v in ms_trunc], "ms_truncated_call_median": med(ms_trunc),
        "load_average_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
