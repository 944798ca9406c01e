"""Shared loaders for the read-only MONAI fixtures (used by test_autoencoder*, test_unet*, test_export*)."""
import functools
import json
import os

import torch

FIXTURES = os.environ.get("SIGHTLINE_FIXTURES", "/work/shared/fixtures")
MONAI_KEYS = os.path.join(FIXTURES, "monai", "cxr_ldm_keys.json")
TINY_LDM = os.path.join(FIXTURES, "monai", "tiny_ldm.pt")


@functools.lru_cache(maxsize=None)
def monai_keys() -> dict:
    with open(MONAI_KEYS) as f:
        return json.load(f)


@functools.lru_cache(maxsize=None)
def tiny_ldm() -> dict:
    return torch.load(TINY_LDM, map_location="cpu")


def names_and_shapes(module: torch.nn.Module):
    return [(k, list(v.shape)) for k, v in module.state_dict().items()]
