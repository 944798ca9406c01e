"""Paths of the repository's reference fixtures (test/fixtures, see its README.md) and shared loaders.

``SIGHTLINE_FIXTURES`` overrides the fixtures directory. Used by test_autoencoder, test_unet, test_export,
test_grounding, test_schedule and test_clip_text.
"""
import functools
import json
import os
from pathlib import Path

import torch

from _require import needs

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(os.environ.get("SIGHTLINE_FIXTURES") or REPO / "test" / "fixtures")
MONAI_KEYS = FIXTURES / "monai" / "cxr_ldm_keys.json"
TINY_LDM = FIXTURES / "monai" / "tiny_ldm.pt"
GOLDEN = FIXTURES / "reference" / "golden_heatmaps.pt"
CLIP_KEYS = FIXTURES / "clip" / "clip_sd21_text_keys.json"

needs_monai_keys = needs(MONAI_KEYS, what="MONAI state-dict key fixture (test/fixtures/README.md)")
needs_tiny_ldm = needs(TINY_LDM, what="tiny MONAI LDM fixture (test/fixtures/README.md)")
needs_golden = needs(GOLDEN, what="golden heatmap fixture (test/fixtures/README.md)")
needs_clip_keys = needs(CLIP_KEYS, what="CLIP text-encoder key fixture (test/fixtures/README.md)")


@functools.lru_cache(maxsize=None)
def monai_keys() -> dict:
    with open(MONAI_KEYS) as f:
        return json.load(f)


@functools.lru_cache(maxsize=None)
def tiny_ldm() -> dict:
    return torch.load(TINY_LDM, map_location="cpu")


def names_and_shapes(module: torch.nn.Module):
    return [(k, list(v.shape)) for k, v in module.state_dict().items()]
