"""CSV that spreadsheet programs will not execute (formula injection)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value) -> str:
    """A cell value as text; one starting like a formula gets a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(DANGEROUS) else text


def to_csv(header: list[str], rows: Iterable[Iterable]) -> str:
    """UTF-8 CSV text (with a BOM so spreadsheet programs detect the encoding)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([neutralise(v) for v in row])
    return "\ufeff" + out.getvalue()
