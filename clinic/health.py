"""`GET /health`: a liveness check for load balancers and the load bench (no database)."""

from flask import Blueprint, jsonify

from clinic.policy import guard

bp = Blueprint("health", __name__)


@bp.get("/health")
@guard("public")
def health():
    response = jsonify({"status": "ok"})
    response.headers["Cache-Control"] = "no-store"
    return response
