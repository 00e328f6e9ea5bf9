"""Uploading materials: storage, versions, the analysis job and its failures."""

import io
import re

import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import AuditEvent, Document, DocumentVersion, Finding, VersionStatus
from clinic.services import documents as document_service
from tests import builders
from tests.doc_builders import pptx_deck


def _upload(client, auth, clinic_id, files):
    token = auth.csrf_token(f"/clinics/{clinic_id}")
    data = {
        "csrf_token": token,
        "files": [(io.BytesIO(content), name) for name, content in files],
    }
    return client.post(
        f"/clinics/{clinic_id}/documents",
        data=data,
        content_type="multipart/form-data",
        follow_redirects=True,
    )


def test_director_uploads_several_files_and_sees_findings(client, auth, world):
    auth.login(world.director.email)
    response = _upload(
        client,
        auth,
        world.clinic.id,
        [
            ("week3.pptx", pptx_deck(8, 7)),
            (
                "notes.md",
                b"# Renal\n\nBlack patients have higher muscle mass than White patients.\n",
            ),
        ],
    )
    page = response.get_data(as_text=True)
    assert "week3.pptx uploaded as week3" in page and "notes.md uploaded" in page
    versions = {v.filename: v for v in db.session.scalars(sa.select(DocumentVersion))}
    deck = versions["week3.pptx"]
    assert (
        deck.status == VersionStatus.DONE
        and deck.kind == "pptx"
        and deck.page_count == 8
    )
    notes_finding = next(
        f
        for f in deck.findings
        if (f.location["kind"], f.location["number"], f.location.get("part"))
        == ("slide", 7, "notes")
    )
    assert "spirometry" in notes_finding.sentence
    assert "Review" in page  # the review link appears once the analysis is done


def test_file_is_stored_once_by_content(app, world):
    store = document_service.file_store()
    assert store.exists(world.version.sha256)
    assert (
        world.version.sha256 == world.other_version.sha256
    )  # the same PDF bytes, stored once
    files = [p for p in store.root.rglob("*") if p.is_file()]
    assert len(files) == 1


def test_same_name_becomes_next_version_and_unchanged_file_adds_nothing(world):
    revised = builders.lecture_pdf() + b"\n% revised\n"
    v2 = builders.gen_version(
        world.clinic, world.director, filename="renal-lecture.pdf", data=revised
    )
    assert v2.document_id == world.document.id and v2.number == 2
    result = document_service.upload(
        world.director, world.clinic, "renal-lecture.pdf", revised
    )
    assert "unchanged" in result.message
    assert len(world.document.versions) == 2


def test_wrong_type_is_refused_with_a_clear_message(client, auth, world):
    auth.login(world.director.email)
    page = _upload(
        client,
        auth,
        world.clinic.id,
        [("old.ppt", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)],
    ).get_data(as_text=True)
    assert "PPTX" in page
    assert (
        db.session.scalar(sa.select(sa.func.count(Document.id))) == 2
    )  # nothing added


def test_content_must_match_extension(client, auth, world):
    auth.login(world.director.email)
    page = _upload(
        client, auth, world.clinic.id, [("slides.pptx", b"%PDF-1.7 not really a deck")]
    ).get_data(as_text=True)
    assert "slides.pptx" in page and "PDF" in page
    assert db.session.scalar(sa.select(sa.func.count(DocumentVersion.id))) == 2


def test_corrupt_file_fails_with_the_ingest_message(client, auth, world):
    auth.login(world.director.email)
    broken = pptx_deck(3, 1)[:900]
    page = _upload(client, auth, world.clinic.id, [("broken.pptx", broken)]).get_data(
        as_text=True
    )
    version = db.session.scalar(
        sa.select(DocumentVersion).where(DocumentVersion.filename == "broken.pptx")
    )
    if (
        version is None
    ):  # refused at once by the type check: also a clear message, nothing stored
        assert "broken.pptx" in page
        return
    assert version.status == VersionStatus.FAILED
    assert "broken.pptx" in version.error
    assert version.error in re.sub(r"\s+", " ", page).replace("&#39;", "'")
    assert db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "version.failed")
    )


def test_truncated_pdf_fails_visibly(world):
    data = builders.lecture_pdf()
    version = builders.gen_version(
        world.clinic, world.director, filename="cut.pdf", data=data[: len(data) // 2]
    )
    assert version.status == VersionStatus.FAILED
    assert "cut.pdf" in version.error
    assert version.findings == []


def test_oversize_file_is_refused_by_name(app, client, auth, world):
    """Over the per-file limit: refused on its own, by name, with the limit (no 413).
    The whole-request cap and batches are in test_uploads.py."""
    auth.login(world.director.email)
    app.config["MAX_UPLOAD_MB"] = 1
    response = _upload(
        client, auth, world.clinic.id, [("big.txt", b"x" * (1024 * 1024 + 1))]
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "‘big.txt’ is more than 1 MB; the limit is 1 MB per file." in page
    assert db.session.scalar(sa.select(sa.func.count(DocumentVersion.id))) == 2


def test_upload_without_csrf_is_refused(client, auth, world):
    auth.login(world.director.email)
    response = client.post(
        f"/clinics/{world.clinic.id}/documents",
        data={"files": [(io.BytesIO(b"text"), "a.txt")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count(DocumentVersion.id))) == 2


def test_status_endpoint_reports_progress(client, auth, world):
    auth.login(world.coach.email)
    state = client.get(f"/versions/{world.version.id}/status").get_json()
    assert (
        state["status"] == "done" and state["progress"] == 100 and state["findings"] > 0
    )


def test_findings_are_stored_with_everything_needed(world):
    finding = db.session.scalar(
        sa.select(Finding).where(
            Finding.criterion_id == "RC-ALG-EGFR",
            Finding.version_id == world.version.id,
        )
    )
    assert finding.location["kind"] == "page" and finding.location["number"] == 2
    assert finding.rubric_version == world.version.rubric_version
    segment_text = finding.segment.text
    assert segment_text[finding.start : finding.end] == finding.matched_text
    assert finding.cues and finding.sentence in segment_text
    assert finding.rects and all(0 <= x <= 1 for rect in finding.rects for x in rect)


def test_original_file_downloads_as_attachment(client, auth, world):
    auth.login(world.coach.email)
    response = client.get(f"/versions/{world.version.id}/file")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.data == builders.lecture_pdf()


def test_page_image_renders_png(client, auth, world):
    auth.login(world.coach.email)
    response = client.get(f"/versions/{world.version.id}/pages/2.png")
    assert response.status_code == 200 and response.data.startswith(b"\x89PNG")
    assert client.get(f"/versions/{world.version.id}/pages/9.png").status_code == 404


def test_unexpected_error_fails_the_version_with_a_message(world, monkeypatch):
    import clinic.services.documents as module

    def explode(*_args, **_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(module, "_store_results", explode)
    version = builders.gen_version(
        world.clinic, world.director, filename="x.txt", data=b"Some text."
    )
    assert version.status == VersionStatus.FAILED
    assert "internal error (RuntimeError)" in version.error
