"""DOCX extraction with python-docx: body in document order, headers, footers,
footnotes, endnotes and comments."""

from __future__ import annotations

import io

from lxml import etree

from .errors import TooLargeError, UnsupportedTypeError
from .limits import IngestLimits
from .model import Location, Segment

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
_P, _TBL, _SDT, _TR, _TC = (f"{{{W}}}{t}" for t in ("p", "tbl", "sdt", "tr", "tc"))
_T, _TAB, _BR, _CR, _TXBX = (
    f"{{{W}}}{t}" for t in ("t", "tab", "br", "cr", "txbxContent")
)
_DEL, _FALLBACK = f"{{{W}}}del", f"{{{MC}}}Fallback"
_SKIP = {_TXBX, _DEL, _FALLBACK, f"{{{W}}}instrText"}

RT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
_NOTE_PARTS = (
    ("footnotes", "footnote", f"{{{W}}}footnote"),
    ("endnotes", "endnote", f"{{{W}}}endnote"),
    ("comments", "comment", f"{{{W}}}comment"),
)


def _clean(text: str) -> str:
    return " ".join(text.split())


def _para_text(p) -> str:
    """Visible text of a ``w:p``, without nested text boxes or deleted runs."""
    out: list[str] = []
    stack = [iter(p)]
    while stack:
        for el in stack[-1]:
            tag = el.tag
            if not isinstance(tag, str) or tag in _SKIP:
                continue
            if tag == _T:
                out.append(el.text or "")
            elif tag in (_TAB, _BR, _CR):
                out.append(" ")
            elif len(el):
                stack.append(iter(el))
                break
        else:
            stack.pop()
    return _clean("".join(out))


def _text_boxes(p) -> list:
    """``w:txbxContent`` elements inside a paragraph (skipping VML fallbacks)."""
    found = []
    for box in p.iter(_TXBX):
        anc = box.getparent()
        ok = True
        while anc is not None and anc is not p:
            if anc.tag == _FALLBACK:
                ok = False
                break
            anc = anc.getparent()
        if ok:
            found.append(box)
    return found


def _row_text(tr) -> str:
    cells = []
    for tc in tr.iter(_TC):
        # only direct cells of this row (nested tables handled by iter of their paragraphs)
        if tc.getparent() is not tr and tc.getparent().tag != f"{{{W}}}sdtContent":
            continue
        text = _clean(" ".join(_para_text(p) for p in tc.iter(_P)))
        if text and (not cells or cells[-1] != text):
            cells.append(text)
    return " | ".join(cells)


class _Collector:
    def __init__(self, filename: str, limits: IngestLimits):
        self.filename = filename
        self.limits = limits
        self.segments: list[Segment] = []
        self.total = 0
        self.paragraphs = 0
        self.tables = 0

    def add(self, text: str, location: Location) -> None:
        if not text:
            return
        self.total += len(text)
        if self.total > self.limits.max_text_chars:
            raise TooLargeError(
                f"{self.filename} has more than {self.limits.max_text_chars:,} characters "
                "of text. Split it into smaller documents.",
                self.filename,
            )
        self.segments.append(Segment(text, location))

    def body(self, container) -> None:
        for el in container:
            tag = el.tag
            if tag == _P:
                text = _para_text(el)
                if text:
                    self.paragraphs += 1
                    self.add(text, Location("paragraph", self.paragraphs))
                for box in _text_boxes(el):
                    for i, p in enumerate(box.iter(_P), start=1):
                        self.add(
                            _para_text(p),
                            Location(
                                "paragraph", max(self.paragraphs, 1), "textbox", i
                            ),
                        )
            elif tag == _TBL:
                self.tables += 1
                number = self.tables
                for r, tr in enumerate((c for c in el if c.tag == _TR), start=1):
                    self.add(_row_text(tr), Location("table", number, None, r))
            elif tag == _SDT:
                content = el.find(f"{{{W}}}sdtContent")
                if content is not None:
                    self.body(content)


def _story_segments(element, kind: str, number: int, part: str | None, add) -> None:
    i = 0
    for p in element.iter(_P):
        text = _para_text(p)
        if text:
            i += 1
            add(text, Location(kind, number, part, i))


def extract_docx(data: bytes, filename: str, limits: IngestLimits):
    """Extract a DOCX into ``(segments, warnings, None, title)``.

    Body paragraphs and table rows come in document order (numbered "paragraph N",
    "table N, row R"), then headers/footers (deduplicated), footnotes, endnotes and
    comments.
    """
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
    except ValueError as exc:
        if "content type" not in str(exc):
            raise
        raise UnsupportedTypeError(
            f"{filename} is a macro-enabled, template or show variant of an Office file, "
            "which cannot be reviewed. Open it and save it as a regular DOCX "
            "(File > Save As), then upload that.",
            filename,
        ) from exc
    out = _Collector(filename, limits)
    out.body(document.element.body)
    seen: set[str] = set()
    for s_index, section in enumerate(document.sections, start=1):
        for kind, variants in (
            ("header", ("header", "first_page_header", "even_page_header")),
            ("footer", ("footer", "first_page_footer", "even_page_footer")),
        ):
            for attr in variants:
                hf = getattr(section, attr)
                if hf.is_linked_to_previous:
                    continue
                element = hf._element
                texts = [_para_text(p) for p in element.iter(_P)]
                key = "\n".join(texts)
                if not key.strip() or key in seen:
                    continue
                seen.add(key)
                part = {"first_page_": "first page", "even_page_": "even pages"}.get(
                    attr[: -len(kind)], None
                )
                _story_segments(element, kind, s_index, part, out.add)
    for rel_name, kind, tag in _NOTE_PARTS:
        part = _related_part(document.part, RT + rel_name)
        if part is None:
            continue
        root = etree.fromstring(
            part.blob,
            etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False),
        )
        n = 0
        for note in root.iter(tag):
            if note.get(f"{{{W}}}type") in (
                "separator",
                "continuationSeparator",
                "continuationNotice",
            ):
                continue
            text = _clean(" ".join(_para_text(p) for p in note.iter(_P)))
            if not text:
                continue
            n += 1
            out.add(text, Location(kind, n))
    warnings: list[str] = []
    if not out.segments:
        warnings.append(
            f"{filename} contains no extractable text (images only?), so nothing could "
            "be analysed. Upload a version with real text."
        )
    title = (document.core_properties.title or "").strip() or None
    return out.segments, warnings, None, title


def _related_part(part, reltype: str):
    for rel in part.rels.values():
        if rel.reltype == reltype and not rel.is_external:
            return rel.target_part
    return None
