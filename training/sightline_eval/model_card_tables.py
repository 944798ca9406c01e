"""The model card's tables (the second half of ``model_card.py``): per-row summaries with bootstrap CIs, the markdown
of the overall, per-class and side-swap tables, and inserting it under a heading of a MODEL_CARD.md."""
from __future__ import annotations

import collections
import re
from typing import Dict, List, Mapping, Sequence

import numpy as np

from . import metrics as M

def summarise_rows(records: Sequence[dict], n_boot: int = 10000, seed: int = 0) -> Dict[str, Dict[str, M.Summary]]:
    by_row: Dict[str, List[dict]] = collections.OrderedDict()
    for r in records:
        by_row.setdefault(r["row"], []).append(r)
    return {name: M.summarise_records(rs, n_boot=n_boot, seed=seed) for name, rs in by_row.items()}


def _ci(s: M.Summary, scale: float = 1.0, fmt: str = "{:.2f}") -> str:
    v = fmt.format(s.mean * scale)
    if np.isnan(s.lo):
        return v
    return f"{v} [{fmt.format(s.lo * scale)}, {fmt.format(s.hi * scale)}]"


def side_swap_table(records: Sequence[dict], n_boot: int, seed: int) -> List[str]:
    """Rows that have a side-swapped twin: both scored on the sided subset."""
    out = []
    names = collections.OrderedDict((r["row"], None) for r in records)
    for name in names:
        if not name.endswith("[side-swapped prompt]"):
            continue
        base = name[: -len(" [side-swapped prompt]")]
        ids = {r["id"] for r in records if r["row"] == name}
        orig = [r for r in records if r["row"] == base and r["id"] in ids]
        sw = [r for r in records if r["row"] == name]
        so, ss = M.summarise_records(orig, n_boot=n_boot, seed=seed), M.summarise_records(sw, n_boot=n_boot, seed=seed)
        # paired difference (original - swapped) per pair, class-mean with bootstrap CI
        d_sw = {r["id"]: r for r in sw}
        diffs = [r["cnr"] - d_sw[r["id"]]["cnr"] for r in orig]
        dsum = M.summarise(diffs, [r["category"] for r in orig], "dcnr", n_boot, seed)
        out.append(f"| {base} | {len(sw)} | {_ci(so['cnr'])} | {_ci(ss['cnr'])} | {_ci(dsum)} | "
                   f"{_ci(so['miou'], 100, '{:.1f}')} | {_ci(ss['miou'], 100, '{:.1f}')} |")
    if not out:
        return []
    return ["| row | sided pairs | CNR as written | CNR left/right swapped | CNR difference | "
            "mIoU % as written | mIoU % swapped |", "|---|---|---|---|---|---|---|"] + out


def markdown(summaries: Mapping[str, Mapping[str, M.Summary]], records: Sequence[dict], n_boot: int, seed: int,
             title: str = "", command: str = "", notes: Sequence[str] = ()) -> str:
    lines = []
    if title:
        lines += [title, ""]
    if command:
        lines += ["Command:", "", "```", command, "```", ""]
    lines += [f"Class-mean average (unweighted mean of the per-class means), 95% CI from {n_boot} bootstrap "
              f"resamples of the pairs (seed {seed}). CNR signed; mIoU over thresholds 0.1..0.5; AUC-ROC exact.", ""]
    lines += ["| row | pairs | CNR | mIoU % | AUC-ROC |", "|---|---|---|---|---|"]
    for name, s in summaries.items():
        if name.endswith("[side-swapped prompt]"):
            continue
        lines.append(f"| {name} | {s['cnr'].n} | {_ci(s['cnr'])} | {_ci(s['miou'], 100, '{:.1f}')} | "
                     f"{_ci(s['auc'], 1, '{:.3f}')} |")
    classes = sorted({c for s in summaries.values() for c in s["cnr"].per_class})
    lines += ["", "Per class, CNR / mIoU % (pairs):", "",
              "| row | " + " | ".join(f"{c} ({_n(summaries, c)})" for c in classes) + " |",
              "|---|" + "---|" * len(classes)]
    for name, s in summaries.items():
        if name.endswith("[side-swapped prompt]"):
            continue
        cells = []
        for c in classes:
            if c in s["cnr"].per_class:
                cells.append(f"{s['cnr'].per_class[c][0]:.2f} / {100 * s['miou'].per_class[c][0]:.1f}")
            else:
                cells.append("-")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "Per class with 95% CIs (CNR; mIoU %):", ""]
    for name, s in summaries.items():
        if name.endswith("[side-swapped prompt]"):
            continue
        parts = [f"{c}: {v[0]:.2f} [{v[1]:.2f}, {v[2]:.2f}]; "
                 f"{100 * s['miou'].per_class[c][0]:.1f} [{100 * s['miou'].per_class[c][1]:.1f}, "
                 f"{100 * s['miou'].per_class[c][2]:.1f}]" for c, v in s["cnr"].per_class.items()]
        lines.append(f"- {name}: " + " · ".join(parts))
    swap = side_swap_table(records, n_boot, seed)
    if swap:
        lines += ["", "Side-swap check (the same pairs, left/right swapped in the prompt; a model that reads laterality "
                      "scores lower when swapped):", ""] + swap
    if notes:
        lines += [""] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def _n(summaries, c):
    for s in summaries.values():
        if c in s["cnr"].per_class:
            return s["cnr"].per_class[c][3]
    return 0


def insert_under_heading(card_path: str, text: str, heading: str = "Grounding results") -> None:
    """Append ``text`` at the end of the section whose heading contains ``heading`` (created if missing)."""
    with open(card_path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    idx, level = None, None
    for i, ln in enumerate(lines):
        m = re.match(r"^(#+)\s+(.*)$", ln)
        if m and heading.lower() in m.group(2).lower():
            idx, level = i, len(m.group(1))
            break
    if idx is None:
        lines += ["", f"## {heading}", "", text.rstrip("\n"), ""]
    else:
        end = len(lines)
        for j in range(idx + 1, len(lines)):
            m = re.match(r"^(#+)\s", lines[j])
            if m and len(m.group(1)) <= level:
                end = j
                break
        while end > idx + 1 and lines[end - 1].strip() == "":
            end -= 1
        lines[end:end] = ["", text.rstrip("\n"), ""]
    with open(card_path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines).rstrip("\n") + "\n")
