"""Grounding results for a model card: frozen grounding + reference rows on MS-CXR-loc (docs/method.md 5).

```
cd training
/usr/bin/python3 -m sightline_eval.model_card --bundle-or-checkpoint MODEL --mscxr MS_CXR.csv \
    --images-root MIMIC-CXR-JPG_DIR --imagenome GOLD.csv [--metadata mimic-cxr-2.0.0-metadata.csv] \
    [--layer-set 2,3,4,5,6,7[:otsu]] [--tuned-embeddings FILE] [--max-pairs N] [--bootstrap 10000] \
    [--out results.md] [--json results.json] [--model-card MODEL_CARD.md]
```
MODEL: a preset name of ``sightline_ldm.export`` (tiny, mid, cxr; with ``--random-init --seed S`` for seeded random
weights), an export-style JSON config with weights (``models/README.md``), a directory holding such a
config (``config.json``/``model.json``/any ``*.json`` with ``autoencoder`` and ``unet`` keys) or a MONAI bundle
(``models/autoencoder.pth`` + ``--clip-dir``); ``--loader pkg.module:function`` calls ``function(MODEL)`` which
returns a ``GroundingModel`` or an export ``ModelSet``. An ONNX bundle is read through its ``reference/`` torch
weights (the demo bundle ships them); ONNX-only bundles are not read (no onnxruntime here).

Rows: the model with the paper's two layer sets ("frozen": layers 3,4,6,7 + Otsu; layers 4,5,6,7 without Otsu, the
tuned model's set, here with the base embeddings), each ``--layer-set``, the grounding variants the model's config
declares (``grounding`` of an export JSON config, e.g. the demo model's own layers), "tuned" when ``--tuned-embeddings`` is
given (torch file: {token_id: row} or {"ids": [...], "rows": [n, H]}), then the references (location-only LUT
prior, oracle box Gaussian, random). Side-swap: the model rows (``--swap-rows``) and the location-only prior
re-scored with left/right swapped in the prompt, on the pairs whose prompt names a side (both orientations on the same subset).
The phrase given to the model is the benchmark prompt "{location} {pathology}" (``--phrase label_text`` uses the
original MS-CXR text). One DDIM inversion per image is shared by every row and phrase.
"""
from __future__ import annotations

import argparse
import collections
import datetime as _dt
import json
import os
import re
import sys
import time
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
from sightline_ldm.grounding import read_image_file
from sightline_ldm.loading import ModelLoadError, load_grounding_model as load_model

from . import lut as L
from . import metrics as M
from . import mscxr
from . import references as R
from .locations import swap_sides
from .model_card_tables import insert_under_heading, markdown, summarise_rows

SIDE_RE = R.SIDE_RE




def load_token_overrides(path: str):
    import torch
    obj = torch.load(path, map_location="cpu")
    if isinstance(obj, Mapping) and "ids" in obj and "rows" in obj:
        return {int(i): torch.as_tensor(r, dtype=torch.float32) for i, r in zip(obj["ids"], obj["rows"])}
    if isinstance(obj, Mapping):
        return {int(k): torch.as_tensor(v, dtype=torch.float32) for k, v in obj.items()}
    raise ValueError(f"{path}: expected {{token_id: row}} or {{'ids', 'rows'}}, got {type(obj).__name__}")


# ---------------------------------------------------------------- rows
def parse_layer_set(s: str) -> Tuple[str, Dict[str, Any]]:
    """"2,3,4[:otsu]" -> (row name, options)."""
    layers_s, _, flag = s.partition(":")
    layers = tuple(int(v) for v in layers_s.split(",") if v.strip())
    otsu = flag.strip().lower() == "otsu"
    name = f"LDM frozen, layers {','.join(map(str, layers))}" + (" + Otsu" if otsu else "")
    return name, {"variant": "frozen", "layers": layers, "otsu": otsu}


def default_rows(layer_sets: Sequence[str] = (), tuned: Optional[Mapping] = None) -> List[Tuple[str, Dict[str, Any]]]:
    rows = [("LDM frozen (layers 3,4,6,7 + Otsu)", {"variant": "frozen"}),
            ("LDM frozen, layers 4,5,6,7 (no Otsu)", {"variant": "tuned"})]
    rows += [parse_layer_set(s) for s in layer_sets]
    if tuned:
        rows.append(("LDM tuned (layers 4,5,6,7, tuned embeddings)",
                     {"variant": "tuned", "token_embedding_overrides": tuned}))
    return rows


