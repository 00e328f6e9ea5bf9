"""Faults: the database away, an unwritable upload folder, two coaches deciding at once.

(A worker killed during an analysis is covered in test_jobs.py.)
"""

from __future__ import annotations

import io
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa

from clinic import create_app
from clinic.extensions import db
from clinic.models import AuditEvent, Document, DocumentVersion, Finding, FindingStatus
from clinic.services import reviews, tokens
from tests import builders
from tests.conftest import AuthActions

DB_DOWN = "The database is not reachable right now; nothing was changed."

# --------------------------------------------------------------------------- database unavailable


@pytest.fixture(params=["sqlite", "postgresql"])
def unreachable_app(request, tmp_path):
    """An app whose database cannot be reached (nothing listens / the folder is missing)."""
    url = {
        "sqlite": f"sqlite:///{tmp_path / 'no-such-folder' / 'clinic.sqlite'}",
        "postgresql": "postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=1",
    }[request.param]
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "SQLALCHEMY_DATABASE_URI": url,
            "UPLOAD_FOLDER": str(tmp_path / "instance" / "files"),
            "JOBS_IMMEDIATE": True,
        }
    )
    yield app
    with app.app_context():
        db.engine.dispose()


def _no_traceback(text: str) -> None:
    for leak in ("Traceback", "sqlalchemy", "OperationalError", "psycopg", "sqlite3"):
        assert leak not in text, f"{leak!r} shown to the user"


def test_database_down_at_sign_in_gives_a_clear_page(unreachable_app):
    client = unreachable_app.test_client()
    page = client.get("/auth/login")  # the form itself needs no database
    assert page.status_code == 200
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text)
    response = client.post(
        "/auth/login",
        data={
            "email": "dean@school.example.edu",
            "password": builders.PASSWORD,
            "csrf_token": token.group(1),
        },
    )
    assert response.status_code == 503
    assert response.mimetype == "text/html"
    assert response.headers["Retry-After"] == "60"
    assert DB_DOWN in response.text and "Try again in a minute" in response.text
    _no_traceback(response.text)


def test_database_down_at_an_api_call_gives_json_503(unreachable_app):
    client = unreachable_app.test_client()
    response = client.get(
        "/api/v1/me", headers={"Authorization": "Bearer clinic_whatever"}
    )
    assert response.status_code == 503
    assert response.get_json() == {
        "error": "database_unavailable",
        "message": response.get_json()["message"],
    }
    assert DB_DOWN in response.get_json()["message"]
    _no_traceback(response.text)


def test_database_lost_while_signed_in(app, client, auth, world, monkeypatch):
    """A signed-in user whose next page cannot reach the database gets the 503 page."""
    auth.login(world.coach.email)

    def refuse(*_args, **_kwargs):
        raise sa.exc.OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(db.session, "get", refuse)
    response = client.get(f"/clinics/{world.clinic.id}")
    assert response.status_code == 503
    assert DB_DOWN in response.text
    _no_traceback(response.text)
    assert "navbar-text" not in response.text  # the page did not reload the user
    monkeypatch.undo()
    assert client.get(f"/clinics/{world.clinic.id}").status_code == 200


# --------------------------------------------------------------------------- unwritable upload folder


def _counts() -> tuple[int, int]:
    return (
        db.session.scalar(sa.select(sa.func.count(Document.id))),
        db.session.scalar(sa.select(sa.func.count(DocumentVersion.id))),
    )


@pytest.fixture
def blocked_uploads(app, tmp_path):
    """UPLOAD_FOLDER below a regular file: no directory can be made there, even as root."""
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    app.config["UPLOAD_FOLDER"] = str(blocker / "files")
    return blocker


def _no_files_under(path: Path) -> None:
    assert (
        path.is_file()
    )  # still the plain file it was, nothing written inside or beside it
    assert not list(path.parent.glob("blocker*/**/*"))


