"""The JSON API (`/api/v1`): bearer tokens, the same policy and services as the pages."""

from flask import Blueprint

from clinic.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # no cookies count here, so there is nothing to forge

from clinic.api import auth, routes  # noqa: F401
