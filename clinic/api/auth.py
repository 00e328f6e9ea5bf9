"""Bearer-token authentication for the API, for one request at a time.

Session cookies never authenticate an API call (so no cross-site request can
use a signed-in browser) and an API call never issues one: the cookie session
is replaced by an empty one that is not saved.
"""

from __future__ import annotations

from flask import abort, current_app, g, request
from flask.globals import request_ctx
from flask.sessions import SecureCookieSession

from clinic.api import bp
from clinic.services import ServiceError, tokens
from clinic.services.workflow import NotPermitted, TransitionError


def bearer_token() -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def _public_view() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return getattr(view, "policy_action", None) == "public"


def _forget_cookie_session() -> None:
    """Replace the session read from the cookie by an empty one that is not saved."""
    ctx = request_ctx._get_current_object()
    try:
        ctx.session = SecureCookieSession()
    except AttributeError:  # Flask >= 3.2 opens the session lazily behind a property
        ctx._session = SecureCookieSession()


@bp.before_request
def authenticate() -> None:
    _forget_cookie_session()
    if _public_view():
        return
    token = bearer_token()
    if token is None:
        abort(401, "Send an API token as `Authorization: Bearer TOKEN`.")
    user = tokens.authenticate_token(token)
    if user is None:
        abort(401, "The API token is unknown, revoked, or its account is deactivated.")
    g._login_user = user  # what flask_login.current_user reads, for this request only


@bp.after_request
def no_session_cookie(response):
    from flask import session

    session.modified = False  # belt and braces: nothing in the API may set a cookie
    response.headers.setdefault("Cache-Control", "no-store")
    return response


@bp.teardown_request
def forget_user(_error=None) -> None:
    # g can outlive the request (an app context pushed around several requests).
    g.pop("_login_user", None)


def _error(status: int, code: str, message: str):
    from clinic.errors import json_error

    return json_error(status, code, message)


@bp.errorhandler(TransitionError)
def illegal_transition(error: TransitionError):
    from flask import jsonify

    body = {"error": error.code, "message": str(error)}
    if error.counts or error.needs:
        body.update(counts=error.counts, needs=error.needs)
    response = jsonify(body)
    response.status_code = 409
    return response


@bp.errorhandler(NotPermitted)
def not_permitted(error: NotPermitted):
    return _error(403, "forbidden", str(error))


@bp.errorhandler(ServiceError)
def invalid(error: ServiceError):
    return _error(400, "invalid", str(error))
