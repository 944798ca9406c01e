"""Export an LDM (autoencoder + U-Net + CLIP text encoder + tokenizer) as a Sightline ONNX model bundle.

    cd training && python -m sightline_ldm.export --out DIR [sources] [options]

Sources (one of):
  --monai-bundle DIR               the MONAI model-zoo bundle dir (models/autoencoder.pth, models/diffusion_model.pth)
  --autoencoder P --diffusion-model P   the two MONAI checkpoints explicitly
  --config NAME_OR_JSON            a preset (tiny, mid, cxr) or our JSON: {"name", "version", "licence",
                                   "image_size", "autoencoder": {...}, "unet": {...}, "text_encoder": {...},
                                   "weights": {"autoencoder": P, "unet": P, "text_encoder": P} | P, "tokenizer": DIR}
  with the text side from --clip-dir DIR (HF config.json + model.safetensors | pytorch_model.bin; the tokenizer
  from --tokenizer-dir, the same dir, or its ../tokenizer sibling as in the SD-2.1 repo layout).
  --random-init --seed N           ignore weight files and draw seeded random weights (tests, cost estimates);
                                   without a tokenizer source a small BPE is trained on the prompt vocabulary.

See models/README.md for the bundle format. `--write-reference DIR` also writes torch outputs for fixed
inputs (raw float32 + index.json) that the Node-side test compares with onnxruntime.
The sources, presets and ``load_models`` live in ``model_sources.py``; this module exports a ``ModelSet``.
"""
from __future__ import annotations

import argparse
import copy
import inspect
import json
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import torch
from torch import nn

from . import bundle as B
from .autoencoder import AutoencoderKL
from .clip_text import CLIPTextModel
from .errors import ModelLoadError
from .layers import count_parameters
from .schedule import BETA_END, BETA_START, NUM_TRAIN_TIMESTEPS
from .unet import DiffusionModelUNet

OPSET = 17
MAX_TOKENS = 77

from .model_sources import PRESETS, ModelSet, load_models


# ----------------------------------------------------------------------------------------------- ONNX wrappers
class VaeEncoderGraph(nn.Module):
    def __init__(self, ae: AutoencoderKL, scale: float) -> None:
        super().__init__()
        self.ae, self.scale = ae, float(scale)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.ae.encode_mean(image) * self.scale


class TextEncoderGraph(nn.Module):
    def __init__(self, text: CLIPTextModel) -> None:
        super().__init__()
        self.text = text

    def forward(self, inputs_embeds: torch.Tensor) -> torch.Tensor:
        return self.text.forward_embeds(inputs_embeds)


class UNetGraph(nn.Module):
    """U-Net returning (v, attn_<i>...) or, truncated, only the attention probabilities."""

    def __init__(self, unet: DiffusionModelUNet, layers: Sequence[int], truncated: bool) -> None:
        super().__init__()
        self.unet, self.layers, self.truncated = unet, sorted(int(i) for i in layers), truncated

    def forward(self, latent: torch.Tensor, timestep: torch.Tensor, context: torch.Tensor):
        out, probs = self.unet(latent, timestep, context, capture_attention=self.layers,
                               stop_after=True if self.truncated else None)
        res = [] if self.truncated else [out]
        return tuple(res + [probs[i] for i in self.layers])


