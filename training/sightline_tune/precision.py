"""Mixed precision for prompt tuning (TuneConfig.amp; README "Mixed precision and gradient checkpointing"): the
autocast context of the tuning forward, fp16's loss scaler, and float32 inputs for the norms under CPU autocast."""
from __future__ import annotations

import contextlib

import torch


def autocast_context(amp: str, device_type: str):
    """torch.autocast for amp 'bf16' / 'fp16' on the run's device type; nothing for 'off'."""
    if amp == "off":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if amp == "bf16" else torch.float16
    return torch.autocast(device_type=device_type, dtype=dtype)


def grad_scaler():
    """fp16's loss scaler: torch.amp.GradScaler("cuda") where it exists (torch.cuda.amp's is deprecated there)."""
    amp = getattr(torch, "amp", None)
    if amp is not None and hasattr(amp, "GradScaler"):
        return amp.GradScaler("cuda")
    return torch.cuda.amp.GradScaler()


def norms_in_float32(*modules: torch.nn.Module) -> None:
    """Group and layer norms take their input as float32. CUDA's autocast runs them in float32 anyway; torch 1.13's
    CPU autocast passes them bfloat16 input with float32 weights, which group_norm refuses. A no-op on float32
    input, so validation (no autocast) is unchanged."""
    def to_float(_m, inp):
        return (inp[0].float(),) + tuple(inp[1:])
    for root in modules:
        for m in root.modules():
            if isinstance(m, (torch.nn.GroupNorm, torch.nn.LayerNorm)):
                m.register_forward_pre_hook(to_float)
