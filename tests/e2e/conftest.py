"""Browser journeys: `clinic serve` (gunicorn + a real worker) driven by Debian's Chromium.

The server always runs on a fresh SQLite database in a temporary instance folder, also
when the rest of the suite runs on PostgreSQL (CLINIC_TEST_DATABASE_URL): these tests are
about what a user sees, and a throwaway file keeps them independent of a shared server.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 900}
PASSWORD = "e2e correct horse battery"
# The README's screenshots: refreshed only when asked (CLINIC_E2E_SCREENSHOTS=1), so that
# an ordinary test run leaves the checkout as it was; otherwise they go to a temp folder.
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@dataclass(frozen=True)
class Account:
    email: str
    role: str
    name: str


ACCOUNTS = {
    "admin": Account("admin@e2e.example.edu", "admin", "Avery Admin"),
    "coach": Account("coach@e2e.example.edu", "coach", "Casey Coach"),
    "director": Account("director@e2e.example.edu", "director", "Dana Director"),
    "director2": Account("director2@e2e.example.edu", "director", "Priya Raman"),
    "dean": Account("dean@e2e.example.edu", "dean", "Dean Rivera"),
    # A second coach, on no clinic until a test adds them (test_two_coaches).
    "coach2": Account("coach2@e2e.example.edu", "coach", "Jordan Lee"),
}

# One process (the app takes seconds to load): `clinic init` and `clinic create-user`
# through the real CLI, then two courses through the services. NEPH 610 (director,
# coach) runs the journeys; MED 700 belongs to director2.
SETUP_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from clinic import create_app
    from clinic.services import accounts, courses

    accounts_ = json.loads(sys.argv[1])
    password = sys.argv[2]
    app = create_app()
    runner = app.test_cli_runner()

    def cli(args, input=None):
        result = runner.invoke(args=args, input=input)
        if result.exit_code != 0:
            sys.exit(f"clinic {' '.join(args)} failed: {result.output}{result.exception!r}")

    cli(["init"])
    for email, role, name in accounts_:
        cli(["create-user", email, "--role", role, "--name", name, "--password-stdin"],
            input=password + "\\n")
    with app.app_context():
        ids = {e: accounts.get_by_email(e).id for e, _r, _n in accounts_}
        admin = accounts.get_by_email(accounts_[0][0])
        neph = courses.create_course(admin, code="NEPH 610", title="Renal Physiology and Disease",
            kind="course", school="School of Medicine", director_ids=[ids[accounts_[2][0]]])
        med = courses.create_course(admin, code="MED 700", title="Internal Medicine Clerkship",
            kind="clerkship", school="School of Medicine", director_ids=[ids[accounts_[3][0]]])
        a = courses.create_clinic(admin, course=neph, academic_year="2026-27",
            coach_ids=[ids[accounts_[1][0]]])
        b = courses.create_clinic(admin, course=med, academic_year="2026-27", coach_ids=[])
        print(json.dumps({"clinic": a.id, "other_clinic": b.id}))
    """
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(args: list[str], env: dict) -> str:
    result = subprocess.run(
        [sys.executable, *args],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, (
        f"{args[:3]} failed:\n{result.stdout}\n{result.stderr}"
    )
    return result.stdout


@dataclass
class Server:
    url: str
    clinic_id: int
    other_clinic_id: int
    log: Path


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """`clinic serve` on a free loopback port, with its worker, users and two clinics."""
    with running_server(tmp_path_factory.mktemp("e2e")) as running:
        yield running


@contextlib.contextmanager
def running_server(base: Path, port: int | None = None, **settings: str):
    """`clinic serve` in `base`, set up as for `server`; `settings` are extra CLINIC_*
    variables (e.g. CLINIC_MAX_UPLOAD_MB="1") for a module that needs its own server,
    and `port` a port chosen beforehand (for a setting that names the server's URL)."""
    instance = base / "instance"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLINIC_")}
    env.update(
        CLINIC_INSTANCE_PATH=str(instance),
        CLINIC_SECRET_KEY="e2e-secret-key",
        CLINIC_DATABASE_URL=f"sqlite:///{instance / 'clinic.sqlite'}",
        **settings,
    )
    accounts = [(a.email, a.role, a.name) for a in ACCOUNTS.values()]
    printed = _run(["-c", SETUP_SCRIPT, json.dumps(accounts), PASSWORD], env)
    ids = json.loads(printed.strip().splitlines()[-1])

    port = port or free_port()
    log = base / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "clinic",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "1",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"clinic serve exited early:\n{log.read_text()}")
            try:
                with urllib.request.urlopen(f"{url}/auth/login", timeout=2) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"clinic serve did not answer in 60 s:\n{log.read_text()}")
            time.sleep(0.3)
        yield Server(url, ids["clinic"], ids["other_clinic"], log)
    finally:
        _stop(process)


def _stop(process: subprocess.Popen) -> None:
    """SIGINT to the server's process group (gunicorn and the worker), then harder."""
    for sig, wait in ((signal.SIGINT, 10), (signal.SIGTERM, 5), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        if sig != signal.SIGKILL:  # reap whatever else is left in the group
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        break


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium "
            "(`bash .ci/system-packages` does) to run the browser tests."
        )
    from playwright.sync_api import expect, sync_playwright

    # Generous waits: CI machines run the worker, gunicorn and Chromium side by side.
    expect.set_options(timeout=15_000)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def login(server, browser):
    """login(role) -> a signed-in page in its own browser context."""
    contexts = []

    def _login(role: str):
        account = ACCOUNTS[role]
        context = browser.new_context(
            viewport=VIEWPORT, accept_downloads=True, base_url=server.url
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.goto("/auth/login")
        page.get_by_label("Email").fill(account.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
        assert account.name in page.locator("header").inner_text(), (
            f"{role} could not sign in: {page.locator('main').inner_text()[:500]}"
        )
        return page

    yield _login
    for context in contexts:
        context.close()


@pytest.fixture
def anonymous(server, browser):
    context = browser.new_context(viewport=VIEWPORT, base_url=server.url)
    yield context.new_page()
    context.close()


# --- accessibility ---------------------------------------------------------

_AXE = None


def axe_violations(page) -> list[dict]:
    """Serious and critical axe-core violations on the page as it is now."""
    global _AXE
    if _AXE is None:
        from axe_playwright_python.sync_playwright import Axe

        _AXE = Axe()
    results = _AXE.run(page)
    return [
        v
        for v in results.response["violations"]
        if v.get("impact") in ("serious", "critical")
    ]


def format_violations(where: str, violations: list[dict]) -> str:
    lines = [f"{where}:"]
    for v in violations:
        lines.append(f"  [{v['impact']}] {v['id']}: {v['help']}")
        for node in v["nodes"][:8]:
            lines.append(
                f"      {node['target']}  {node.get('failureSummary', '')[:200]!r}"
            )
    return "\n".join(lines)


def assert_accessible(page, where: str | None = None) -> None:
    """Zero serious or critical axe-core violations on the current page."""
    violations = axe_violations(page)
    assert not violations, format_violations(where or page.url, violations)


@pytest.fixture(scope="session")
def screenshot(tmp_path_factory):
    """screenshot(page, name): a PNG of the viewport for the README (see SCREENSHOTS)."""
    if os.environ.get("CLINIC_E2E_SCREENSHOTS") == "1":
        folder = SCREENSHOTS
    else:
        folder = tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)

    def _screenshot(page, name: str, full_page: bool = False) -> Path:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        assert path.stat().st_size > 10_000, f"{path} looks empty"
        return path

    return _screenshot
