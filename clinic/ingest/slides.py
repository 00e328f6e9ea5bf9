"""PPTX extraction with python-pptx: titles, text frames, groups, tables, charts, notes."""

from __future__ import annotations

import io
import logging

from .errors import TooLargeError, UnsupportedTypeError
from .limits import IngestLimits
from .model import Location, Segment

log = logging.getLogger(__name__)

_GENERIC_TITLES = {"powerpoint presentation", "presentation", "slide 1", "untitled"}


def _clean(text: str) -> str:
    return " ".join(text.replace("\x0b", " ").split())


def _paragraph_texts(text_frame) -> list[str]:
    return [t for t in (_clean(p.text) for p in text_frame.paragraphs) if t]


def _chart_texts(chart) -> list[str]:
    out: list[str] = []
    if chart.has_title and chart.chart_title.has_text_frame:
        title = _clean(chart.chart_title.text_frame.text)
        if title:
            out.append(title)
    names: list[str] = []
    categories: list[str] = []
    for plot in chart.plots:
        for series in plot.series:
            name = _clean(str(series.name or ""))
            if name and name not in names:
                names.append(name)
        for cat in plot.categories:
            label = _clean(str(cat))
            if label and label not in categories:
                categories.append(label)
    if names:
        out.append("Series: " + "; ".join(names))
    if categories:
        out.append("Categories: " + "; ".join(categories))
    return out


def _table_rows(table) -> list[str]:
    rows = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            if cell.is_spanned:
                continue
            text = _clean(cell.text_frame.text if cell.text_frame else "")
            if text:
                cells.append(text)
        if cells:
            rows.append(" | ".join(cells))
    return rows


def _walk(shapes, emit, title_id) -> None:
    from pptx.shapes.group import GroupShape

    for shape in shapes:
        if isinstance(shape, GroupShape):
            _walk(shape.shapes, emit, None)
            continue
        if title_id is not None and shape.shape_id == title_id:
            continue
        if getattr(shape, "has_table", False) and shape.has_table:
            for text in _table_rows(shape.table):
                emit("table", text)
            continue
        if getattr(shape, "has_chart", False) and shape.has_chart:
            try:
                texts = _chart_texts(shape.chart)
            except (AttributeError, KeyError, IndexError, TypeError, ValueError) as exc:
                # an odd chart should not sink the whole deck; its labels are skipped
                log.warning("chart text skipped: %s", exc)
                texts = []
            for text in texts:
                emit("chart", text)
            continue
        if getattr(shape, "has_text_frame", False) and shape.has_text_frame:
            for text in _paragraph_texts(shape.text_frame):
                emit("body", text)


def extract_pptx(data: bytes, filename: str, limits: IngestLimits):
    """Extract a PPTX into ``(segments, warnings, slide_count, title)``.

    Each bullet, table row, chart label group and notes paragraph is one segment,
    located as slide N with part "title", "body", "table", "chart" or "notes".
    """
    from pptx import Presentation

    try:
        prs = Presentation(io.BytesIO(data))
    except ValueError as exc:
        if "content type" not in str(exc):
            raise
        raise UnsupportedTypeError(
            f"{filename} is a macro-enabled, template or show variant of an Office file, "
            "which cannot be reviewed. Open it and save it as a regular PPTX "
            "(File > Save As), then upload that.",
            filename,
        ) from exc
    slides = prs.slides
    count = len(slides)
    if count > limits.max_slides:
        raise TooLargeError(
            f"{filename} has {count} slides (limit {limits.max_slides}). Split the deck.",
            filename,
        )
    segments: list[Segment] = []
    warnings: list[str] = []
    total = 0
    first_title: str | None = None
    textless: list[int] = []
    for number, slide in enumerate(slides, start=1):
        counters: dict[str, int] = {}
        before = len(segments)

        def emit(part: str, text: str, number: int = number, counters=counters) -> None:
            nonlocal total
            counters[part] = counters.get(part, 0) + 1
            total += len(text)
            if total > limits.max_text_chars:
                raise TooLargeError(
                    f"{filename} has more than {limits.max_text_chars:,} characters of "
                    "text. Split the deck.",
                    filename,
                )
            segments.append(
                Segment(text, Location("slide", number, part, counters[part]))
            )

        title_shape = slide.shapes.title
        title_id = None
        if title_shape is not None and title_shape.has_text_frame:
            title_id = title_shape.shape_id
            title = _clean(title_shape.text_frame.text)
            if title:
                emit("title", title)
                first_title = first_title or title
        _walk(slide.shapes, emit, title_id)
        if slide.has_notes_slide:
            notes = slide.notes_slide.notes_text_frame
            if notes is not None:
                for text in _paragraph_texts(notes):
                    emit("notes", text)
        if len(segments) == before:
            textless.append(number)
    if count and len(textless) == count:
        warnings.append(
            f"{filename} has no extractable text on any slide (pictures only?), so "
            "nothing could be analysed. Upload a version with real text, or an OCR'd PDF."
        )
    elif textless:
        noun = "Slide" if len(textless) == 1 else "Slides"
        warnings.append(
            f"{filename}: {noun} {', '.join(map(str, textless))} contain no text (pictures "
            "only?) and were not analysed. If they show words, add them as text or notes."
        )
    title = (prs.core_properties.title or "").strip()
    if not title or title.lower() in _GENERIC_TITLES:
        title = first_title
    return segments, warnings, count, title
