"""A batch upload from a form: the files that arrived (and those the browser kept back),
and the one banner that sums the batch up."""

from __future__ import annotations

import json

from flask import request

from clinic.services.documents import BatchResult, IncomingFile
from clinic.uploads import file_size

#: The browser names the files it did not send in `not_sent` fields (see upload.js);
#: at most this many are read.
MAX_NOT_SENT = 100
#: In the banner, files refused for the same reason beyond this many are counted.
MAX_NAMED = 12


def incoming_files(files) -> list[IncomingFile]:
    """The batch: each file part in order, then those the browser checked and kept back."""
    batch = []
    for storage in files:
        if not storage or not storage.filename:
            continue
        size, over_limit = file_size(storage)
        batch.append(
            IncomingFile(storage.filename, size, None if over_limit else storage.read)
        )
    for raw in request.form.getlist("not_sent")[:MAX_NOT_SENT]:
        try:
            entry = json.loads(raw)
            name, size = str(entry["name"]), int(entry["size"])
        except (ValueError, KeyError, TypeError):
            continue  # not what upload.js sends: ignored
        if name and size >= 0:
            batch.append(IncomingFile(name, size, None, not_sent=True))
    return batch


def _quoted(name: str) -> str:
    return f"‘{name}’"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def banner(result: BatchResult) -> tuple[str, dict]:
    """(alert category, message) for the one flash of a batch (see base.html).

    The message names every file: what was uploaded as what, what was unchanged,
    and what was refused and why.
    """
    total = len(result.items)
    uploaded, unchanged, refused = result.uploaded, result.unchanged, result.refused
    if not refused:
        category = "success"
    elif uploaded or unchanged:
        category = "warning"
    else:
        category = "danger"
    if total == 1:
        headline = "1 file uploaded and queued for analysis." if uploaded else ""
        if unchanged:
            headline = "The file is unchanged; nothing new to analyse."
        if refused:
            headline = "The file was not uploaded."
    elif len(uploaded) == total:
        headline = f"All {total} files uploaded and queued for analysis."
    else:
        headline = f"{len(uploaded)} of {total} files uploaded and queued for analysis."
        if unchanged:
            headline += f" {_plural(len(unchanged), 'file')} unchanged."
    detail = ""
    if refused and total > 1:
        named = [f"{_quoted(i.filename)} ({i.reason})" for i in refused[:MAX_NAMED]]
        if len(refused) > MAX_NAMED:
            named.append(f"{len(refused) - MAX_NAMED} more")
        detail = "Not uploaded: " + ", ".join(named) + "."
    listed_refused = {id(i) for i in refused[:MAX_NAMED]}
    items = [
        {"outcome": i.outcome, "text": i.message}
        for i in result.items
        if i.outcome != "refused" or id(i) in listed_refused
    ]
    return category, {
        "kind": "upload-batch",
        "headline": headline,
        "detail": detail,
        "items": items,
    }
