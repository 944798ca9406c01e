"""Prompt standardiser: report sentence -> "{location} {pathology}" prompt (docs/method.md 4.1).

The paper used RadGraph-XL; this is a lexicon + rules replacement with the same output vocabulary (27 locations:
{left, right, bilateral} x {"", apical, upper, middle, lower, costophrenic, pleural, base}, "bilateral base"
written "bibasilar", plus lingular, cardiomegaly, pulmonary; several joined with " and ").

ONE behaviour, two engines: the rules are DATA in ``main/evaluation/standardiser/rules.json`` (lexicon, synonyms,
abbreviations, cue words and their scopes) and this module and ``main/evaluation/standardiser/engine.ts`` are the
same small interpreter of it, step for step. ``test/vectors/standardiser-sentences.json`` (labelled sentences) and
``test/vectors/standardiser-outputs.json`` (every engine output, written here) are checked by pytest and vitest, so
the two engines cannot drift. The steps (main/evaluation/README.md "## Standardiser" has the long form):

1. Tokens: ASCII lower-case, apostrophes dropped, hyphens to spaces; words ``[a-z0-9]+``, the punctuation
   ``. , ; : ! ? newline`` and ``/``. ``rewrites`` (longest match): abbreviations (LLL, b/l, CP angle, ...).
2. Lexicon (longest match, left to right, one entry per token): pathology terms, ignored phrases ("pericardial
   effusion", "no change"), cues (negated / resolved / uncertain, scope forward, backward or both), links
   ("likely", "consistent with"), terminators ("but", "however"), coordinators ("and", "with"), list joiners ("or").
3. Clauses end at . ; : ! ? newline and terminators; clauses are cut into parts at commas. A forward cue covers the
   rest of its part and, in a list ("no effusion, consolidation, or pneumothorax"), the following parts up to the
   last one holding a list joiner; a backward cue covers its part up to the cue. A token covered by several cues
   takes the first kind of ``scope_precedence``.
4. Mentions: terms, and ``patterns`` (all word groups in one part; "heart ... enlarged"), whose state is their
   token's (or the pattern's fixed state). A part is split at a coordinator when both sides name a pathology and a
   location belongs to the right side alone ("left lower lobe atelectasis and small right effusion", `_cuts`), not
   otherwise ("left lower lobe consolidation and atelectasis" shares its location). Segments are grouped: a segment whose first mention is not preceded by a
   link starts a new group; "patchy opacity, right lower lobe, likely pneumonia" is one group.
5. A finding per category: its state is the best of its mentions (``finding_preference``); its locations come from
   the tokens of the groups holding its mentions of that polarity (present: positive/uncertain tokens; absent:
   negated/resolved tokens). With a category given that the sentence never names, the whole sentence is its group.
   Without one, the present finding of highest tier (diagnoses 2 > consolidation 1 > opacity 0), first mentioned.
6. Locations (the method.md 4.1 rules): side words set the current side, zone words attach to it; zones before any
   side wait for the next side ("lower lobes bilaterally"); a plural zone without side is bilateral ("the lung
   bases", "costophrenic angles"); sides joined by and/or share the zones after them; "pleural" counts only before
   effusion/space/fluid and is dropped when the same side has a more specific zone; left + right of one zone merge
   into bilateral, which absorbs one-sided duplicates; a bare side is dropped when it also has a zone.
   Cardiomegaly -> "cardiomegaly"; Edema with no side/zone and the word "pulmonary" -> "pulmonary".
7. Prompt: "{locations joined by ' and '} {pathology}" (words shared by the end of the location and the start of the
   pathology written once: "left pleural" + "pleural effusion" -> "left pleural effusion"), the pathology alone
   when there is no location, None when the finding is absent (negated/resolved) or there is no pathology.
"""
from __future__ import annotations

import json
import re
import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .standardiser_words import (LEXICON, PATHOLOGIES, PRESENT, RULES, STRONG, TIER, compose_prompt, location_marks,
                                 longest, merge_sides, side_zone_mentions, spell, tokenize)

# the public names other modules take from here (importers, the model card, tuning)
__all__ = ["PATHOLOGIES", "RULES", "compose_prompt", "extract_location", "prompt_for", "spell", "standardise",
           "swap_sides", "tokenize"]


# ------------------------------------------------------------------------------------------------ analysis
def _lexicon_matches(tok: Sequence[str]) -> List[Tuple[int, int, Dict[str, Any]]]:
    out = []
    i = 0
    while i < len(tok):
        n = longest(tok, i, LEXICON)
        if n:
            out.append((i, i + n, LEXICON[tuple(tok[i:i + n])]))
            i += n
        else:
            i += 1
    return out


