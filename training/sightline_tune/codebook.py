"""The codebook of method.md 4.3: every sub-token of the prompt vocabulary, initialised from the frozen model's
token-embedding table; only the location rows are parameters.

Shared sub-tokens: a word may be both a location term and part of a pathology ("pleural" in "pleural effusion",
"cardiomegaly" as location and pathology). ``shared="location"`` (default, [our choice]) tunes such rows, otherwise a
"cardiomegaly" prompt would have nothing to learn; ``shared="frozen"`` keeps them frozen.
"""
from __future__ import annotations

from typing import Dict, List, Mapping, Sequence

import torch
from torch import nn

PATHOLOGIES = ("atelectasis", "cardiomegaly", "consolidation", "edema", "lung opacity", "pleural effusion",
               "pneumonia", "pneumothorax")
LOCATION_WORDS = ("left", "right", "bilateral", "apical", "upper", "middle", "lower", "costophrenic", "pleural",
                  "base", "bibasilar", "lingular", "cardiomegaly", "pulmonary")
JOINERS = ("and",)


def sub_tokens(tokenizer, text: str) -> List[int]:
    """Token ids of ``text`` without the start/end tokens."""
    ids = tokenizer.encode(text)
    return [i for i in ids if i not in (tokenizer.bos_id, tokenizer.eos_id)] if hasattr(tokenizer, "bos_id") \
        else ids[1:-1]


class Codebook(nn.Module):
    """rows: [K, H] parameter of the location rows; ``ids`` their token ids; ``frozen_ids`` the other vocabulary
    sub-tokens (kept at the table's values, listed for the record)."""

    def __init__(self, table: torch.Tensor, tokenizer, shared: str = "location",
                 location_words: Sequence[str] = LOCATION_WORDS) -> None:
        super().__init__()
        if shared not in ("location", "frozen"):
            raise ValueError(f"shared must be 'location' or 'frozen', got {shared!r}")
        loc = {i for w in location_words for i in sub_tokens(tokenizer, w)}
        other = {i for w in PATHOLOGIES + JOINERS for i in sub_tokens(tokenizer, w)}
        other |= {int(tokenizer.bos_id), int(tokenizer.eos_id)}
        if getattr(tokenizer, "pad_id", None) is not None:
            other.add(int(tokenizer.pad_id))
        if shared == "frozen":
            loc -= other
        self.ids: List[int] = sorted(loc)
        self.frozen_ids: List[int] = sorted(other - loc)
        if not self.ids:
            raise ValueError("the tokenizer yields no location sub-tokens to tune")
        self.rows = nn.Parameter(table.detach()[self.ids].clone().float())
        self.register_buffer("initial", self.rows.detach().clone())

    def overrides(self) -> Dict[int, torch.Tensor]:
        """token id -> row (differentiable), for ``CLIPTextModel.embed_tokens``."""
        return {i: self.rows[k] for k, i in enumerate(self.ids)}

    def as_json_rows(self) -> Dict[str, List[float]]:
        """The manifest's ``token_overrides`` form: {"<token id>": [floats]}."""
        r = self.rows.detach().cpu().double().numpy()
        return {str(i): [float(x) for x in r[k]] for k, i in enumerate(self.ids)}

    def load_rows(self, rows: Mapping[str, Sequence[float]]) -> None:
        with torch.no_grad():
            for k, i in enumerate(self.ids):
                self.rows[k].copy_(torch.tensor(rows[str(i)], dtype=self.rows.dtype))
