"""PDF extraction with pypdfium2: reading-order text blocks with character geometry.

PDFium is not thread-safe, so every call into it happens under :data:`PDFIUM_LOCK`.
"""

from __future__ import annotations

import ctypes
import io
import re
import threading
from collections import Counter
from dataclasses import dataclass
from itertools import pairwise

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from .errors import CorruptFileError, EncryptedFileError, IngestError, TooLargeError
from .limits import IngestLimits
from .model import Box, Location, Segment

PDFIUM_LOCK = threading.RLock()

# Line-final characters treated as hyphenation: ASCII hyphen, U+2010 (WeasyPrint,
# LaTeX), soft hyphen and the U+0002 marker some producers emit.
_HYPHENS = "-\u2010\u00ad\x02"
_ALWAYS_DROP = "\u00ad\x02"
# Prefixes whose hyphen is part of the word ("self-reported", "race-based").
_KEEP_HYPHEN_PREFIXES = {"self", "non", "anti", "well", "race", "cross"}
_LINE_RE = re.compile(r"[^\r\n]+")
_WORD_RE = re.compile(r"\S+")
_ALNUM_RE = re.compile(r"\w")
_BULLET_RE = re.compile(
    r"^(?:[\u2022\u25aa\u25cf\u25e6\u2023\u2043\u00b0\u2013\u2014*>]|\(?\d{1,3}[.)]|[a-z][.)])\s"
)
_DIGITS_RE = re.compile(r"\d+")
_MARGIN = 0.12  # fraction of page height searched for running headers/footers


class _RectBuffer:
    """Four reusable C doubles for FPDFText_GetRect (used only under PDFIUM_LOCK)."""

    def __init__(self) -> None:
        self.values = [ctypes.c_double() for _ in range(4)]

    def refs(self) -> tuple:
        return tuple(ctypes.byref(v) for v in self.values)

    def value_tuple(self) -> tuple[float, float, float, float]:
        a, b, c, d = self.values
        return a.value, b.value, c.value, d.value


def _fast(name: str, restype):
    """PDFium function without ctypes argument conversion (~1 us less per call).

    Callers pass a ``c_void_p`` handle, plain ints and ``byref`` pointers. Falls back
    to pypdfium2's typed binding if the raw library handle is not available.
    """
    try:
        from pypdfium2_raw.bindings import _libs

        func = _libs["pdfium"][name]
        func.restype = restype
        return func, True
    except (ImportError, KeyError, AttributeError, TypeError):
        return getattr(pdfium_c, name), False


_COUNT_RECTS, _FAST = _fast("FPDFText_CountRects", ctypes.c_int)
_GET_RECT, _ = _fast("FPDFText_GetRect", ctypes.c_int)
_LOOSE_BOX, _ = _fast("FPDFText_GetLooseCharBox", ctypes.c_int)


def _handle(textpage):
    """Text page handle in the form the functions above expect."""
    if _FAST:
        return ctypes.c_void_p(ctypes.cast(textpage.raw, ctypes.c_void_p).value)
    return textpage.raw


_RECT = _RectBuffer()
_LOOSE = pdfium_c.FS_RECTF()
_LOOSE_REF = ctypes.byref(_LOOSE)
_RECT_REFS = _RECT.refs()


@dataclass(slots=True)
class _Line:
    text: str
    boxes: list[Box]  # offsets relative to ``text``
    left: float
    bottom: float
    right: float
    top: float
    hyphen: str = ""  # trailing hyphen character removed from ``text``
    size: float = 0.0  # em height of the line's first word character
    baseline: float = 0.0  # bottom of that character's loose box


@dataclass
class _Page:
    number: int
    lines: list[_Line]
    page_box: tuple[float, float, float, float]
    rotation: int
    height: float
    has_images: bool = False


