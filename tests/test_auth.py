"""Signing in and out, password rules, rate limiting and CSRF."""

import sqlalchemy as sa
from werkzeug.security import check_password_hash

from clinic.extensions import db
from clinic.models import AuditEvent, Role
from clinic.services import accounts
from tests import builders


def _events(action):
    return list(
        db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action))
    )


def test_login_and_logout(client, auth, world):
    response = auth.login(world.director.email.upper())  # email is case-insensitive
    assert response.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "My courses" in page and world.director.name in page
    assert len(_events("auth.login")) == 1
    auth.logout()
    assert client.get("/").status_code == 302
    assert len(_events("auth.logout")) == 1


def test_wrong_password_is_refused_and_audited(client, auth, world):
    response = auth.login(world.director.email, "wrong password!")
    assert response.status_code == 401
    assert "Email or password is not correct" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302
    (event,) = _events("auth.login_failed")
    assert event.object_id == world.director.email


def test_unknown_email_gets_the_same_message(auth):
    response = auth.login("nobody@school.example.edu", "whatever12345")
    assert response.status_code == 401
    assert "Email or password is not correct" in response.get_data(as_text=True)


def test_deactivated_user_cannot_sign_in(client, auth, app):
    user = builders.gen_user(Role.COACH, active=False)
    response = auth.login(user.email)
    assert response.status_code == 401
    assert "deactivated" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_deactivation_ends_an_open_session(client, auth, world):
    auth.login(world.coach.email)
    assert client.get("/").status_code == 200
    world.coach.active = False
    db.session.commit()
    assert client.get("/").status_code == 302


def test_failed_logins_are_rate_limited(app, client, auth, world):
    app.config["LOGIN_MAX_FAILURES"] = 3
    for _ in range(3):
        assert auth.login(world.dean.email, "bad password 1").status_code == 401
    response = auth.login(
        world.dean.email
    )  # even the right password is refused while locked
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302
    # Another account is not locked by the first one's failures.
    assert auth.login(world.coach.email).status_code == 302


def test_rate_limit_per_address(app, auth, world):
    app.config["LOGIN_MAX_FAILURES_PER_IP"] = 4
    for n in range(4):
        auth.login(f"guess{n}@school.example.edu", "bad password 1")
    assert auth.login(world.dean.email).status_code == 429


def test_login_without_csrf_token_is_refused(client, world):
    response = client.post(
        "/auth/login", data={"email": world.admin.email, "password": builders.PASSWORD}
    )
    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_admin_post_without_csrf_token_is_refused(client, auth, world):
    auth.login(world.admin.email)
    response = client.post(
        f"/admin/users/{world.coach.id}/active", data={"active": "0"}
    )
    assert response.status_code == 400
    assert "The form could not be accepted" in response.get_data(as_text=True)
    db.session.refresh(world.coach)
    assert world.coach.active


def test_open_redirect_is_not_followed(client, auth, world):
    token = auth.csrf_token()
    response = client.post(
        "/auth/login?next=https://evil.example.com/",
        data={
            "email": world.admin.email,
            "password": builders.PASSWORD,
            "csrf_token": token,
        },
    )
    assert response.headers["Location"] == "/"


def test_default_password_hash_is_scrypt(app):
    app.config["PASSWORD_METHOD"] = "scrypt"
    hashed = accounts.hash_password("a long enough password")
    assert hashed.startswith("scrypt:")
    assert check_password_hash(hashed, "a long enough password")


def test_change_password(client, auth, world):
    auth.login(world.coach.email)
    token = auth.csrf_token("/auth/password")
    response = client.post(
        "/auth/password",
        data={
            "current": builders.PASSWORD,
            "new": "a brand new secret",
            "confirm": "a brand new secret",
            "csrf_token": token,
        },
    )
    assert response.status_code == 302
    auth.logout()
    assert auth.login(world.coach.email, "a brand new secret").status_code == 302


def test_change_password_needs_current_password(client, auth, world):
    auth.login(world.coach.email)
    token = auth.csrf_token("/auth/password")
    response = client.post(
        "/auth/password",
        data={
            "current": "not it at all",
            "new": "a brand new secret",
            "confirm": "a brand new secret",
            "csrf_token": token,
        },
    )
    assert "current password is not correct" in response.get_data(as_text=True)


def _two_browsers(app, world, auth):
    """The coach signed in twice: `auth` is one browser, the returned client another."""
    from tests.conftest import AuthActions

    other = app.test_client()
    AuthActions(other).login(world.coach.email)
    auth.login(world.coach.email)
    assert other.get("/clinics").status_code == 200
    return other


def _signed_out(client) -> bool:
    response = client.get("/clinics")
    return response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_a_copied_cookie_is_refused_after_logout(app, client, auth, world):
    auth.login(world.coach.email)
    cookie = client.get_cookie("session").value
    auth.logout()
    replay = app.test_client()
    replay.set_cookie("session", cookie)
    assert _signed_out(replay)


def test_a_password_change_ends_the_other_sessions_not_this_one(
    app, client, auth, world
):
    other = _two_browsers(app, world, auth)
    token = auth.csrf_token("/auth/password")
    client.post(
        "/auth/password",
        data={
            "current": builders.PASSWORD,
            "new": "a brand new secret",
            "confirm": "a brand new secret",
            "csrf_token": token,
        },
    )
    assert client.get("/clinics").status_code == 200  # this browser stays signed in
    assert _signed_out(other)


def test_an_admin_reset_ends_the_users_sessions(app, client, auth, world):
    from tests.conftest import AuthActions

    coach = app.test_client()
    AuthActions(coach).login(world.coach.email)
    assert coach.get("/clinics").status_code == 200
    auth.login(world.admin.email)
    token = auth.csrf_token("/admin/users")
    response = client.post(
        f"/admin/users/{world.coach.id}/reset-password", data={"csrf_token": token}
    )
    assert response.status_code in (200, 302)
    assert _signed_out(coach)
    assert client.get("/admin/users").status_code == 200  # the admin is still in


def test_api_tokens_outlive_a_logout(app, client, auth, world):
    from clinic.services import tokens

    _, plain = tokens.create_token(world.coach, world.coach, "script")
    auth.login(world.coach.email)
    auth.logout()
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {plain}"})
    assert response.status_code == 200
