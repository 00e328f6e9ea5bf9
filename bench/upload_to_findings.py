"""From upload to findings for a 150-slide deck, through the real queue and a worker.

Prints the wall time from `upload()` returning to the version being done, next to a
baseline measured in the same run: extract + analyse of the same bytes in-process,
with no queue and no database. The ratio is what the queue, the worker start-up
and storing the results cost on top.

    .venv/bin/python bench/upload_to_findings.py [--slides 150]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from clinic import create_app
from clinic.analysis import load_analyzer
from clinic.demo_materials import lecture_deck
from clinic.extensions import db
from clinic.ingest import extract


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--slides", type=int, default=150)
    args = parser.parse_args()
    data = lecture_deck(args.slides)

    analyzer = load_analyzer()
    start = time.perf_counter()
    doc = extract(data, "deck.pptx")
    findings = sum(map(len, analyzer.analyze_segments([s.text for s in doc.segments])))
    baseline = time.perf_counter() - start

    with tempfile.TemporaryDirectory() as tmp:
        instance = Path(tmp) / "instance"
        env = {
            **os.environ,
            "CLINIC_INSTANCE_PATH": str(instance),
            "CLINIC_SECRET_KEY": "bench",
        }
        for name in ("CLINIC_DATABASE_URL", "CLINIC_REDIS_URL"):
            env.pop(name, None)
        os.environ.update(
            {"CLINIC_INSTANCE_PATH": str(instance), "CLINIC_SECRET_KEY": "bench"}
        )
        os.environ.pop("CLINIC_DATABASE_URL", None)
        os.environ.pop("CLINIC_REDIS_URL", None)
        app = create_app()
        with app.app_context():
            from clinic.cli import initialise_instance
            from clinic.models import DocumentVersion, Role
            from clinic.services import accounts, documents
            from clinic.services import courses as course_service

            initialise_instance(app)
            director = accounts.create_user(
                None,
                email="d@bench.example.edu",
                name="D",
                role=Role.DIRECTOR,
                password="bench-password",
            )
            course = course_service.create_course(
                director,
                code="B 1",
                title="Bench",
                kind="course",
                school="S",
                director_ids=[director.id],
            )
            clinic = course_service.create_clinic(
                director, course=course, academic_year="2026-27", coach_ids=[]
            )
            worker = subprocess.Popen(
                [sys.executable, "-m", "clinic", "worker", "--workers", "1"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            try:
                time.sleep(3)  # let the worker start, so its start-up is not counted
                t0 = time.perf_counter()
                version_id = documents.upload(
                    director, clinic, "deck.pptx", data
                ).version.id
                while True:
                    db.session.expire_all()
                    version = db.session.get(DocumentVersion, version_id)
                    if version.status.finished:
                        break
                    time.sleep(0.05)
                end_to_end = time.perf_counter() - t0
            finally:
                os.killpg(worker.pid, signal.SIGINT)
                worker.wait(timeout=30)
            stored = len(version.findings)

    print(
        f"deck: {args.slides} slides, {len(data) / 1024:.0f} KB, {doc.word_count} words"
    )
    print(
        f"baseline extract+analyse in-process: {baseline:.2f} s ({findings} findings)"
    )
    print(
        f"upload -> findings via queue and worker: {end_to_end:.2f} s ({stored} findings, status {version.status.value})"
    )
    print(f"ratio end-to-end / baseline: {end_to_end / baseline:.2f}")


if __name__ == "__main__":
    main()
