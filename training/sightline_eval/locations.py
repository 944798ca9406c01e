"""Offline location extractor: free-text phrase -> "{location} {pathology}" prompt (docs/method.md 4.1).

The paper used RadGraph-XL; this is a lexicon + rules replacement with the same output vocabulary
(27 locations: {left, right, bilateral} x {"", apical, upper, middle, lower, costophrenic, pleural, base},
"bilateral base" written "bibasilar", plus lingular, cardiomegaly, pulmonary; several joined with " and ").

Rules (in order):
1. Split the text into sentences and clauses (at commas, semicolons, " but "); drop those with a negation or
   resolution cue ("no", "not", "without", "resolved", "free of", "negative for"...). Nothing left -> no location.
2. Lower-case, hyphens to spaces; words are scanned left to right. Side words (left, right, bilateral,
   bilaterally, both, bibasilar/bibasal = bilateral + base) set the current side; zone words (apical/apex,
   upper, mid/middle, lower, costophrenic, pleural [not in "pleural effusion" of a Pleural Effusion phrase...
   see below], base/basal/basilar/bases, retrocardiac = left lower, lingula/lingular) attach to the current side;
   zones seen before any side wait for the next side ("lower lobes bilaterally"); a plural zone noun without a side
   ("the lung bases", "apices") means bilateral; a side with no zone gives the bare side.
3. "pleural" counts as a location only when it directly precedes "effusion(s)" or "space" (the world's and
   RadGraph's reading of "left pleural effusion" -> "left pleural"); "pleural line/thickening" do not count.
4. "pleural" is dropped when the same side also has a more specific zone. Left and right with the same zone
   merge into bilateral (one sentence or phrase), bilateral base -> "bibasilar";
   a bilateral zone absorbs its one-sided duplicates; order of first mention is kept; joined with " and ".
5. Class-specific: Cardiomegaly phrases get "cardiomegaly" (the enlarged heart area); an Edema phrase with no
   side/zone but the word "pulmonary" gets "pulmonary".
The prompt is "{location} {pathology}" with pathology = the lower-cased category; words shared by the end of the
location and the start of the pathology are written once ("left pleural" + "pleural effusion" ->
"left pleural effusion"; "cardiomegaly" + "cardiomegaly" -> "cardiomegaly") [our choice].
"""
from __future__ import annotations

import re
from typing import List, Optional, Sequence, Tuple

PATHOLOGIES = ("Atelectasis", "Cardiomegaly", "Consolidation", "Edema", "Lung Opacity", "Pleural Effusion",
               "Pneumonia", "Pneumothorax")

NEGATION_CUES = (
    r"\bno\b", r"\bnot\b", r"\bwithout\b", r"\bresolved\b", r"\bresolution\b", r"\bresolving\b", r"\bfree of\b",
    r"\bnegative for\b", r"\babsence of\b", r"\babsent\b", r"\bclear(?:ed)?\b", r"\bnone\b", r"\bdisappeared\b",
)
_NEG = re.compile("|".join(NEGATION_CUES))

SIDE_WORDS = {"left": "left", "right": "right", "bilateral": "bilateral", "bilaterally": "bilateral",
              "both": "bilateral"}
ZONE_WORDS = {
    "apical": "apical", "apex": "apical", "apices": "apical*", "apically": "apical",
    "upper": "upper", "mid": "middle", "middle": "middle",
    "lower": "lower", "costophrenic": "costophrenic",
    "base": "base", "basal": "base", "basilar": "base", "bases": "base*", "basally": "base",
}
# words that imply side + zone
SIDED_ZONES = {"bibasilar": ("bilateral", "base"), "bibasal": ("bilateral", "base"),
               "retrocardiac": ("left", "lower"), "lingula": ("left", "lingular"), "lingular": ("left", "lingular")}


def sentences(text: str) -> List[str]:
    """Sentences, further split into clauses at commas, semicolons and " but " (negation scope)."""
    parts = re.split(r"(?<=[.;!?])\s+|\n+|[,;]\s*|\s+but\s+", text.strip())
    return [p for p in (s.strip() for s in parts) if p]


def is_negated(sentence: str) -> bool:
    return bool(_NEG.search(sentence.lower()))


def _words(text: str) -> List[str]:
    t = text.lower().replace("-", " ")
    return re.findall(r"[a-z]+", t)


