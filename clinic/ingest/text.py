"""Plain-text and Markdown extraction (UTF-8, block structure kept as paragraphs)."""

from __future__ import annotations

import re

from .errors import CorruptFileError, TooLargeError
from .limits import IngestLimits
from .model import Location, Segment

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_SETEXT = re.compile(r"^\s{0,3}(=+|-+)\s*$")
_LIST = re.compile(r"^\s*(?:[-*+\u2022]|\d{1,9}[.)])\s+(?:\[[ xX]\]\s+)?")
_QUOTE = re.compile(r"^\s{0,3}>\s?")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_RULE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")
_TABLE_SEP = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_EMBED = re.compile(r"!\[\[[^\]]*\]\]")
_WIKI = re.compile(r"\[\[([^\]|#]*)(?:#[^\]|]*)?(?:\|([^\]]*))?\]\]")
_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)
_HTML_ROW = re.compile(r"<tr[^>]*>(.*?)</tr>", re.IGNORECASE | re.DOTALL)
_HTML_CELL = re.compile(r"<t[dh][^>]*>(.*?)</t[dh]>", re.IGNORECASE | re.DOTALL)
_HTML_ITEM = re.compile(r"<li[^>]*>(.*?)(?=<li|</[uo]l>|$)", re.IGNORECASE | re.DOTALL)
_CALLOUT = re.compile(r"^\[!(\w+)\][+-]?\s*")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_EMPH = re.compile(r"(\*\*|__|\*|_|`)(?=\S)(.+?)(?<=\S)\1")
_HTML_TAG = re.compile(r"</?[a-zA-Z][^>]*>")


def decode_text(data: bytes, filename: str) -> tuple[str, list[str]]:
    """Decode bytes as UTF-8 (BOM-aware, UTF-16 with BOM), with a Windows-1252 fallback.

    Raises :class:`CorruptFileError` naming the byte offset when undecodable.
    """
    warnings: list[str] = []
    nul = data.count(b"\x00") if not data.startswith((b"\xff\xfe", b"\xfe\xff")) else 0
    if nul:
        data = data.replace(b"\x00", b"")
        warnings.append(
            f"{filename} held {nul} NUL byte(s) (a character that text files do not "
            "use); they were removed. Check the text around them."
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), warnings
        except UnicodeDecodeError as exc:
            raise CorruptFileError(
                f"{filename} claims to be UTF-16 text but has undecodable bytes at "
                f"position {exc.start}. Save it as UTF-8 text and upload it again.",
                filename,
            ) from exc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            text = None
        if text is None or len(_CONTROL.findall(text)) > len(text) // 200:
            raise CorruptFileError(
                f"{filename} is not valid UTF-8 text (undecodable bytes at position "
                f'{exc.start}). Save it as UTF-8 ("Unicode") text and upload it again.',
                filename,
            ) from exc
        warnings.append(
            f"{filename} is not UTF-8 (first bad byte at position {exc.start}); it was "
            "read as Windows-1252. Check accented characters, or save it as UTF-8."
        )
    if _CONTROL.search(text):
        text = _CONTROL.sub(" ", text)
    return text, warnings


def _wiki(m: re.Match) -> str:
    return (m.group(2) or m.group(1) or "").strip()


def _inline(text: str) -> str:
    """Visible text of Markdown inline markup: links and wiki-links read as the words
    shown ("[[Chronic kidney disease|CKD]]" -> "CKD"), embeds are dropped."""
    text = _EMBED.sub("", text)
    text = _WIKI.sub(_wiki, text)
    text = _BR.sub("\n", text)
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _HTML_TAG.sub("", text)
    for _ in range(3):
        new = _EMPH.sub(r"\2", text)
        if new == text:
            break
        text = new
    return text


def _join(lines: list[str]) -> str:
    # line breaks stay: the engine decides whether the next line continues a sentence
    return "\n".join(s.strip() for s in lines if s.strip())


def _cells(line: str) -> list[str]:
    """Cells of a Markdown table row; a ``|`` inside a wiki-link is not a separator."""
    line = _WIKI.sub(_wiki, line.strip())
    line = line.removeprefix("|")
    line = line.removesuffix("|")
    return [c.strip() for c in line.split("|")]


def _html_table(html: str) -> list[str]:
    """One text per row of an HTML table: its cells joined by " | "."""
    rows = []
    for row in _HTML_ROW.findall(html):
        cells = [_inline(c).strip() for c in _HTML_CELL.findall(row)]
        cells = [" ".join(c.split()) for c in cells if c]
        if cells:
            rows.append(" | ".join(cells))
    return rows


