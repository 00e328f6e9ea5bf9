"""clinic: the curriculum clinic review tool."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

from clinic import config as config_module

log = logging.getLogger(__name__)
#: Session key holding when the user signed in (epoch seconds), for SESSION_MAX_HOURS.


#: Endpoints a page loads as parts of itself (images, scripts), never navigated to.
SUBRESOURCE_ENDPOINTS = frozenset({"static", "documents.page_image"})


class SessionInterface(SecureCookieSessionInterface):
    """Session cookie that is Secure whenever the request came over HTTPS, and that
    navigations and actions renew, not a page's images and reads.

    A page's images and fetches are still in flight when its form is posted. Had their
    answers renewed the cookie, the oldest would arrive last and put back the session
    from before the post, losing its flash message ("Finding added").
    """

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"] or request.is_secure)

    def should_set_cookie(self, app: Flask, session) -> bool:
        if session.modified:
            return True
        if not (session.permanent and app.config["SESSION_REFRESH_EACH_REQUEST"]):
            return False
        if request.method not in ("GET", "HEAD"):
            return True  # an action of the user's, even from a script
        mode = request.headers.get("Sec-Fetch-Mode")
        if mode:
            return mode == "navigate"
        return request.endpoint not in SUBRESOURCE_ENDPOINTS


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: defaults, then instance/config.py, then CLINIC_* variables, then test_config."""
    settings = config_module.load(test_config)
    app = Flask(
        __name__,
        template_folder="../templates",
        instance_path=settings.root_path,
        instance_relative_config=True,
    )
    app.config.update(settings)
    _finish_config(app)

    from clinic.analysis.rubric import cached_rubric

    # An invalid rubric stops the app here, with every error.
    cached_rubric(app.config["RUBRIC_DIR"])

    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_template_helpers(app)
    register_security_headers(app)
    register_commands(app)

    from clinic.policy import check_all_routes_guarded

    check_all_routes_guarded(app)
    return app


def _finish_config(app: Flask) -> None:
    config = app.config
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = config_module.read_secret_key(Path(app.instance_path))
    if not config.get("SECRET_KEY"):
        # Sessions would not survive a restart; `clinic init` writes a permanent key.
        config["SECRET_KEY"] = secrets.token_hex(32)
        config["SECRET_KEY_EPHEMERAL"] = True
        log.debug("No secret key configured: a random one is used until `clinic init`.")
    # Any request: at most one file's worth. Upload views take a whole batch
    # (clinic.uploads.UploadRequest), each file checked on its own.
    config["MAX_CONTENT_LENGTH"] = int(config["MAX_UPLOAD_MB"]) * 1024 * 1024
    app.session_interface = SessionInterface()
    if config.get("PROXY_COUNT"):
        count = int(config["PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)


def register_extensions(app: Flask) -> None:
    from clinic import uploads
    from clinic.extensions import bootstrap, csrf, db, login_manager, migrate

    uploads.init_app(app)

    db.init_app(app)
    migrate.init_app(
        app,
        db,
        directory=str(Path(__file__).parent / "migrations"),
        render_as_batch=True,
    )
    csrf.init_app(app)
    bootstrap.init_app(app)
    login_manager.init_app(app)
    from clinic import jobs

    jobs.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to see that page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"

    from clinic.auth import sessions
    from clinic.models import User

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        user = db.session.get(User, int(user_id))
        if user is None or not sessions.valid_for(
            user, app.config["SESSION_MAX_HOURS"]
        ):
            return None
        return user


def register_blueprints(app: Flask) -> None:
    from clinic.admin import bp as admin_bp
    from clinic.api import bp as api_bp
    from clinic.auth import bp as auth_bp
    from clinic.documents import bp as documents_bp
    from clinic.health import bp as health_bp
    from clinic.main import bp as main_bp
    from clinic.notifications import bp as notifications_bp
    from clinic.rubric_health import bp as rubric_health_bp
    from clinic.summaries import bp as summaries_bp
    from clinic.workflow import bp as workflow_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(main_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(documents_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(workflow_bp)
    app.register_blueprint(summaries_bp)
    app.register_blueprint(notifications_bp)
    app.register_blueprint(rubric_health_bp)
    app.register_blueprint(health_bp)


def register_errorhandlers(app: Flask) -> None:
    from clinic.errors import init_app

    init_app(app)


def register_template_helpers(app: Flask) -> None:
    from clinic.audit import describe, where
    from clinic.models import ClinicStatus, Role
    from clinic.policy import allowed

    @app.context_processor
    def inject_helpers() -> dict:
        from flask_login import current_user

        from clinic.services.notifications import unread_count

        return {
            "unread_notifications": lambda: (
                unread_count(current_user) if current_user.is_authenticated else 0
            ),
            "can": lambda action, obj=None: allowed(current_user, action, obj),
            "Role": Role,
            "ClinicStatus": ClinicStatus,
        }

    @app.template_filter("describe_event")
    def describe_event(event) -> str:
        return describe(event)

    @app.template_filter("event_where")
    def event_where(event) -> str:
        return where(event)

    @app.template_filter("datetime")
    def format_datetime(value) -> str:
        return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""


CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def register_security_headers(app: Flask) -> None:
    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("X-Frame-Options", "DENY")
        if request.is_secure:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if _signed_in_content():
            # Nothing a signed-in user sees may sit in a shared cache (or the browser's).
            headers["Cache-Control"] = "private, no-store"
            headers.pop("Expires", None)
        return response


def _signed_in_content() -> bool:
    """Whether this answer went to a signed-in user (a session or an API token);
    static files are the same for everyone."""
    from flask import g
    from flask_login import current_user

    endpoint = request.endpoint or ""
    if endpoint == "static" or endpoint.endswith(".static"):
        return False
    user = g.get("_login_user")
    if user is None:
        return False  # never loaded: nobody was signed in on this request
    return bool(current_user.is_authenticated)


def register_commands(app: Flask) -> None:
    from clinic.cli import init_app

    init_app(app)
