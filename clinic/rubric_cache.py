"""The validated rubric of the running app (loaded once per rubric content)."""

from __future__ import annotations

from flask import current_app

from clinic.analysis import Rubric
from clinic.analysis.rubric import cached_rubric


def app_rubric() -> Rubric:
    return cached_rubric(current_app.config["RUBRIC_DIR"])