def _open(data: bytes, filename: str) -> pdfium.PdfDocument:
    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if exc.err_code == pdfium_c.FPDF_ERR_PASSWORD:
            raise EncryptedFileError(
                f"{filename} is password protected, so its text cannot be read. Save a "
                "copy without the password (or print it to PDF) and upload that.",
                filename,
            ) from exc
        if exc.err_code == pdfium_c.FPDF_ERR_SECURITY:
            raise EncryptedFileError(
                f"{filename} uses an unsupported PDF security handler. Save a copy without "
                "encryption and upload that.",
                filename,
            ) from exc
        raise CorruptFileError(
            f"{filename} is a damaged or truncated PDF and cannot be opened ({exc}). "
            "Re-export or re-download it and upload it again.",
            filename,
        ) from exc


def _run_rect(tp_raw, start: int, count: int):
    """Union of PDFium's text rectangles for chars [start, start+count), or None."""
    n = _COUNT_RECTS(tp_raw, start, count)
    if n <= 0:
        return None
    _GET_RECT(tp_raw, 0, *_RECT_REFS)
    left, top, right, bottom = _RECT.value_tuple()
    for i in range(1, n):
        _GET_RECT(tp_raw, i, *_RECT_REFS)
        l2, t2, r2, b2 = _RECT.value_tuple()
        left, right = min(left, l2), max(right, r2)
        bottom, top = min(bottom, b2), max(top, t2)
    return left, bottom, right, top


