"""Shared fixtures: an app on a throwaway database, clients signed in per role, builders."""

from __future__ import annotations

import os
import re

import pytest
import sqlalchemy as sa

from clinic import create_app
from clinic.extensions import db
from tests import builders

TEST_DATABASE_URL = os.environ.get("CLINIC_TEST_DATABASE_URL")


def _reset_database() -> None:
    """Drop every table, including Alembic's, so each test starts from empty."""
    db.drop_all()
    with db.engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))


@pytest.fixture
def app(tmp_path):
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "SQLALCHEMY_DATABASE_URI": TEST_DATABASE_URL
        or f"sqlite:///{tmp_path / 'test.sqlite'}",
        "UPLOAD_FOLDER": str(tmp_path / "instance" / "files"),
        # A fast hash keeps the suite quick; test_auth checks that the default is scrypt.
        "PASSWORD_METHOD": "pbkdf2:sha256:1000",
        # Jobs run at once, inside the request; test_jobs also runs a real worker process.
        "JOBS_IMMEDIATE": True,
    }
    app = create_app(config)
    with app.app_context():
        _reset_database()
        db.create_all()
        yield app
        db.session.remove()
        _reset_database()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def world(app):
    """A small school: one user per role, two courses with a clinic each, one foreign to the user."""
    return builders.world()


class AuthActions:
    """Sign in and out through the real login form, CSRF token included."""

    def __init__(self, client):
        self.client = client

    def csrf_token(self, path: str = "/auth/login") -> str:
        page = self.client.get(path).get_data(as_text=True)
        match = re.search(
            r'name="csrf_token" type="hidden" value="([^"]+)"', page
        ) or re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def login(self, email: str, password: str = builders.PASSWORD):
        return self.client.post(
            "/auth/login",
            data={
                "email": email,
                "password": password,
                "csrf_token": self.csrf_token(),
            },
        )

    def logout(self):
        return self.client.post(
            "/auth/logout", data={"csrf_token": self.csrf_token("/")}
        )


@pytest.fixture
def auth(client):
    return AuthActions(client)


class SmtpInbox:
    """What a real SMTP server (aiosmtpd, on 127.0.0.1 in this process) received."""

    def __init__(self):
        self.messages = []  # email.message.EmailMessage, with .rcpt_tos

    async def handle_DATA(self, server, session, envelope):
        from email import message_from_bytes, policy

        message = message_from_bytes(envelope.content, policy=policy.default)
        message.rcpt_tos = list(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 Message accepted for delivery"

    def to(self, email: str) -> list:
        return [m for m in self.messages if email in m.rcpt_tos]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server(app):
    """A real SMTP server on 127.0.0.1; the app is configured to send to it."""
    from aiosmtpd.controller import Controller

    inbox = SmtpInbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    inbox.port = controller.port
    app.config.update(
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=controller.port,
        SMTP_TLS="off",
        MAIL_FROM="clinic@school.example.edu",
        BASE_URL="http://clinic.test",
    )
    try:
        yield inbox
    finally:
        controller.stop()
