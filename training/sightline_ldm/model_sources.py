"""Where an exported model comes from (the first half of ``export.py``): the architecture presets (``cxr``, ``tiny``,
...), the prompt corpus a random-init tokenizer is trained on, and ``load_models``, which builds the autoencoder,
U-Net, text encoder and tokenizer from a MONAI bundle, checkpoints or a preset with random weights. ``export.py``
turns a ``ModelSet`` into an ONNX bundle."""
from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional

import torch
from torch import nn

from . import bundle as B
from .autoencoder import CXR_AUTOENCODER_CONFIG, AutoencoderKL
from .clip_text import CLIPTextConfig, CLIPTextModel
from .errors import ModelLoadError
from .layers import skip_weight_init
from .schedule import LATENT_SCALE_FACTOR
from .tokenizer import CLIPTokenizer, train_bpe
from .unet import CXR_UNET_CONFIG, DiffusionModelUNet

# ----------------------------------------------------------------------------------------------- presets
_TINY_AE = {"spatial_dims": 2, "in_channels": 1, "out_channels": 1, "latent_channels": 3,
            "num_channels": [32, 32, 32, 32], "num_res_blocks": 2, "norm_num_groups": 32, "norm_eps": 1e-6,
            "attention_levels": [False] * 4, "with_encoder_nonlocal_attn": False,
            "with_decoder_nonlocal_attn": False}
_TINY_UNET = {"spatial_dims": 2, "in_channels": 3, "out_channels": 3, "num_channels": [32, 64, 64],
              "num_res_blocks": 2, "attention_levels": [False, True, True], "norm_num_groups": 32, "norm_eps": 1e-6,
              "resblock_updown": False, "num_head_channels": [0, 64, 64], "with_conditioning": True,
              "transformer_num_layers": 1, "cross_attention_dim": 48}

PRESETS: Dict[str, Dict[str, Any]] = {
    # same structure as the MONAI fixture's tiny model; 64x64 images, 8x8 latents
    "tiny": {"name": "sightline-tiny", "version": "0.0.0", "licence": "Apache-2.0", "image_size": 64,
             "autoencoder": _TINY_AE, "unet": _TINY_UNET,
             "text_encoder": {"vocab_size": 1024, "hidden_size": 48, "intermediate_size": 96, "num_hidden_layers": 2,
                              "num_attention_heads": 4, "max_position_embeddings": 77, "hidden_act": "gelu",
                              "layer_norm_eps": 1e-5}},
    # a mid-size model (~20M U-Net parameters), 128x128 images, 16x16 latents
    "mid": {"name": "sightline-mid", "version": "0.0.0", "licence": "Apache-2.0", "image_size": 128,
            "autoencoder": dict(_TINY_AE, num_channels=[32, 64, 64, 64]),
            "unet": dict(_TINY_UNET, num_channels=[64, 128, 192], num_head_channels=[0, 128, 192],
                         cross_attention_dim=256),
            "text_encoder": {"vocab_size": 2048, "hidden_size": 256, "intermediate_size": 1024, "num_hidden_layers": 4,
                             "num_attention_heads": 4, "max_position_embeddings": 77, "hidden_act": "gelu",
                             "layer_norm_eps": 1e-5}},
    # the public MONAI chest X-ray LDM with the SD-2.1-base text encoder
    "cxr": {"name": "monai-cxr-ldm", "version": "1.0.0",
            "licence": "MONAI cxr_image_synthesis_latent_diffusion_model weights: Apache-2.0, research use only, "
                       "not for clinical use; text encoder (stabilityai/stable-diffusion-2-1-base): "
                       "CreativeML Open RAIL++-M",
            "image_size": 512, "autoencoder": CXR_AUTOENCODER_CONFIG, "unet": CXR_UNET_CONFIG,
            "text_encoder": dataclasses.asdict(CLIPTextConfig.sd21_base())},
}

# Words the random-init tokenizer is trained on (method.md section 4.1).
_PATHOLOGIES = ["atelectasis", "cardiomegaly", "consolidation", "edema", "lung opacity", "pleural effusion",
                "pneumonia", "pneumothorax"]
_LOCATIONS = ["left", "right", "bilateral", "apical", "upper", "middle", "lower", "costophrenic", "pleural", "base",
              "bibasilar", "lingular", "pulmonary", "and", "no acute cardiopulmonary process"]


