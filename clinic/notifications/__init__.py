"""In-app notifications (list, mark read) and each user's mail preferences."""

from flask import Blueprint

bp = Blueprint("notifications", __name__)

from clinic.notifications import routes  # noqa: F401