def extract_text(
    text: str, filename: str, markdown: bool, limits: IngestLimits
) -> tuple[list[Segment], str | None]:
    """Split text into paragraph segments located by their first line number.

    Markdown headings, list items, quotes, table rows and code blocks become their
    own segments (``part`` "heading", "list", "quote", "table", "code").
    Returns ``(segments, title)``.
    """
    if len(text) > limits.max_text_chars:
        raise TooLargeError(
            f"{filename} has {len(text):,} characters of text (limit "
            f"{limits.max_text_chars:,}). Split it into smaller files.",
            filename,
        )
    lines = text.splitlines()
    segments: list[Segment] = []
    title: str | None = None
    block: list[str] = []
    block_start = 0
    block_part: str | None = None

    block_level: int | None = None
    list_indents: list[int] = []

    def flush() -> None:
        nonlocal block, block_part, block_level
        if block:
            body = "\n".join(block) if block_part == "code" else _join(block)
            if markdown and block_part != "code":
                body = _inline(body)
            body = body.strip()
            if body:
                segments.append(
                    Segment(
                        body,
                        Location("line", block_start, block_part, level=block_level),
                    )
                )
        block, block_part, block_level = [], None, None

    def add(
        lineno: int, content: str, part: str | None, level: int | None = None
    ) -> None:
        nonlocal block_start, block_part, block_level
        flush()
        block_start, block_part, block_level = lineno, part, level
        block.append(content)
        flush()

    def list_level(indent: int) -> int:
        while list_indents and list_indents[-1] > indent:
            list_indents.pop()
        if not list_indents or list_indents[-1] < indent:
            list_indents.append(indent)
        return len(list_indents)

    i = 0
    if markdown and lines and lines[0].strip() == "---":  # YAML front matter
        for j in range(1, min(len(lines), 200)):
            if lines[j].strip() in ("---", "..."):
                for fm in lines[1:j]:
                    if fm.lower().startswith("title:"):
                        title = fm.split(":", 1)[1].strip().strip("\"'") or None
                i = j + 1
                break
    in_code = False
    while i < len(lines):
        line = lines[i]
        lineno = i + 1
        i += 1
        if markdown:
            if _FENCE.match(line):
                if in_code:
                    flush()
                    in_code = False
                else:
                    flush()
                    in_code, block_start, block_part = True, lineno + 1, "code"
                continue
            if in_code:
                block.append(line)
                continue
            if not line.strip():
                flush()
                continue
            if "<table" in line.lower():
                html = [line]
                while "</table>" not in html[-1].lower() and i < len(lines):
                    html.append(lines[i])
                    i += 1
                for row in _html_table("\n".join(html)):
                    add(lineno, row, "table")
                continue
            if re.match(r"\s*<[uo]l\b", line, re.IGNORECASE) or re.match(
                r"\s*<li\b", line, re.IGNORECASE
            ):
                html = [line]
                while not re.search(r"</[uo]l>", html[-1], re.IGNORECASE) and i < len(
                    lines
                ):
                    if not lines[i].strip():
                        break
                    html.append(lines[i])
                    i += 1
                for item in _HTML_ITEM.findall("\n".join(html)):
                    add(lineno, _inline(item), "list", 1)
                continue
            m = _HEADING.match(line)
            if m:
                add(lineno, m.group(2), "heading", len(m.group(1)))
                if title is None and len(m.group(1)) == 1:
                    title = _inline(m.group(2)).strip() or None
                continue
            if _SETEXT.match(line) and block and block_part is None:
                # previous paragraph line(s) were a setext heading
                block_part = "heading"
                if title is None and line.strip().startswith("="):
                    title = _inline(_join(block)).strip() or None
                flush()
                continue
            if _RULE.match(line):
                flush()
                continue
            if _TABLE_SEP.match(line) and "|" in line:
                continue
            next_line = lines[i] if i < len(lines) else ""
            if line.lstrip().startswith("|") or (
                "|" in line
                and (block_part == "table" or _TABLE_SEP.match(next_line))
                and "|" in next_line + line
            ):
                cells = _cells(line)
                add(lineno, " | ".join(c for c in cells if c), "table")
                block_part = "table"  # a row without outer pipes continues the table
                continue
            m = _LIST.match(line)
            if m:
                add_start = lineno
                flush()
                indent = len(line[: len(line) - len(line.lstrip())].expandtabs(4))
                block_start, block_part = add_start, "list"
                block_level = list_level(indent)
                block.append(line[m.end() :])
                continue
            m = _QUOTE.match(line)
            if m:
                inner = line[m.end() :]
                # a callout ("> [!WARNING] Title") or a list inside a quote: its own items
                c = _CALLOUT.match(inner)
                if c:
                    flush()
                    title_text = inner[c.end() :].strip() or c.group(1).capitalize()
                    add(lineno, title_text, "quote")
                    block_part = "quote"
                    continue
                lm = _LIST.match(inner)
                if lm:
                    flush()
                    block_start, block_part = lineno, "quote"
                    block.append(inner[lm.end() :])
                    continue
                if block_part != "quote":
                    flush()
                    block_start, block_part = lineno, "quote"
                block.append(inner)
                continue
            if not block:
                block_start = lineno
            elif block_part == "quote" and not line.startswith((" ", "\t")):
                pass  # lazy continuation of the quote
            block.append(line)
        else:
            if not line.strip():
                flush()
                continue
            if not block:
                block_start = lineno
            block.append(line)
    flush()
    return segments, title
