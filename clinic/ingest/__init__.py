"""Document ingestion: turn an uploaded PDF, PPTX, DOCX, text or Markdown file into
located text segments for analysis (no Flask, no database).

    doc = extract(data, "week3-renal.pptx")
    for seg in doc.segments:
        print(seg.location.label(), seg.text)   # "slide 7 (notes) ..."

Bad input raises one :class:`IngestError` subclass whose message can be shown to
the uploader as is; nothing else escapes :func:`extract`.
"""

from __future__ import annotations

from .detect import MARKDOWN_EXTENSIONS, detect, extension
from .errors import (
    CorruptFileError,
    EmptyFileError,
    EncryptedFileError,
    IngestError,
    TooLargeError,
    TypeMismatchError,
    UnsupportedTypeError,
)
from .limits import DEFAULT_LIMITS, IngestLimits
from .model import ExtractedDocument, Location, Segment
from .pdf import render_pdf_page

__all__ = [
    "CorruptFileError",
    "EmptyFileError",
    "EncryptedFileError",
    "ExtractedDocument",
    "IngestError",
    "IngestLimits",
    "Location",
    "Segment",
    "TooLargeError",
    "TypeMismatchError",
    "UnsupportedTypeError",
    "extract",
    "render_pdf_page",
]


def extract(
    data: bytes,
    filename: str,
    limits: IngestLimits | None = None,
    *,
    exact_boxes: bool = False,
) -> ExtractedDocument:
    """Extract located text segments from an uploaded document.

    The type is decided from the content (magic bytes, container structure) and
    checked against the extension. ``limits`` overrides :class:`IngestLimits`.
    For PDFs, ``exact_boxes=True`` measures every character's box (slower) instead
    of one box per line run.

    Raises:
        IngestError: (a subclass) for empty, unsupported, mismatched, encrypted,
            damaged or oversized files. No other exception escapes.
    """
    limits = limits or DEFAULT_LIMITS
    filename = filename or "the uploaded file"
    try:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise IngestError(
                f"{filename}: expected file bytes, got {type(data).__name__}."
            )
        data = bytes(data)
        kind = detect(data, filename, limits)
        warnings: list[str] = []
        page_count: int | None = None
        if kind == "pdf":
            from .pdf import extract_pdf

            segments, warnings, page_count, title = extract_pdf(
                data, filename, limits, exact_boxes
            )
        elif kind == "pptx":
            from .slides import extract_pptx

            segments, warnings, page_count, title = extract_pptx(data, filename, limits)
        elif kind == "docx":
            from .wordproc import extract_docx

            segments, warnings, page_count, title = extract_docx(data, filename, limits)
        else:
            from .text import decode_text, extract_text

            text, warnings = decode_text(data, filename)
            kind = "markdown" if extension(filename) in MARKDOWN_EXTENSIONS else "text"
            segments, title = extract_text(text, filename, kind == "markdown", limits)
            if not segments:
                warnings.append(
                    f"{filename} contains no text (only blank lines), so nothing was analysed."
                )
    except IngestError:
        raise
    except RecursionError as exc:
        raise CorruptFileError(
            f"{filename} is too deeply nested to read safely; it may be damaged. "
            "Re-save it and upload it again.",
            filename,
        ) from exc
    except Exception as exc:  # library errors on damaged files
        raise CorruptFileError(
            f"{filename} is damaged or truncated and cannot be read "
            f"({type(exc).__name__}: {_short(exc)}). Re-save or re-export it and upload it again.",
            filename,
        ) from exc
    return ExtractedDocument(
        kind=kind,
        filename=filename,
        segments=segments,
        warnings=warnings,
        page_count=page_count,
        word_count=sum(len(s.text.split()) for s in segments),
        title=title,
    )


def _short(exc: BaseException, limit: int = 160) -> str:
    text = " ".join(str(exc).split()) or "no details"
    return text if len(text) <= limit else text[: limit - 3] + "..."
