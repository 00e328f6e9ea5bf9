"""Content-addressed file store under the instance folder.

Each file is stored once, at `<root>/<aa>/<bb>/<sha256>`: written to a temporary
file in the same folder, flushed to disk, then renamed into place, so a reader
never sees half a file. Reads verify the checksum.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


class StorageError(OSError):
    """A file could not be stored or read back intact."""


class FileStore:
    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    def path_for(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise StorageError(f"not a SHA-256 digest: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, data: bytes) -> str:
        """Store `data` (once) and return its SHA-256 hex digest."""
        digest = hashlib.sha256(data).hexdigest()
        path = self.path_for(digest)
        if path.exists() and path.stat().st_size == len(data):
            return digest
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as error:
            raise StorageError(
                f"The file could not be saved ({error.strerror or error}). "
                "Nothing was stored; please try again or tell CAP staff."
            ) from error
        return digest

    def get(self, sha256: str) -> bytes:
        """Read a stored file, checking that its content still has its digest."""
        path = self.path_for(sha256)
        try:
            data = path.read_bytes()
        except OSError as error:
            raise StorageError(
                f"Stored file {sha256[:12]} is missing or unreadable."
            ) from error
        if hashlib.sha256(data).hexdigest() != sha256:
            raise StorageError(
                f"Stored file {sha256[:12]} is damaged (checksum mismatch)."
            )
        return data

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).exists()