def _parts(tok: Sequence[str], matches) -> List[List[Tuple[int, int]]]:
    """Clauses, each a list of comma-parts (start, end) token ranges; boundaries belong to no part."""
    stop = [t in STRONG for t in tok]
    for a, b, r in matches:
        if "terminator" in r:
            for k in range(a, b):
                stop[k] = True
    clauses: List[List[Tuple[int, int]]] = []
    cur: List[Tuple[int, int]] = []
    start = 0
    for i in range(len(tok) + 1):
        if i == len(tok) or stop[i] or tok[i] == ",":
            if i > start:
                cur.append((start, i))
            if i == len(tok) or stop[i]:
                if cur:
                    clauses.append(cur)
                cur = []
            start = i + 1
    return clauses


def _states(tok, matches, clauses) -> List[str]:
    """Per token: the strongest cue kind covering it, or "positive"."""
    prec = RULES["scope_precedence"]
    state = ["positive"] * len(tok)
    joiner_at = {a for a, b, r in matches if "joiner" in r}

    def cover(a: int, b: int, kind: str) -> None:
        for k in range(a, b):
            if state[k] == "positive" or prec.index(kind) < prec.index(state[k]):
                state[k] = kind

    for parts in clauses:
        for pi, (ps, pe) in enumerate(parts):
            for a, b, r in matches:
                if "cue" not in r or a < ps or a >= pe:
                    continue
                kind, scope = r["cue"]
                if scope in ("forward", "both"):
                    end = pe
                    for qs, qe in parts[pi + 1:]:  # a list: "no A, B, or C"
                        if any(qs <= j < qe for j in joiner_at):
                            end = qe
                    cover(b, end, kind)
                if scope in ("backward", "both"):
                    cover(ps, a, kind)
    return state


def _pathology_mentions(tok, matches, clauses, state) -> List[Tuple[int, str, str]]:
    """(token index, category, state) in text order."""
    out = [(a, r["term"], state[a]) for a, b, r in matches if "term" in r]
    for parts in clauses:
        for ps, pe in parts:
            for p in RULES["patterns"]:
                found = []
                for words in p["all"]:
                    hit = next((k for k in range(ps, pe) if tok[k] in words), None)
                    if hit is None:
                        break
                    found.append(hit)
                else:
                    k = max(found)
                    out.append((k, p["category"], p["state"] or state[k]))
    return sorted(out, key=lambda m: m[0])


def _cuts(s: int, a: int, b: int, e: int, mentions, marks) -> bool:
    """Whether a coordinator at [a, b) cuts [s, e): both sides name a pathology, the word before it is no location
    word ("the right and left lower lobes"), and a location belongs to the right side alone: before its first
    mention ("... and small right effusion"), or after the left side's last mention while the right side has one
    too ("consolidation in the right lower lobe and effusion on the left"). Otherwise the location is shared
    ("left lower lobe consolidation and atelectasis", "atelectasis and effusion at the right base")."""
    left = [m[0] for m in mentions if s <= m[0] < a]
    right = [m[0] for m in mentions if b <= m[0] < e]
    if not left or not right or marks[a - 1] is not None:
        return False
    loc = lambda x, y: any(marks[k] for k in range(x, y))  # noqa: E731
    return loc(b, right[0]) or (loc(left[-1], a) and loc(b, e))


def _segments(clauses, matches, mentions, marks) -> List[Tuple[int, int]]:
    """Comma-parts, cut before the coordinators that separate two findings (`_cuts`)."""
    coord = [(a, b) for a, b, r in matches if "coordinator" in r]
    out = []
    for parts in clauses:
        for ps, pe in parts:
            start = ps
            for a, b in coord:
                if start < a and b <= pe and _cuts(start, a, b, pe, mentions, marks):
                    out.append((start, a))
                    start = a
            out.append((start, pe))
    return out


def _groups(segments, matches, mentions) -> List[List[Tuple[int, int]]]:
    links = [a for a, b, r in matches if "link" in r]
    groups: List[List[Tuple[int, int]]] = []
    cur: List[Tuple[int, int]] = []
    cur_has = False
    for s, e in segments:
        first = next((m[0] for m in mentions if s <= m[0] < e), None)
        if first is not None and cur_has and not any(s <= k < first for k in links):
            groups.append(cur)
            cur, cur_has = [], False
        cur.append((s, e))
        cur_has = cur_has or first is not None
    if cur:
        groups.append(cur)
    return groups


def _best(states: Sequence[str]) -> str:
    pref = RULES["finding_preference"]
    return min(states, key=pref.index)


def _locations(tok, marks, idx: Sequence[int], category: Optional[str], present: bool) -> List[str]:
    if category in RULES["class_locations"]:
        return [RULES["class_locations"][category]] if present else []
    words = [tok[k] for k in idx if tok[k] not in STRONG and tok[k] != ","]
    mk = [marks[k] for k in idx if tok[k] not in STRONG and tok[k] != ","]
    found = [spell(s, z) for s, z in merge_sides(side_zone_mentions(words, mk))]
    if not found:
        for u in RULES["unsided_locations"]:
            if u["category"] == category and u["word"] in words:
                return [u["location"]]
    return found