def _mentions(words: Sequence[str]) -> List[Tuple[str, str]]:
    """(side, zone) mentions in order; zone "" for a bare side. Sides joined by "and"/"or" share the zones that
    follow them ("the right and left lower lobes")."""
    out: List[Tuple[str, str]] = []
    group: List[str] = []  # current side(s)
    used = True
    pending: List[str] = []

    def add(s, z):
        if (s, z) not in out:
            out.append((s, z))

    for i, w in enumerate(words):
        nxt = words[i + 1] if i + 1 < len(words) else ""
        prev = words[i - 1] if i > 0 else ""
        if w in SIDED_ZONES:
            add(*SIDED_ZONES[w])
            continue
        if w in SIDE_WORDS:
            side = SIDE_WORDS[w]
            if group and not used and prev in ("and", "or"):
                group.append(side)
            else:
                if group and not used:
                    for g in group:
                        add(g, "")
                group, used = [side], False
            if pending:
                for z in pending:
                    for g in group:
                        add(g, z)
                pending, used = [], True
            continue
        zone = ZONE_WORDS.get(w)
        if w == "pleural" and nxt in ("effusion", "effusions", "space", "spaces", "fluid"):
            zone = "pleural"
        if zone is None:
            continue
        plural = zone.endswith("*")
        zone = zone.rstrip("*")
        if group:
            for g in group:
                add(g, zone)
            used = True
        elif plural:
            add("bilateral", zone)
        else:
            pending.append(zone)
    if group and not used:
        for g in group:
            add(g, "")
    return out


def _merge(mentions: List[Tuple[str, str]]) -> List[Tuple[str, str]]:
    """left + right of one zone -> bilateral; bilateral absorbs one-sided duplicates; a bare side is dropped when
    the same side also has a zone."""
    zones_bilateral = {z for s, z in mentions if s == "bilateral"}
    for s, z in mentions:
        if s == "left" and ("right", z) in mentions:
            zones_bilateral.add(z)
    out: List[Tuple[str, str]] = []
    for s, z in mentions:
        if z == "lingular":
            item = ("left", "lingular")
        elif z in zones_bilateral and s in ("left", "right", "bilateral"):
            item = ("bilateral", z)
        else:
            item = (s, z)
        if item not in out:
            out.append(item)
    # "pleural" (from "... pleural effusion") is the generic place of an effusion: drop it when the same side
    # also has a specific zone ("blunting of both costophrenic angles ... bilateral pleural effusions")
    specific = {s for s, z in out if z not in ("", "pleural")}
    out = [(s, z) for s, z in out if not (z == "pleural" and s in specific)]
    sided = {s for s, z in out if z}
    out = [(s, z) for s, z in out if z or s not in sided and not (s in ("left", "right") and "bilateral" in sided)]
    return out


def spell(side: str, zone: str) -> str:
    if zone == "lingular":
        return "lingular"
    if side == "bilateral" and zone == "base":
        return "bibasilar"
    return f"{side} {zone}".strip()


def extract_location(text: str, category: Optional[str] = None) -> Optional[str]:
    """Location (method.md 4.1 vocabulary) of a phrase, or None (no location, or only negated sentences)."""
    kept = [s for s in sentences(text) if not is_negated(s)]
    if not kept:
        return None
    if category == "Cardiomegaly":
        return "cardiomegaly"
    words = _words(" ".join(kept))
    mentions = _merge(_mentions(words))
    if mentions:
        return " and ".join(spell(s, z) for s, z in mentions)
    if category == "Edema" and "pulmonary" in words:
        return "pulmonary"
    return None


def compose_prompt(location: str, pathology: str) -> str:
    """"{location} {pathology}" with the overlapping words written once (see module doc)."""
    loc = location.split()
    pat = pathology.lower().split()
    k = 0
    for n in range(min(len(loc), len(pat)), 0, -1):
        if loc[-n:] == pat[:n]:
            k = n
            break
    return " ".join(loc + pat[k:])


def prompt_for(text: str, category: str) -> Optional[str]:
    loc = extract_location(text, category)
    return None if loc is None else compose_prompt(loc, category)


_SWAP = {"left": "right", "right": "left", "Left": "Right", "Right": "Left", "LEFT": "RIGHT", "RIGHT": "LEFT"}


def swap_sides(text: str) -> str:
    """Swap the words left <-> right (whole words, case kept); "lingular" (left-only) is left as is."""
    return re.sub(r"\b(left|right|Left|Right|LEFT|RIGHT)\b", lambda m: _SWAP[m.group(1)], text)