def _onnx_export(module: nn.Module, args: Tuple[torch.Tensor, ...], path: Path, input_names: List[str],
                 output_names: List[str], dynamic_axes: Dict[str, Dict[int, str]], opset: int) -> None:
    kwargs: Dict[str, Any] = dict(input_names=input_names, output_names=output_names, dynamic_axes=dynamic_axes,
                                  opset_version=opset, do_constant_folding=True)
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False  # the TorchScript exporter: traces our Python control flow as executed
    with torch.no_grad(), warnings.catch_warnings():
        # tracer notes on Python-side checks (shape asserts) and torch 1.13's prim::Constant shape-inference
        # notice; neither affects the graph
        warnings.simplefilter("ignore", category=torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", message="The shape inference of prim::Constant")
        warnings.filterwarnings("ignore", message="Constant folding - Only steps=1")
        torch.onnx.export(module, args, str(path), **kwargs)


def _io(name: str, shape: Sequence[Any], dtype: str = "float32") -> Dict[str, Any]:
    return {"name": name, "shape": list(shape), "dtype": dtype}


def attention_layer_table(unet: DiffusionModelUNet, latent_hw: Tuple[int, int]) -> List[Dict[str, Any]]:
    return [{"index": i, "module": unet.cross_attention_names[i], "grid": list(unet.cross_attention_grid(i, latent_hw)),
             "heads": unet.cross_attention_heads(i)} for i in range(unet.num_cross_attention_layers)]


def export_bundle(models: ModelSet, out_dir: os.PathLike, *, opset: int = OPSET,
                  attention_layers: Optional[Sequence[int]] = None, check: bool = True,
                  log: Callable[[str], None] = lambda s: print(s, file=sys.stderr)) -> Dict[str, Any]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ae, unet, text = models.autoencoder.eval(), models.unet.eval(), models.text_encoder.eval()
    size = models.image_size
    f = ae.downsample_factor
    if size % (f * 2 ** (len(unet.block_out_channels) - 1)):
        raise ValueError(f"image size {size} is not divisible by the total downsampling")
    lat = size // f
    c_lat = ae.latent_channels
    hidden = text.config.hidden_size
    grounding = B.grounding_defaults(models.grounding)
    if attention_layers is None:
        attention_layers = sorted({i for v in grounding.values() for i in v["layers"]})
    layers = sorted(int(i) for i in attention_layers)
    n_attn = unet.num_cross_attention_layers
    for v, g in grounding.items():
        bad = [i for i in g["layers"] if not 0 <= i < n_attn]
        if bad:
            raise ValueError(f"grounding variant {v}: layers {bad} outside 0..{n_attn - 1}")
    table = attention_layer_table(unet, (lat, lat))
    attn_outputs = [_io(f"attn_{i}", ["batch", table[i]["heads"], table[i]["grid"][0] * table[i]["grid"][1], MAX_TOKENS])
                    for i in layers]
    g = torch.Generator().manual_seed(1234)
    t0 = time.time()

    # 1. VAE encoder
    log(f"[export] vae_encoder.onnx ({count_parameters(ae.encoder) + 3 * c_lat * c_lat + 3 * c_lat} params)")
    img = torch.rand(2, ae.config["in_channels"], size, size, generator=g)
    _onnx_export(VaeEncoderGraph(ae, models.latent_scale), (img,), out / "vae_encoder.onnx", ["image"], ["latent"],
                 {"image": {0: "batch"}, "latent": {0: "batch"}}, opset)
    # 2. text encoder + token-embedding table
    log(f"[export] text_encoder.onnx ({count_parameters(text)} params)")
    emb = torch.randn(2, MAX_TOKENS, hidden, generator=g) * 0.02
    _onnx_export(TextEncoderGraph(text), (emb,), out / "text_encoder.onnx", ["inputs_embeds"], ["last_hidden_state"],
                 {"inputs_embeds": {0: "batch"}, "last_hidden_state": {0: "batch"}}, opset)
    table_shape = B.write_f32(out / "token_embedding.f32", text.token_embedding.weight.detach().cpu().float().numpy())
    # 3. U-Net (full and truncated)
    log(f"[export] unet.onnx ({count_parameters(unet)} params), attention layers {layers}")
    x = torch.randn(2, c_lat, lat, lat, generator=g)
    t = torch.tensor([999, 409], dtype=torch.int64)
    ctx = torch.randn(2, MAX_TOKENS, hidden, generator=g)
    dyn = {"latent": {0: "batch"}, "timestep": {0: "batch"}, "context": {0: "batch"}}
    attn_names = [o["name"] for o in attn_outputs]
    _onnx_export(UNetGraph(unet, layers, truncated=False), (x, t, ctx), out / "unet.onnx",
                 ["latent", "timestep", "context"], ["v_prediction"] + attn_names,
                 dict(dyn, v_prediction={0: "batch"}, **{n: {0: "batch"} for n in attn_names}), opset)
    log(f"[export] unet_attention.onnx (stops after layer {layers[-1]})")
    _onnx_export(UNetGraph(unet, layers, truncated=True), (x, t, ctx), out / "unet_attention.onnx",
                 ["latent", "timestep", "context"], attn_names, dict(dyn, **{n: {0: "batch"} for n in attn_names}), opset)
    # 4. tokenizer
    models.tokenizer.save_tokenizer_json(out / "tokenizer.json")
    log(f"[export] graphs written in {time.time() - t0:.1f}s")

    if check:
        import onnx
        for name in ("vae_encoder.onnx", "text_encoder.onnx", "unet.onnx", "unet_attention.onnx"):
            onnx.checker.check_model(str(out / name))  # path form: works past 2 GB / with external data

    # the bundle's own files; a model card and its figures beside them may change without invalidating the bundle
    files = sorted(p.name for p in out.iterdir()
                   if p.is_file() and p.name != B.MANIFEST and p.suffix.lower() not in (".md", ".png", ".jpg"))
    tok = models.tokenizer
    lat_io = ["batch", c_lat, lat, lat]
    manifest: Dict[str, Any] = {
        "format": B.BUNDLE_FORMAT,
        "format_version": B.BUNDLE_FORMAT_VERSION,
        "name": models.name,
        "version": models.version,
        "licence": models.licence,
        "description": models.description,
        "source": models.source,
        "exporter": {"torch": torch.__version__, "opset": opset},
        "image": {"size": size, "channels": ae.config["in_channels"], "value_range": [0.0, 1.0],
                  "preprocessing": "grey channel scaled to [0,1]; short side resized to size; centre crop size x size"},
        "latent": {"channels": c_lat, "size": lat, "downsample_factor": f, "scale_factor": models.latent_scale,
                   "vae_encoder_output": "z0 = scale_factor * z_mu (scale already applied; no sampling)"},
        "schedule": {"num_train_timesteps": NUM_TRAIN_TIMESTEPS, "beta_schedule": "scaled_linear",
                     "beta_start": BETA_START, "beta_end": BETA_END,
                     "betas": "linspace(sqrt(beta_start), sqrt(beta_end), num_train_timesteps) ** 2 (float32)",
                     "prediction_type": "v_prediction"},
        "architecture": {"autoencoder": ae.config, "unet": unet.config,
                         "text_encoder": dict(text.config.to_dict())},
        "parameters": {"autoencoder": count_parameters(ae), "unet": count_parameters(unet),
                       "text_encoder": count_parameters(text)},
        "text": {"max_length": MAX_TOKENS, "hidden_size": hidden, "vocab_size": int(text.config.vocab_size),
                 "bos_id": tok.bos_id, "eos_id": tok.eos_id, "pad_id": tok.pad_id, "tokenizer": "tokenizer.json",
                 "token_embedding": {"file": "token_embedding.f32", "dtype": "float32", "byte_order": "little",
                                     "shape": table_shape}},
        "cross_attention": {"num_layers": n_attn, "latent_size": [lat, lat], "layers": table,
                            "probs_layout": "[batch, heads, grid_h*grid_w (row-major), 77 tokens], softmax over tokens"},
        "grounding": grounding,
        "onnx": {
            "vae_encoder": {"file": "vae_encoder.onnx",
                            "inputs": [_io("image", ["batch", ae.config["in_channels"], size, size])],
                            "outputs": [_io("latent", lat_io)]},
            "text_encoder": {"file": "text_encoder.onnx",
                             "inputs": [_io("inputs_embeds", ["batch", MAX_TOKENS, hidden])],
                             "outputs": [_io("last_hidden_state", ["batch", MAX_TOKENS, hidden])]},
            "unet": {"file": "unet.onnx", "attention_layers": layers,
                     "inputs": [_io("latent", lat_io), _io("timestep", ["batch"], "int64"),
                                _io("context", ["batch", MAX_TOKENS, hidden])],
                     "outputs": [_io("v_prediction", lat_io)] + attn_outputs},
            "unet_attention": {"file": "unet_attention.onnx", "attention_layers": layers, "stops_after_layer": layers[-1],
                               "inputs": [_io("latent", lat_io), _io("timestep", ["batch"], "int64"),
                                          _io("context", ["batch", MAX_TOKENS, hidden])],
                               "outputs": attn_outputs},
        },
        "files": B.hash_files(out, files),
    }
    B.write_manifest(out, manifest)
    log(f"[export] bundle {out} done in {time.time() - t0:.1f}s")
    return manifest


# ----------------------------------------------------------------------------------------------- reference outputs
REFERENCE_PROMPTS = ["left lower atelectasis", ""]


def write_reference(models: ModelSet, manifest: Mapping[str, Any], out_dir: os.PathLike, seed: int = 7) -> Dict[str, Any]:
    """Torch outputs of every bundle graph for fixed inputs: raw little-endian float32 files + index.json.

    int64 inputs (timestep) are listed in index.json as numbers and also written as float32 files.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    g = torch.Generator().manual_seed(seed)
    ae, unet, text = models.autoencoder, models.unet, models.text_encoder
    size, lat = manifest["image"]["size"], manifest["latent"]["size"]
    layers = manifest["onnx"]["unet"]["attention_layers"]
    ids = torch.tensor([models.tokenizer.encode_padded(p, MAX_TOKENS) for p in REFERENCE_PROMPTS], dtype=torch.int64)
    with torch.no_grad():
        image = torch.rand(2, ae.config["in_channels"], size, size, generator=g)
        latent_ref = VaeEncoderGraph(ae, models.latent_scale)(image)
        embeds = text.token_embedding(ids)
        hidden = text.forward_embeds(embeds)
        latent_in = torch.randn(2, ae.latent_channels, lat, lat, generator=g)
        t = torch.tensor([999, 409], dtype=torch.int64)
        full = UNetGraph(unet, layers, truncated=False)(latent_in, t, hidden)
        trunc = UNetGraph(unet, layers, truncated=True)(latent_in, t, hidden)
    index: Dict[str, Any] = {"prompts": REFERENCE_PROMPTS, "token_ids": ids.tolist(), "timestep": t.tolist(),
                             "tensors": {}, "graphs": {}}

    def put(name: str, tensor: torch.Tensor) -> str:
        shape = B.write_f32(out / f"{name}.f32", tensor.detach().float().cpu().numpy())
        index["tensors"][name] = {"file": f"{name}.f32", "shape": shape}
        return name

    attn_names = [f"attn_{i}" for i in layers]
    index["graphs"]["vae_encoder"] = {"inputs": {"image": put("image", image)},
                                      "outputs": {"latent": put("vae_latent", latent_ref)}}
    index["graphs"]["text_encoder"] = {"inputs": {"inputs_embeds": put("inputs_embeds", embeds)},
                                       "outputs": {"last_hidden_state": put("last_hidden_state", hidden)}}
    put("timestep", t)
    unet_in = {"latent": put("unet_latent", latent_in), "timestep": "timestep", "context": "last_hidden_state"}
    index["graphs"]["unet"] = {"inputs": unet_in, "outputs": dict(
        {"v_prediction": put("v_prediction", full[0])},
        **{n: put(f"unet_{n}", p) for n, p in zip(attn_names, full[1:])})}
    index["graphs"]["unet_attention"] = {"inputs": unet_in, "outputs": {
        n: put(f"unet_attention_{n}", p) for n, p in zip(attn_names, trunc)}}
    with open(out / "index.json", "w", encoding="utf-8") as f:
        json.dump(index, f, indent=1)
    return index


# ----------------------------------------------------------------------------------------------- CLI
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m sightline_ldm.export", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", help="bundle directory to write (required unless --print-config)")
    p.add_argument("--print-config", metavar="PRESET", choices=sorted(PRESETS),
                   help="print a preset as a JSON config template and exit")
    p.add_argument("--config", help=f"preset ({', '.join(PRESETS)}) or a JSON config file")
    p.add_argument("--monai-bundle", help="MONAI bundle dir holding models/autoencoder.pth, models/diffusion_model.pth")
    p.add_argument("--autoencoder", help="MONAI autoencoder.pth")
    p.add_argument("--diffusion-model", help="MONAI diffusion_model.pth")
    p.add_argument("--clip-dir", help="HF CLIP text encoder dir (or the SD-2.1-base repo root)")
    p.add_argument("--tokenizer-dir", help="dir with tokenizer.json or vocab.json + merges.txt")
    p.add_argument("--random-init", action="store_true", help="seeded random weights instead of checkpoints")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--name")
    p.add_argument("--version")
    p.add_argument("--licence")
    p.add_argument("--description")
    p.add_argument("--image-size", type=int)
    p.add_argument("--opset", type=int, default=OPSET)
    p.add_argument("--attention-layers", help="comma list of cross-attention layers the U-Net graphs output "
                                              "(default: union of the grounding variants' layers)")
    p.add_argument("--no-check", action="store_true", help="skip onnx.checker")
    p.add_argument("--write-reference", help="also write torch reference outputs for fixed inputs to this dir")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    torch.set_num_threads(os.cpu_count() or 1)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.print_config:
        spec = dict(copy.deepcopy(PRESETS[args.print_config]))
        spec["weights"] = {"autoencoder": "autoencoder.pt", "unet": "unet.pt", "text_encoder": "text_encoder.safetensors"}
        spec["tokenizer"] = "tokenizer"
        print(json.dumps(spec, indent=1))
        return 0
    if not args.out:
        parser.error("--out is required")
    if (args.autoencoder is None) != (args.diffusion_model is None):
        parser.error("--autoencoder and --diffusion-model go together")
    try:
        models = load_models(args)
    except (ModelLoadError, FileNotFoundError) as e:
        print(f"{parser.prog}: {e}", file=sys.stderr)
        return 1
    layers = [int(s) for s in args.attention_layers.split(",")] if args.attention_layers else None
    manifest = export_bundle(models, args.out, opset=args.opset, attention_layers=layers, check=not args.no_check)
    if args.write_reference:
        write_reference(models, manifest, args.write_reference)
    print(json.dumps({"bundle": str(Path(args.out).resolve()), "files": manifest["files"],
                      "parameters": manifest["parameters"]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
