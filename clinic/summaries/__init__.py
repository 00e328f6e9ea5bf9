"""The dean's school summary (page, PDF, CSV) and the CSV downloads of a clinic."""

from flask import Blueprint

bp = Blueprint("summaries", __name__)

from clinic.summaries import routes  # noqa: F401
