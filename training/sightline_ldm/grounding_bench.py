"""The Python side of the grounding benchmark (bench/grounding.bench.ts): seconds per heatmap when every heatmap is
computed as the predecessor code does it, with its own full DDIM inversion per phrase and the U-Net run at batch 2
(the empty prompt and the phrase together), attention captured at the kept steps.

    cd training && /usr/bin/python3 -m sightline_ldm.grounding_bench --model ../models/demo --image FILE [--image ...] \\
        --phrase 'right pleural effusion' [--phrase ...] [--threads N]

Prints one JSON object: reference_s_per_heatmap (the median over the images of each image's seconds per heatmap),
per_image_s_per_heatmap, heatmaps, torch version and threads.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import torch

from . import image_ops
from .grounding import aggregate, read_image_file, text_embedding
from .loading import load_grounding_model
from .schedule import DDIMSchedule


def predecessor_heatmap(model, image, phrase: str, layers, kept, num_steps: int):
    """One heatmap the predecessor's way: inversion at batch 2 [empty, phrase], attention of the phrase sample."""
    img, _ = image_ops.preprocess(image, model.image_size)
    with torch.no_grad():
        z = model.latent_scale * model.autoencoder.encode_mean(img.to(model.device))
        context = torch.cat([text_embedding(model, ""), text_embedding(model, phrase)])
        schedule = DDIMSchedule(num_steps)
        attention = {layer: {} for layer in layers}
        for i in range(max(kept) + 1):
            t = schedule.timesteps[i]
            capture = sorted(layers) if i in kept else None
            out = model.unet(torch.cat([z, z]), torch.tensor([t, t], device=z.device), context, capture_attention=capture)
            v, probs = out if capture else (out, None)
            if probs:
                for layer in layers:
                    attention[layer][i] = probs[layer][1].float().cpu()
            z = schedule.inversion_step(z, v[:1], t)
    positions = model.tokenizer.phrase_token_positions(phrase)
    heat, _, _ = aggregate(attention, positions, model.image_size, otsu=False)
    return heat


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m sightline_ldm.grounding_bench", description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True)
    p.add_argument("--image", action="append", required=True)
    p.add_argument("--phrase", action="append", required=True)
    p.add_argument("--variant", default="frozen")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = p.parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    model, _ = load_grounding_model(args.model)
    manifest_path = f"{args.model}/manifest.json"
    with open(manifest_path, encoding="utf-8") as f:
        v = json.load(f)["grounding"][args.variant]
    images = [read_image_file(f) for f in args.image]
    layers, kept, steps = v["layers"], set(v["step_indices"]), v["num_inference_steps"]
    predecessor_heatmap(model, images[0], args.phrase[0], layers, kept, steps)  # warm
    per_image = []
    for image in images:
        t0 = time.perf_counter()
        for phrase in args.phrase:
            predecessor_heatmap(model, image, phrase, layers, kept, steps)
        per_image.append((time.perf_counter() - t0) / len(args.phrase))
    print(json.dumps({"reference_s_per_heatmap": statistics.median(per_image), "per_image_s_per_heatmap": per_image,
                      "heatmaps": len(args.phrase) * len(images), "torch": torch.__version__,
                      "torch_threads": torch.get_num_threads()}))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
