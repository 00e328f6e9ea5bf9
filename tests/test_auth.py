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


def _age_failures(seconds: float) -> None:
    """Make every recorded failure `seconds` older (instead of sleeping)."""
    import datetime as dt

    for event in db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "auth.login_failed")
    ):
        event.at = event.at - dt.timedelta(seconds=seconds)
    db.session.commit()


def test_an_address_with_many_failures_is_slowed_never_locked(app, auth, world):
    """20 failures with random emails locked every user behind a school's NAT for 15
    minutes; now the address waits a few seconds, growing, and the right password
    then signs in."""
    app.config["LOGIN_MAX_FAILURES_PER_IP"] = 20
    for n in range(20):
        assert auth.login(f"guess{n}@school.example.edu", "bad").status_code == 401
    # Just after the 20th failure: wait one second.
    response = auth.login(world.dean.email)
    assert response.status_code == 429
    assert "from your network. Please wait 1 second" in response.get_data(as_text=True)
    _age_failures(1.5)
    assert auth.login(world.dean.email).status_code == 302  # the right password: in
    auth.logout()
    # Each further failure doubles the wait: 2, 4, 8 seconds ...
    _age_failures(60)
    assert auth.login("guess-more@school.example.edu", "bad").status_code == 401
    text = auth.login(world.coach.email).get_data(as_text=True)
    assert "Please wait 2 seconds" in text
    _age_failures(2.5)
    assert auth.login("guess-again@school.example.edu", "bad").status_code == 401
    assert "Please wait 4 seconds" in auth.login(world.coach.email).get_data(
        as_text=True
    )
    _age_failures(4.5)
    assert auth.login(world.coach.email).status_code == 302


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


class Browser:
    """A client with its own app context per request (g, session), as in production:
    several browsers of one test do not share the signed-in user."""

    def __init__(self, app, email: str):
        from tests.conftest import AuthActions

        self.app, self.client = app, app.test_client()
        self.auth = AuthActions(self.client)
        with app.app_context():
            assert self.auth.login(email).status_code == 302

    def get(self, url: str):
        with self.app.app_context():
            return self.client.get(url)

    def post(self, url: str, data: dict, csrf_from: str = "/"):
        with self.app.app_context():
            token = self.auth.csrf_token(csrf_from)
        with self.app.app_context():
            return self.client.post(url, data={**data, "csrf_token": token})

    def signed_out(self) -> bool:
        response = self.get("/clinics")
        return (
            response.status_code == 302
            and "/auth/login" in response.headers["Location"]
        )


def test_a_copied_cookie_is_refused_after_logout(app, world):
    browser = Browser(app, world.coach.email)
    cookie = browser.client.get_cookie("session").value
    browser.post("/auth/logout", {})
    replay = app.test_client()
    replay.set_cookie("session", cookie)
    with app.app_context():
        response = replay.get("/clinics")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_a_password_change_ends_the_other_sessions_not_this_one(app, world):
    here, there = Browser(app, world.coach.email), Browser(app, world.coach.email)
    assert not there.signed_out()
    response = here.post(
        "/auth/password",
        {
            "current": builders.PASSWORD,
            "new": "a brand new secret",
            "confirm": "a brand new secret",
        },
        csrf_from="/auth/password",
    )
    assert response.status_code == 302
    assert not here.signed_out()  # this browser stays signed in
    assert there.signed_out()


def test_an_admin_reset_ends_the_users_sessions(app, world):
    coach = Browser(app, world.coach.email)
    admin = Browser(app, world.admin.email)
    response = admin.post(
        f"/admin/users/{world.coach.id}/reset-password", {}, csrf_from="/admin/users"
    )
    assert response.status_code in (200, 302)
    assert coach.signed_out()
    assert not admin.signed_out()


def test_api_tokens_outlive_a_logout(app, client, auth, world):
    from clinic.services import tokens

    _, plain = tokens.create_token(world.coach, world.coach, "script")
    auth.login(world.coach.email)
    auth.logout()
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {plain}"})
    assert response.status_code == 200
