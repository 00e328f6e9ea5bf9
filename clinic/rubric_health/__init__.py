"""Rubric health: the coaches' decisions per criterion, and rubric changes they suggest."""

from flask import Blueprint

bp = Blueprint("rubric_health", __name__)

from clinic.rubric_health import routes  # noqa: F401
