"""Matching a new version's findings to the previous version's (no Flask, no models).

Like SonarQube's issue tracking across analyses: first the same criterion in the
same normalised sentence, then the same criterion in a close sentence. Matched
findings persist (and keep their decisions); unmatched previous ones are resolved.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from difflib import SequenceMatcher

CLOSE_ENOUGH = 0.75
_NON_WORD = re.compile(r"[^\w]+")


def normalise_sentence(sentence: str) -> str:
    """Lower case, compatibility-normalised, punctuation and spacing collapsed."""
    text = unicodedata.normalize("NFKC", sentence).casefold()
    return _NON_WORD.sub(" ", text).strip()


def sentence_key(sentence: str) -> str:
    """A stable digest of the normalised sentence, for exact matching in SQL."""
    return hashlib.sha256(normalise_sentence(sentence).encode()).hexdigest()


@dataclass(frozen=True)
class Item:
    """What matching needs of a finding."""

    id: int
    criterion_id: str
    sentence: str
    matched_text: str = ""


@dataclass
class MatchResult:
    matched: dict[int, int] = field(default_factory=dict)  # current id -> previous id
    new: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)


def match(
    previous: list[Item], current: list[Item], threshold: float = CLOSE_ENOUGH
) -> MatchResult:
    """Pair current findings with previous ones; see the module docstring."""
    result = MatchResult()
    free_previous = {p.id: p for p in previous}
    pending: list[Item] = []

    by_key: dict[tuple[str, str], list[Item]] = {}
    for p in previous:
        by_key.setdefault((p.criterion_id, normalise_sentence(p.sentence)), []).append(
            p
        )
    for c in current:
        candidates = by_key.get((c.criterion_id, normalise_sentence(c.sentence)), [])
        # Prefer the same matched words when a sentence has two findings of one criterion.
        candidates.sort(
            key=lambda p: p.matched_text.casefold() != c.matched_text.casefold()
        )
        if candidates:
            chosen = candidates.pop(0)
            result.matched[c.id] = chosen.id
            del free_previous[chosen.id]
        else:
            pending.append(c)

    scored = []
    for c in pending:
        norm_c = normalise_sentence(c.sentence)
        for p in free_previous.values():
            if p.criterion_id != c.criterion_id:
                continue
            ratio = SequenceMatcher(
                None, norm_c, normalise_sentence(p.sentence), autojunk=False
            ).ratio()
            if ratio >= threshold:
                scored.append((ratio, c.id, p.id))
    taken_current: set[int] = set()
    for _ratio, c_id, p_id in sorted(scored, reverse=True):
        if c_id in taken_current or p_id not in free_previous:
            continue
        result.matched[c_id] = p_id
        taken_current.add(c_id)
        del free_previous[p_id]

    result.new = [c.id for c in current if c.id not in result.matched]
    result.resolved = list(free_previous)
    return result