def _prompt_corpus() -> List[str]:
    out = []
    for loc in _LOCATIONS:
        for p in _PATHOLOGIES:
            out += [f"{loc} {p}"] * 2
    return out


# ----------------------------------------------------------------------------------------------- model set
@dataclasses.dataclass
class ModelSet:
    autoencoder: AutoencoderKL
    unet: DiffusionModelUNet
    text_encoder: CLIPTextModel
    tokenizer: CLIPTokenizer
    image_size: int
    name: str
    version: str
    licence: str
    description: str = ""
    latent_scale: float = LATENT_SCALE_FACTOR
    source: Dict[str, Any] = dataclasses.field(default_factory=dict)
    grounding: Optional[Dict[str, Dict[str, Any]]] = None


def load_state_dict_file(path: os.PathLike) -> Dict[str, torch.Tensor]:
    """A state dict from .safetensors or a torch file; unwraps {'state_dict'|'model': ...} and 'module.' prefixes."""
    p = Path(path)
    if p.suffix == ".safetensors":
        from .safetensors_io import load_file
        sd: Any = load_file(p)
    else:
        sd = torch.load(p, map_location="cpu")
    for key in ("state_dict", "model", "model_state_dict"):
        if isinstance(sd, Mapping) and key in sd and isinstance(sd[key], Mapping):
            sd = sd[key]
    if not isinstance(sd, Mapping):
        raise ValueError(f"{p}: no state dict inside ({type(sd).__name__})")
    out = {}
    for k, v in sd.items():
        if not torch.is_tensor(v):
            continue
        out[k[len("module."):] if k.startswith("module.") else k] = v
    return out


def _build(cls: Callable[..., nn.Module], config: Mapping[str, Any], state: Optional[Mapping[str, torch.Tensor]],
           seed: Optional[int]) -> nn.Module:
    if state is not None:
        with skip_weight_init():
            m = cls(**dict(config))
        m.load_state_dict(dict(state), strict=True)
    else:
        torch.manual_seed(0 if seed is None else seed)
        m = cls(**dict(config))
    return m.eval()


def _build_text(config: Mapping[str, Any], state: Optional[Mapping[str, torch.Tensor]],
                seed: Optional[int]) -> CLIPTextModel:
    cfg = CLIPTextConfig.from_dict(config)
    if state is not None:
        m = CLIPTextModel(cfg, device="meta")
        m.load_hf_state_dict(state)
    else:
        torch.manual_seed(0 if seed is None else seed)
        m = CLIPTextModel(cfg)
        with torch.no_grad():  # HF initialises embeddings with std 0.02 (nn.Embedding's default is 1)
            m.text_model.embeddings.token_embedding.weight.normal_(0, 0.02)
            m.text_model.embeddings.position_embedding.weight.normal_(0, 0.01)
    return m.eval()


def _find_tokenizer_dir(clip_dir: Optional[Path], explicit: Optional[Path]) -> Optional[Path]:
    cands = [explicit] if explicit else []
    if clip_dir is not None:
        cands += [clip_dir, clip_dir / "tokenizer", clip_dir.parent / "tokenizer"]
    for c in cands:
        if c is not None and ((c / "tokenizer.json").exists() or (c / "vocab.json").exists()):
            return c
    if explicit:
        raise FileNotFoundError(f"{explicit}: no tokenizer.json or vocab.json + merges.txt")
    return None


def _resolve_clip_dir(d: Path) -> Path:
    """Accept the SD repo root (text_encoder/ subfolder) as well as the text-encoder dir itself."""
    if not (d / "config.json").exists() and (d / "text_encoder" / "config.json").exists():
        return d / "text_encoder"
    return d


