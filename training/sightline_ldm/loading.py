"""Load a model for the reference grounding pipeline from whatever a researcher has at hand.

``spec`` may be a preset name of ``sightline_ldm.export`` (tiny, mid, cxr; ``random_init=True, seed=S`` for seeded
random weights), an export-style JSON config with weights (``models/README.md``), a directory holding such a config
(``config.json`` / ``model.json`` / any ``*.json`` with ``autoencoder`` and ``unet`` keys), a model bundle with
``reference/`` torch weights (the demo bundle), or a MONAI bundle (``models/autoencoder.pth`` + ``clip_dir``);
``loader="pkg.module:function"`` calls ``function(spec)``, which returns a ``GroundingModel`` or an export ``ModelSet``.

What cannot be loaded raises ``ModelLoadError`` (a ``ValueError``) naming the source and the problem; the command
lines (``sightline_ldm.grounding_cli``, ``sightline_eval.model_card``) print it and exit non-zero.
"""
from __future__ import annotations

import argparse
import glob
import importlib
import json
import os
from typing import Optional

from . import export as X
from .errors import ModelLoadError
from .grounding import GroundingModel
from .schedule import LATENT_SCALE_FACTOR

__all__ = ["ModelLoadError", "load_grounding_model"]


def _export_args(config: Optional[str], **kw) -> argparse.Namespace:
    base = dict(config=config, monai_bundle=None, autoencoder=None, diffusion_model=None, clip_dir=None,
                tokenizer_dir=None, random_init=False, seed=0, name=None, version=None, licence=None,
                description=None, image_size=None)
    base.update(kw)
    return argparse.Namespace(**base)


def _find_config(d: str) -> Optional[str]:
    names = ["config.json", "model.json", "sightline_config.json"]
    cands = [os.path.join(d, n) for n in names if os.path.isfile(os.path.join(d, n))]
    cands += sorted(p for p in glob.glob(os.path.join(d, "*.json")) if p not in cands)
    for p in cands:
        try:
            with open(p, encoding="utf-8") as f:
                spec = json.load(f)
        except (OSError, ValueError):
            continue
        if isinstance(spec, dict) and "autoencoder" in spec and "unet" in spec:
            return p
    return None


def load_grounding_model(spec: str, *, loader: Optional[str] = None, random_init: bool = False, seed: int = 0,
                         clip_dir: Optional[str] = None, tokenizer_dir: Optional[str] = None,
                         image_size: Optional[int] = None, device: str = "cpu"):
    """-> (GroundingModel, description dict). See the module doc for what ``spec`` may be."""
    kw = dict(random_init=random_init, seed=seed, clip_dir=clip_dir, tokenizer_dir=tokenizer_dir,
              image_size=image_size)
    if loader:
        mod, _, fn = loader.partition(":")
        obj = getattr(importlib.import_module(mod), fn or "load")(spec)
        desc = {"loader": loader, "source": spec}
    elif spec in X.PRESETS:
        obj = X.load_models(_export_args(spec, **kw))
        desc = {"preset": spec, "random_init": random_init, "seed": seed}
    elif os.path.isfile(spec) and spec.endswith(".json"):
        obj = X.load_models(_export_args(spec, **kw))
        desc = {"config": spec}
    elif os.path.isdir(spec):
        if os.path.isfile(os.path.join(spec, "models", "autoencoder.pth")):
            obj = X.load_models(_export_args(None, monai_bundle=spec, **kw))
            desc = {"monai_bundle": spec}
        else:
            cfg = _find_config(spec)
            if cfg is None and os.path.isdir(os.path.join(spec, "reference")):
                cfg = _find_config(os.path.join(spec, "reference"))  # a bundle shipping its torch weights
            if cfg is None:
                if os.path.isfile(os.path.join(spec, "manifest.json")):
                    raise ModelLoadError(f"{spec}: an ONNX bundle without reference/ torch weights; give its PyTorch "
                                         "config/checkpoint (or --loader)")
                raise ModelLoadError(f"{spec}: no JSON config with 'autoencoder' and 'unet' found (or use --loader)")
            obj = X.load_models(_export_args(cfg, **kw))
            desc = {"config": cfg}
    else:
        raise ModelLoadError(f"{spec}: not a preset, JSON config or directory (or use --loader)")
    if isinstance(obj, GroundingModel):
        model = obj
    else:  # an export ModelSet (or anything with the same fields)
        model = GroundingModel(obj.autoencoder.eval(), obj.unet.eval(), obj.text_encoder.eval(), obj.tokenizer,
                               image_size=int(obj.image_size),
                               latent_scale=float(getattr(obj, "latent_scale", LATENT_SCALE_FACTOR)))
        desc["name"] = getattr(obj, "name", None)
        if getattr(obj, "grounding", None):
            desc["grounding"] = obj.grounding
    for m in (model.autoencoder, model.unet, model.text_encoder):
        if m is not None:
            m.to(device)
    if image_size:
        model.image_size = int(image_size)
    return model, desc
