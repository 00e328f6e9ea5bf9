"""Accounts: creating and changing users, logging in with a failed-login limit."""

from __future__ import annotations

import datetime as dt
import functools
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

from clinic import audit
from clinic.extensions import db
from clinic.models import AuditEvent, Role, User, normalise_email, utcnow
from clinic.services import ServiceError
from clinic.services.text import one_line

MIN_PASSWORD_LENGTH = 10
USER_FIELDS = ("email", "name", "role", "active")


@functools.cache
def _dummy_hash(method: str) -> str:
    """A real hash to check against when the email is unknown, so timing does not
    reveal accounts (made on first use: scrypt costs ~0.1 s, too much for start-up)."""
    return generate_password_hash("not-a-real-password", method=method)


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ServiceError(f"Passwords need at least {MIN_PASSWORD_LENGTH} characters.")
    return generate_password_hash(
        password, method=current_app.config["PASSWORD_METHOD"]
    )


def generate_password() -> str:
    """A random password that is easy to read out (no look-alike characters)."""
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "-".join(
        "".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(4)
    )


def get_by_email(email: str) -> User | None:
    return db.session.scalar(
        sa.select(User).where(User.email == normalise_email(email))
    )


def create_user(
    actor: User | None, *, email: str, name: str, role: Role | str, password: str
) -> User:
    """Create an account; raises ServiceError if the email is taken or the password weak."""
    if get_by_email(email) is not None:
        raise ServiceError(f"An account for {normalise_email(email)} already exists.")
    user = User(
        email=email,
        name=one_line(name, "The name"),
        role=Role(role),
        password_hash=hash_password(password),
    )
    db.session.add(user)
    db.session.flush()
    audit.record(actor, "user.create", user, after=audit.snapshot(user, USER_FIELDS))
    db.session.commit()
    return user


def update_user(
    actor: User, user: User, *, email: str, name: str, role: Role | str
) -> User:
    before = audit.snapshot(user, USER_FIELDS)
    other = get_by_email(email)
    if other is not None and other.id != user.id:
        raise ServiceError(f"An account for {normalise_email(email)} already exists.")
    if user.id == actor.id and Role(role) != Role.ADMIN:
        raise ServiceError("You cannot remove your own administrator role.")
    user.email, user.name, user.role = email, one_line(name, "The name"), Role(role)
    audit.record(
        actor,
        "user.update",
        user,
        before=before,
        after=audit.snapshot(user, USER_FIELDS),
    )
    db.session.commit()
    return user


def end_sessions(user: User) -> None:
    """End every browser session of the user (the caller's own too, unless it keeps
    itself with clinic.auth.sessions.keep)."""
    user.session_version = (user.session_version or 0) + 1


def set_active(actor: User, user: User, active: bool) -> User:
    if user.id == actor.id and not active:
        raise ServiceError("You cannot deactivate your own account.")
    before = audit.snapshot(user, USER_FIELDS)
    user.active = active
    if not active:
        end_sessions(user)
    action = "user.activate" if active else "user.deactivate"
    audit.record(
        actor, action, user, before=before, after=audit.snapshot(user, USER_FIELDS)
    )
    db.session.commit()
    return user


def reset_password(actor: User, user: User) -> str:
    """Give the user a new random password and return it (shown once to the admin)."""
    password = generate_password()
    user.password_hash = hash_password(password)
    end_sessions(user)
    audit.record(actor, "user.reset_password", user)
    db.session.commit()
    return password


def change_password(user: User, current: str, new: str) -> None:
    if not check_password_hash(user.password_hash, current):
        raise ServiceError("Your current password is not correct.")
    user.password_hash = hash_password(new)
    end_sessions(user)
    audit.record(user, "user.change_password", user)
    db.session.commit()


@dataclass
class LoginResult:
    user: User | None = None
    error: str | None = None
    locked: bool = False


def _recent_failures(*, email: str | None = None, ip: str | None = None) -> int:
    window = dt.timedelta(minutes=current_app.config["LOGIN_LOCKOUT_MINUTES"])
    query = sa.select(sa.func.count(AuditEvent.id)).where(
        AuditEvent.action == "auth.login_failed", AuditEvent.at >= utcnow() - window
    )
    if email is not None:
        query = query.where(
            AuditEvent.object_type == "login", AuditEvent.object_id == email
        )
    if ip is not None:
        query = query.where(AuditEvent.ip == ip)
    return db.session.scalar(query) or 0


MAX_IP_DELAY_SECONDS = 60


def ip_wait_seconds(ip: str | None) -> int:
    """How long an address must wait before its next sign-in attempt is checked.

    Past LOGIN_MAX_FAILURES_PER_IP recent failures, each further failure doubles the
    wait after it (1, 2, 4 ... up to a minute). A school's NAT shares one address, so
    the address is slowed down, never locked: a right password that comes after the
    wait signs in."""
    if not ip:
        return 0
    config = current_app.config
    failures = _recent_failures(ip=ip)
    excess = failures - config["LOGIN_MAX_FAILURES_PER_IP"]
    if excess < 0:
        return 0
    last = db.session.scalar(
        sa.select(sa.func.max(AuditEvent.at)).where(
            AuditEvent.action == "auth.login_failed", AuditEvent.ip == ip
        )
    )
    if last is None:
        return 0
    if last.tzinfo is None:
        last = last.replace(tzinfo=dt.UTC)
    delay = min(2**excess, MAX_IP_DELAY_SECONDS)
    left = delay - (utcnow() - last).total_seconds()
    return max(0, int(left + 0.999))


def authenticate(email: str, password: str, ip: str | None) -> LoginResult:
    """Check a login attempt; failures are audited and counted for the rate limits:
    a lockout per account, a growing delay per address."""
    email = normalise_email(email)
    config = current_app.config
    minutes = config["LOGIN_LOCKOUT_MINUTES"]
    if _recent_failures(email=email) >= config["LOGIN_MAX_FAILURES"]:
        return LoginResult(
            error=f"Too many failed sign-in attempts. Please wait {minutes} minutes and try again.",
            locked=True,
        )
    wait = ip_wait_seconds(ip)
    if wait:
        return LoginResult(
            error=f"Too many failed sign-in attempts from your network. Please wait "
            f"{wait} second{'s' if wait != 1 else ''} and try again.",
            locked=True,
        )
    user = get_by_email(email)
    known = user.password_hash if user else _dummy_hash(config["PASSWORD_METHOD"])
    ok = check_password_hash(known, password)
    if user is None or not ok or not user.active:
        audit.record(None, "auth.login_failed", object_type="login", object_id=email)
        db.session.commit()
        if user is not None and ok and not user.active:
            return LoginResult(
                error="This account has been deactivated. Ask CAP staff to reactivate it."
            )
        return LoginResult(error="Email or password is not correct.")
    user.last_login_at = utcnow()
    audit.record(user, "auth.login", user)
    db.session.commit()
    return LoginResult(user=user)


def record_logout(user: User) -> None:
    """Sign out: every session of the user ends, on every browser."""
    end_sessions(user)
    audit.record(user, "auth.logout", user)
    db.session.commit()
