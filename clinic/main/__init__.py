from flask import Blueprint

bp = Blueprint("main", __name__)

from clinic.main import routes  # noqa: F401
