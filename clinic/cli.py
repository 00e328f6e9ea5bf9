"""The `clinic` command line: a Flask CLI group (so `clinic db upgrade` works too)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from clinic import config as config_module
from clinic.roles import Role


def _create_app() -> Flask:
    """The app for a command that needs one; bad settings end it with a message."""
    from sqlalchemy.exc import ArgumentError

    from clinic import create_app
    from clinic.analysis import RubricError

    try:
        return create_app()
    except ArgumentError as error:  # also NoSuchModuleError: an unknown database kind
        raise click.ClickException(
            f"the database URL cannot be used: {error}. Check CLINIC_DATABASE_URL "
            "(or SQLALCHEMY_DATABASE_URI in instance/config.py)."
        ) from None
    except RubricError as error:
        raise click.ClickException(str(error)) from None


class ClinicGroup(FlaskGroup):
    """The `clinic` group: a database that cannot be reached ends a command with a
    message, not a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except Exception as error:
            errors = sys.modules.get("sqlalchemy.exc")  # only once a command used it
            if errors is None or not isinstance(error, errors.OperationalError):
                raise
            raise click.ClickException(
                f"cannot use the database: {error.orig or error}".strip()
            ) from None


@click.group(cls=ClinicGroup, create_app=_create_app, add_version_option=False)
def main() -> None:
    """Curriculum clinic review tool."""


def initialise_instance(app: Flask) -> list[str]:
    """Create the instance folder, its secret key and the database schema; return what was done."""
    from flask_migrate import upgrade

    done = []
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    Path(app.config["UPLOAD_FOLDER"]).mkdir(parents=True, exist_ok=True)
    path, created = config_module.write_secret_key(instance)
    if created:
        done.append(f"wrote a new secret key to {path} (mode 0600)")
        if app.config.get("SECRET_KEY_EPHEMERAL"):
            app.config["SECRET_KEY"] = config_module.read_secret_key(instance)
            app.config["SECRET_KEY_EPHEMERAL"] = False
    upgrade()
    done.append(f"database schema is up to date ({_safe_url(app)})")
    return done


def _safe_url(app: Flask) -> str:
    from sqlalchemy.engine import make_url

    return make_url(app.config["SQLALCHEMY_DATABASE_URI"]).render_as_string(
        hide_password=True
    )


@click.command("init")
@with_appcontext
def init_command() -> None:
    """Create the instance folder, a secret key and the database schema."""
    for line in initialise_instance(current_app):
        click.echo(line)


@click.command("create-user")
@click.argument("email")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--name", required=True)
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input."
)
@with_appcontext
def create_user_command(email: str, role: str, name: str, password_stdin: bool) -> None:
    """Create an account (the password is prompted for, or read from stdin)."""
    from clinic.services import ServiceError, accounts

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = accounts.create_user(
            None, email=email, name=name, role=role, password=password
        )
    except ServiceError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Created {user.role.value} {user.email}.")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option(
    "--workers", default=2, show_default=True, type=int, help="Web server processes."
)
@click.option(
    "--no-worker", is_flag=True, help="Serve pages only; run `clinic worker` elsewhere."
)
@with_appcontext
def serve_command(host: str, port: int, workers: int, no_worker: bool) -> None:
    """Serve the app with gunicorn (a production WSGI server)."""
    if current_app.config.get("SECRET_KEY_EPHEMERAL"):
        click.echo(
            "Warning: no secret key; run `clinic init` so sign-ins survive a restart.",
            err=True,
        )
    serve(
        current_app._get_current_object(),
        host,
        port,
        workers,
        with_worker=not no_worker,
    )


@click.command("worker")
@click.option(
    "--workers", default=2, show_default=True, type=int, help="Jobs run at once."
)
@with_appcontext
def worker_command(workers: int) -> None:
    """Run background analysis workers (any number of machines may run them)."""
    from clinic.jobs import run_worker

    run_worker(current_app._get_current_object(), workers)


def gunicorn_settings(host: str, port: int, workers: int) -> dict:
    """How `clinic serve` runs gunicorn."""
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": 4,
        "accesslog": "-",
        "timeout": 120,
        # gunicorn's control socket is one per user (~/.gunicorn/gunicorn.ctl), shared
        # by every `clinic serve` of that user; nothing here uses it.
        "control_socket_disable": True,
    }


