"""Configuration: embedded defaults, overridden by instance/config.py, then CLINIC_* variables."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Config

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SECRET_KEY_FILE = "secret_key"

# CLINIC_<NAME> environment variables map onto these config keys, with a converter.
ENV_SETTINGS: dict[str, tuple[str, type]] = {
    "DATABASE_URL": ("SQLALCHEMY_DATABASE_URI", str),
    "SECRET_KEY": ("SECRET_KEY", str),
    "REDIS_URL": ("REDIS_URL", str),
    "MAX_UPLOAD_MB": ("MAX_UPLOAD_MB", int),
    "MAX_UPLOAD_FILES": ("MAX_UPLOAD_FILES", int),
    "MAX_REQUEST_MB": ("MAX_REQUEST_MB", int),
    "RUBRIC_DIR": ("RUBRIC_DIR", str),
    "LOGIN_MAX_FAILURES": ("LOGIN_MAX_FAILURES", int),
    "LOGIN_LOCKOUT_MINUTES": ("LOGIN_LOCKOUT_MINUTES", int),
    "PROXY_COUNT": ("PROXY_COUNT", int),
    "JOB_STALE_SECONDS": ("JOB_STALE_SECONDS", int),
    "UPLOAD_DIR": ("UPLOAD_FOLDER", str),
    "SESSION_COOKIE_SECURE": (
        "SESSION_COOKIE_SECURE",
        lambda v: v.lower() in {"1", "true", "yes", "on"},
    ),
    "SESSION_HOURS": (
        "PERMANENT_SESSION_LIFETIME",
        lambda v: dt.timedelta(hours=float(v)),
    ),
    "SESSION_MAX_HOURS": ("SESSION_MAX_HOURS", float),
    "SMTP_HOST": ("SMTP_HOST", str),
    "SMTP_PORT": ("SMTP_PORT", int),
    "SMTP_USER": ("SMTP_USER", str),
    "SMTP_PASSWORD": ("SMTP_PASSWORD", str),
    "SMTP_TLS": ("SMTP_TLS", lambda v: v.strip().lower()),
    "MAIL_FROM": ("MAIL_FROM", str),
    "BASE_URL": ("BASE_URL", str),
    "PROPOSAL_MIN_DISMISSALS": ("PROPOSAL_MIN_DISMISSALS", int),
}


def resolve_instance_path() -> Path:
    """The instance folder: CLINIC_INSTANCE_PATH, else `instance/` beside the package."""
    configured = os.environ.get("CLINIC_INSTANCE_PATH")
    return Path(configured).resolve() if configured else PROJECT_ROOT / "instance"


def defaults(instance_path: Path) -> dict:
    """Embedded defaults: everything needed to run on one machine with no other server."""
    return {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance_path / 'clinic.sqlite'}",
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "SECRET_KEY": None,
        "REDIS_URL": None,
        # Per file; one upload (a batch) takes up to MAX_UPLOAD_FILES files, and its
        # request up to MAX_REQUEST_MB in all (unset: MAX_UPLOAD_MB x MAX_UPLOAD_FILES).
        "MAX_UPLOAD_MB": 50,
        "MAX_UPLOAD_FILES": 20,
        "MAX_REQUEST_MB": None,
        "RUBRIC_DIR": str(PROJECT_ROOT / "rubrics"),
        "UPLOAD_FOLDER": str(instance_path / "files"),
        "LOGIN_MAX_FAILURES": 5,
        "LOGIN_MAX_FAILURES_PER_IP": 20,
        "LOGIN_LOCKOUT_MINUTES": 15,
        "PASSWORD_METHOD": "scrypt",
        "PROXY_COUNT": 0,
        "JOB_STALE_SECONDS": 120,
        "JOBS_IMMEDIATE": False,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": False,
        # A sign-in lasts this long without a request (each request renews it)...
        "PERMANENT_SESSION_LIFETIME": dt.timedelta(hours=12),
        # ...and this long at most, however busy (a tab left open polls for status).
        "SESSION_MAX_HOURS": 24,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,
        "BOOTSTRAP_SERVE_LOCAL": True,
        # Mail: with no SMTP host, messages are only logged.
        "SMTP_HOST": None,
        "SMTP_PORT": None,  # 25, 587 with starttls, 465 with ssl
        "SMTP_USER": None,
        "SMTP_PASSWORD": None,
        "SMTP_TLS": "off",  # off, starttls or ssl
        "MAIL_FROM": "clinic@localhost",
        # Links in mail (jobs have no request to take the host from).
        "BASE_URL": "http://localhost:5000",
        # Rubric health proposes a change after this many dismissals with one reason
        # and a shared phrase.
        "PROPOSAL_MIN_DISMISSALS": 3,
    }


def from_environment(environ=os.environ) -> dict:
    """Config values given as CLINIC_* environment variables."""
    found = {}
    for name, (key, convert) in ENV_SETTINGS.items():
        value = environ.get(f"CLINIC_{name}")
        if value not in (None, ""):
            found[key] = convert(value)
    return found


def load(test_config: dict | None = None) -> Config:
    """The settings, in layers: defaults, instance/config.py, CLINIC_* variables,
    then ``test_config``. Its ``root_path`` is the instance folder."""
    from flask import Config

    instance_path = Path(
        (test_config or {}).get("INSTANCE_PATH") or resolve_instance_path()
    )
    config = Config(str(instance_path), defaults(instance_path))
    config.from_pyfile("config.py", silent=True)
    config.from_mapping(from_environment())
    if test_config:
        config.from_mapping(test_config)
    return config


def read_secret_key(instance_path: Path) -> str | None:
    path = instance_path / SECRET_KEY_FILE
    try:
        return path.read_text().strip() or None
    except FileNotFoundError:
        return None


def write_secret_key(instance_path: Path) -> tuple[Path, bool]:
    """Create the instance secret key file (mode 0600) unless it exists; return (path, created)."""
    instance_path.mkdir(parents=True, exist_ok=True)
    path = instance_path / SECRET_KEY_FILE
    if path.exists():
        return path, False
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(32))
    return path, True
