"""Document context: which headings, titles and parent bullets hold each segment.

Segments may be plain strings (no structure) or objects with ``text`` and a
``location`` carrying ``kind``, ``number``, ``part`` and ``level`` (as
:class:`clinic.ingest.Segment` does). Headings and slide titles frame everything
below them up to the next heading of the same or a higher level; a list item
frames the items nested under it; a paragraph that ends with a colon frames the
list that follows it; a table's first row frames its other rows.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from .decision import Frame, UnitContext
from .lexicon import CompiledRubric

_HEADING_PARTS = ("heading", "title")
_MAX_FRAME_CHARS = 300


def _loc(seg):
    return getattr(seg, "location", None)


def _text(seg) -> str:
    return seg if isinstance(seg, str) else getattr(seg, "text", "") or ""


class FrameReader:
    """Cue sets present in frame texts (cached: headings repeat across a corpus)."""

    def __init__(self, compiled: CompiledRubric, wanted: frozenset[str]):
        self.compiled = compiled
        self.wanted = wanted
        self.read = lru_cache(maxsize=4096)(self._read)
        self._regex_sets: dict[frozenset[str], tuple | None] = {}

    def _read(self, text: str) -> frozenset[str]:
        text = " ".join(text.split())[:_MAX_FRAME_CHARS]
        if not text:
            return frozenset()
        doc = self.compiled.nlp.make_doc(text)
        hits = self.compiled.match(doc)
        return frozenset(k[4:] for k, v in hits.items() if v and k[4:] in self.wanted)

    def holds_any(self, text: str, names: frozenset[str]) -> bool:
        """Does ``text``, read as a frame, hold a cue of one of the sets ``names``?

        Sets of regexes alone are searched without tokenising (a long paragraph
        is tested this way for a reference entry).
        """
        rxs = self._regexes_of(names)
        if rxs is None:
            return not self.read(text).isdisjoint(names)
        text = " ".join(text.split())[:_MAX_FRAME_CHARS]
        return any(rx.search(text) for rx in rxs)

    def _regexes_of(self, names: frozenset[str]) -> tuple | None:
        if names not in self._regex_sets:
            lexicon = self.compiled.rubric.lexicon
            keys = {f"set:{n}" for n in names}
            plain = all(
                n in lexicon and not (lexicon[n].phrases or lexicon[n].patterns)
                for n in names
            )
            self._regex_sets[names] = (
                tuple(rx for key, rx in self.compiled.regexes if key in keys)
                if plain
                else None
            )
        return self._regex_sets[names]

    def frame(self, text: str, kind: str) -> Frame:
        return Frame(" ".join(text.split())[:_MAX_FRAME_CHARS], kind, self.read)


def _aa_homonym(texts: Sequence[str], pattern: re.Pattern | None) -> bool:
    if pattern is None:
        return False
    return any(pattern.search(t) for t in texts)


def document_contexts(
    segments: Sequence, reader: FrameReader, aa_pattern: re.Pattern | None = None
) -> list[UnitContext]:
    """One :class:`UnitContext` per segment, from the document's structure."""
    texts = [_text(s) for s in segments]
    aa = _aa_homonym(texts, aa_pattern)
    headings: list[tuple[int, Frame]] = []
    items: list[tuple[int, Frame]] = []
    lead: Frame | None = None
    header_row: tuple[tuple, Frame] | None = None
    slide = None
    out: list[UnitContext] = []
    for seg, text in zip(segments, texts):
        loc = _loc(seg)
        kind = getattr(loc, "kind", None)
        number = getattr(loc, "number", None)
        part = getattr(loc, "part", None)
        level = getattr(loc, "level", None)
        if kind == "slide" and number != slide:
            headings, items, lead, header_row, slide = [], [], None, None, number
        stripped = text.strip()
        if loc is None:
            out.append(UnitContext(aa_homonym=aa))
            continue
        if part in _HEADING_PARTS:
            lvl = level or 1
            headings = [(h, f) for h, f in headings if h < lvl]
            ctx = UnitContext(
                tuple(f for _, f in headings), heading=True, aa_homonym=aa
            )
            headings.append((lvl, reader.frame(stripped, part)))
            items, lead, header_row = [], None, None
            out.append(ctx)
            continue
        frames = [f for _, f in headings]
        is_item = part == "list" or (kind == "slide" and level is not None)
        if is_item:
            lvl = level or 1
            items = [(i, f) for i, f in items if i < lvl]
            if lead is not None:
                frames.append(lead)
            frames += [f for _, f in items]
            items.append((lvl, reader.frame(stripped, "parent bullet")))
        elif kind == "table" or part == "table":
            key = (kind, number, part)
            if header_row is None or header_row[0] != key:
                header_row = (key, reader.frame(stripped, "table header"))
            else:
                frames.append(header_row[1])
            items, lead = [], None
        else:
            if part != "notes":
                items = []
            if lead is not None:
                frames.append(lead)
            lead = None
        out.append(UnitContext(tuple(frames), aa_homonym=aa))
        if not is_item and stripped.endswith(":") and len(stripped) <= 200:
            lead = reader.frame(stripped, "lead-in")
        elif not is_item and kind != "table" and part != "table":
            lead = None
    return out