def test_upload_page_with_unwritable_folder(client, auth, world, blocked_uploads):
    before = _counts()
    auth.login(world.director.email)
    token = auth.csrf_token(f"/clinics/{world.clinic.id}")
    response = client.post(
        f"/clinics/{world.clinic.id}/documents",
        data={
            "files": (io.BytesIO(b"Race is a risk factor here."), "disk-full.txt"),
            "csrf_token": token,
        },
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "The file could not be saved" in response.text
    assert "Nothing was stored" in response.text
    _no_traceback(response.text)
    assert _counts() == before
    assert not db.session.scalar(
        sa.select(DocumentVersion).where(DocumentVersion.filename == "disk-full.txt")
    )
    _no_files_under(blocked_uploads)


def test_api_upload_with_unwritable_folder(client, world, blocked_uploads):
    before = _counts()
    _token, plaintext = tokens.create_token(None, world.director, "t")
    response = client.post(
        f"/api/v1/clinics/{world.clinic.id}/documents",
        headers={"Authorization": f"Bearer {plaintext}"},
        data={"file": (io.BytesIO(b"Race is a risk factor here."), "disk-full.txt")},
        content_type="multipart/form-data",
    )
    # The server's fault: 503, so that clients retry or alert (not a 400 "invalid").
    assert response.status_code == 503
    body = response.get_json()
    assert body["error"] == "storage_unavailable"
    assert "could not be saved" in body["message"]
    assert _counts() == before
    _no_files_under(blocked_uploads)


def test_a_failed_write_leaves_no_temporary_file(app, world, tmp_path, monkeypatch):
    """Disk full halfway through the write: the temporary file is removed, no row is added."""
    from clinic.services import documents
    from clinic.storage import StorageError

    folder = tmp_path / "files-full"
    app.config["UPLOAD_FOLDER"] = str(folder)
    before = _counts()

    def full(*_args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("clinic.storage.os.fsync", full)
    with pytest.raises(StorageError, match="No space left on device"):
        documents.upload(world.director, world.clinic, "full.txt", b"some text")
    assert _counts() == before
    assert [p for p in folder.rglob("*") if p.is_file()] == []


# --------------------------------------------------------------------------- two coaches at once


def _signed_in(app, email: str):
    """A client of its own; its requests get their own app context (g, session), as in production."""
    client = app.test_client()
    with app.app_context():
        auth = AuthActions(client)
        assert auth.login(email).status_code == 302
    with app.app_context():
        return client, auth.csrf_token("/")


def _post(app, client, url: str, data: dict):
    with app.app_context():
        return client.post(url, data=data)


def test_two_coaches_deciding_the_same_finding_at_once(app, world, monkeypatch):
    second = builders.gen_user("coach", name="Second Coach")
    world.clinic.coaches.append(second)
    db.session.commit()
    finding_id = world.finding.id
    before_events = db.session.scalar(
        sa.select(sa.func.count(AuditEvent.id)).where(
            AuditEvent.object_type == "Finding"
        )
    )
    clients = {
        "confirm": _signed_in(app, world.coach.email),
        "dismiss": _signed_in(app, second.email),
    }
    # Both requests have read the finding before either writes: a real lost-update race.
    barrier = threading.Barrier(2, timeout=10)
    decided = reviews._decided

    def decided_together(*args, **kwargs):
        barrier.wait()
        return decided(*args, **kwargs)

    monkeypatch.setattr(reviews, "_decided", decided_together)

    def post(action: str):
        client, csrf = clients[action]
        data = {"action": action, "csrf_token": csrf}
        if action == "dismiss":
            data.update(reason="not_about_race", comment="two at once")
        return client.post(
            f"/findings/{finding_id}/decision",
            data=data,
            headers={"Accept": "application/json"},
        )

    with ThreadPoolExecutor(2) as pool:
        futures = {action: pool.submit(post, action) for action in clients}
        results = {action: future.result(30) for action, future in futures.items()}
    for action, response in results.items():
        assert response.status_code == 200, (action, response.status_code)
    # Each answer shows the finding as stored once it committed: possibly the other's write.
    for response in results.values():
        assert response.get_json()["status"] in ("confirmed", "dismissed")

    db.session.expire_all()
    finding = db.session.get(Finding, finding_id)
    events = list(
        db.session.scalars(
            sa.select(AuditEvent)
            .where(
                AuditEvent.object_type == "Finding",
                AuditEvent.object_id == str(finding_id),
            )
            .order_by(AuditEvent.id)
        )
    )
    assert {e.action for e in events} >= {"finding.confirm", "finding.dismiss"}
    assert (
        db.session.scalar(
            sa.select(sa.func.count(AuditEvent.id)).where(
                AuditEvent.object_type == "Finding"
            )
        )
        == before_events + 2
    )
    # The last write is what is stored, whole: status, reason and decider belong together.
    if finding.status == FindingStatus.CONFIRMED:
        assert finding.decided_by_id == world.coach.id
        assert finding.dismiss_reason is None and finding.decision_comment is None
    else:
        assert finding.status == FindingStatus.DISMISSED
        assert finding.decided_by_id == second.id
        assert finding.decision_comment == "two at once"


def test_later_decision_wins_and_both_are_audited(app, world):
    second = builders.gen_user("coach", name="Second Coach")
    world.clinic.coaches.append(second)
    db.session.commit()
    finding_id = world.finding.id
    first, first_csrf = _signed_in(app, world.coach.email)
    other, other_csrf = _signed_in(app, second.email)
    url = f"/findings/{finding_id}/decision"
    confirmed = _post(app, first, url, {"action": "confirm", "csrf_token": first_csrf})
    assert confirmed.status_code == 302
    dismiss = {
        "action": "dismiss",
        "reason": "not_about_race",
        "csrf_token": other_csrf,
    }
    assert _post(app, other, url, dismiss).status_code == 302
    db.session.expire_all()
    finding = db.session.get(Finding, finding_id)
    assert (
        finding.status == FindingStatus.DISMISSED and finding.decided_by_id == second.id
    )
    actions = list(
        db.session.scalars(
            sa.select(AuditEvent.action)
            .where(
                AuditEvent.object_type == "Finding",
                AuditEvent.object_id == str(finding_id),
            )
            .order_by(AuditEvent.id)
        )
    )
    assert actions[-2:] == ["finding.confirm", "finding.dismiss"]


# --------------------------------------------------------------------------- odd input reaching the database


@pytest.mark.parametrize("huge", [2**63, 2**64 + 1, 10**30])
def test_ids_beyond_the_integer_range_are_refused_not_a_crash(
    app, client, auth, world, huge
):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    _token, plaintext = tokens.create_token(None, world.admin, "t")
    api = client.get(
        f"/api/v1/clinics/{huge}", headers={"Authorization": f"Bearer {plaintext}"}
    )
    assert api.status_code in (400, 404), api.status_code
    assert api.get_json()["error"] in ("invalid", "not_found")
    body = client.post(
        "/api/v1/clinics",
        headers={"Authorization": f"Bearer {plaintext}"},
        json={"course_id": huge, "academic_year": "2027-28"},
    )
    assert body.status_code in (400, 404), body.status_code
    auth.login(world.admin.email)
    page = client.get(f"/clinics/{huge}")
    assert page.status_code in (400, 404)
    _no_traceback(page.text)


def test_a_duplicate_that_slips_past_the_check_is_a_conflict(app, client, world):
    """Two admins creating the same course code at once: the loser gets 409, not 500."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    _token, plaintext = tokens.create_token(None, world.admin, "t")
    headers = {"Authorization": f"Bearer {plaintext}"}
    course = {
        "code": "ÉTH 101",
        "title": "Ethics",
        "kind": "course",
        "school": "Medicine",
    }
    assert (
        client.post("/api/v1/courses", headers=headers, json=course).status_code == 201
    )
    # SQLite's lower() leaves "É" alone, so the case-insensitive check misses the twin.
    again = client.post("/api/v1/courses", headers=headers, json=course)
    assert again.status_code in (400, 409), again.status_code
    assert again.get_json()["error"] in ("invalid", "conflict")
    assert client.get("/api/v1/courses", headers=headers).status_code == 200


def test_parallel_uploads_of_one_name_make_one_document(app, world, monkeypatch):
    """Ten parallel uploads of one file name made three documents."""
    from clinic.services import documents

    clinic_id, director_id = world.clinic.id, world.director.id
    parties = 4
    barrier = threading.Barrier(parties, timeout=20)
    lookup = documents._document_by_filename

    def everyone_looks_first(clinic, filename):
        found = lookup(clinic, filename)
        barrier.wait()  # all have seen "no such document" before any writes
        return found

    monkeypatch.setattr(documents, "_document_by_filename", everyone_looks_first)
    # Only the uploads race here; their analyses would run at once in tests.
    queued = []
    monkeypatch.setattr("clinic.jobs.enqueue_analysis", queued.append)

    def upload(n: int):
        with app.app_context():
            from clinic.models import Clinic, User

            clinic = db.session.get(Clinic, clinic_id)
            director = db.session.get(User, director_id)
            result = documents.upload(
                director, clinic, "Week 5 Notes.txt", f"Version {n}: text.".encode()
            )
            return result.version.document_id, result.version.number

    with ThreadPoolExecutor(parties) as pool:
        results = list(pool.map(upload, range(parties)))
    db.session.expire_all()
    named = list(
        db.session.scalars(
            sa.select(Document).where(
                Document.clinic_id == clinic_id, Document.title == "Week 5 Notes"
            )
        )
    )
    assert len(named) == 1
    assert {doc for doc, _ in results} == {named[0].id}
    assert sorted(number for _, number in results) == [1, 2, 3, 4]
    assert len(queued) == 4
