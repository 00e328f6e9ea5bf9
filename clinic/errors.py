"""Friendly error pages, and JSON errors for the API (`/api/...`)."""

import re

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from clinic.extensions import db

MESSAGES = {
    400: ("Bad request", "The request could not be understood."),
    403: ("Not allowed", "Your account does not have access to this page."),
    404: (
        "Not found",
        "There is nothing at this address. It may have been moved or removed.",
    ),
    405: ("Not allowed", "This address does not accept that kind of request."),
    413: ("File too large", "The upload is larger than the limit for this site."),
    429: ("Too many requests", "Please wait a little and try again."),
    500: (
        "Something went wrong",
        "The error has been logged. Please try again in a moment.",
    ),
}


def render_error(code: int, detail: str | None = None):
    title, message = MESSAGES.get(
        code, ("Error", "The request could not be completed.")
    )
    return render_template(
        "errors/error.html", code=code, title=title, message=detail or message
    ), code


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def error_code(error: HTTPException) -> str:
    """`Request Entity Too Large` -> `request_entity_too_large`."""
    return re.sub(r"[^a-z0-9]+", "_", (error.name or "error").lower()).strip("_")


def json_error(status: int, code: str, message: str):
    response = jsonify({"error": code, "message": message})
    response.status_code = status
    return response


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        if is_api_request():
            return json_error(400, "csrf_failed", error.description)
        return render_error(
            400,
            f"The form could not be accepted ({error.description}). "
            "Reload the page and try again.",
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if is_api_request():
            response = json_error(
                error.code or 500, error_code(error), error.description or ""
            )
            allow = getattr(error, "valid_methods", None)
            if error.code == 405 and allow:
                response.headers["Allow"] = ", ".join(sorted(allow))
            if error.code == 401:
                response.headers["WWW-Authenticate"] = 'Bearer realm="clinic"'
            return response
        if error.code in MESSAGES:
            return render_error(error.code)
        return error

    @app.errorhandler(500)
    def server_error(_error):
        db.session.rollback()
        if is_api_request():
            return json_error(
                500, "internal_error", "The error has been logged; please try again."
            )
        return render_error(500)
