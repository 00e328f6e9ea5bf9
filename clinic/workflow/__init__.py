from flask import Blueprint

bp = Blueprint("workflow", __name__)

from clinic.workflow import routes  # noqa: F401