def _line_geometry(tp_raw, start: int, count: int, text: str, exact: bool):
    """Boxes for the line's chars [start, start+count) plus its summary geometry.

    One box for the whole line when PDFium reports a single text run (the common
    case), else one per word (or per character when ``exact``). Returns
    ``(boxes, left, bottom, right, top)`` where bottom/top come from the median box
    so that a superscript does not make the line look taller; None if no geometry.
    """
    boxes: list[Box] = []
    if not exact:
        n = _COUNT_RECTS(tp_raw, start, count)
        if n == 0:
            return boxes, None
        if n == 1:
            _GET_RECT(tp_raw, 0, *_RECT_REFS)
            left, top, right, bottom = _RECT.value_tuple()
            boxes.append((0, count, left, bottom, right, top))
            return boxes, (left, bottom, right, top)
    spans = (
        [(i, i + 1) for i, c in enumerate(text) if not c.isspace()]
        if exact
        else [m.span() for m in _WORD_RE.finditer(text)]
    )
    for a, b in spans:
        rect = _run_rect(tp_raw, start + a, b - a)
        if rect is not None:
            boxes.append((a, b, *rect))
    if not boxes:
        return boxes, None
    heights = sorted(bx[5] - bx[3] for bx in boxes)
    mids = sorted((bx[5] + bx[3]) / 2 for bx in boxes)
    h, mid = heights[len(heights) // 2], mids[len(mids) // 2]
    left = min(bx[2] for bx in boxes)
    right = max(bx[4] for bx in boxes)
    return boxes, (left, mid - h / 2, right, mid + h / 2)


def _page_text(textpage, tp_raw) -> str:
    n = textpage.count_chars()
    if n <= 0:
        return ""
    text = textpage.get_text_range(0, n)
    if len(text) != n:  # non-BMP characters: rebuild one str char per PDFium char
        text = "".join(
            chr(pdfium_c.FPDFText_GetUnicode(tp_raw, i) or 0xFFFD) for i in range(n)
        )
    # PDFium reports some hyphens as U+FFFE; keep string length (offsets) intact
    return text.replace("\ufffe", "-") if "\ufffe" in text else text


def _read_page(pdf, index: int, exact: bool) -> tuple[_Page, int]:
    page = pdf[index]
    try:
        textpage = page.get_textpage()
        try:
            text = _page_text(textpage, textpage.raw)
            tp_raw = _handle(textpage)
            page_box = tuple(round(v, 2) for v in page.get_cropbox())
            rotation = page.get_rotation()
            lines: list[_Line] = []
            count_rects, get_rect, rect_refs = _COUNT_RECTS, _GET_RECT, _RECT_REFS
            r_l, r_t, r_r, r_b = _RECT.values
            for m in _LINE_RE.finditer(text):
                s = m.start()
                line_text = m.group()
                if line_text[0].isspace() or line_text[-1].isspace():
                    stripped = line_text.strip()
                    if not stripped:
                        continue
                    s += len(line_text) - len(line_text.lstrip())
                    line_text = stripped
                hyphen = ""
                if (
                    len(line_text) > 1
                    and line_text[-1] in _HYPHENS
                    and line_text[-2].isalpha()
                ):
                    hyphen = line_text[-1]
                    line_text = line_text[:-1]
                count = len(line_text)
                if not exact and count_rects(tp_raw, s, count) == 1:
                    # fast path: the whole line is one text run, one box
                    get_rect(tp_raw, 0, *rect_refs)
                    left, top, right, bottom = (
                        r_l.value,
                        r_t.value,
                        r_r.value,
                        r_b.value,
                    )
                    boxes = [(0, count, left, bottom, right, top)]
                else:
                    boxes, geom = _line_geometry(tp_raw, s, count, line_text, exact)
                    left, bottom, right, top = geom or (0.0, 0.0, 0.0, 0.0)
                first = _ALNUM_RE.search(line_text)
                idx = s + (first.start() if first else 0)
                # the loose box of the first word character gives the line's effective
                # font size (ascent to descent) and a baseline proxy (its bottom)
                size = baseline = 0.0
                if _LOOSE_BOX(tp_raw, idx, _LOOSE_REF):
                    size, baseline = _LOOSE.top - _LOOSE.bottom, _LOOSE.bottom
                lines.append(
                    _Line(
                        line_text,
                        boxes,
                        left,
                        bottom,
                        right,
                        top,
                        hyphen,
                        size,
                        baseline,
                    )
                )
            height = page_box[3] - page_box[1]
            has_images = len(text.strip()) < 40 and _has_images(page)
            return _Page(index + 1, lines, page_box, rotation, height, has_images), len(
                text
            )
        finally:
            textpage.close()
    finally:
        page.close()


def _has_images(page) -> bool:
    """True if the page draws any image or form XObject (a scan, a picture)."""
    kinds = (pdfium_c.FPDF_PAGEOBJ_IMAGE, pdfium_c.FPDF_PAGEOBJ_FORM)
    n = pdfium_c.FPDFPage_CountObjects(page.raw)
    return any(
        pdfium_c.FPDFPageObj_GetType(pdfium_c.FPDFPage_GetObject(page.raw, i)) in kinds
        for i in range(min(n, 10_000))
    )


def _running_key(line: _Line) -> str:
    return _DIGITS_RE.sub("#", " ".join(line.text.lower().split()))


def _margin_lines(page: _Page) -> list[int]:
    """Indexes of lines in the top/bottom margin band (at most 3 each side)."""
    if not page.lines:
        return []
    top_limit = page.page_box[3] - _MARGIN * page.height
    bottom_limit = page.page_box[1] + _MARGIN * page.height
    idx = [i for i, ln in enumerate(page.lines[:3]) if ln.bottom >= top_limit]
    n = len(page.lines)
    idx += [
        i
        for i in range(max(0, n - 3), n)
        if page.lines[i].top <= bottom_limit and i not in idx
    ]
    return idx


def _remove_running_lines(pages: list[_Page]) -> int:
    """Drop header/footer lines repeating on most pages; return how many were removed."""
    text_pages = [p for p in pages if p.lines]
    if len(text_pages) < 3:
        return 0
    counts: Counter[str] = Counter()
    for page in text_pages:
        counts.update({_running_key(page.lines[i]) for i in _margin_lines(page)})
    threshold = max(3, 0.5 * len(text_pages))
    running = {k for k, c in counts.items() if c >= threshold}
    if not running:
        return 0
    removed = 0
    for page in text_pages:
        drop = {
            i for i in _margin_lines(page) if _running_key(page.lines[i]) in running
        }
        if drop:
            removed += len(drop)
            page.lines = [ln for i, ln in enumerate(page.lines) if i not in drop]
    return removed


def _similar(a: float, b: float) -> bool:
    return 0.85 * b <= a <= 1.18 * b


def _typical_pitch(lines: list[_Line]) -> float | None:
    """Median baseline-to-baseline distance between consecutive same-size lines."""
    pitches = []
    for prev, cur in pairwise(lines):
        pitch = prev.baseline - cur.baseline
        if (
            prev.size > 0
            and _similar(cur.size, prev.size)
            and 0 < pitch < 3 * prev.size
        ):
            pitches.append(pitch)
    if not pitches:
        return None
    pitches.sort()
    return pitches[len(pitches) // 2]


def _starts_block(prev: _Line, cur: _Line, block: _BlockState) -> bool:
    """Whether ``cur`` starts a new text block rather than continuing ``prev``'s."""
    size = prev.size
    if size <= 0 or cur.size <= 0:
        return True
    pitch = prev.baseline - cur.baseline
    if pitch < -0.5 * size:  # moved up: new column or out-of-flow text
        return True
    if not _similar(cur.size, size):  # font size change (heading)
        return True
    if pitch < 0.5 * size or cur.left > prev.right + size:  # same row, other column
        return True
    reference = block.pitch or block.page_pitch or 1.2 * size
    if pitch > 1.3 * reference and pitch - reference > 0.2 * size:
        return True
    if _BULLET_RE.match(cur.text):
        return True
    # a short line ending a sentence closes its paragraph
    return (
        prev.text.rstrip().endswith((".", ":", "!", "?"))
        and prev.right < block.right - 0.25 * (block.right - prev.left)
        and not prev.hyphen
    )


@dataclass
class _BlockState:
    page_pitch: float | None
    pitch: float | None = None
    right: float = 0.0


def _join_hyphen(prev: _Line, nxt: _Line) -> bool:
    """True if ``prev``'s trailing hyphen is dropped when joined to ``nxt``."""
    if not prev.hyphen or not nxt.text[:1].isalpha():
        return False
    if prev.hyphen in _ALWAYS_DROP:
        return True
    if not nxt.text[0].islower():
        return False
    last_word = prev.text.rsplit(None, 1)[-1].lower() if prev.text.strip() else ""
    return last_word not in _KEEP_HYPHEN_PREFIXES


def _kept(hyphen: str) -> str:
    """Text emitted for a line-final hyphen that is not a hyphenation break."""
    return "" if hyphen in _ALWAYS_DROP else "-"


def _blocks(page: _Page) -> list[Segment]:
    segments: list[Segment] = []
    parts: list[str] = []
    boxes: list[Box] = []
    length = 0
    block = _BlockState(_typical_pitch(page.lines))
    prev: _Line | None = None

    def flush() -> None:
        nonlocal parts, boxes, length
        if parts:
            loc = Location("page", page.number, None, len(segments) + 1)
            segments.append(
                Segment("".join(parts), loc, boxes, page.page_box, page.rotation)
            )
        parts, boxes, length = [], [], 0

    for line in page.lines:
        if prev is not None and _starts_block(prev, line, block):
            if prev.hyphen:
                parts.append(_kept(prev.hyphen))
                length += len(parts[-1])
            flush()
            block = _BlockState(block.page_pitch)
        elif prev is not None:
            if block.pitch is None:
                block.pitch = prev.baseline - line.baseline
            if prev.hyphen:
                sep = "" if _join_hyphen(prev, line) else _kept(prev.hyphen)
            else:
                sep = "\n"  # the line break, kept (same length as a space)
            parts.append(sep)
            length += len(sep)
        parts.append(line.text)
        for a, b, *geom in line.boxes:
            boxes.append((a + length, b + length, *geom))
        length += len(line.text)
        block.right = max(block.right, line.right)
        prev = line
    if prev is not None and prev.hyphen:
        parts.append(_kept(prev.hyphen))
    flush()
    return segments


def extract_pdf(
    data: bytes, filename: str, limits: IngestLimits, exact_boxes: bool = False
):
    """Extract a PDF into ``(segments, warnings, page_count, title)``.

    Segments are text blocks in reading order, located by page; running headers and
    footers are removed; line-break hyphenation is undone.
    """
    warnings: list[str] = []
    pages: list[_Page] = []
    with PDFIUM_LOCK:
        pdf = _open(data, filename)
        try:
            page_count = len(pdf)
            if page_count > limits.max_pages:
                raise TooLargeError(
                    f"{filename} has {page_count} pages (limit {limits.max_pages}). "
                    "Split it into smaller PDFs.",
                    filename,
                )
            try:
                title = (pdf.get_metadata_value("Title") or "").strip() or None
            except (pdfium.PdfiumError, UnicodeDecodeError, ValueError):
                title = None
            total = 0
            for index in range(page_count):
                try:
                    page, n_chars = _read_page(pdf, index, exact_boxes)
                except IngestError:
                    raise
                except Exception as exc:
                    raise CorruptFileError(
                        f"{filename}: page {index + 1} is damaged and cannot be read "
                        f"({exc}). Re-export the PDF and upload it again.",
                        filename,
                    ) from exc
                total += n_chars
                if total > limits.max_text_chars:
                    raise TooLargeError(
                        f"{filename} has more than {limits.max_text_chars:,} characters of "
                        "text. Split it into smaller PDFs.",
                        filename,
                    )
                pages.append(page)
        finally:
            pdf.close()
    if page_count == 0:
        raise CorruptFileError(
            f"{filename} has no pages. Re-export the PDF and upload it again.", filename
        )
    _remove_running_lines(pages)
    empty = [
        p.number for p in pages if not p.lines and (p.has_images or len(pages) == 1)
    ]
    if pages and all(not p.lines for p in pages):
        empty = [p.number for p in pages]
    segments: list[Segment] = []
    for page in pages:
        segments.extend(_blocks(page))
    if empty:
        warnings.append(_image_only_warning(filename, empty, page_count))
    return segments, warnings, page_count, title


def _page_list(numbers: list[int]) -> str:
    ranges: list[str] = []
    start = prev = numbers[0]
    for n in numbers[1:] + [None]:  # type: ignore[list-item]
        if n is not None and n == prev + 1:
            prev = n
            continue
        ranges.append(str(start) if start == prev else f"{start}-{prev}")
        if n is not None:
            start = prev = n
    return ", ".join(ranges)


def _image_only_warning(filename: str, empty: list[int], page_count: int) -> str:
    if len(empty) == page_count:
        return (
            f"{filename} has no extractable text on any page (it looks scanned or made "
            "of images), so nothing could be analysed. Please upload an OCR'd version "
            "(e.g. Adobe Acrobat > Scan & OCR) or the original slides/document."
        )
    one = len(empty) == 1
    return (
        f"{filename}: {'Page' if one else 'Pages'} {_page_list(empty)} "
        f"{'has' if one else 'have'} no extractable text (scanned or image-only) and "
        f"{'was' if one else 'were'} not analysed. Upload an OCR'd version of the PDF "
        f"to include {'it' if one else 'them'}."
    )


def render_pdf_page(data: bytes, page_number: int, width: int = 1000) -> bytes:
    """Render 1-based ``page_number`` of a PDF to PNG bytes ``width`` pixels wide.

    Raises :class:`IngestError` for a bad page number, width or unreadable PDF.
    """
    filename = "the PDF"
    if not isinstance(width, int) or not 16 <= width <= 6000:
        raise IngestError(
            f"Render width must be between 16 and 6000 pixels, got {width!r}."
        )
    with PDFIUM_LOCK:
        pdf = _open(data, filename)
        try:
            n = len(pdf)
            if not isinstance(page_number, int) or not 1 <= page_number <= n:
                raise IngestError(
                    f"Page {page_number} does not exist; the PDF has {n} page(s)."
                )
            page = pdf[page_number - 1]
            try:
                page_width = page.get_width() or 1.0
                bitmap = page.render(scale=width / page_width)
                try:
                    image = bitmap.to_pil()
                    buf = io.BytesIO()
                    image.save(buf, format="PNG")
                    return buf.getvalue()
                finally:
                    bitmap.close()
            except IngestError:
                raise
            except Exception as exc:
                raise CorruptFileError(
                    f"Page {page_number} of the PDF could not be rendered ({exc})."
                ) from exc
            finally:
                page.close()
        finally:
            pdf.close()
