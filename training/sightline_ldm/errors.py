"""Exceptions of the model core. Library code raises these; only the command lines turn them into exit codes."""
from __future__ import annotations


class ModelLoadError(ValueError):
    """A model cannot be loaded from what was given (missing weights, tokenizer, config; mismatched parts).

    The message names the source (preset, file or directory) and the problem, ready to show to a user.
    """
