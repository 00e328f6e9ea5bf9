"""Personal API tokens: created once in plain text, stored as a SHA-256, revocable."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

import sqlalchemy as sa

from clinic import audit
from clinic.extensions import db
from clinic.models import ApiToken, User, utcnow
from clinic.services import ServiceError

TOKEN_PREFIX = "clinic_"
PREFIX_LENGTH = 12
MAX_NAME = 100
# last_used_at is written at most this often per token, so reads stay cheap.
TOUCH_EVERY = dt.timedelta(minutes=1)


def hash_token(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite gives naive datetimes back; they are stored as UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def create_token(
    actor: User | None, user: User, name: str | None
) -> tuple[ApiToken, str]:
    """Make a token for `user`; the plain text is returned here and never again."""
    name = (name or "").strip() or "API token"
    if len(name) > MAX_NAME:
        raise ServiceError(f"A token name has at most {MAX_NAME} characters.")
    if not user.active:
        raise ServiceError(f"{user.email} is deactivated; it cannot get a token.")
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=hash_token(plaintext),
        prefix=plaintext[:PREFIX_LENGTH],
    )
    db.session.add(token)
    db.session.flush()
    audit.record(
        actor,
        "token.create",
        token,
        after={"user": user.email, "name": name, "prefix": token.prefix},
    )
    db.session.commit()
    return token, plaintext


def revoke_token(actor: User | None, token: ApiToken) -> ApiToken:
    if token.revoked_at is not None:
        raise ServiceError(f"The token {token.name} is already revoked.")
    token.revoked_at = utcnow()
    audit.record(
        actor,
        "token.revoke",
        token,
        after={"user": token.user.email, "name": token.name, "prefix": token.prefix},
    )
    db.session.commit()
    return token


def tokens_of(user: User) -> list[ApiToken]:
    return list(
        db.session.scalars(
            sa.select(ApiToken)
            .where(ApiToken.user_id == user.id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def authenticate_token(plaintext: str | None) -> User | None:
    """The active user a valid, unrevoked token belongs to, else None."""
    if not plaintext or not plaintext.startswith(TOKEN_PREFIX):
        return None
    token = db.session.scalar(
        sa.select(ApiToken).where(ApiToken.token_hash == hash_token(plaintext))
    )
    if token is None or token.revoked_at is not None:
        return None
    user = token.user
    if user is None or not user.active:
        return None
    now = utcnow()
    last = _aware(token.last_used_at)
    if last is None or now - last >= TOUCH_EVERY:
        token.last_used_at = now
        db.session.commit()
    return user
