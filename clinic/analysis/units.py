"""Split a segment's text into the units the engine decides on.

A unit is a sentence, a line of a note, a bullet or a table cell: what a coach
reads as one statement. Offsets always index into the original text.
"""

from __future__ import annotations

import re

_ABBREV = {
    "e.g",
    "i.e",
    "eg",
    "ie",
    "vs",
    "dr",
    "mr",
    "mrs",
    "ms",
    "al",
    "fig",
    "figs",
    "approx",
    "no",
    "st",
    "ref",
    "refs",
    "cf",
    "etc",
    "jr",
    "sr",
    "ca",
    "vol",
    "pp",
    "pt",
    "pts",
    "yr",
    "yrs",
    "min",
    "max",
    "resp",
    "esp",
    "incl",
    "usu",
}
# end of a sentence: punctuation (and closing quotes/brackets), then whitespace
_END_RE = re.compile(r"[.!?]+[\"”’')\]]*\s+|\n|\s\|\s|\t")
# a sentence starts with a capital, a digit, a bracket, a quote or emphasis marker,
# or a word such as "eGFR", "mRNA" or "pH" (lower-case first letter, then a capital)
_STARTS_SENTENCE = re.compile(r"[A-Z0-9(\[\"“‘'*_•\-–]|[a-z]{1,3}[A-Z]")
_BULLET_RE = re.compile(r"\s*(?:[-•*▪◦–—·+]|\d{1,2}[.)]|[a-z][.)])\s")
_LAST_WORD_RE = re.compile(r"([A-Za-z][A-Za-z.]*)[.!?]+[\"”’')\]]*$")
_CONTINUES_PREV = re.compile(r"[a-z,;:\-(]$")
_CONTINUES_NEXT = re.compile(r"[a-z(]")
# a line that ends in a comma or a function word goes on, whatever the next one starts with
_OPEN_END = re.compile(
    r"(?:[,;(\-–]|\b(?:a|an|the|of|in|on|at|to|for|from|with|by|as|and|or|than|"
    r"is|are|was|were|be|been|that|which|who|whose|among|between|into|per))$",
    re.IGNORECASE,
)


def split_units(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` offsets of the units of ``text``.

    Units end after ``.!?`` followed by whitespace and a capital, digit, bracket or
    quote (not after common abbreviations or initials), at table-cell separators
    (`` | `` and tabs) and at line breaks, except where a line continues the
    previous one (it ends in a lower-case letter or ``, ; : - (`` and the next line
    starts in lower case): hard-wrapped prose stays one sentence.
    """
    spans: list[tuple[int, int]] = []
    start = 0
    n = len(text)
    for m in _END_RE.finditer(text):
        sep = m.group(0)
        cut = m.end()
        if sep == "\n":
            line_start = text.rfind("\n", 0, m.start()) + 1
            line = text[line_start : m.start()].rstrip()
            nxt = text[m.end() : m.end() + 8]
            if (
                line
                and _BULLET_RE.match(nxt) is None
                and (
                    (_CONTINUES_PREV.search(line) and _CONTINUES_NEXT.match(nxt))
                    or _OPEN_END.search(line)
                )
            ):
                continue
        elif sep.strip() in ("|", ""):
            if sep == "\t" and not text[start : m.start()].strip():
                continue
        else:
            if cut < n and not _STARTS_SENTENCE.match(text, cut):
                continue
            lw = _LAST_WORD_RE.search(
                text,
                max(start, m.start() - 12),
                m.end() - (len(sep) - len(sep.rstrip())),
            )
            if lw:
                word = lw.group(1).rstrip(".").lower()
                if word in _ABBREV or (len(word) == 1 and word.isalpha()):
                    continue
        _push(text, start, m.start() if sep.strip() == "|" else cut, spans)
        start = cut
    _push(text, start, n, spans)
    return spans


def _push(text: str, s: int, e: int, spans: list[tuple[int, int]]) -> None:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    if e > s:
        spans.append((s, e))


_TITLE_WORD = re.compile(r"[A-Za-z][A-Za-z'’\-]*")


def looks_like_title(unit: str) -> bool:
    """A short line in Title Case ("Racial Disparities in Sepsis Management"): a
    heading or the title of a cited work, not a teaching claim. Extraction from
    PDFs loses heading styles; the capitals survive."""
    words = _TITLE_WORD.findall(unit)
    if not 2 <= len(words) <= 14:
        return False
    long = [w for w in words if len(w) >= 4]
    if len(long) < 2:
        return False
    capped = sum(w[0].isupper() for w in long)
    return capped == len(long)


#: Kept for callers of the earlier name.
split_sentences = split_units
