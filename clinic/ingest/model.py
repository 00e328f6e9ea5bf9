"""Data model for extracted documents: locations, segments and documents."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Box run: (start, end, left, bottom, right, top). It covers ``text[start:end]``
# and is in PDF points, in the page's unrotated user space (origin bottom-left).
Box = tuple[int, int, float, float, float, float]
Rect = tuple[float, float, float, float]

_PARTS_SHOWN_FOR_BODY = {None, "body"}


@dataclass(frozen=True)
class Location:
    """Where a segment sits in its document.

    ``kind`` is "page", "slide", "paragraph", "table", "header", "footer",
    "footnote", "endnote", "comment", "textbox" or "line"; ``number`` is 1-based
    (page, slide, paragraph, table, footnote number, section for headers, first
    line for text files); ``part`` narrows it ("title", "body", "table", "chart",
    "notes", "heading", "list"...); ``index`` is a 1-based position inside the
    part (bullet, table row, block on a page). ``level`` is a heading's level (1-6)
    or a list item's or slide bullet's nesting depth (1 = top level).
    """

    kind: str
    number: int | None = None
    part: str | None = None
    index: int | None = None
    level: int | None = None

    def label(self) -> str:
        """Human text such as "page 12", "slide 7 (notes)", "table 2, row 3", "header"."""
        kind, number, part = self.kind, self.number, self.part
        if kind in ("header", "footer"):
            base = kind if number in (None, 1) else f"{kind} (section {number})"
            return base if part in (None, kind) else f"{base} ({part})"
        base = kind if number is None else f"{kind} {number}"
        if kind == "table" and self.index is not None:
            base += f", row {self.index}"
        if kind == "slide":
            return base if part in _PARTS_SHOWN_FOR_BODY else f"{base} ({part})"
        if part and kind not in ("page", "line", "paragraph"):
            return f"{base} ({part})"
        return base

    def __str__(self) -> str:
        return self.label()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (None fields omitted)."""
        out: dict[str, Any] = {"kind": self.kind}
        for key in ("number", "part", "index", "level"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Location:
        """Inverse of :meth:`to_dict`."""
        return cls(
            kind=data["kind"],
            number=data.get("number"),
            part=data.get("part"),
            index=data.get("index"),
            level=data.get("level"),
        )


# Relative advance widths (Helvetica, 1/1000 em) used to place characters
# inside a box that covers several characters.
_NARROW = dict.fromkeys("ijlI.,;:'!|`\u2019\u2018", 250)
_NARROW.update(dict.fromkeys('ftr()[]{}-\u2010/\\"', 333))
_NARROW[" "] = 278
_WIDE = dict.fromkeys("mwMW@%", 860)


def _char_weight(ch: str) -> int:
    w = _NARROW.get(ch) or _WIDE.get(ch)
    if w:
        return w
    return 680 if ch.isupper() else 556


@dataclass
class Segment:
    """A unit of analysable text (PDF text block, bullet, paragraph, table row...).

    For PDFs, ``boxes`` holds runs ``(start, end, left, bottom, right, top)`` in PDF
    points: each covers ``text[start:end]`` (a line, a word or a single character).
    ``page_box`` is the page's crop box ``(left, bottom, right, top)`` and
    ``rotation`` its /Rotate value; use :meth:`highlight_rects` to draw findings.
    """

    text: str
    location: Location
    boxes: list[Box] | None = None
    page_box: Rect | None = None
    rotation: int = 0

    def char_boxes(self) -> list[Rect | None]:
        """Per-character boxes aligned with ``text`` (None where a char has no box)."""
        out: list[Rect | None] = [None] * len(self.text)
        for start, end, left, bottom, right, top in self.boxes or ():
            for i, (x0, x1) in enumerate(self._split_run(start, end, left, right)):
                if 0 <= start + i < len(out):
                    out[start + i] = (x0, bottom, x1, top)
        return out

    def _split_run(self, start: int, end: int, left: float, right: float):
        chars = self.text[start:end]
        if len(chars) <= 1:
            return [(left, right)]
        weights = [_char_weight(c) for c in chars]
        total = float(sum(weights))
        scale = (right - left) / total
        out, acc = [], left
        for w in weights:
            out.append((acc, acc + w * scale))
            acc += w * scale
        return out

    def highlight_rects(self, start: int, end: int) -> list[Rect]:
        """Rectangles covering ``text[start:end]``, one per line, as fractions of the
        rendered page: ``(x0, y0, x1, y1)`` in 0..1 with a top-left origin.

        Returns [] for segments without boxes (non-PDF documents).
        """
        if not self.boxes or not self.page_box or end <= start:
            return []
        pieces: list[list[float]] = []
        for r_start, r_end, left, bottom, right, top in self.boxes:
            lo, hi = max(start, r_start), min(end, r_end)
            if lo >= hi:
                continue
            if lo == r_start and hi == r_end:
                x0, x1 = left, right
            else:
                split = self._split_run(r_start, r_end, left, right)
                x0, x1 = split[lo - r_start][0], split[hi - 1 - r_start][1]
            for piece in pieces:  # same line: vertical overlap of at least half
                overlap = min(piece[3], top) - max(piece[1], bottom)
                if overlap > 0.5 * min(piece[3] - piece[1], top - bottom):
                    piece[0], piece[2] = min(piece[0], x0), max(piece[2], x1)
                    piece[1], piece[3] = min(piece[1], bottom), max(piece[3], top)
                    break
            else:
                pieces.append([x0, bottom, x1, top])
        return [self._normalise(*p) for p in pieces]

    def _normalise(self, left: float, bottom: float, right: float, top: float) -> Rect:
        pl, pb, pr, pt = self.page_box  # type: ignore[misc]
        w, h = (pr - pl) or 1.0, (pt - pb) or 1.0
        # fractions in unrotated page space, top-left origin
        x0, x1 = (left - pl) / w, (right - pl) / w
        y0, y1 = (pt - top) / h, (pt - bottom) / h
        rot = self.rotation % 360
        if rot == 90:  # page turned clockwise for display
            x0, y0, x1, y1 = 1 - y1, x0, 1 - y0, x1
        elif rot == 180:
            x0, y0, x1, y1 = 1 - x1, 1 - y1, 1 - x0, 1 - y0
        elif rot == 270:
            x0, y0, x1, y1 = y0, 1 - x1, y1, 1 - x0
        clamp = lambda v: round(min(1.0, max(0.0, v)), 5)
        return (clamp(x0), clamp(y0), clamp(x1), clamp(y1))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; PDF geometry included only when present."""
        out: dict[str, Any] = {"text": self.text, "location": self.location.to_dict()}
        if self.boxes is not None:
            out["boxes"] = [
                [s, e, *(round(v, 2) for v in geom)] for s, e, *geom in self.boxes
            ]
            out["page_box"] = list(self.page_box) if self.page_box else None
            out["rotation"] = self.rotation
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Segment:
        """Inverse of :meth:`to_dict`."""
        boxes = data.get("boxes")
        page_box = data.get("page_box")
        return cls(
            text=data["text"],
            location=Location.from_dict(data["location"]),
            boxes=[tuple(b) for b in boxes] if boxes is not None else None,  # type: ignore[misc]
            page_box=tuple(page_box) if page_box else None,  # type: ignore[arg-type]
            rotation=int(data.get("rotation") or 0),
        )


@dataclass
class ExtractedDocument:
    """Result of :func:`clinic.ingest.extract`."""

    kind: str  # "pdf" | "pptx" | "docx" | "text" | "markdown"
    filename: str
    segments: list[Segment] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    page_count: int | None = None  # pages (PDF) or slides (PPTX); None otherwise
    word_count: int = 0
    title: str | None = None

    @property
    def text(self) -> str:
        """All segment texts joined by blank lines (handy for quick analysis)."""
        return "\n\n".join(s.text for s in self.segments)

    def to_dict(self, include_boxes: bool = True) -> dict[str, Any]:
        """JSON-ready dict of the whole document."""
        segments = []
        for seg in self.segments:
            d = seg.to_dict()
            if not include_boxes:
                d.pop("boxes", None)
            segments.append(d)
        return {
            "kind": self.kind,
            "filename": self.filename,
            "title": self.title,
            "page_count": self.page_count,
            "word_count": self.word_count,
            "warnings": list(self.warnings),
            "segments": segments,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExtractedDocument:
        """Inverse of :meth:`to_dict`."""
        return cls(
            kind=data["kind"],
            filename=data.get("filename", ""),
            segments=[Segment.from_dict(s) for s in data.get("segments", [])],
            warnings=list(data.get("warnings", [])),
            page_count=data.get("page_count"),
            word_count=int(data.get("word_count") or 0),
            title=data.get("title"),
        )
