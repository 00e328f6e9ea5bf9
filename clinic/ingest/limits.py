"""Configurable resource limits for document extraction."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class IngestLimits:
    """Upper bounds applied by :func:`clinic.ingest.extract`; override any field.

    Exceeding one raises :class:`~clinic.ingest.errors.TooLargeError`.
    """

    max_file_bytes: int = 100 * 1024 * 1024
    max_pages: int = 2000
    max_slides: int = 1000
    max_text_chars: int = 5_000_000
    max_zip_uncompressed: int = 200 * 1024 * 1024
    max_zip_ratio: float = 100.0
    max_zip_entries: int = 10_000


DEFAULT_LIMITS = IngestLimits()
