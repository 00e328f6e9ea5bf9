"""The `clinic` command line through Flask's CLI runner."""

import os
import shutil
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from clinic.analysis.rubric import DEFAULT_RUBRIC_DIR
from clinic.cli import main
from clinic.extensions import db
from clinic.models import Clinic, Role, User
from clinic.services import accounts


def test_init_creates_secret_and_schema(app, runner):
    db.drop_all()
    result = runner.invoke(args=["init"])
    assert result.exit_code == 0, result.output
    secret = os.path.join(app.instance_path, "secret_key")
    assert stat.S_IMODE(os.stat(secret).st_mode) == 0o600
    assert "database schema is up to date" in result.output
    assert "users" in sa.inspect(db.engine).get_table_names()
    # A second init keeps the key.
    before = Path(secret).read_text()
    assert runner.invoke(args=["init"]).exit_code == 0
    assert Path(secret).read_text() == before


def test_create_user_with_password_stdin(runner):
    result = runner.invoke(
        args=[
            "create-user",
            "Dean@School.example.edu",
            "--role",
            "dean",
            "--name",
            "Dina Dean",
            "--password-stdin",
        ],
        input="a long password\n",
    )
    assert result.exit_code == 0, result.output
    user = accounts.get_by_email("dean@school.example.edu")
    assert user.role == Role.DEAN and user.name == "Dina Dean"


def test_create_user_prompts_for_password(runner):
    result = runner.invoke(
        args=["create-user", "c@school.example.edu", "--role", "coach", "--name", "C"],
        input="a long password\na long password\n",
    )
    assert result.exit_code == 0, result.output
    assert accounts.get_by_email("c@school.example.edu") is not None


def test_create_user_errors_are_clear(runner, world):
    result = runner.invoke(
        args=[
            "create-user",
            world.coach.email,
            "--role",
            "coach",
            "--name",
            "X",
            "--password-stdin",
        ],
        input="a long password\n",
    )
    assert result.exit_code == 1 and "already exists" in result.output
    result = runner.invoke(
        args=[
            "create-user",
            "short@school.example.edu",
            "--role",
            "coach",
            "--name",
            "X",
            "--password-stdin",
        ],
        input="short\n",
    )
    assert result.exit_code == 1 and "at least 10 characters" in result.output
    result = runner.invoke(
        args=["create-user", "x@school.example.edu", "--role", "king", "--name", "X"]
    )
    assert result.exit_code == 2


def test_demo_loads_accounts_for_every_role(runner):
    db.drop_all()
    result = runner.invoke(args=["demo", "--no-serve"])
    assert result.exit_code == 0, result.output
    for role in Role:
        assert f"{role.value} " in result.output
    assert db.session.scalar(sa.select(sa.func.count(Clinic.id))) >= 4
    # Running it again refreshes the passwords and adds nothing twice.
    again = runner.invoke(args=["demo", "--no-serve"])
    assert again.exit_code == 0
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 6


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("nosuchdb://nowhere/none", "the database URL cannot be used"),
        (
            "postgresql+psycopg://nobody@127.0.0.1:9/none",
            "cannot use the database: connection failed",
        ),
    ],
)
def test_bad_database_settings_end_a_command_with_a_message(
    url, message, tmp_path, monkeypatch
):
    monkeypatch.setenv("CLINIC_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("CLINIC_DATABASE_URL", url)
    result = CliRunner().invoke(main, ["create-token", "dean@school.example.edu"])
    assert result.exit_code == 1
    assert f"Error: {message}" in result.output
    assert "Traceback" not in result.output


def test_an_invalid_rubric_ends_a_command_with_every_error(tmp_path, monkeypatch):
    rubric = tmp_path / "rubrics"
    shutil.copytree(DEFAULT_RUBRIC_DIR, rubric)
    (rubric / "pedagogy.yaml").write_text("criteria: [broken\n", encoding="utf-8")
    monkeypatch.setenv("CLINIC_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("CLINIC_RUBRIC_DIR", str(rubric))
    result = CliRunner().invoke(main, ["init"])
    assert result.exit_code == 1
    assert "invalid rubric (1 error(s))" in result.output
    assert "pedagogy.yaml: (file): cannot be read as YAML" in result.output


def test_serve_does_not_share_a_control_socket_in_the_home_folder():
    """Every `clinic serve` of a user shared ~/.gunicorn/gunicorn.ctl."""
    from gunicorn.config import Config

    from clinic.cli import gunicorn_settings

    config = Config()
    for name, value in gunicorn_settings("127.0.0.1", 5000, 2).items():
        config.set(name, value)
    assert config.control_socket_disable is True
    assert config.bind == ["127.0.0.1:5000"]
