from flask import Blueprint

bp = Blueprint("auth", __name__, url_prefix="/auth")

from clinic.auth import routes  # noqa: F401