def variant_row(spec: str, bundle_dir: Optional[str]) -> Tuple[str, Dict[str, Any]]:
    """A row for a tuned variant file (sightline_tune's ``variant.json``): ``[NAME=]FILE[:otsu|:nootsu]``. The row
    grounds with the file's layers, kept steps, Otsu setting (unless the suffix overrides it) and token rows, as the
    app grounds with the variant. ``bundle_dir``: the bundle the card runs on; the file must have been tuned on it
    (its hash is checked), else ValueError."""
    from sightline_tune.variant import VariantError, load_variant, token_overrides_tensors
    name, eq, rest = spec.partition("=")
    if not eq or os.path.exists(spec):
        name, rest = "", spec
    path, _, flag = rest.rpartition(":") if rest.endswith((":otsu", ":nootsu")) else (rest, "", "")
    if bundle_dir is None or not os.path.isfile(os.path.join(bundle_dir, "manifest.json")):
        raise ValueError(f"--variant {path}: the model must be a bundle directory (with manifest.json) to check the "
                         "variant was tuned on it")
    try:
        doc = load_variant(path, bundle_dir)
    except (VariantError, OSError) as e:
        raise ValueError(str(e)) from e
    g = doc["grounding"]
    otsu = {"otsu": True, "nootsu": False}.get(flag, bool(g.get("otsu", False)))
    layers = tuple(int(l) for l in g["layers"])
    label = name or f"tuned variant '{doc.get('name', os.path.basename(path))}'"
    label += f" (layers {','.join(map(str, layers))}" + (" + Otsu)" if otsu else ", no Otsu)")
    return label, {"variant": "frozen", "layers": layers, "otsu": otsu,
                   "kept_steps": tuple(int(i) for i in g["step_indices"]),
                   "token_embedding_overrides": token_overrides_tensors(doc)}


def config_rows(grounding: Optional[Mapping[str, Any]], existing: Sequence[Tuple[str, Dict[str, Any]]] = (),
                num_inference_steps: int = 100) -> List[Tuple[str, Dict[str, Any]]]:
    """Rows for the grounding variants a model config declares (e.g. the demo model's own layer choice), resolved
    with ``sightline_ldm.bundle.grounding_defaults``; variants equal to an existing row are skipped."""
    if not grounding:
        return []
    from sightline_ldm.bundle import grounding_defaults
    from sightline_ldm.grounding import VARIANTS
    from sightline_ldm.schedule import kept_step_indices

    def key(o):
        v = VARIANTS.get(o.get("variant", "frozen"), {})
        layers = tuple(o.get("layers", v.get("layers", ())))
        otsu = bool(o.get("otsu", v.get("otsu", False)))
        steps = tuple(o.get("kept_steps", kept_step_indices(num_inference_steps)))
        # a row with tuned token rows is another model: it never stands for the config's untuned variant
        return layers, otsu, steps, o.get("token_embedding_overrides") is not None

    seen = {key(o) for _, o in existing}
    out = []
    for name, v in grounding_defaults(grounding).items():
        if int(v.get("num_inference_steps", 100)) != num_inference_steps:
            continue
        o = {"variant": "frozen", "layers": tuple(int(l) for l in v["layers"]), "otsu": bool(v.get("otsu", False)),
             "kept_steps": tuple(int(i) for i in v["step_indices"])}
        if key(o) in seen:
            continue
        seen.add(key(o))
        out.append((f"LDM '{name}' of the model config (layers {','.join(map(str, o['layers']))}"
                    + (" + Otsu" if o["otsu"] else ", no Otsu") + ")", o))
    return out