def serve(
    app: Flask, host: str, port: int, workers: int = 2, with_worker: bool = True
) -> None:
    """gunicorn for the pages, plus (embedded default) a job worker in a child process."""
    import atexit
    import subprocess

    from gunicorn.app.base import BaseApplication

    if with_worker:
        worker = subprocess.Popen([sys.executable, "-m", "clinic", "worker"])
        master = os.getpid()

        def stop_worker() -> None:
            # gunicorn's forked web workers inherit this hook; only the master acts.
            if os.getpid() == master and worker.poll() is None:
                worker.terminate()
                try:
                    worker.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    worker.kill()

        atexit.register(stop_worker)

    class Server(BaseApplication):
        def load_config(self) -> None:
            for name, value in gunicorn_settings(host, port, workers).items():
                self.cfg.set(name, value)

        def load(self) -> Flask:
            return app

    click.echo(f"Serving on http://{host}:{port}/ (Ctrl+C to stop)")
    Server().run()


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Load the demo data and stop.")
@with_appcontext
def demo_command(host: str, port: int, no_serve: bool) -> None:
    """Initialise, load demo accounts, courses and clinics, then serve."""
    from clinic.demo import load_demo

    app = current_app._get_current_object()
    for line in initialise_instance(app):
        click.echo(line)
    accounts = load_demo()
    click.echo("\nDemo accounts (passwords are new each time `clinic demo` runs):")
    for account in accounts:
        click.echo(f"  {account.role:<9} {account.email:<28} {account.password}")
    if not no_serve:
        click.echo("")
        serve(app, host, port)


@click.command("create-token")
@click.argument("email")
@click.option("--name", default="API token", show_default=True, help="What it is for.")
@with_appcontext
def create_token_command(email: str, name: str) -> None:
    """Create an API token for EMAIL and print it (it is shown only this once)."""
    from clinic.services import ServiceError, accounts, tokens

    user = accounts.get_by_email(email)
    if user is None:
        raise click.ClickException(f"No account for {email}.")
    try:
        _token, plaintext = tokens.create_token(None, user, name)
    except ServiceError as error:
        raise click.ClickException(str(error)) from None
    click.echo(plaintext)
    click.echo(
        f"API token for {user.email}; it is not shown again. "
        "Send it as `Authorization: Bearer TOKEN`.",
        err=True,
    )


@click.group("notifications")
def notifications_group() -> None:
    """Notification mail: retry failures, overdue action items, daily digests."""


@notifications_group.command("retry-failed")
@with_appcontext
def retry_failed_command() -> None:
    """Queue again every notification mail that failed."""
    from clinic.services import notifications

    ids = notifications.retry_failed()
    click.echo(f"{len(ids)} failed notification mails queued again.")


@notifications_group.command("overdue")
@with_appcontext
def overdue_command() -> None:
    """Notify the owners of newly overdue action items (each item once)."""
    from clinic.services import notifications

    created = notifications.notify_overdue()
    click.echo(f"{len(created)} overdue action items notified.")


@notifications_group.command("digest")
@with_appcontext
def digest_command() -> None:
    """Send the daily digest to everyone with notifications waiting for it."""
    from clinic.services import notifications

    click.echo(f"{notifications.send_digests()} digest mails sent.")


def commands() -> list[click.Command]:
    """Every `clinic` command (those needing the app build it when they run)."""
    from clinic.cli_analysis import analyze_command, rubric_group
    from clinic.scan.cli import scan_command

    return [
        init_command,
        create_user_command,
        serve_command,
        worker_command,
        demo_command,
        create_token_command,
        notifications_group,
        scan_command,
        analyze_command,
        rubric_group,
    ]


def init_app(app: Flask) -> None:
    """Register the commands on the app's CLI group (`flask`, test runners)."""
    for command in commands():
        app.cli.add_command(command)


# On `clinic` itself too, so running one does not build the app just to find it.
for _command in commands():
    main.add_command(_command)
