"""The validated rubric for the web app, loaded once per rubric content."""

from __future__ import annotations

import threading
from pathlib import Path

from clinic.analysis import Rubric, load_rubric
from clinic.analysis.rubric import content_hash

_CACHE: dict[tuple[str, str], Rubric] = {}
_LOCK = threading.Lock()


def get_rubric(rubric_dir: str | Path) -> Rubric:
    """The rubric in `rubric_dir`; raises RubricError (listing every problem) if invalid."""
    directory = Path(rubric_dir).resolve()
    key = (str(directory), content_hash(directory) if directory.is_dir() else "")
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = load_rubric(directory)
        return _CACHE[key]


def app_rubric() -> Rubric:
    from flask import current_app

    return get_rubric(current_app.config["RUBRIC_DIR"])
