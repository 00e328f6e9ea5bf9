"""The job queue with a real worker process on SQLite queue storage."""

import datetime
import os
import signal
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

from clinic import jobs
from clinic.extensions import db
from clinic.models import DocumentVersion, Finding, VersionStatus, utcnow
from clinic.services import documents as document_service
from tests import builders

pytestmark = pytest.mark.slow


REDIS_URL = os.environ.get("CLINIC_TEST_REDIS_URL")


@pytest.fixture
def queued(app, world):
    """The app with a real (not immediate) queue: SQLite in the instance folder, or Redis."""
    app.config["JOBS_IMMEDIATE"] = False
    app.config["JOB_STALE_SECONDS"] = 2
    app.config["REDIS_URL"] = REDIS_URL
    jobs.init_app(app)
    if REDIS_URL:
        app.extensions["huey"].flush()  # a clean queue for this test
    return app


def _start_worker(app):
    env = {
        **os.environ,
        "CLINIC_INSTANCE_PATH": app.instance_path,
        "CLINIC_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "CLINIC_SECRET_KEY": "worker-test",
        "CLINIC_JOB_STALE_SECONDS": "2",
    }
    env.pop("CLINIC_REDIS_URL", None)
    if REDIS_URL:
        env["CLINIC_REDIS_URL"] = REDIS_URL
    return subprocess.Popen(
        [sys.executable, "-m", "clinic", "worker", "--workers", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def _wait_for(version_id, predicate, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.expire_all()
        version = db.session.get(DocumentVersion, version_id)
        if predicate(version):
            return version
        time.sleep(0.05)
    raise AssertionError(f"version {version_id} stuck at {version.status.value}")


def _stop(worker):
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGINT)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)


def test_queue_storage_follows_the_configuration(queued):
    from huey import RedisHuey, SqliteHuey

    expected = RedisHuey if REDIS_URL else SqliteHuey
    assert isinstance(queued.extensions["huey"], expected)


def test_upload_is_queued_and_a_worker_process_analyses_it(queued, world):
    result = document_service.upload(
        world.director, world.clinic, "queued.txt", builders.LECTURE_TEXT.encode()
    )
    version_id = result.version.id
    assert (
        result.version.status == VersionStatus.QUEUED
    )  # nothing ran inside the request
    worker = _start_worker(queued)
    try:
        version = _wait_for(version_id, lambda v: v.status.finished)
    finally:
        _stop(worker)
    assert version.status == VersionStatus.DONE, version.error
    assert any(f.criterion_id == "RC-ALG-EGFR" for f in version.findings)


def _big_text(paragraphs=12000):
    filler = [
        "The nephron filters plasma at the glomerulus and reabsorbs sodium in the proximal tubule.",
        "Students review acid-base cases in small groups before the weekly quiz.",
        builders.LECTURE_TEXT.split("\n\n")[1],
        "Loop diuretics act on the thick ascending limb of the loop of Henle.",
    ]
    return "\n\n".join(
        f"{filler[i % len(filler)]} (case {i})" for i in range(paragraphs)
    ).encode()


def test_worker_killed_mid_job_is_recovered_without_duplicates(queued, world):
    result = document_service.upload(
        world.director, world.clinic, "long.txt", _big_text()
    )
    version_id = result.version.id
    worker = _start_worker(queued)
    try:
        _wait_for(
            version_id,
            lambda v: v.status in (VersionStatus.EXTRACTING, VersionStatus.ANALYSING),
        )
        os.killpg(worker.pid, signal.SIGKILL)  # the worker dies mid-job
        worker.wait(timeout=10)
        db.session.expire_all()
        stuck = db.session.get(DocumentVersion, version_id)
        assert stuck.status in (VersionStatus.EXTRACTING, VersionStatus.ANALYSING)
        time.sleep(2.5)  # the heartbeat goes stale
        worker = _start_worker(queued)
        version = _wait_for(version_id, lambda v: v.status.finished, timeout=180)
    finally:
        _stop(worker)
    assert version.status == VersionStatus.DONE, version.error
    assert version.attempts == 2
    rows = db.session.execute(
        sa.select(Finding.segment_id, Finding.start, Finding.criterion_id).where(
            Finding.version_id == version_id
        )
    ).all()
    assert len(rows) == len(set(rows)) and len(rows) >= 3000


def test_stale_versions_are_requeued_and_given_up_after_repeated_crashes(queued, world):
    version = builders.gen_version(
        world.clinic, world.director, filename="stale.txt", data=b"Nothing about race."
    )
    version.status = VersionStatus.ANALYSING
    version.heartbeat_at = utcnow() - datetime.timedelta(hours=1)
    version.attempts = document_service.MAX_ATTEMPTS
    db.session.commit()
    queued.config["JOBS_IMMEDIATE"] = True
    jobs.init_app(queued)
    assert jobs.requeue_stale_versions() == [version.id]
    db.session.refresh(version)
    assert version.status == VersionStatus.FAILED
    assert "stopped several times" in version.error
