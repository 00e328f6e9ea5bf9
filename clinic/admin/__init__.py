from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from clinic.admin import routes  # noqa: F401
