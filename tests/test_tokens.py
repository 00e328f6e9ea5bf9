"""API tokens: the service, the `create-token` command and the profile page."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import sqlalchemy as sa
from flask import g

from clinic.extensions import db
from clinic.models import ApiToken, AuditEvent
from clinic.services import tokens
from tests import builders
from tests.conftest import AuthActions


def _events(action: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action))
    )


def _me(client, plaintext: str):
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer {plaintext}"})


def test_a_token_is_stored_hashed_and_shown_once(world):
    token, plaintext = tokens.create_token(world.admin, world.coach, "  sync script ")
    assert plaintext.startswith("clinic_") and len(plaintext) > 40
    assert token.token_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert token.prefix == plaintext[:12] and token.name == "sync script"
    stored = db.session.execute(sa.select(ApiToken.__table__)).mappings().one()
    assert plaintext not in {str(v) for v in stored.values()}
    (event,) = _events("token.create")
    assert event.actor_id == world.admin.id and event.after["user"] == world.coach.email
    assert plaintext not in str(event.after)
    other, second = tokens.create_token(None, world.coach, "")
    assert second != plaintext and other.name == "API token"


def test_authenticate_token(world):
    token, plaintext = tokens.create_token(None, world.director, "x")
    assert tokens.authenticate_token(plaintext) == world.director
    assert tokens.authenticate_token(plaintext + "x") is None
    assert tokens.authenticate_token("") is None
    assert tokens.authenticate_token(None) is None
    world.director.active = False
    db.session.commit()
    assert tokens.authenticate_token(plaintext) is None
    world.director.active = True
    db.session.commit()
    tokens.revoke_token(world.director, token)
    assert tokens.authenticate_token(plaintext) is None
    (event,) = _events("token.revoke")
    assert event.actor_id == world.director.id


def test_last_used_is_written_at_most_once_a_minute(world):
    token, plaintext = tokens.create_token(None, world.coach, "x")
    assert token.last_used_at is None
    tokens.authenticate_token(plaintext)
    first = token.last_used_at
    assert first is not None
    tokens.authenticate_token(plaintext)
    assert token.last_used_at == first
    token.last_used_at = tokens.utcnow() - dt.timedelta(minutes=2)
    db.session.commit()
    tokens.authenticate_token(plaintext)
    assert tokens._aware(token.last_used_at) > tokens._aware(first)


def test_revoked_token_answers_401(client, world):
    token, plaintext = tokens.create_token(None, world.coach, "x")
    assert _me(client, plaintext).status_code == 200
    tokens.revoke_token(world.admin, token)
    response = _me(client, plaintext)
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"


def test_create_token_command(app, client, world):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["create-token", world.coach.email.upper(), "--name", "ci"]
    )
    assert result.exit_code == 0, result.output
    (plaintext,) = re.findall(r"clinic_[\w-]{40,}", result.stdout)
    assert "not shown again" in result.output
    response = _me(client, plaintext)
    assert response.status_code == 200
    assert response.get_json()["email"] == world.coach.email
    token = db.session.scalar(sa.select(ApiToken))
    assert token.name == "ci" and token.user_id == world.coach.id
    unknown = runner.invoke(args=["create-token", "ghost@school.example.edu"])
    assert unknown.exit_code != 0 and "No account" in unknown.output


def _signed_in(app, user):
    g.__dict__.clear()  # the test's app context spans requests; start like a new one
    client = app.test_client()
    auth = AuthActions(client)
    assert auth.login(user.email).status_code == 302
    return client, auth


def test_token_page_creates_lists_and_revokes(app, world):
    client, auth = _signed_in(app, world.director)
    page = client.get("/auth/tokens")
    assert page.status_code == 200
    assert "You have no API tokens" in page.get_data(as_text=True)
    assert 'href="/auth/tokens"' in page.get_data(as_text=True)  # in the navbar
    created = client.post(
        "/auth/tokens",
        data={"name": "my script", "csrf_token": auth.csrf_token("/auth/tokens")},
        follow_redirects=True,
    )
    text = created.get_data(as_text=True)
    (plaintext,) = re.findall(r"clinic_[\w-]{40,}", text)
    assert "my script" in text
    assert _me(app.test_client(), plaintext).status_code == 200
    # Shown once: the list has the prefix only.
    listing = client.get("/auth/tokens").get_data(as_text=True)
    assert plaintext not in listing and plaintext[:12] in listing
    token = db.session.scalar(sa.select(ApiToken))
    revoked = client.post(
        f"/auth/tokens/{token.id}/revoke",
        data={"csrf_token": auth.csrf_token("/auth/tokens")},
        follow_redirects=True,
    )
    assert revoked.status_code == 200
    assert "Revoked" in revoked.get_data(as_text=True)
    assert _me(app.test_client(), plaintext).status_code == 401
    empty = client.post(
        "/auth/tokens", data={"name": "", "csrf_token": auth.csrf_token("/auth/tokens")}
    )
    assert empty.status_code == 400


def test_only_the_owner_or_an_admin_revokes_a_token(app, world):
    token, plaintext = tokens.create_token(None, world.coach, "coach's")
    client, auth = _signed_in(app, world.director)
    csrf = auth.csrf_token("/auth/tokens")
    refused = client.post(f"/auth/tokens/{token.id}/revoke", data={"csrf_token": csrf})
    assert refused.status_code == 404  # another user's token: not even its existence
    assert "coach's" not in client.get("/auth/tokens").get_data(as_text=True)
    assert tokens.authenticate_token(plaintext) == world.coach
    client, auth = _signed_in(app, world.admin)
    done = client.post(
        f"/auth/tokens/{token.id}/revoke",
        data={"csrf_token": auth.csrf_token("/auth/tokens")},
    )
    assert done.status_code == 302
    db.session.refresh(token)
    assert token.revoked_at is not None
    assert _events("token.revoke")[0].actor_id == world.admin.id


def test_token_for_a_deactivated_account_is_refused(world):
    user = builders.gen_user(active=False)
    try:
        tokens.create_token(None, user, "x")
    except tokens.ServiceError as error:
        assert "deactivated" in str(error)
    else:  # pragma: no cover
        raise AssertionError("a deactivated account got a token")