def _finding(tok, marks, state, groups, mentions, category, cues_seen) -> Dict[str, Any]:
    own = [m for m in mentions if m[1] == category]
    if own:
        st = _best([m[2] for m in own])
        keep = PRESENT if st in PRESENT else ("negated", "resolved")
        at = [m[0] for m in own if m[2] in keep]
        chosen = [g for g in groups if any(s <= k < e for s, e in g for k in at)]
    else:  # a category the sentence never names: the sentence is its group, its state the best of its mentions
        # and location words ("right lower lobe, no effusion" is present), else the strongest cue
        pool = [m[2] for m in mentions] + [state[k] for k in range(len(tok)) if marks[k]]
        st = _best(pool) if pool else (cues_seen[0] if cues_seen else "positive")
        keep = PRESENT if st in PRESENT else ("negated", "resolved")
        chosen = groups
    idx = [k for g in chosen for s, e in g for k in range(s, e) if state[k] in keep]
    present = st in PRESENT
    locs = _locations(tok, marks, idx, category, present)
    if present:
        prompt = compose_prompt(" and ".join(locs), category) if locs else category.lower()
    else:
        prompt = None
    return {"pathology": category, "prompt": prompt, "locations": locs, "negated": not present,
            "resolved": st == "resolved", "uncertain": st == "uncertain"}


def standardise(text: str, category: Optional[str] = None) -> Dict[str, Any]:
    """Sentence (or phrase) -> {"prompt", "locations", "pathology", "negated", "resolved", "uncertain", "findings"}.
    `category` (one of PATHOLOGIES) when the pathology is given (MS-CXR rows); otherwise it is inferred.
    "negated" means stated absent, "resolved" (a subset) absent because it resolved; "findings" lists every
    pathology the sentence names, in order of first mention."""
    if category is not None and category not in PATHOLOGIES:
        raise ValueError(f"unknown category {category!r} (one of {', '.join(PATHOLOGIES)})")
    tok = tokenize(text)
    matches = _lexicon_matches(tok)
    clauses = _parts(tok, matches)
    state = _states(tok, matches, clauses)
    marks = location_marks(tok)
    mentions = _pathology_mentions(tok, matches, clauses, state)
    groups = _groups(_segments(clauses, matches, mentions, marks), matches, mentions)
    cues_seen = sorted({r["cue"][0] for a, b, r in matches if "cue" in r}, key=RULES["scope_precedence"].index)
    order: List[str] = []
    for m in mentions:
        if m[1] not in order:
            order.append(m[1])
    findings = [_finding(tok, marks, state, groups, mentions, c, cues_seen) for c in order]
    if category is not None:
        top = next((f for f in findings if f["pathology"] == category), None) or \
            _finding(tok, marks, state, groups, mentions, category, cues_seen)
    elif findings:
        first = {c: i for i, c in enumerate(order)}
        # present before absent; among present ones the diagnosis before the descriptor ("opacity ... likely
        # pneumonia"), then the first named; among absent ones the first named
        top = min(findings, key=lambda f: (f["negated"], 0 if f["negated"] else -TIER[f["pathology"]],
                                           first[f["pathology"]]))
    else:
        idx = [k for g in groups for s, e in g for k in range(s, e) if state[k] in PRESENT]
        top = {"pathology": None, "prompt": None, "locations": _locations(tok, marks, idx, None, True),
               "negated": False, "resolved": False, "uncertain": False}
    return dict(top, findings=findings)


def extract_location(text: str, category: Optional[str] = None) -> Optional[str]:
    """Location (method.md 4.1 vocabulary) of a phrase, or None (no location, or the finding is absent)."""
    r = standardise(text, category)
    return None if r["negated"] or not r["locations"] else " and ".join(r["locations"])


def prompt_for(text: str, category: str) -> Optional[str]:
    loc = extract_location(text, category)
    return None if loc is None else compose_prompt(loc, category)


_SWAP = {"left": "right", "right": "left", "Left": "Right", "Right": "Left", "LEFT": "RIGHT", "RIGHT": "LEFT"}


def swap_sides(text: str) -> str:
    """Swap the words left <-> right (whole words, case kept); "lingular" (left-only) is left as is."""
    return re.sub(r"\b(left|right|Left|Right|LEFT|RIGHT)\b", lambda m: _SWAP[m.group(1)], text)


def main(argv: Optional[Sequence[str]] = None) -> int:
    import argparse
    ap = argparse.ArgumentParser(prog="python -m sightline_eval.locations",
                                 description="Standardise a report sentence (JSON to stdout), or rewrite the shared vectors.")
    ap.add_argument("sentence", nargs="?")
    ap.add_argument("--category", choices=PATHOLOGIES)
    ap.add_argument("--write-outputs", action="store_true", help="rewrite test/vectors/standardiser-outputs.json")
    a = ap.parse_args(argv)
    if a.write_outputs:
        from .locations_vectors import OUTPUTS_PATH, write_outputs
        print(f"wrote {write_outputs()} cases to {OUTPUTS_PATH}")
        return 0
    if a.sentence is None:
        ap.error("give a sentence or --write-outputs")
    print(json.dumps(standardise(a.sentence, a.category), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
