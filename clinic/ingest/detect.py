"""Content sniffing: decide a file's type from its bytes, never its extension alone."""

from __future__ import annotations

import io
import os
import zipfile

from .errors import (
    CorruptFileError,
    EmptyFileError,
    EncryptedFileError,
    TooLargeError,
    TypeMismatchError,
    UnsupportedTypeError,
)
from .limits import IngestLimits

SUPPORTED = ("pdf", "pptx", "docx", "text")

DESCRIPTIONS = {
    "pdf": "a PDF",
    "pptx": "a PowerPoint presentation (PPTX)",
    "docx": "a Word document (DOCX)",
    "text": "a plain-text file",
    "xlsx": "an Excel spreadsheet (XLSX)",
    "ppt": "a PowerPoint 97-2003 presentation (.ppt)",
    "doc": "a Word 97-2003 document (.doc)",
    "xls": "an Excel 97-2003 spreadsheet (.xls)",
    "ole": "a legacy Microsoft Office 97-2003 file",
    "odf": "an OpenDocument (LibreOffice) file",
    "zip": "a ZIP archive",
    "png": "a PNG image",
    "jpeg": "a JPEG image",
    "gif": "a GIF image",
    "tiff": "a TIFF image",
    "rtf": "an RTF document",
    "binary": "a binary file of unknown type",
}

EXTENSIONS = {
    ".pdf": "pdf",
    ".pptx": "pptx",
    ".pptm": "pptx",
    ".ppsx": "pptx",
    ".potx": "pptx",
    ".docx": "docx",
    ".docm": "docx",
    ".dotx": "docx",
    ".txt": "text",
    ".text": "text",
    ".md": "text",
    ".markdown": "text",
    ".mdown": "text",
    ".ppt": "ppt",
    ".pps": "ppt",
    ".pot": "ppt",
    ".doc": "doc",
    ".dot": "doc",
    ".xls": "xls",
    ".xlsx": "xlsx",
    ".rtf": "rtf",
    ".png": "png",
    ".jpg": "jpeg",
    ".jpeg": "jpeg",
    ".gif": "gif",
    ".tif": "tiff",
    ".tiff": "tiff",
    ".zip": "zip",
}
MARKDOWN_EXTENSIONS = {".md", ".markdown", ".mdown"}
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_SUPPORTED_HINT = (
    "Upload a PDF, PowerPoint (PPTX), Word (DOCX), plain-text or Markdown file."
)


def _utf16(name: str) -> bytes:
    return name.encode("utf-16-le")


def extension(filename: str) -> str:
    """Lower-case extension of ``filename`` including the dot ('' if none)."""
    return os.path.splitext(filename or "")[1].lower()


def looks_like_text(data: bytes) -> bool:
    """True if ``data`` is plausibly text (BOM, valid UTF-8, or few control chars)."""
    if data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        return True
    sample = data[:65536]
    if b"\x00" in sample:
        # a stray NUL in a text file is removed on reading; many are a binary file
        if sample.count(b"\x00") > max(2, len(sample) // 1000):
            return False
        sample = sample.replace(b"\x00", b"")
        if any(b < 32 and b not in (9, 10, 12, 13) for b in sample):
            return False  # other control bytes next to the NUL: not text
    try:
        sample.decode("utf-8")
        return True
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 4 and len(data) > len(sample):
            return True  # a multi-byte char cut by the sample boundary
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13))
    return controls <= len(sample) // 200


def _sniff_zip(data: bytes, filename: str, limits: IngestLimits) -> str:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except Exception as exc:
        raise CorruptFileError(
            f"{filename} looks like an Office/ZIP file but it is damaged or truncated "
            f"and cannot be opened ({exc}). Re-save or re-download it and upload it again.",
            filename,
        ) from exc
    if len(infos) > limits.max_zip_entries:
        raise TooLargeError(
            f"{filename} contains {len(infos)} internal files (limit "
            f"{limits.max_zip_entries}); it may be a ZIP bomb and was not opened.",
            filename,
        )
    total = sum(max(0, i.file_size) for i in infos)
    if total > limits.max_zip_uncompressed:
        raise TooLargeError(
            f"{filename} would expand to {total / 1e6:.0f} MB (limit "
            f"{limits.max_zip_uncompressed / 1e6:.0f} MB); it may be a ZIP bomb and was "
            "not opened. Remove large embedded media or split the file.",
            filename,
        )
    ratio = total / max(1, len(data))
    worst = max(
        (
            i.file_size / max(1, i.compress_size)
            for i in infos
            if i.file_size > 1_000_000
        ),
        default=0.0,
    )
    if max(ratio, worst) > limits.max_zip_ratio:
        raise TooLargeError(
            f"{filename} has a compression ratio of {max(ratio, worst):.0f}:1 (limit "
            f"{limits.max_zip_ratio:.0f}:1), which is typical of a ZIP bomb; it was not "
            "opened.",
            filename,
        )
    names = {i.filename for i in infos}
    content_types = b""
    if "[Content_Types].xml" in names:
        info = zf.getinfo("[Content_Types].xml")
        if info.file_size < 5_000_000:
            try:
                content_types = zf.read(info)
            except Exception as exc:
                raise CorruptFileError(
                    f"{filename} is damaged: its internal file list cannot be read "
                    f"({exc}). Re-save it and upload it again.",
                    filename,
                ) from exc
    if b"presentationml." in content_types or "ppt/presentation.xml" in names:
        return "pptx"
    if b"wordprocessingml.document" in content_types or "word/document.xml" in names:
        return "docx"
    if b"spreadsheetml." in content_types or "xl/workbook.xml" in names:
        return "xlsx"
    if "mimetype" in names:
        return "odf"
    return "zip"