# ---------------------------------------------------------------- evaluation
def check_pairs_images(pairs: Sequence[dict], images_root: str) -> List[str]:
    """Problems: missing/unreadable images, size different from the CSV, boxes outside the image."""
    from PIL import Image
    problems = []
    seen: Dict[str, Tuple[int, int]] = {}
    for p in pairs:
        fp = os.path.join(images_root, p["path"])
        if fp not in seen:
            try:
                with Image.open(fp) as im:
                    seen[fp] = (im.height, im.width)
            except OSError as e:
                problems.append(f"{p['path']}: {e}")
                seen[fp] = None
        hw = seen[fp]
        if hw is None:
            continue
        if p.get("width") and (p["height"], p["width"]) != hw:
            problems.append(f"{p['path']}: image {hw[1]}x{hw[0]}, CSV says {p['width']}x{p['height']}")
        for x, y, w, h in p["boxes"]:
            if x < 0 or y < 0 or x + w > hw[1] or y + h > hw[0] or w <= 0 or h <= 0:
                problems.append(f"{p['path']}: box {[x, y, w, h]} outside the {hw[1]}x{hw[0]} image")
    return problems


def run_model_rows(pairs: Sequence[dict], images_root: str, model, rows: Sequence[Tuple[str, Dict[str, Any]]],
                   swap_rows: Optional[Sequence[str]] = None, phrase_key: str = "prompt", num_inference_steps: int = 100,
                   kept_steps: Optional[Sequence[int]] = None, log=print) -> List[dict]:
    """Per-pair metric records for the model rows (+ side-swapped versions of ``swap_rows``; default the first)."""
    from sightline_ldm import grounding as G
    from sightline_ldm.image_ops import map_to_original
    if swap_rows is None:
        swap_rows = [rows[0][0]] if rows else []
    row_opts = dict(rows)
    by_image: Dict[str, List[dict]] = collections.OrderedDict()
    for p in pairs:
        by_image.setdefault(p["path"], []).append(p)
    uncond = G.text_embedding(model, "")
    from sightline_ldm.schedule import kept_step_indices
    default_kept = list(kept_steps) if kept_steps is not None else kept_step_indices(num_inference_steps)
    last_step = max([max(default_kept)] + [max(o["kept_steps"]) for _, o in rows if o.get("kept_steps")])
    records = []
    t0 = time.time()
    for k, (path, ps) in enumerate(by_image.items()):
        img = read_image_file(os.path.join(images_root, path))
        hw = img.shape
        opts = dict(num_inference_steps=num_inference_steps, uncond_embedding=uncond,
                    kept_steps=list(default_kept))
        traj, _ = G.invert_image(img, model, G.GroundingOptions(**dict(opts, kept_steps=[last_step])))
        for p in ps:
            phrase = p[phrase_key]
            jobs = [(name, o, phrase, False) for name, o in rows]
            if SIDE_RE.search(phrase):
                jobs += [(name + " [side-swapped prompt]", row_opts[name], swap_sides(phrase), True)
                         for name in swap_rows]
            for name, o, text, swapped in jobs:
                o = dict(o)
                variant = o.pop("variant")
                r = G.reference_heatmap(None, text, model, variant, trajectory=traj, **dict(opts, **o))
                heat = map_to_original(r.heatmap, hw)
                records.append(dict(M.score_pair(heat, p["boxes"]), row=name, id=p["id"], category=p["category"],
                                    phrase=text, swapped=swapped))
        log(f"[model_card] image {k + 1}/{len(by_image)} ({len(ps)} pairs) {time.time() - t0:.0f}s")
    return records


def run_reference_rows(pairs: Sequence[dict], images_root: Optional[str], lut: Optional[Mapping], seed: int = 0,
                       sizes: Optional[Mapping[str, Tuple[int, int]]] = None) -> List[dict]:
    """Location-only (+ side-swapped), oracle and random rows. Image sizes from the pairs (CSV) or the image files."""
    from PIL import Image
    records = []
    rng = np.random.default_rng(seed)
    for p in pairs:
        if p.get("width") and p.get("height"):
            hw = (int(p["height"]), int(p["width"]))
        elif sizes and p["path"] in sizes:
            hw = sizes[p["path"]]
        else:
            with Image.open(os.path.join(images_root, p["path"])) as im:
                hw = (im.height, im.width)
        maps = []
        if lut is not None:
            maps.append(("Location-only Gaussian (LUT prior, ignores the image)",
                         R.location_heatmap(lut, p["location"], hw), p["prompt"], False))
            if SIDE_RE.search(p["location"]):
                sw = swap_sides(p["location"])
                maps.append(("Location-only Gaussian (LUT prior, ignores the image) [side-swapped prompt]",
                             R.location_heatmap(lut, sw, hw), swap_sides(p["prompt"]), True))
        maps.append(("Oracle Gaussian from the GT boxes (sigma = side/3)", R.oracle_heatmap(p["boxes"], hw),
                     p["prompt"], False))
        maps.append(("Random uniform noise", R.random_heatmap(hw, rng), p["prompt"], False))
        for name, heat, text, swapped in maps:
            records.append(dict(M.score_pair(heat, p["boxes"]), row=name, id=p["id"], category=p["category"],
                                phrase=text, swapped=swapped))
    return records


