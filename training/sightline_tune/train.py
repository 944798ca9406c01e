"""Prompt tuning of the location rows (method.md 4.3-4.4): the loop and ``python -m sightline_tune.train``.

Progress protocol: one JSON object per line on stdout (README.md, "Progress protocol"); everything for people goes to
stderr. Resumable: ``<out>/checkpoint.pt`` every ``checkpoint_every`` steps holds the rows, the optimiser state and
the log; the data order and the jitter are drawn from generators seeded by (seed, epoch) and (seed, step), so a
resumed run replays exactly what an uninterrupted run would have done.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np
import torch

from . import data as D
from . import distributed as dist
from . import slurm
from .codebook import Codebook
from .config import TuneConfig, load_config
from .loss import jittered_params, pair_losses, target_map
from .pairs_file import load_pairs_file, split_boxed
from .precision import autocast_context, grad_scaler, norms_in_float32
from .stop import GUARD, Stopped
from .variant import bundle_hash, write_variant


FREE = ("steps", "device", "threads", "inversion_batch")  # settings a resumed run may change
PRE_SETTINGS = {"amp": "off", "grad_checkpointing": False}  # settings added after checkpoints were first written
QUIET = {"value": False}  # set on ranks > 0 of a distributed run: rank 0 alone speaks the protocol


def emit(event: str, **fields) -> Dict[str, Any]:
    rec = dict(event=event, **fields)
    if QUIET["value"]:
        return rec
    with GUARD.critical():  # a stop never cuts a protocol line in half
        sys.stdout.write(json.dumps(rec) + "\n")
        sys.stdout.flush()
    return rec


class Tuner:
    def __init__(self, bundle: str, data: Optional[str], out: str, cfg: TuneConfig, images_root: Optional[str] = None,
                 lut_path: Optional[str] = None, cache_dir: Optional[str] = None, pairs_file: Optional[str] = None,
                 say: Callable[[str], None] = lambda m: print(m, file=sys.stderr, flush=True)):
        from sightline_eval.lut import load_lut
        from sightline_ldm.bundle import load_manifest
        from sightline_ldm.loading import load_grounding_model
        self.say, self.out, self.bundle = say, out, bundle
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        self.rank, self.world, device = dist.init(cfg.device)
        cfg = dataclasses.replace(cfg, device=device)
        cfg.check_precision(device)
        QUIET["value"] = self.rank != 0
        manifest = load_manifest(bundle)
        self.cfg = cfg.resolved(manifest.get("grounding") or {})
        self.bundle_hash = bundle_hash(bundle)
        self.manifest = manifest
        lut_path = lut_path or os.path.join(bundle, "lut.json")
        if not os.path.isfile(lut_path):
            raise FileNotFoundError(f"{lut_path}: anatomy LUT not found (give --lut)")
        self.lut = load_lut(lut_path)
        self.model, _ = load_grounding_model(bundle, device=device)
        for m in (self.model.autoencoder, self.model.unet, self.model.text_encoder):
            m.eval().requires_grad_(False)
        self.model.unet.grad_checkpointing = bool(cfg.grad_checkpointing)  # tuning only: validation has no grad
        self.device_type = torch.device(device).type
        # fp16's narrow range can overflow or flush the gradients: the loss is scaled, and a step whose gradients
        # are not finite is skipped by the scaler (counted, reported on stderr and in the step events)
        self.scaler = grad_scaler() if cfg.amp == "fp16" else None
        if cfg.amp != "off":
            norms_in_float32(self.model.unet, self.model.text_encoder)
        self.amp_skipped = 0
        self.tok = self.model.tokenizer
        table = self.model.text_encoder.token_embedding.weight
        self.table_rms = float(table.detach().float().pow(2).mean().sqrt())
        self.lr = self.cfg.lr_scale * self.table_rms
        self.codebook = Codebook(table, self.tok, shared=self.cfg.shared).to(cfg.device)
        self.opt = torch.optim.AdamW([self.codebook.rows], lr=self.lr, weight_decay=self.cfg.weight_decay)
        self.val_note: Optional[str] = None  # why there is no validation, when there is none
        if pairs_file:  # the app's curated pairs: no standardisation, box-less pairs train only
            pairs, self.dropped = load_pairs_file(pairs_file)
            self.train_pairs, self.val_pairs, self.val_note = split_boxed(pairs, self.cfg.val_images, self.cfg.seed)
            held_out = len(pairs) - len(self.train_pairs) - len(self.val_pairs)
            if held_out:
                self.dropped["box-less pair of a validation image"] = held_out
        else:
            csv_path, root = D.resolve_source(data, images_root)
            pairs, self.dropped = D.load_pairs(csv_path, root)
            self.train_pairs, self.val_pairs = D.split_pairs(pairs, self.cfg.val_images, self.cfg.seed)
        if not self.val_pairs and self.val_note is None:
            self.val_note = "val_images is 0: validation skipped"
        self.live = False  # True once the run's state (fresh or resumed) is in memory: a stop may checkpoint it
        self.cache_dir = cache_dir or os.path.join(out, "latents")
        self.cache_steps = sorted(set(self.cfg.tune_steps) | set(self.cfg.eval_steps))
        self.uncond = None
        self.log: List[dict] = []
        self.step = 0
        self.val_history: List[dict] = []
        self._entries: Dict[str, dict] = {}

    # ---------------------------------------------------------------- pieces
    def entry(self, image: str) -> dict:
        if image not in self._entries:
            if self.uncond is None:
                from sightline_ldm.grounding import text_embedding
                self.uncond = text_embedding(self.model, "")
            t0 = time.time()
            self._entries[image] = D.cached_latents(image, self.model, self.bundle_hash, self.cfg.num_inference_steps,
                                                    self.cache_steps, self.cache_dir, self.uncond)
            self.say(f"[tune] latents of {os.path.basename(image)} ready in {time.time() - t0:.1f}s "
                     f"({len(self._entries)} images)")
        return self._entries[image]

    def pair_at(self, step: int) -> dict:
        n = len(self.train_pairs)
        order = np.random.default_rng([self.cfg.seed, step // n]).permutation(n)
        return self.train_pairs[int(order[step % n])]

    def autocast(self):
        """The tuning forward's precision context (nothing when amp is off)."""
        return autocast_context(self.cfg.amp, self.device_type)

    def loss_and_backward(self, pair: dict, step: int, weight: float = 1.0):
        cfg, dev = self.cfg, self.cfg.device
        rng = np.random.default_rng([self.cfg.seed, 1, step])
        params = jittered_params(self.lut, pair["location"], rng, cfg.jitter)
        e = self.entry(pair["image"])
        idx = [e["steps"].index(i) for i in cfg.tune_steps]
        z = e["latents"][idx].to(dev)
        t = torch.tensor([e["timesteps"][k] for k in idx], device=dev)
        latent_hw = tuple(z.shape[-2:])
        targets = {l: target_map(self.lut, params, self.model.unet.cross_attention_grid(l, latent_hw)).to(dev)
                   for l in cfg.layers}
        ids = torch.tensor([self.tok.encode_padded(pair["prompt"])], device=dev)
        positions = self.tok.phrase_token_positions(pair["prompt"])
        te = self.model.text_encoder
        with self.autocast():
            context = te.forward_embeds(te.embed_tokens(ids, self.codebook.overrides()))
        chunk = cfg.step_chunk or len(idx)
        tot = {"loss": 0.0, "l_div": 0.0, "l_loc": 0.0}
        for a in range(0, len(idx), chunk):
            zz, tt = z[a:a + chunk], t[a:a + chunk]
            with self.autocast():
                _, probs = self.model.unet(zz, tt, context.expand(zz.shape[0], -1, -1),
                                           capture_attention=cfg.layers, stop_after=True)
            # the loss in float32, outside autocast (pair_losses reads the attention as .float())
            loss, l_div, l_loc = pair_losses(probs, positions, targets, cfg.alpha, cfg.div_weight)
            w = zz.shape[0] / len(idx)  # the losses are means over t: chunks add up exactly
            last = a + chunk >= len(idx)
            scaled = loss * (w * weight)
            (self.scaler.scale(scaled) if self.scaler is not None else scaled).backward(retain_graph=not last)
            for k, v in (("loss", loss), ("l_div", l_div), ("l_loc", l_loc)):
                tot[k] += float(v) * w
        return tot

    def validate(self) -> dict:
        from sightline_eval import metrics as M
        from sightline_ldm import grounding as G
        from sightline_ldm.image_ops import map_to_original
        records = []
        over = {k: v.detach() for k, v in self.codebook.overrides().items()}
        for p in self.val_pairs:
            e = self.entry(p["image"])
            r = G.reference_heatmap(None, p["prompt"], self.model, "tuned", layers=self.cfg.layers, otsu=self.cfg.otsu,
                                    num_inference_steps=self.cfg.num_inference_steps, kept_steps=self.cfg.eval_steps,
                                    trajectory=D.trajectory_of(e, self.cfg.device), token_embedding_overrides=over)
            heat = map_to_original(r.heatmap, e["geometry"]["original_hw"])
            records.append(dict(M.score_pair(heat, p["boxes"]), category=p["category"]))
        s = M.summarise_records(records, n_boot=self.cfg.val_boot, seed=0)
        return dict({k: {"mean": v.mean, "ci95": [v.lo, v.hi]} for k, v in s.items()}, pairs=len(records))

    # ---------------------------------------------------------------- checkpoints
    @property
    def ckpt_path(self) -> str:
        return os.path.join(self.out, "checkpoint.pt")

    def save(self) -> None:
        tmp = self.ckpt_path + ".tmp"
        with GUARD.critical():
            self._save(tmp)

    def _save(self, tmp: str) -> None:
        torch.save({"step": self.step, "rows": self.codebook.rows.detach().cpu(), "ids": self.codebook.ids,
                    "optimizer": self.opt.state_dict(), "log": self.log, "val_history": self.val_history,
                    "config": self.cfg.to_dict(), "bundle_hash": self.bundle_hash, "amp_skipped": self.amp_skipped,
                    "scaler": self.scaler.state_dict() if self.scaler is not None else None}, tmp)
        os.replace(tmp, self.ckpt_path)

    def resume(self) -> bool:
        if not os.path.isfile(self.ckpt_path):
            return False
        ck = torch.load(self.ckpt_path, map_location="cpu")
        if ck["bundle_hash"] != self.bundle_hash or ck["ids"] != self.codebook.ids:
            raise ValueError(f"{self.ckpt_path}: checkpoint of another bundle or codebook; use a new --out")
        mine = {k: v for k, v in self.cfg.to_dict().items() if k not in FREE}
        # a checkpoint from before a setting existed ran with its default
        theirs = {k: v for k, v in dict(PRE_SETTINGS, **ck["config"]).items() if k not in FREE}
        if mine != theirs:
            diff = sorted(k for k in mine if mine[k] != theirs.get(k))
            raise ValueError(f"{self.ckpt_path}: settings differ from the checkpoint's ({diff}); use a new --out")
        with torch.no_grad():
            self.codebook.rows.copy_(ck["rows"].to(self.codebook.rows.device))
        self.opt.load_state_dict(ck["optimizer"])
        if self.scaler is not None and ck.get("scaler"):
            self.scaler.load_state_dict(ck["scaler"])
        self.amp_skipped = int(ck.get("amp_skipped", 0))
        self.step, self.log, self.val_history = int(ck["step"]), list(ck["log"]), list(ck["val_history"])
        return True

    # ---------------------------------------------------------------- the run
    def run(self, resume: bool = False) -> dict:
        """The run; on a stop (stop.py) the last completed step is checkpointed, then ``Stopped`` goes on up."""
        try:
            return self._run(resume)
        except Stopped as s:
            self.say(f"[tune] {s}; checkpointing step {self.step}" if self.live else f"[tune] {s} before the start")
            if self.live and self.rank == 0:
                self.save()
                emit("checkpoint", step=self.step, path=self.ckpt_path, stopped=s.reason)
            raise

    def _run(self, resume: bool) -> dict:
        cfg = self.cfg
        os.makedirs(self.out, exist_ok=True)
        resumed = self.resume() if resume else False
        self.live = True
        if self.val_note:
            self.say(f"[tune] {self.val_note}")
        emit("start", step=self.step, steps=cfg.steps, resumed=resumed, train_pairs=len(self.train_pairs),
             val_pairs=len(self.val_pairs), dropped=self.dropped, tuned_ids=self.codebook.ids, lr=self.lr,
             table_rms=self.table_rms, layers=cfg.layers, bundle_hash=self.bundle_hash, world_size=self.world,
             batch_size=cfg.batch_size, val_note=self.val_note, amp=cfg.amp,
             grad_checkpointing=cfg.grad_checkpointing)
        if self.rank == 0:  # batched inversion of every image up front (the others read the cache)
            from sightline_ldm.grounding import text_embedding
            t1 = time.time()
            new = D.precompute_latents(sorted({p["image"] for p in self.train_pairs + self.val_pairs}), self.model,
                                       self.bundle_hash, cfg.num_inference_steps, self.cache_steps, self.cache_dir,
                                       text_embedding(self.model, ""), cfg.inversion_batch)
            self.say(f"[tune] latents: {new} images inverted in {time.time() - t1:.1f}s")
        if self.world > 1:
            dist.barrier()
        if not self.val_history and self.val_pairs and self.rank == 0:
            self.record_validation()
        t0, s0 = time.time(), self.step
        acc = {"loss": 0.0, "l_div": 0.0, "l_loc": 0.0}
        n_acc = 0
        bs = cfg.batch_size
        while self.step < cfg.steps:
            self.opt.zero_grad(set_to_none=False)
            self.codebook.rows.grad = torch.zeros_like(self.codebook.rows)
            sums = torch.zeros(3, dtype=torch.float64)
            for k in range(self.step * bs + self.rank, (self.step + 1) * bs, self.world):  # item k of the run
                got = self.loss_and_backward(self.pair_at(k), k, weight=1.0 / bs)
                sums += torch.tensor([got["loss"], got["l_div"], got["l_loc"]], dtype=torch.float64) / bs
            if self.world > 1:
                dist.all_reduce_sum(self.codebook.rows.grad)
                dist.all_reduce_sum(sums)
            losses = dict(zip(("loss", "l_div", "l_loc"), sums.tolist()))
            with GUARD.critical():  # rows, optimiser state and step counter move together
                self.optimiser_step()
                self.step += 1
            n_acc += 1
            for k in acc:
                acc[k] += losses[k]
            if self.step % cfg.log_every == 0 or self.step == cfg.steps:
                rate = (self.step - s0) * bs / max(time.time() - t0, 1e-9)
                self.log_event("step", step=self.step, steps=cfg.steps, lr=self.lr, examples_per_s=rate,
                               eta_s=(cfg.steps - self.step) * bs / max(rate, 1e-9),
                               **({"amp_skipped": self.amp_skipped} if self.scaler is not None else {}),
                               **{k: v / n_acc for k, v in acc.items()})
                acc, n_acc = {k: 0.0 for k in acc}, 0
            if self.rank != 0:
                continue
            if cfg.val_every and self.step % cfg.val_every == 0 and self.step < cfg.steps and self.val_pairs:
                self.record_validation()
            if cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0:
                self.save()
                emit("checkpoint", step=self.step, path=self.ckpt_path)
        if self.rank != 0:
            dist.finish(self.world)
            return {"event": "done", "step": self.step, "rank": self.rank}
        if self.val_pairs and self.val_history[-1]["step"] != self.step:
            self.record_validation()
        self.save()
        emit("checkpoint", step=self.step, path=self.ckpt_path)
        path = self.write_output()
        dist.finish(self.world)
        return emit("done", step=self.step, variant=path)

    def optimiser_step(self) -> None:
        if self.scaler is None:
            self.opt.step()
            return
        scale = self.scaler.get_scale()
        self.scaler.step(self.opt)  # unscales; skips the step when a gradient is inf/NaN
        self.scaler.update()
        if self.scaler.get_scale() < scale:  # the scaler backs off exactly when it skipped
            self.amp_skipped += 1
            self.say(f"[tune] fp16: step {self.step + 1} skipped (gradients not finite at loss scale {scale:g}; "
                     f"now {self.scaler.get_scale():g}); {self.amp_skipped} skipped so far")

    def log_event(self, event: str, **fields) -> dict:
        with GUARD.critical():
            rec = emit(event, **fields)
            self.log.append(rec)
        return rec

    def record_validation(self) -> None:
        metrics = self.validate()  # long: a stop here abandons it
        with GUARD.critical():
            self.val_history.append(self.log_event("validation", step=self.step, metrics=metrics))

    def write_output(self) -> str:
        g = dict((self.manifest.get("grounding") or {}).get("tuned") or {})
        n = self.cfg.num_inference_steps
        g.update(layers=self.cfg.layers, num_inference_steps=n, step_indices=self.cfg.eval_steps, otsu=self.cfg.otsu,
                 timesteps=[(i + 1) * (1000 // n) - 1 for i in self.cfg.eval_steps],
                 token_overrides=self.codebook.as_json_rows())
        path = os.path.join(self.out, "variant.json")
        doc = {"base_bundle": {"name": self.manifest.get("name"), "version": self.manifest.get("version"),
                               "hash": self.bundle_hash},
               "name": f"tuned-seed{self.cfg.seed}", "grounding": g,
               "tokens": [{"id": i, "token": self.tok.decode([i], skip_special=False)} for i in self.codebook.ids],
               "settings": dict(self.cfg.to_dict(), lr_absolute=self.lr, table_rms=self.table_rms,
                                **({"amp_skipped": self.amp_skipped} if self.scaler is not None else {})),
               "log": self.log, "metrics": {"before": self.val_history[0] if self.val_history else None,
                                            "after": self.val_history[-1] if self.val_history else None,
                                            "note": None if self.val_history else self.val_note}}
        write_variant(path, doc)
        return path


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m sightline_tune.train", description=__doc__.split("\n")[0])
    ap.add_argument("--bundle", required=True, help="model bundle with reference/ torch weights (e.g. ../models/demo)")
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", help="a sightline_world directory or an MS-CXR-style CSV (standardised here)")
    src.add_argument("--pairs", help="JSON-lines pairs as the app curated them (pairs_file.py; not standardised)")
    ap.add_argument("--images-root", help="image root for a CSV (default: the CSV's folder)")
    ap.add_argument("--lut", help="anatomy LUT JSON (default: <bundle>/lut.json)")
    ap.add_argument("--out", required=True, help="run directory: checkpoint.pt, latents/, variant.json")
    ap.add_argument("--cache", help="latent cache directory (default: <out>/latents); shareable between runs")
    ap.add_argument("--config", help="JSON file of settings (README.md lists them)")
    ap.add_argument("--device", choices=["cpu", "cuda"])
    ap.add_argument("--seed", type=int)
    ap.add_argument("--steps", type=int)
    ap.add_argument("--resume", action="store_true", help="continue from <out>/checkpoint.pt")
    ap.add_argument("--watch-stdin", action="store_true",
                    help="stop (checkpoint, exit 3) when stdin reaches its end: the launching app is gone")
    slurm.add_arguments(ap)
    return ap


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    if args.emit_slurm:
        try:
            sys.stdout.write(slurm.script(ap, args))
        except ValueError as e:
            print(f"sightline_tune.train: {e}", file=sys.stderr)
            return 2
        return 0
    GUARD.install(watch_stdin=args.watch_stdin)
    try:
        kw = load_config(args.config) if args.config else {}
        for k in ("device", "seed", "steps"):
            if getattr(args, k) is not None:
                kw[k] = getattr(args, k)
        if kw.get("device") == "cuda" and not torch.cuda.is_available():
            raise ValueError("--device cuda: torch sees no CUDA device")
        cfg = TuneConfig(**kw)
        tuner = Tuner(args.bundle, args.data, args.out, cfg, images_root=args.images_root, lut_path=args.lut,
                      cache_dir=args.cache, pairs_file=args.pairs)
        tuner.run(resume=args.resume)
    except Stopped as s:  # stop.py: checkpointed (when the run had started); 143 = SIGTERM, 3 = stdin closed
        print(f"sightline_tune.train: {s}", file=sys.stderr)
        return s.code
    except (ValueError, FileNotFoundError, OSError) as e:
        emit("error", message=str(e))
        print(f"sightline_tune.train: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
