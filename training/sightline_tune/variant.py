"""The tuned-variant file: learnt token rows over one base bundle.

JSON (``variant.json``), UTF-8:

    format "sightline-tuned-variant", version 1
    base_bundle   {"name", "version", "hash"}: hash = bundle_hash(bundle dir) (below)
    name          the variant's name (e.g. "tuned-seed0")
    grounding     a manifest ``grounding`` entry ready to merge: layers, num_inference_steps, step_indices,
                  timesteps, otsu (false), blur settings, and token_overrides {"<token id>": [H floats]}
    tokens        [{"id", "token"}] of the tuned rows (the token strings, for people)
    settings      the training configuration (incl. lr_absolute and table_rms)
    log           the JSON-line events of the run (step, losses, validation)
    metrics       validation summaries before (step 0 = untuned rows) and after tuning

bundle_hash = sha256 of the compact JSON (keys sorted, separators "," and ":", i.e. JSON.stringify of the key-sorted
object) of {file name: sha256} of the manifest's ``files`` (the ONNX graphs, the
token table, the tokenizer), so it changes whenever any weight or the tokenizer changes, and not when a variant is
added to ``grounding``.
"""
from __future__ import annotations

import hashlib
import json
import os
from typing import Any, Dict, Mapping

from sightline_ldm.bundle import load_manifest

VARIANT_FORMAT = "sightline-tuned-variant"


class VariantError(ValueError):
    pass


def bundle_hash(bundle_dir: str) -> str:
    m = load_manifest(bundle_dir)
    files = {n: info["sha256"] for n, info in sorted((m.get("files") or {}).items())}
    if not files:
        raise VariantError(f"{bundle_dir}/manifest.json: no 'files' with sha256 to identify the bundle")
    # compact separators: the same string as JavaScript's JSON.stringify of the key-sorted object
    return hashlib.sha256(json.dumps(files, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def write_variant(path: str, doc: Mapping[str, Any]) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(dict(doc, format=VARIANT_FORMAT, version=1), f)
        f.write("\n")
    os.replace(tmp, path)


def load_variant(path: str, bundle_dir: str) -> Dict[str, Any]:
    """The variant document, after checking that it was tuned on ``bundle_dir``; VariantError otherwise."""
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except json.JSONDecodeError as e:
        raise VariantError(f"{path}: line {e.lineno} column {e.colno}: {e.msg}") from e
    if doc.get("format") != VARIANT_FORMAT:
        raise VariantError(f"{path}: not a {VARIANT_FORMAT} file (format={doc.get('format')!r})")
    want = bundle_hash(bundle_dir)
    got = (doc.get("base_bundle") or {}).get("hash")
    if got != want:
        raise VariantError(f"{path}: tuned on bundle {doc.get('base_bundle', {}).get('name')!r} hash {got}, but "
                           f"{bundle_dir} has hash {want}; tune again on this bundle")
    rows = (doc.get("grounding") or {}).get("token_overrides") or {}
    width = len(next(iter(rows.values()))) if rows else 0
    for k, v in rows.items():
        if not k.isdigit() or len(v) != width:
            raise VariantError(f"{path}: token_overrides[{k!r}] is not a token id with {width} floats")
    return doc


def token_overrides_tensors(doc: Mapping[str, Any]):
    """{token id: row tensor} for ``grounding.reference_heatmap(token_embedding_overrides=...)``."""
    import torch
    return {int(k): torch.tensor(v, dtype=torch.float32) for k, v in doc["grounding"]["token_overrides"].items()}
