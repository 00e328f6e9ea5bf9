"""Errors raised by :func:`clinic.ingest.extract`.

Every message names the file and says what the uploader can do about it, so
the web app and the CLI can show it to a course director as is.
"""

from __future__ import annotations


class IngestError(Exception):
    """Base class: the document could not be read. ``str(err)`` is user-facing."""

    def __init__(self, message: str, filename: str | None = None):
        super().__init__(message)
        self.message = message
        self.filename = filename

    def __str__(self) -> str:
        return self.message


class EmptyFileError(IngestError):
    """The file has no bytes at all."""


class UnsupportedTypeError(IngestError):
    """The content is a format we do not read (legacy .ppt/.doc, images, spreadsheets...)."""


class TypeMismatchError(IngestError):
    """The content is a different format from the one the file extension claims."""


class EncryptedFileError(IngestError):
    """The PDF or Office file is password protected."""


class CorruptFileError(IngestError):
    """The file is damaged, truncated or not decodable."""


class TooLargeError(IngestError):
    """The file exceeds a configured limit (pages, slides, text, ZIP size or ratio)."""


__all__ = [
    "CorruptFileError",
    "EmptyFileError",
    "EncryptedFileError",
    "IngestError",
    "TooLargeError",
    "TypeMismatchError",
    "UnsupportedTypeError",
]
