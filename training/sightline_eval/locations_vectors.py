"""The standardiser's shared vectors: ``test/vectors/standardiser-sentences.json`` (labelled sentences) and
``test/vectors/standardiser-outputs.json`` (every engine output on a fixed list of inputs, written here and checked
by pytest and vitest). Rewrite after a deliberate rule change:
``cd training && /usr/bin/python3 -m sightline_eval.locations --write-outputs``."""
from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional, Tuple

from .locations import standardise
from .standardiser_words import PATHOLOGIES, RULES

REPO = Path(__file__).resolve().parents[2]
SENTENCES_PATH = REPO / "test" / "vectors" / "standardiser-sentences.json"
OUTPUTS_PATH = REPO / "test" / "vectors" / "standardiser-outputs.json"
# texts at the edges of the tokenizer and the rules, on top of the labelled sentences and the demo's own texts
EDGE_TEXTS = [
    "", "   ", ".", ",,,;;", "LEFT LOWER LOBE PNEUMONIA.", "left\nlower lobe opacity\n\nno effusion", "B/L effusions",
    "b / l effusions", "R>L effusions", "L>R basilar opacities", "can't exclude pneumonia", "Can\u2019t exclude PTX",
    "Left-sided effusion; right-sided PTX; no edema.", "Pneumonia? Possibly.", "opacity (right lower lobe)",
    "\u00c9panchement pleural gauche", "Opacit\u00e9 basale droite, pneumonie", "1.5 cm left apical pneumothorax",
    "no no no pneumothorax", "not not effusion", "Right and left and bilateral effusions",
    "lower lobes", "upper", "bilaterally", "left right left right", "pleural", "pleural effusion pleural",
    "constructor toString __proto__ hasOwnProperty", "No change in the small left pleural effusion.",
    "The effusion has not resolved.", "Pericardial effusion and left pleural effusion.",
    "Retrocardiac and lingular opacities, bibasilar atelectasis and biapical pneumothoraces.",
    "Costophrenic angles are sharp; no effusion, consolidation, nor pneumothorax, but cardiomegaly.",
]


def vector_inputs() -> List[Tuple[str, Optional[str]]]:
    """Every (text, category) of test/vectors/standardiser-outputs.json, in a fixed order: the labelled sentences
    (with their category, and inferred when one is given), the demo world's report sentences and MS-CXR phrases
    (with their finding and inferred), the edge texts (inferred and with each category)."""
    out: List[Tuple[str, Optional[str]]] = []
    for e in json.loads(SENTENCES_PATH.read_text(encoding="utf-8"))["sentences"]:
        out.append((e["sentence"], e["category"]))
        if e["category"] is not None:
            out.append((e["sentence"], None))
    truth = REPO / "resources" / "demo" / "world" / "truth.jsonl"
    for line in truth.read_text(encoding="utf-8").splitlines():
        for s in json.loads(line)["sentences"]:
            out += [(s["text"], s["finding"])] + ([(s["text"], None)] if s["finding"] else [])
    import csv
    with open(REPO / "resources" / "demo" / "ms-cxr" / "MS_CXR_Local_Alignment_v1.1.0.csv", newline="") as f:
        for r in csv.DictReader(f):
            out += [(r["label_text"], r["category_name"]), (r["label_text"], None)]
    for t in EDGE_TEXTS:
        out += [(t, None)] + [(t, c) for c in PATHOLOGIES]
    seen, uniq = set(), []
    for x in out:
        if x not in seen:
            seen.add(x)
            uniq.append(x)
    return uniq


def write_outputs(path: Path = OUTPUTS_PATH) -> int:
    cases = [{"text": t, "category": c, "output": standardise(t, c)} for t, c in vector_inputs()]
    lines = ['{', '  "generated_by": "cd training && /usr/bin/python3 -m sightline_eval.locations --write-outputs",',
             '  "rules_version": %d,' % RULES["version"], '  "cases": [']
    lines += ["    " + json.dumps(x) + ("," if i < len(cases) - 1 else "") for i, x in enumerate(cases)]
    lines += ["  ]", "}"]
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(cases)