def sniff(data: bytes, filename: str, limits: IngestLimits) -> str:
    """Return the content type of ``data`` (a key of :data:`DESCRIPTIONS`)."""
    head = data[:1024]
    if b"%PDF-" in head:
        return "pdf"
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _sniff_zip(data, filename, limits)
    if data.startswith(_OLE_MAGIC):
        if _utf16("EncryptedPackage") in data or _utf16("EncryptionInfo") in data:
            return "encrypted-office"
        if _utf16("PowerPoint Document") in data:
            return "ppt"
        if _utf16("WordDocument") in data:
            return "doc"
        if _utf16("Workbook") in data or _utf16("Book") in data:
            return "xls"
        return "ole"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if data.startswith((b"II*\x00", b"MM\x00*")):
        return "tiff"
    if data.startswith(b"{\\rtf"):
        return "rtf"
    if looks_like_text(data):
        return "text"
    return "binary"


def _compatible(expected: str, actual: str) -> bool:
    if expected == actual:
        return True
    legacy = {"ppt", "doc", "xls", "ole"}
    return (
        expected in legacy
        and actual in ("ole", "encrypted-office")
        or (expected in ("pptx", "docx", "xlsx") and actual == "encrypted-office")
    )


def detect(data: bytes, filename: str, limits: IngestLimits) -> str:
    """Check size and type of an upload and return "pdf", "pptx", "docx" or "text".

    Raises the matching :class:`IngestError` subclass for empty, oversized,
    unsupported, mismatched, encrypted-Office or damaged-container files.
    """
    if not data:
        raise EmptyFileError(
            f"{filename} is empty (0 bytes). Check that the upload finished and try again.",
            filename,
        )
    if len(data) > limits.max_file_bytes:
        raise TooLargeError(
            f"{filename} is {len(data) / 1e6:.0f} MB, over the "
            f"{limits.max_file_bytes / 1e6:.0f} MB limit. Split it or remove large media.",
            filename,
        )
    actual = sniff(data, filename, limits)
    ext = extension(filename)
    expected = EXTENSIONS.get(ext)
    if expected and not _compatible(expected, actual):
        if actual == "binary":
            raise CorruptFileError(
                f"{filename} has a {ext} extension but its content is not a readable "
                f"{DESCRIPTIONS[expected].split(' ', 1)[1]}; the file may be damaged or "
                "truncated. Re-save or re-download it and upload it again.",
                filename,
            )
        what = DESCRIPTIONS.get(actual, actual)
        advice = _advice(actual)
        raise TypeMismatchError(
            f"{filename} has a {ext} extension but it is actually {what}. "
            + (
                advice
                or "Rename it to the right extension or upload the intended file."
            ),
            filename,
        )
    if actual == "encrypted-office":
        raise EncryptedFileError(
            f"{filename} is password protected, so its text cannot be read. Remove the "
            "password (File > Info > Protect > Encrypt with Password, clear it), save, "
            "and upload it again.",
            filename,
        )
    if actual not in SUPPORTED:
        what = DESCRIPTIONS.get(actual, actual)
        raise UnsupportedTypeError(
            f"{filename} is {what}, which cannot be reviewed. "
            + (_advice(actual) or _SUPPORTED_HINT),
            filename,
        )
    return actual


def _advice(actual: str) -> str:
    if actual == "ppt":
        return "Open it in PowerPoint and save it as PPTX (File > Save As > PowerPoint Presentation), then upload that."
    if actual == "doc":
        return "Open it in Word and save it as DOCX (File > Save As > Word Document), then upload that."
    if actual in ("ole", "xls"):
        return "Open it in Office and save it in the current format (PPTX or DOCX), then upload that."
    if actual in ("png", "jpeg", "gif", "tiff"):
        return "Upload the original slides or document, or a PDF with a text layer (OCR'd)."
    if actual in ("pptx", "docx", "pdf", "text"):
        ext = {"pptx": ".pptx", "docx": ".docx", "pdf": ".pdf", "text": ".txt"}[actual]
        return f"Rename it to {ext} or upload the intended file."
    return ""
