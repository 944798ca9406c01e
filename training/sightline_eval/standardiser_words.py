"""The standardiser's rules and words (the counterpart of main/evaluation/standardiser/rules.ts and locations.ts):
the rules JSON both engines read, its lexicon, the tokenizer, location marks, (side, zone) mentions, the bilateral
merge, spelling and the prompt's composition. ``locations.py`` is the engine over them (see its module doc)."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

RULES_PATH = Path(__file__).resolve().parents[2] / "main" / "evaluation" / "standardiser" / "rules.json"
RULES: Dict[str, Any] = json.loads(RULES_PATH.read_text(encoding="utf-8"))

PATHOLOGIES = tuple(p["name"] for p in RULES["pathologies"])
TIER = {p["name"]: p["tier"] for p in RULES["pathologies"]}
PRESENT = ("positive", "uncertain")
TOKEN = re.compile(r"[a-z0-9]+|[.,;:!?\n/]")
STRONG = {".", ";", ":", "!", "?", "\n"}


def _split(phrase: str) -> Tuple[str, ...]:
    return tuple(phrase.split(" "))


def build_lexicon() -> Dict[Tuple[str, ...], Dict[str, Any]]:
    lex: Dict[Tuple[str, ...], Dict[str, Any]] = {}

    def role(phrase: str, key: str, value: Any) -> None:
        lex.setdefault(_split(phrase), {})[key] = value

    for cat, terms in RULES["terms"].items():
        for t in terms:
            role(t, "term", cat)
    for t in RULES["ignore_terms"]:
        role(t, "ignore", True)
    for c in RULES["cues"]:
        role(c["phrase"], "cue", (c["kind"], c["scope"]))
    for t in RULES["links"]:
        role(t, "link", True)
    for t in RULES["terminators"]:
        role(t, "terminator", True)
    for t in RULES["coordinators"]:
        role(t, "coordinator", True)
    for t in RULES["list_joiners"]:
        role(t, "joiner", True)
    return lex


LEXICON = build_lexicon()
REWRITES = {_split(a): _split(b) for a, b in RULES["rewrites"]}


def longest(tokens: Sequence[str], i: int, table: Dict[Tuple[str, ...], Any]) -> int:
    """Length of the longest phrase of `table` starting at token i (0 when none)."""
    for n in range(min(8, len(tokens) - i), 0, -1):
        if tuple(tokens[i:i + n]) in table:
            return n
    return 0


def tokenize(text: str) -> List[str]:
    t = re.sub(r"[A-Z]", lambda m: m.group(0).lower(), text).replace("'", "").replace("\u2019", "").replace("-", " ")
    raw = TOKEN.findall(t)
    out: List[str] = []
    i = 0
    while i < len(raw):
        n = longest(raw, i, REWRITES)
        if n:
            out.extend(REWRITES[tuple(raw[i:i + n])])
            i += n
        else:
            out.append(raw[i])
            i += 1
    return out


def location_marks(tok: Sequence[str]) -> List[Optional[Tuple[str, ...]]]:
    """Per token: ("side", s), ("zone", z, plural), ("sided", s, z) or None."""
    sides, zones, plural = RULES["sides"], RULES["zones"], RULES["plural_zones"]
    pl = RULES["pleural"]
    out: List[Optional[Tuple[str, ...]]] = []
    for i, w in enumerate(tok):
        nxt = tok[i + 1] if i + 1 < len(tok) else ""
        if w in RULES["sided_zones"]:
            s, z = RULES["sided_zones"][w]
            out.append(("sided", s, z))
        elif w in sides:
            out.append(("side", sides[w]))
        elif w in plural:
            out.append(("zone", plural[w], "plural"))
        elif w in zones:
            out.append(("zone", zones[w], "plural" if nxt in RULES["plural_nouns"] else ""))
        elif w == pl["word"] and nxt in pl["before"]:
            out.append(("zone", pl["zone"], ""))
        else:
            out.append(None)
    return out


def side_zone_mentions(words: Sequence[str], marks: Sequence[Optional[Tuple[str, ...]]]) -> List[Tuple[str, str]]:
    """(side, zone) mentions in order; zone "" for a bare side."""
    out: List[Tuple[str, str]] = []
    group: List[str] = []
    used = True
    pending: List[str] = []

    def add(s: str, z: str) -> None:
        if (s, z) not in out:
            out.append((s, z))

    for i, m in enumerate(marks):
        prev = words[i - 1] if i > 0 else ""
        if m is None:
            continue
        if m[0] == "sided":
            add(m[1], m[2])
        elif m[0] == "side":
            side = m[1]
            if group and not used and prev in RULES["side_joiners"]:
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
        else:
            zone = m[1]
            if group:
                for g in group:
                    add(g, zone)
                used = True
            elif m[2]:
                add("bilateral", zone)
            else:
                pending.append(zone)
    if group and not used:
        for g in group:
            add(g, "")
    return out


def merge_sides(mentions: List[Tuple[str, str]]) -> List[Tuple[str, str]]:
    """left + right of one zone -> bilateral; bilateral absorbs one-sided duplicates; the generic zone ("pleural")
    goes when the same side has a specific one; a bare side goes when that side (or bilateral) has a zone."""
    generic = RULES["generic_zone"]
    bilateral_zones = [z for s, z in mentions if s == "bilateral"]
    for s, z in mentions:
        if s == "left" and ("right", z) in mentions:
            bilateral_zones.append(z)
    out: List[Tuple[str, str]] = []
    for s, z in mentions:
        item = ("bilateral", z) if z in bilateral_zones else (s, z)
        if item not in out:
            out.append(item)
    specific = {s for s, z in out if z not in ("", generic)}
    out = [(s, z) for s, z in out if not (z == generic and s in specific)]
    sided = {s for s, z in out if z}
    return [(s, z) for s, z in out if z or (s not in sided and not (s != "bilateral" and "bilateral" in sided))]


def spell(side: str, zone: str) -> str:
    key = f"{side} {zone}".strip()
    return RULES["spellings"].get(key, key)


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
