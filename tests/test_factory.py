"""The app factory and its configuration layers."""

import os
import stat

from clinic import create_app
from clinic.config import from_environment, write_secret_key


def test_test_config_overrides_defaults(app):
    assert app.testing
    assert app.config["SECRET_KEY"] == "test-secret"
    assert app.template_folder == "../templates"


def test_defaults_use_sqlite_in_instance_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("CLINIC_INSTANCE_PATH", str(tmp_path))
    for name in ("CLINIC_DATABASE_URL", "CLINIC_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    app = create_app()
    assert (
        app.config["SQLALCHEMY_DATABASE_URI"]
        == f"sqlite:///{tmp_path / 'clinic.sqlite'}"
    )
    assert app.instance_path == str(tmp_path)
    assert app.config["SECRET_KEY"]  # random, never a hard-coded default


def test_instance_config_then_environment(tmp_path, monkeypatch):
    (tmp_path / "config.py").write_text(
        "MAX_UPLOAD_MB = 7\nREDIS_URL = 'redis://from-file'\n"
    )
    monkeypatch.setenv("CLINIC_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("CLINIC_REDIS_URL", "redis://127.0.0.1:6379/3")
    monkeypatch.setenv("CLINIC_SECRET_KEY", "from-env")
    app = create_app()
    assert app.config["MAX_UPLOAD_MB"] == 7
    assert app.config["MAX_CONTENT_LENGTH"] == 7 * 1024 * 1024
    assert app.config["REDIS_URL"] == "redis://127.0.0.1:6379/3"
    assert app.config["SECRET_KEY"] == "from-env"


def test_environment_values_are_converted():
    found = from_environment(
        {"CLINIC_MAX_UPLOAD_MB": "12", "CLINIC_DATABASE_URL": "sqlite://"}
    )
    assert found == {"MAX_UPLOAD_MB": 12, "SQLALCHEMY_DATABASE_URI": "sqlite://"}


def test_secret_key_file_is_private_and_reused(tmp_path, monkeypatch):
    path, created = write_secret_key(tmp_path)
    assert created and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert write_secret_key(tmp_path) == (path, False)
    monkeypatch.setenv("CLINIC_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("CLINIC_SECRET_KEY", raising=False)
    assert create_app().config["SECRET_KEY"] == path.read_text()


def test_session_cookie_flags(client, auth, world):
    response = auth.login(world.admin.email)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_session_cookie_secure_over_https(app, world):
    client = app.test_client()
    page = client.get("/auth/login", base_url="https://clinic.example.edu").get_data(
        as_text=True
    )
    import re

    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post(
        "/auth/login",
        base_url="https://clinic.example.edu",
        headers={
            "Referer": "https://clinic.example.edu/auth/login"
        },  # Flask-WTF's HTTPS check
        data={
            "email": world.admin.email,
            "password": "correct horse battery",
            "csrf_token": token,
        },
    )
    assert "Secure" in response.headers["Set-Cookie"]


def test_error_pages_are_friendly(client, auth, world):
    auth.login(world.director.email)
    response = client.get("/clinics/424242")
    assert response.status_code == 404
    assert "There is nothing at this address" in response.get_data(as_text=True)
    # Another course's clinic is as missing as one that does not exist...
    response = client.get(f"/clinics/{world.other_clinic.id}")
    assert response.status_code == 404
    assert "There is nothing at this address" in response.get_data(as_text=True)
    # ...and a step the director may not take on their own clinic is a 403.
    response = client.get("/admin/users")
    assert response.status_code == 403
    assert "does not have access" in response.get_data(as_text=True)


def test_security_headers(client):
    response = client.get("/auth/login")
    csp = response.headers["Content-Security-Policy"]
    assert (
        "script-src 'self'" in csp
        and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    )
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
