"""Friendly error pages."""

from flask import Flask, render_template
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


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return render_error(
            400,
            f"The form could not be accepted ({error.description}). "
            "Reload the page and try again.",
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code in MESSAGES:
            return render_error(error.code)
        return error

    @app.errorhandler(500)
    def server_error(_error):
        db.session.rollback()
        return render_error(500)