# ---------------------------------------------------------------- CLI
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m sightline_eval.model_card", description=__doc__.split("\n")[0])
    p.add_argument("--bundle-or-checkpoint", required=True, help="preset, JSON config, model dir or MONAI bundle")
    p.add_argument("--loader", help="pkg.module:function returning a GroundingModel / ModelSet for the path")
    p.add_argument("--random-init", action="store_true", help="seeded random weights for a preset (tests)")
    p.add_argument("--seed", type=int, default=0, help="model seed (random init) and reference/bootstrap seed")
    p.add_argument("--clip-dir")
    p.add_argument("--tokenizer-dir")
    p.add_argument("--image-size", type=int, help="override the model's image size")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads (default 1: avoids oversubscription on a shared machine; raise when idle)")
    p.add_argument("--mscxr", required=True, help="MS-CXR CSV (MS_CXR_Local_Alignment_v1.*.csv)")
    p.add_argument("--images-root", required=True, help="MIMIC-CXR-JPG root (the CSV's paths are relative to it)")
    p.add_argument("--split", action="append", help="MS-CXR splits to keep (default all)")
    p.add_argument("--imagenome", help="Chest ImaGenome gold CSV for the LUT")
    p.add_argument("--metadata", action="append", default=[], help="MIMIC metadata CSV(s) for the LUT image sizes")
    p.add_argument("--lut", help="a prebuilt LUT JSON instead of --imagenome")
    p.add_argument("--layer-set", action="append", default=[], help="extra frozen row: '2,3,4,5,6,7[:otsu]'")
    p.add_argument("--tuned-embeddings", help="token-id -> embedding row overrides (torch file) for a 'tuned' row")
    p.add_argument("--variant", action="append", default=[],
                   help="a tuned variant file (sightline_tune's variant.json) as a row: [NAME=]FILE[:otsu|:nootsu] "
                        "(repeatable; grounds with the file's layers, steps, Otsu and token rows)")
    p.add_argument("--no-model", action="store_true", help="reference rows only")
    p.add_argument("--swap-rows", choices=["all", "first", "none"], default="all",
                   help="model rows re-scored with left/right swapped prompts (default all)")
    p.add_argument("--phrase", choices=["prompt", "label_text"], default="prompt")
    p.add_argument("--num-inference-steps", type=int, default=100)
    p.add_argument("--kept-steps", help="a:b (default: method.md 2.4, 40..59 for 100 steps)")
    p.add_argument("--max-pairs", type=int, help="evaluate the first N pairs (after dropping unlocated ones)")
    p.add_argument("--bootstrap", type=int, default=10000)
    p.add_argument("--title", default="")
    p.add_argument("--note", action="append", default=[], help="extra bullet under the table (repeatable)")
    p.add_argument("--out", help="markdown table file")
    p.add_argument("--json", help="per-pair records + summaries")
    p.add_argument("--model-card", help="append the table under the 'Grounding results' heading of this file")
    p.add_argument("--heading", default="Grounding results")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    argv_list = list(sys.argv[1:] if argv is None else argv)
    command = "cd training && /usr/bin/python3 -m sightline_eval.model_card " + " ".join(
        a if re.fullmatch(r"[\w./:,=+-]+", a) else json.dumps(a) for a in argv_list)
    t_start = time.time()
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731

    pairs_all = mscxr.build_benchmark(mscxr.read_rows(args.mscxr), keep_unlocated=True)
    if args.split:
        pairs_all = [p for p in pairs_all if p["split"] in args.split]
    pairs = [p for p in pairs_all if p["location"]]
    if args.max_pairs:
        pairs = pairs[: args.max_pairs]
    log(f"[model_card] {len(pairs_all)} MS-CXR pairs, {len(pairs)} evaluated (with a location)")
    problems = check_pairs_images(pairs, args.images_root)
    for pr in problems[:20]:
        log(f"[model_card] warning: {pr}")

    if args.lut:
        lut = L.load_lut(args.lut)
    elif args.imagenome:
        sizes: Dict[str, Tuple[int, int]] = {}
        for m in args.metadata:
            sizes.update(L.read_mimic_metadata_sizes(m))
        lut = L.build_lut(L.read_imagenome(args.imagenome), sizes)
    else:
        lut = None
        log("[model_card] no --imagenome/--lut: no location-only row")

    records: List[dict] = []
    model_desc: Dict[str, Any] = {}
    model_size = None
    if not args.no_model:
        import torch
        torch.set_num_threads(max(1, args.threads))
        try:
            model, model_desc = load_model(args.bundle_or_checkpoint, loader=args.loader,
                                           random_init=args.random_init, seed=args.seed, clip_dir=args.clip_dir,
                                           tokenizer_dir=args.tokenizer_dir, image_size=args.image_size,
                                           device=args.device)
            tuned = load_token_overrides(args.tuned_embeddings) if args.tuned_embeddings else None
            bundle_dir = args.bundle_or_checkpoint if os.path.isdir(args.bundle_or_checkpoint) else None
            variant_rows = [variant_row(v, bundle_dir) for v in args.variant]
        except (ModelLoadError, ValueError, FileNotFoundError) as e:  # ValueError: load_token_overrides, variant_row
            print(f"{parser.prog}: {e}", file=sys.stderr)
            return 1
        model_size = model.image_size
        kept = None
        if args.kept_steps:
            a, b = (int(v) for v in args.kept_steps.split(":"))
            kept = list(range(a, b))
        rows = default_rows(args.layer_set, tuned) + variant_rows
        rows += config_rows(model_desc.get("grounding"), rows, args.num_inference_steps)
        swap = {"all": [n for n, _ in rows], "first": [rows[0][0]], "none": []}[args.swap_rows]
        records += run_model_rows(pairs, args.images_root, model, rows, swap_rows=swap,
                                  phrase_key=args.phrase, num_inference_steps=args.num_inference_steps,
                                  kept_steps=kept, log=log)
    records += run_reference_rows(pairs, args.images_root, lut, seed=args.seed)
    summaries = summarise_rows(records, args.bootstrap, args.seed)
    dropped = len(pairs_all) - len([p for p in pairs_all if p["location"]])
    notes = [f"Benchmark: {args.mscxr} ({len(pairs_all)} pairs, {dropped} without a location dropped, "
             f"{len(pairs)} evaluated); phrase = the {args.phrase}.",
             (f"Model: {json.dumps({k: v for k, v in model_desc.items() if k != 'grounding'})}; "
              f"image size {model_size}; {args.num_inference_steps} DDIM steps; {args.threads} torch thread(s).")
             if model_desc else "Model: not run.",
             f"LUT: {'given' if args.lut else ('built from ' + args.imagenome) if args.imagenome else 'none'}"
             + (f" ({len(lut['regions'])} regions, {lut.get('images', '?')} images)" if lut else "") + ".",
             f"Run {_dt.datetime.utcnow().strftime('%Y-%m-%d %H:%M')} UTC, {time.time() - t_start:.0f} s."]
    notes += args.note
    if problems:
        notes.append(f"{len(problems)} image/box warnings (first: {problems[0]}).")
    md = markdown(summaries, records, args.bootstrap, args.seed, args.title, command, notes)
    print(md)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(md)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"command": command, "summaries": {k: {m: s.as_dict() for m, s in v.items()}
                                                         for k, v in summaries.items()},
                       "records": records, "pairs": pairs}, f, indent=1)
    if args.model_card:
        insert_under_heading(args.model_card, md, args.heading)
        log(f"[model_card] appended to {args.model_card} under '{args.heading}'")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
