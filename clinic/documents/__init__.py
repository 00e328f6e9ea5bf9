from flask import Blueprint

bp = Blueprint("documents", __name__)

from clinic.documents import routes  # noqa: F401