def load_models(args: argparse.Namespace) -> ModelSet:
    preset_name = args.config or ("cxr" if (args.monai_bundle or args.autoencoder) else None)
    if preset_name is None:
        raise ModelLoadError("give --config, --monai-bundle or --autoencoder/--diffusion-model")
    base_dir = Path(".")
    if preset_name in PRESETS:
        spec = copy.deepcopy(PRESETS[preset_name])
    else:
        cfg_path = Path(preset_name)
        with open(cfg_path, encoding="utf-8") as f:
            spec = json.load(f)
        base_dir = cfg_path.parent
    seed = args.seed
    source: Dict[str, Any] = {"config": preset_name if preset_name in PRESETS else Path(preset_name).name}

    ae_sd = unet_sd = text_sd = None
    weights = spec.get("weights")
    if not args.random_init:
        if args.monai_bundle or args.autoencoder:
            mdir = Path(args.monai_bundle) / "models" if args.monai_bundle else None
            ae_path = Path(args.autoencoder) if args.autoencoder else mdir / "autoencoder.pth"
            un_path = Path(args.diffusion_model) if args.diffusion_model else mdir / "diffusion_model.pth"
            ae_sd, unet_sd = load_state_dict_file(ae_path), load_state_dict_file(un_path)
            source.update(autoencoder=ae_path.name, diffusion_model=un_path.name,
                          autoencoder_sha256=B.sha256_file(ae_path), diffusion_model_sha256=B.sha256_file(un_path))
        elif isinstance(weights, str):
            allw = torch.load(base_dir / weights, map_location="cpu")
            ae_sd, unet_sd = allw["autoencoder"], allw["unet"]
            text_sd = allw.get("text_encoder")
            source["weights"] = weights
        elif isinstance(weights, Mapping):
            ae_sd = load_state_dict_file(base_dir / weights["autoencoder"])
            unet_sd = load_state_dict_file(base_dir / weights["unet"])
            if weights.get("text_encoder"):
                text_sd = load_state_dict_file(base_dir / weights["text_encoder"])
            source["weights"] = dict(weights)
        else:
            raise ModelLoadError(f"{preset_name}: no weights given; use --random-init or a source with weights")
    else:
        source["random_init_seed"] = seed

    ae = _build(AutoencoderKL, spec["autoencoder"], ae_sd, seed)
    unet = _build(DiffusionModelUNet, spec["unet"], unet_sd, None if seed is None else seed + 1)

    clip_dir = _resolve_clip_dir(Path(args.clip_dir)) if args.clip_dir else None
    if clip_dir is not None and not args.random_init:
        text = CLIPTextModel.from_pretrained_dir(clip_dir)
        source["text_encoder"] = str(clip_dir.name)
    elif text_sd is not None or args.random_init:
        text = _build_text(spec["text_encoder"], text_sd, None if seed is None else seed + 2)
    else:
        raise ModelLoadError(f"{preset_name}: no text encoder: give --clip-dir (or --random-init)")

    tok_dir = _find_tokenizer_dir(clip_dir, Path(args.tokenizer_dir) if args.tokenizer_dir else None)
    if tok_dir is None and isinstance(spec.get("tokenizer"), str):
        tok_dir = base_dir / spec["tokenizer"]
        if args.random_init and not tok_dir.exists():
            print(f"[export] {tok_dir} missing: random-init bundle gets a tokenizer trained on the prompt vocabulary",
                  file=sys.stderr)
            tok_dir = None
    if tok_dir is not None:
        tokenizer = CLIPTokenizer.from_pretrained_dir(tok_dir)
        source["tokenizer"] = tok_dir.name
    elif args.random_init:
        tokenizer = train_bpe(_prompt_corpus(), vocab_size=min(int(text.config.vocab_size), 4096))
        source["tokenizer"] = "trained on the built-in prompt vocabulary (random-init bundle)"
    else:
        raise ModelLoadError(f"{preset_name}: no tokenizer: give --tokenizer-dir (a dir with tokenizer.json or "
                             "vocab.json + merges.txt)")
    if len(tokenizer) > text.config.vocab_size:
        raise ModelLoadError(f"{preset_name}: tokenizer has {len(tokenizer)} tokens but the text encoder only "
                             f"{text.config.vocab_size}")

    if unet.config["cross_attention_dim"] != text.config.hidden_size:
        raise ModelLoadError(f"{preset_name}: U-Net cross_attention_dim {unet.config['cross_attention_dim']} != "
                             f"text hidden size {text.config.hidden_size}")
    return ModelSet(
        autoencoder=ae, unet=unet, text_encoder=text, tokenizer=tokenizer,
        image_size=int(args.image_size or spec.get("image_size", 512)),
        name=args.name or (spec.get("name", "sightline-model") + ("-random-init" if args.random_init else "")),
        version=args.version or spec.get("version", "0.0.0"),
        licence=args.licence or ("Apache-2.0 (random weights)" if args.random_init else spec.get("licence", "unspecified")),
        description=args.description or spec.get("description", ""), source=source,
        grounding=spec.get("grounding"))
