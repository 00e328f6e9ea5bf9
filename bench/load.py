"""Load: 50 signed-in users browsing clinics and deciding findings on a 500-finding review.

Starts `clinic serve --workers 2 --no-worker` on a free 127.0.0.1 port with a
throwaway instance (SQLite), seeds clinics and one version with ~500 findings,
then runs a bounded thread pool of simulated users for `--seconds`. Each user
signs in with its own session and loops: GET /health, GET /, GET a clinic,
GET the review screen, POST a decision (CSRF token from the review page), with
a short random think time between requests.

Prints requests per second, p50/p95/p99 latency per page and the error count, and
checks: zero errors, review-screen p95 within 10x the /health p95 of the same run.

    .venv/bin/python bench/load.py [--users 50] [--seconds 60] [--findings 500]
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HOST = "127.0.0.1"
PASSWORD = "load-test-password"
CSRF = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')
FLAGGED = [
    "Estimate kidney function with the CKD-EPI equation, multiplying by 1.159 if the patient is Black.",
    "Black patients have higher muscle mass than White patients.",
    "Race is a risk factor for hypertension in this population.",
    "African American patients should receive a thiazide first.",
    "Hispanic patients are more likely to be noncompliant with treatment.",
]
FILLER = "Kidneys filter the blood and keep the balance of salts and water."
PAGES = ("health", "home", "clinic", "review", "decision", "login")


# --------------------------------------------------------------------------- seeding


def _lecture(findings_wanted: int) -> tuple[str, int]:
    """Teaching text with at least `findings_wanted` findings (counted by the real analyzer)."""
    from clinic.analysis import load_analyzer

    analyzer = load_analyzer(str(ROOT / "rubrics"))
    paragraphs, count, n = [], 0, 0
    while count < findings_wanted:
        batch = [
            f"Case {n + i}. {FILLER} {FLAGGED[(n + i) % len(FLAGGED)]}"
            for i in range(50)
        ]
        count += sum(map(len, analyzer.analyze_segments(batch)))
        paragraphs += batch
        n += len(batch)
    return "\n\n".join(paragraphs), count


def seed(instance: Path, users: int, findings: int) -> dict:
    """Accounts, five clinics, and a version with ~`findings` findings, in the instance DB."""
    from clinic import create_app
    from clinic.cli import initialise_instance
    from clinic.extensions import db
    from clinic.models import Finding, Role
    from clinic.services import accounts, documents
    from clinic.services import courses as course_service

    app = create_app(
        {
            "INSTANCE_PATH": str(instance),
            "JOBS_IMMEDIATE": True,  # analyse at once, before the server starts
            "PASSWORD_METHOD": "pbkdf2:sha256:10000",  # 50 accounts quickly
        }
    )
    with app.app_context():
        initialise_instance(app)
        admin = accounts.create_user(
            None,
            email="admin@load.example.edu",
            name="Admin",
            role=Role.ADMIN,
            password=PASSWORD,
        )
        director = accounts.create_user(
            None,
            email="director@load.example.edu",
            name="Director",
            role=Role.DIRECTOR,
            password=PASSWORD,
        )
        coaches = [
            accounts.create_user(
                None,
                email=f"coach{i}@load.example.edu",
                name=f"Coach {i}",
                role=Role.COACH,
                password=PASSWORD,
            )
            for i in range(users)
        ]
        clinics = []
        for i in range(5):
            course = course_service.create_course(
                admin,
                code=f"LOAD {600 + i}",
                title=f"Load course {i}",
                kind="course",
                school="School of Medicine",
                director_ids=[director.id],
            )
            clinics.append(
                course_service.create_clinic(
                    admin,
                    course=course,
                    academic_year="2026-27",
                    coach_ids=[c.id for c in coaches],
                )
            )
        text, expected = _lecture(findings)
        big = documents.upload(director, clinics[0], "big-lecture.txt", text.encode())
        for clinic in clinics[1:]:
            documents.upload(
                director, clinic, "short.txt", "\n\n".join(FLAGGED).encode()
            )
        version = big.version
        db.session.refresh(version)
        finding_ids = list(
            db.session.scalars(
                db.select(Finding.id).where(Finding.version_id == version.id)
            )
        )
        return {
            "emails": [c.email for c in coaches],
            "clinic_ids": [c.id for c in clinics],
            "version_id": version.id,
            "status": version.status.value,
            "finding_ids": finding_ids,
            "bytes": len(text),
            "expected": expected,
        }


# --------------------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def start_server(env: dict, port: int, log: Path) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "clinic",
        "serve",
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        "2",
        "--no-worker",
    ]
    server = subprocess.Popen(
        command,
        env=env,
        cwd=ROOT,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server stopped at start:\n{log.read_text()[-3000:]}")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.2)
    stop_server(server)
    raise SystemExit("the server did not answer /health within 60 s")


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


# --------------------------------------------------------------------------- a user


class User:
    """One browser: its own keep-alive connection and session cookie."""

    def __init__(self, port: int, email: str, results, lock) -> None:
        self.port, self.email = port, email
        self.results, self.lock = results, lock
        self.conn: http.client.HTTPConnection | None = None
        self.cookie = ""
        self.csrf = ""

    def request(
        self,
        page: str,
        method: str,
        path: str,
        body: dict | None = None,
        expect: int = 200,
        accept: str = "text/html",
    ) -> str:
        headers = {"Accept": accept}
        if self.cookie:
            headers["Cookie"] = self.cookie
        data = None
        if body is not None:
            data = urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        status, text, error = None, "", None
        for attempt in range(
            2
        ):  # a keep-alive connection the server closed: reconnect once
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(HOST, self.port, timeout=60)
                self.conn.request(method, path, body=data, headers=headers)
                response = self.conn.getresponse()
                text = response.read().decode("utf-8", "replace")
                status = response.status
                for cookie in response.headers.get_all("Set-Cookie") or []:
                    if cookie.startswith("session="):
                        self.cookie = cookie.split(";", 1)[0]
                if response.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                break
            except (OSError, http.client.HTTPException) as exc:
                if self.conn is not None:
                    self.conn.close()
                self.conn, error = None, exc
                if attempt:
                    break
                started = time.perf_counter()
        elapsed = time.perf_counter() - started
        ok = status == expect
        with self.lock:
            self.results[page].append((elapsed, ok))
            if not ok:
                self.results["_errors"].append(
                    (page, method, path, status, repr(error) if error else text[:200])
                )
        return text

    def sign_in(self) -> bool:
        page = self.request("login", "GET", "/auth/login")
        match = CSRF.search(page)
        if not match:
            return False
        self.request(
            "login",
            "POST",
            "/auth/login",
            {"email": self.email, "password": PASSWORD, "csrf_token": match.group(1)},
            expect=302,
        )
        return True


def run_user(user: User, world: dict, until: float, think: float) -> None:
    rng = random.Random(user.email)
    if not user.sign_in():
        return
    review = f"/versions/{world['version_id']}/review"
    while time.monotonic() < until:
        steps = [
            ("health", "GET", "/health"),
            ("home", "GET", "/"),
            ("clinic", "GET", f"/clinics/{rng.choice(world['clinic_ids'])}"),
            ("review", "GET", review),
        ]
        for page, method, path in steps:
            text = user.request(
                page,
                method,
                path,
                accept="application/json" if page == "health" else "text/html",
            )
            if page == "review":
                match = CSRF.search(text)
                user.csrf = match.group(1) if match else user.csrf
            time.sleep(rng.uniform(0, 2 * think))
            if time.monotonic() >= until:
                return
        finding = rng.choice(world["finding_ids"])
        if rng.random() < 0.5:
            decision = {"action": "confirm"}
        else:
            decision = {"action": "dismiss", "reason": "race_conscious"}
        user.request(
            "decision",
            "POST",
            f"/findings/{finding}/decision",
            {**decision, "csrf_token": user.csrf},
            accept="application/json",
        )
        time.sleep(rng.uniform(0, 2 * think))


# --------------------------------------------------------------------------- figures


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    low, high = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def report(results: dict, seconds: float) -> bool:
    total = sum(len(results[p]) for p in PAGES)
    errors = len(results["_errors"])
    print(
        f"\n{'page':<10}{'requests':>10}{'req/s':>9}{'p50 ms':>10}{'p95 ms':>10}"
        f"{'p99 ms':>10}{'mean ms':>10}{'errors':>8}"
    )
    p95 = {}
    for page in PAGES:
        rows = results[page]
        times = [t * 1000 for t, _ in rows]
        bad = sum(1 for _, ok in rows if not ok)
        p95[page] = percentile(times, 95)
        print(
            f"{page:<10}{len(rows):>10}{len(rows) / seconds:>9.1f}"
            f"{percentile(times, 50):>10.1f}{p95[page]:>10.1f}{percentile(times, 99):>10.1f}"
            f"{statistics.fmean(times) if times else float('nan'):>10.1f}{bad:>8}"
        )
    print(f"{'all':<10}{total:>10}{total / seconds:>9.1f}{'':>40}{errors:>8}")
    for page, method, path, status, detail in results["_errors"][:10]:
        print(f"  error: {page} {method} {path} -> {status}: {detail}")
    ratio = p95["review"] / p95["health"] if p95["health"] else float("inf")
    print(f"\nrequests per second: {total / seconds:.1f} over {seconds:.1f} s")
    print(f"errors: {errors}")
    print(
        f"review p95 / health p95: {p95['review']:.1f} ms / {p95['health']:.1f} ms "
        f"= {ratio:.1f}x (required <= 10x)"
    )
    passed = errors == 0 and ratio <= 10
    print("RESULT:", "PASS" if passed else "FAIL")
    return passed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--findings", type=int, default=500)
    parser.add_argument(
        "--think",
        type=float,
        default=0.5,
        help="mean seconds a user waits between requests",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="clinic-load-") as tmp:
        instance = Path(tmp) / "instance"
        for name in ("CLINIC_DATABASE_URL", "CLINIC_REDIS_URL", "CLINIC_UPLOAD_DIR"):
            os.environ.pop(name, None)
        os.environ.update(
            {"CLINIC_INSTANCE_PATH": str(instance), "CLINIC_SECRET_KEY": "load"}
        )
        started = time.perf_counter()
        world = seed(instance, args.users, args.findings)
        print(
            f"seeded in {time.perf_counter() - started:.1f} s: {args.users} coaches, "
            f"{len(world['clinic_ids'])} clinics, review version {world['version_id']} "
            f"({world['status']}) with {len(world['finding_ids'])} findings "
            f"from {world['bytes']} bytes of text"
        )
        if world["status"] != "done" or len(world["finding_ids"]) < args.findings:
            raise SystemExit("seeding did not produce the review version")
        port = free_port()
        log = Path(tmp) / "server.log"
        server = start_server(dict(os.environ), port, log)
        print(
            f"clinic serve --workers 2 --no-worker on http://{HOST}:{port}/ (pid {server.pid})"
        )
        results: dict[str, list] = defaultdict(list)
        lock = threading.Lock()
        try:
            users = [User(port, email, results, lock) for email in world["emails"]]
            began = time.monotonic()
            until = began + args.seconds
            print(
                f"{args.users} users for {args.seconds:.0f} s, think time ~{args.think} s ..."
            )
            with ThreadPoolExecutor(args.users) as pool:
                for future in [
                    pool.submit(run_user, u, world, until, args.think) for u in users
                ]:
                    future.result()
            elapsed = time.monotonic() - began
        finally:
            stop_server(server)
        passed = report(results, elapsed)
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
