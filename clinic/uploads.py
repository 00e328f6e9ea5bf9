"""Upload limits for multipart requests: one cap per file, a larger one per batch.

A batch may hold several files, so the request as a whole may be larger than one
file may be. Each file part streams into a temporary file that stops keeping bytes
once the part passes the per-file limit (it only counts the rest), so an over-size
file costs no memory or disk and is refused on its own while the other files of the
batch are stored. A request over the batch cap is refused whole (413) before any
part is read.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from typing import IO

from flask import Flask, current_app
from flask import Request as FlaskRequest

MIB = 1024 * 1024
#: Parts up to this size stay in memory; larger ones spill to a temporary file.
SPOOL_IN_MEMORY = 1 * MIB


@dataclass(frozen=True)
class UploadLimits:
    file_bytes: int
    max_files: int
    request_bytes: int

    @classmethod
    def from_config(cls, config) -> UploadLimits:
        file_mb = int(config["MAX_UPLOAD_MB"])
        max_files = int(config["MAX_UPLOAD_FILES"])
        request_mb = config.get("MAX_REQUEST_MB") or file_mb * max_files
        return cls(file_mb * MIB, max_files, int(request_mb) * MIB)

    @property
    def file_label(self) -> str:
        return format_size(self.file_bytes)

    @property
    def request_label(self) -> str:
        return format_size(self.request_bytes)


def current_limits() -> UploadLimits:
    return UploadLimits.from_config(current_app.config)


def format_size(size: int) -> str:
    """Sizes as people read them: "512 bytes", "800 KB", "61 MB", "1.2 GB" (binary units)."""
    if size < 1024:
        return f"{size} byte{'' if size == 1 else 's'}"
    for unit, scale in (("GB", MIB * 1024), ("MB", MIB), ("KB", 1024)):
        if size >= scale:
            value = size / scale
            text = f"{value:.1f}" if value < 10 else f"{value:.0f}"
            return f"{text.removesuffix('.0')} {unit}"
    raise AssertionError("unreachable")


def over_file_limit(filename: str, size: int, limits: UploadLimits) -> str:
    """The refusal people read, the same words as the browser check."""
    shown = format_size(size)
    if shown == limits.file_label:  # rounded down to the limit: "more than 1 MB"
        shown = f"more than {shown}"
    return f"‘{filename}’ is {shown}; the limit is {limits.file_label} per file."


def over_request_limit(size: int | None, limits: UploadLimits) -> str:
    what = f"This upload is {format_size(size)} in all," if size else "This upload is"
    return (
        f"{what} over the {limits.request_label} limit for one upload "
        f"(up to {limits.max_files} files of at most {limits.file_label} each). "
        "Nothing was stored. Upload the files in smaller batches."
    )


class LimitedSpool:
    """A file part's container: keeps at most `limit` bytes, counts all of them.

    Past the limit the kept bytes are dropped and later writes only add to `size`,
    so the part can be reported ("61 MB") without being stored.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.size = 0
        self.over_limit = False
        # Closed with the request (FileStorage.close), not here.
        self._file: IO[bytes] = tempfile.SpooledTemporaryFile(  # noqa: SIM115
            max_size=SPOOL_IN_MEMORY
        )

    def write(self, data: bytes) -> int:
        self.size += len(data)
        if self.over_limit:
            return len(data)
        if self.size > self.limit:
            self.over_limit = True
            self._file.seek(0)
            self._file.truncate()
            return len(data)
        return self._file.write(data)

    def __getattr__(self, name: str):
        # read, readline, seek, tell, close, ... of the kept bytes
        return getattr(self._file, name)

    def __iter__(self):
        return iter(self._file)


class UploadRequest(FlaskRequest):
    """Views marked with :func:`accepts_files` take a whole batch; each file part is limited."""

    @property
    def accepts_files(self) -> bool:
        view = (
            current_app.view_functions.get(self.endpoint or "") if current_app else None
        )
        return bool(getattr(view, "accepts_files", False))

    @property
    def max_content_length(self) -> int | None:
        if self._max_content_length is None and current_app and self.accepts_files:
            return current_limits().request_bytes
        return super().max_content_length

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        return LimitedSpool(current_limits().file_bytes)  # type: ignore[return-value]


def accepts_files(view):
    """Mark a view as taking a batch of files (its request may reach the batch cap)."""
    view.accepts_files = True
    return view


def file_size(storage) -> tuple[int, bool]:
    """(size in bytes, over the per-file limit) of an uploaded FileStorage."""
    stream = storage.stream
    if isinstance(stream, LimitedSpool):
        return stream.size, stream.over_limit
    position = stream.tell()
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(position)
    return size, size > current_limits().file_bytes


def init_app(app: Flask) -> None:
    app.request_class = UploadRequest
    # Upload forms give the browser the limits to check files against before sending.
    app.add_template_global(current_limits, "upload_limits")
