"""Friendly error pages, and JSON errors for the API (`/api/...`)."""

import re

from flask import Flask, g, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError, IntegrityError, InterfaceError, OperationalError
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
    413: ("Upload too large", "The upload is larger than the limit for this site."),
    429: ("Too many requests", "Please wait a little and try again."),
    500: (
        "Something went wrong",
        "The error has been logged. Please try again in a moment.",
    ),
    409: (
        "Conflict",
        (
            "This clashes with something saved just now (perhaps by someone else); "
            "nothing was changed. Reload the page and try again."
        ),
    ),
    503: (
        "Database unavailable",
        (
            "The database is not reachable right now; nothing was changed. "
            "Try again in a minute."
        ),
    ),
}


def render_error(code: int, detail: str | None = None, back: str | None = None):
    title, message = MESSAGES.get(
        code, ("Error", "The request could not be completed.")
    )
    return render_template(
        "errors/error.html",
        code=code,
        title=title,
        message=detail or message,
        back=back,
    ), code


def _same_site_referrer() -> str | None:
    """The page the request came from, when it is one of ours."""
    referrer = request.referrer or ""
    return referrer if referrer.startswith(request.host_url) else None


def request_too_large(error: HTTPException):
    """413: the whole request is over the cap; say what the limits are."""
    from clinic.uploads import current_limits, over_request_limit

    limits = current_limits()
    size = request.content_length
    if not getattr(request, "accepts_files", False):
        message = MESSAGES[413][1]
    elif size is not None and size <= limits.request_bytes:
        # Under the cap, but too many parts or an over-long form field (a forged form).
        message = (
            "The upload has too many parts, or a form field that is too long. "
            "Nothing was stored."
        )
    else:
        message = over_request_limit(size, limits)
    if is_api_request():
        return json_error(413, error_code(error), message)
    return render_error(413, message, back=_same_site_referrer())


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
        if error.code == 413:
            return request_too_large(error)
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

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def database_unavailable(error):
        app.logger.error(
            "database error at %s %s: %s", request.method, request.path, error
        )
        try:
            db.session.rollback()
        except Exception:  # the connection may be gone; the session is discarded anyway
            app.logger.debug("rollback after a database error failed", exc_info=True)
        # The page must not touch the database again (the signed-in user would be reloaded).
        from clinic.extensions import login_manager

        g._login_user = login_manager.anonymous_user()
        g.database_unavailable = True
        message = MESSAGES[503][1]
        if is_api_request():
            response = json_error(503, "database_unavailable", message)
        else:
            response = app.make_response(render_error(503))
        response.headers["Retry-After"] = "60"
        return response

    @app.errorhandler(IntegrityError)
    def conflict(error):
        # A uniqueness check lost a race (or missed a case): refuse, do not crash.
        app.logger.warning("integrity error at %s: %s", request.path, error)
        db.session.rollback()
        if is_api_request():
            return json_error(409, "conflict", MESSAGES[409][1])
        return render_error(409)

    @app.errorhandler(OverflowError)
    @app.errorhandler(DataError)
    def out_of_range(error):
        # e.g. an id beyond the database's integer range in a URL or a JSON body.
        app.logger.info("value out of range at %s: %s", request.path, error)
        db.session.rollback()
        message = "A number or value in the request is out of range."
        if is_api_request():
            return json_error(400, "invalid", message)
        return render_error(400, message)

    @app.teardown_request
    def forget_stand_in_user(_error=None) -> None:
        # g can outlive the request (an app context pushed around several requests).
        if g.pop("database_unavailable", False):
            g.pop("_login_user", None)
