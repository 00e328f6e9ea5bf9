"""Race/ethnicity and condition mentions for the course pattern report.

:func:`race_terms` turns the engine's race mentions (after sense checks, so "white
blood cell" is never one) into normalised group names; :func:`condition_names`
maps condition hits to the canonical names of the ``conditions`` lexicon sets.
"""

from __future__ import annotations

import re

from spacy.tokens import Doc

from .lexicon import CompiledRubric, Hit

#: Lexicon sets whose ``terms`` name conditions (see rubrics/lexicon/conditions.yaml).
CONDITION_SETS = ("conditions", "condition_abbreviations")
#: Race-related words that name no group ("race", "ethnicity"): not reported.
GENERIC_TERMS = frozenset(
    {
        "race",
        "races",
        "racial",
        "racially",
        "ethnic",
        "ethnicity",
        "ethnicities",
        "ethnically",
        "race/ethnicity",
        "race / ethnicity",
        "minority",
        "minorities",
    }
)
#: Whole-term spellings with one display form.
_ALIASES = {
    "caucasian": "White",
    "caucasians": "White",
    "jews": "Jewish",
    "latina": "Latino",
    "latinas": "Latino",
    "latinos": "Latino",
    "latinx": "Latino",
    "latine": "Latino",
    "afro american": "African American",
    "nonwhite": "non-White",
    "nonwhites": "non-White",
    "non whites": "non-White",
    "nonblack": "non-Black",
    "eskimos": "Eskimo",
    "arabs": "Arab",
    "indians": "Indian",
}
#: Group names completed when they stand alone ("Ashkenazi" -> "Ashkenazi Jewish").
_EXPAND = {"Ashkenazi": "Ashkenazi Jewish", "Ashkenazim": "Ashkenazi Jewish"}
_TRAILING = {"ancestry", "descent", "origin", "origins", "heritage", "background"}
_LOWER_WORDS = {"of", "and", "people", "persons", "women", "men", "communities"}
_SPLIT = re.compile(r"[\s\-–]+")


def _title(word: str) -> str:
    if word.lower() in _LOWER_WORDS:
        return word.lower()
    if word.lower() in ("color", "colour"):
        return "color"
    return word[:1].upper() + word[1:] if word.islower() else word


def normalise_race_term(text: str, vocabulary: frozenset[str] = frozenset()) -> str:
    """Display form of one race mention: "African-Americans" -> "African American",
    "blacks" -> "Black", "non-hispanic" -> "non-Hispanic", "Caucasian" -> "White".

    ``vocabulary`` (lower-case race phrases) is used to drop a plural "s".
    """
    words = [w for w in _SPLIT.split(text.strip()) if w]
    while len(words) > 1 and words[-1].lower() in _TRAILING:
        words.pop()
    if not words:
        return ""
    non = words[0].lower() == "non" and len(words) > 1
    if non:
        words = words[1:]
    low = " ".join(words).lower()
    if low in _ALIASES:
        out = _ALIASES[low]
    else:
        if low.endswith("s") and low[:-1] in vocabulary:
            words[-1] = words[-1][:-1]
        out = " ".join(_title(w) for w in words)
    return f"non-{out}" if non else out


def race_terms(doc: Doc, vocabulary: frozenset[str] = frozenset()) -> list[str]:
    """Normalised group names mentioned in ``doc`` (adjacent mentions merged:
    "Ashkenazi" + "Jewish" -> "Ashkenazi Jewish"), in order, without duplicates."""
    groups: list[list[Hit]] = []
    for h in doc._.race_mentions or ():
        if groups and groups[-1][-1].end == h.start:
            groups[-1].append(h)
        else:
            groups.append([h])
    out: list[str] = []
    for grp in groups:
        parts = [
            normalise_race_term(h.text, vocabulary)
            for h in grp
            if " ".join(h.text.lower().split()) not in GENERIC_TERMS
        ]
        parts = [p for p in parts if p]
        if not parts:
            continue
        name = " ".join(parts)
        name = _EXPAND.get(name, name)
        if name not in out:
            out.append(name)
    return out


def condition_names(doc: Doc, compiled: CompiledRubric) -> list[str]:
    """Canonical condition names in ``doc`` (longest match wins), in order."""
    hits = doc._.clinic_hits or {}
    cands: list[tuple[Hit, str]] = []
    for sname in CONDITION_SETS:
        canon = compiled.canonical.get(sname)
        if not canon:
            continue
        for h in hits.get(f"set:{sname}", ()):
            name = canon.get(" ".join(t.lower_ for t in doc[h.start : h.end]))
            if name:
                cands.append((h, name))
    cands.sort(key=lambda c: (-(c[0].end - c[0].start), c[0].start))
    taken: set[int] = set()
    chosen: list[tuple[int, str]] = []
    for h, name in cands:
        if any(i in taken for i in range(h.start, h.end)):
            continue
        taken.update(range(h.start, h.end))
        chosen.append((h.start, name))
    out: list[str] = []
    for _, name in sorted(chosen):
        if name not in out:
            out.append(name)
    return out
