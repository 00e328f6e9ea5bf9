"""Free text coming in from forms and the API: one rule per kind of field.

Single-line fields (codes, names, titles) refuse control characters, which would
break headers, file names and CSV rows; long text (comments, notes) keeps line breaks
and tabs but refuses the other control characters. Each kind has one length limit,
the same in forms, API and database (its column is at least that long).
"""

from __future__ import annotations

import unicodedata

from clinic.services import ServiceError

CODE_MAX = 40  # course codes
LINE_MAX = 200  # names, titles, schools
TEXT_MAX = 10_000  # comments, notes, descriptions
_LINE_BREAKS = {"\n", "\r", "\t"}


def _bad_characters(value: str, allowed: set[str]) -> list[str]:
    return [
        ch
        for ch in value
        if ch not in allowed
        and unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")
        and ch not in ("\u200d", "\u200c")  # joiners belong to some scripts' words
    ]


def _named(ch: str) -> str:
    return unicodedata.name(ch, f"U+{ord(ch):04X}")


def one_line(value: str | None, what: str, max_length: int = LINE_MAX) -> str:
    """A required single-line value, stripped; ServiceError naming the problem."""
    value = (value or "").strip()
    if not value:
        raise ServiceError(f"{what} cannot be empty.")
    bad = _bad_characters(value, set())
    if bad:
        raise ServiceError(
            f"{what} must be one line of text without control characters "
            f"(it has {_named(bad[0])})."
        )
    if len(value) > max_length:
        raise ServiceError(f"{what} is too long (at most {max_length} characters).")
    return value


def long_text(
    value: str | None, what: str, *, required: bool = False, max_length: int = TEXT_MAX
) -> str | None:
    """Free text that may span lines, stripped (None when empty and not required)."""
    value = (value or "").strip()
    if not value:
        if required:
            raise ServiceError(f"{what} cannot be empty.")
        return None
    bad = _bad_characters(value, _LINE_BREAKS)
    if bad:
        raise ServiceError(f"{what} has a control character ({_named(bad[0])}).")
    if len(value) > max_length:
        raise ServiceError(f"{what} is too long (at most {max_length} characters).")
    return value
