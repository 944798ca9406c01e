"""The demo's trained models -> the ONNX bundle (via ``sightline_ldm.export``) with the torch reference weights beside
it, as ``train.py`` writes models/demo."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

import torch

from .recipe import Recipe, Run


def export(run: Run, r: Recipe, ae, unet, text, out: Path, layers: Dict[str, List[int]], st: Dict[str, Any]) -> Dict:
    from sightline_ldm import export as E
    w = run.dir / "weights.pt"
    torch.save({"autoencoder": ae.cpu().state_dict(), "unet": unet.cpu().state_dict(),
                "text_encoder": text.cpu().state_dict()}, w)
    cfg = {"name": "sightline-demo-ldm", "version": "0.1.0",
           "licence": "Apache-2.0 (weights trained by Sightline on synthetic phantoms; not for clinical use)",
           "description": f"Demo LDM trained on {r.cases - r.val_cases} synthetic sightline_world phantoms "
                          f"({r.image_size}px); {st.get('step', 0)} U-Net steps, {st.get('images_seen', 0)} images "
                          "seen. Not a medical model.",
           "image_size": r.image_size, "autoencoder": r.ae_config(), "unet": r.unet_config(),
           "text_encoder": r.text_config(), "weights": "weights.pt", "tokenizer": "tokenizer",
           "grounding": {"frozen": {"layers": layers["frozen"]}, "tuned": {"layers": layers["tuned"]},
                         # the paper's layer sets (8x8 grid here), for comparison
                         "paper-frozen": {"layers": [3, 4, 6, 7], "otsu": True, "num_inference_steps": 100,
                                          "step_indices": list(range(40, 60))},
                         "paper-tuned": {"layers": [4, 5, 6, 7], "otsu": False, "num_inference_steps": 100,
                                         "step_indices": list(range(40, 60))}}}
    cfg_path = run.dir / "demo_config.json"
    cfg_path.write_text(json.dumps(cfg, indent=1))
    rc = E.main(["--config", str(cfg_path), "--out", str(out)])
    if rc:
        raise RuntimeError(f"{cfg_path}: export to {out} failed (exit status {rc}; its message is above)")
    write_reference_weights(cfg, {"autoencoder": ae, "unet": unet, "text_encoder": text}, out / "reference")
    return json.loads((out / "manifest.json").read_text())


def write_reference_weights(cfg: Dict[str, Any], models: Dict[str, torch.nn.Module], ref: Path) -> None:
    """The torch weights beside the ONNX bundle, as safetensors (no pickle), so that the Python reference pipeline
    (`sightline_ldm.grounding`, `sightline_eval.model_card --bundle-or-checkpoint models/demo/reference`) runs on
    exactly the shipped model without the run directory."""
    from sightline_ldm.safetensors_io import save_file
    ref.mkdir(parents=True, exist_ok=True)
    files = {}
    for part, m in models.items():
        files[part] = f"{part}.safetensors"
        save_file({k: v.detach().cpu().contiguous() for k, v in m.state_dict().items()}, ref / files[part],
                  metadata={"model": cfg["name"], "version": cfg["version"], "part": part})
    from sightline_ldm.bundle import sha256_file
    ref_cfg = dict(cfg, weights=files, tokenizer="..",  # the bundle's own tokenizer.json, one directory up
                   sha256={f: sha256_file(ref / f) for f in files.values()})
    (ref / "config.json").write_text(json.dumps(ref_cfg, indent=1))
