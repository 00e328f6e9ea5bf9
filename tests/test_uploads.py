"""Batch uploads: each file is checked on its own, one banner sums up the batch, and a
request over the whole-upload cap gets a page (or JSON) that names the limit."""

from __future__ import annotations

import html
import io
import json
import re

import pytest
import sqlalchemy as sa

from clinic import config as config_module
from clinic.extensions import db
from clinic.models import AuditEvent, Document, DocumentVersion, VersionStatus
from clinic.services import documents as document_service
from clinic.services import tokens
from clinic.uploads import (
    MIB,
    LimitedSpool,
    UploadLimits,
    format_size,
    over_request_limit,
)
from tests.doc_builders import pptx_deck

OLD_PPT = (
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    + "PowerPoint Document".encode("utf-16-le")
    + b"\0" * 600
)
NOTES = b"# Renal\n\nBlack patients have higher muscle mass than White patients.\n"


@pytest.fixture
def small_limits(app):
    """1 MB per file, 4 files per upload: a 4 MB cap on one request."""
    app.config.update(MAX_UPLOAD_MB=1, MAX_UPLOAD_FILES=4, MAX_REQUEST_MB=None)
    return UploadLimits.from_config(app.config)


def _post(client, auth, url, files, page=None, **fields):
    token = auth.csrf_token(page or url)
    data = {
        "csrf_token": token,
        "files": [(io.BytesIO(content), name) for name, content in files],
        **fields,
    }
    return client.post(
        url,
        data=data,
        content_type="multipart/form-data",
        follow_redirects=True,
        headers={"Referer": f"http://localhost{page or url}"},
    )


def _upload(client, auth, clinic_id, files, **fields):
    return _post(
        client,
        auth,
        f"/clinics/{clinic_id}/documents",
        files,
        page=f"/clinics/{clinic_id}",
        **fields,
    )


def _text(response) -> str:
    page = re.sub(r"<[^>]+>", "", response.get_data(as_text=True))
    return html.unescape(re.sub(r"\s+", " ", page))


def _banners(response) -> list[str]:
    page = response.get_data(as_text=True)
    return re.findall(r'<div class="alert [^"]*"', page)


def _versions() -> dict[str, DocumentVersion]:
    return {v.filename: v for v in db.session.scalars(sa.select(DocumentVersion))}


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count(model.id)))


# --------------------------------------------------------------------------- the batch


def test_a_batch_keeps_its_good_files_and_refuses_the_others_on_their_own(
    client, auth, world, small_limits
):
    auth.login(world.director.email)
    deck = pptx_deck(8, 7)
    big = b"%PDF-1.7\n" + b"0" * (MIB + MIB // 2)  # 1.5 MB, over the 1 MB limit
    response = _upload(
        client,
        auth,
        world.clinic.id,
        [
            ("week3.pptx", deck),
            ("manual.pdf", big),
            ("notes.md", NOTES),
            ("old.ppt", OLD_PPT),
        ],
    )
    assert response.status_code == 200
    page = _text(response)
    assert (
        "2 of 4 files uploaded and queued for analysis. Not uploaded: "
        "‘manual.pdf’ (1.5 MB, over the 1 MB limit), "
        "‘old.ppt’ (a type that cannot be reviewed)." in page
    )
    assert "‘manual.pdf’ is 1.5 MB; the limit is 1 MB per file." in page
    assert "week3.pptx uploaded as week3; analysis has started." in page
    assert "notes.md uploaded as notes; analysis has started." in page
    assert "save it as PPTX" in page  # the full reason for the old format
    assert len(_banners(response)) == 1, _banners(response)
    assert 'class="alert alert-warning upload-summary"' in response.get_data(
        as_text=True
    )

    # The good files are stored intact and analysed; the others left nothing behind.
    versions = _versions()
    assert {"week3.pptx", "notes.md"} <= set(versions)
    assert "manual.pdf" not in versions and "old.ppt" not in versions
    store = document_service.file_store()
    assert store.get(versions["week3.pptx"].sha256) == deck
    assert store.get(versions["notes.md"].sha256) == NOTES
    assert all(v.status == VersionStatus.DONE for v in versions.values())
    assert versions["week3.pptx"].findings and versions["notes.md"].findings
    uploads = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "version.upload")
    ).all()
    assert {e.after["filename"] for e in uploads} >= {"week3.pptx", "notes.md"}
    assert not {"manual.pdf", "old.ppt"} & {e.after["filename"] for e in uploads}
    # ...and the clinic page lists them.
    listing = _text(client.get(f"/clinics/{world.clinic.id}"))
    assert "week3.pptx" in listing and "notes.md" in listing


def test_a_file_of_exactly_the_limit_is_kept_whole(client, auth, world, small_limits):
    auth.login(world.director.email)
    head = b"Notes on eGFR.\n"
    exact = head + b"\n" * (MIB - len(head))
    response = _upload(
        client,
        auth,
        world.clinic.id,
        [("exact.txt", exact), ("one-more.txt", exact + b"\n")],
    )
    page = _text(response)
    assert "1 of 2 files uploaded" in page
    assert "‘one-more.txt’ is more than 1 MB; the limit is 1 MB per file." in page
    version = _versions()["exact.txt"]
    assert version.size == MIB
    assert document_service.file_store().get(version.sha256) == exact


def test_empty_and_damaged_files_are_refused_by_name(client, auth, world, small_limits):
    auth.login(world.director.email)
    response = _upload(
        client,
        auth,
        world.clinic.id,
        [
            ("empty.pdf", b""),
            ("broken.docx", b"PK\x03\x04 not really a zip"),
            ("notes.md", NOTES),
        ],
    )
    page = _text(response)
    assert (
        "1 of 3 files uploaded and queued for analysis. Not uploaded: "
        "‘empty.pdf’ (empty), ‘broken.docx’ (damaged or truncated)." in page
    )
    assert "empty.pdf is empty (0 bytes)" in page
    assert "notes.md" in _versions()
    assert not {"empty.pdf", "broken.docx"} & set(_versions())


def test_all_good_and_all_refused_banners(client, auth, world, small_limits):
    auth.login(world.director.email)
    ok = _upload(
        client, auth, world.clinic.id, [("a.md", NOTES), ("b.md", NOTES + b"b")]
    )
    assert "All 2 files uploaded and queued for analysis." in _text(ok)
    assert 'alert-success upload-summary"' in ok.get_data(as_text=True)
    again = _upload(
        client, auth, world.clinic.id, [("a.md", NOTES), ("c.ppt", OLD_PPT)]
    )
    text = _text(again)
    assert "0 of 2 files uploaded and queued for analysis. 1 file unchanged." in text
    assert "a.md is unchanged since version 1; nothing new to analyse." in text
    refused = _upload(client, auth, world.clinic.id, [("c.ppt", OLD_PPT)])
    assert "The file was not uploaded." in _text(refused)
    assert 'alert-danger upload-summary" role="alert"' in refused.get_data(as_text=True)


def test_more_files_than_one_upload_takes(client, auth, world, small_limits):
    auth.login(world.director.email)
    files = [(f"n{i}.md", NOTES + str(i).encode()) for i in range(6)]
    page = _text(_upload(client, auth, world.clinic.id, files))
    assert "4 of 6 files uploaded" in page
    assert "‘n4.md’ (over the 4-file limit for one upload)" in page
    assert "‘n5.md’ was not uploaded: one upload takes up to 4 files." in page
    assert {f"n{i}.md" for i in range(4)} <= set(_versions())
    assert "n4.md" not in _versions()


def test_files_the_browser_kept_back_are_in_the_banner(
    client, auth, world, small_limits
):
    auth.login(world.director.email)
    response = _upload(
        client,
        auth,
        world.clinic.id,
        [("notes.md", NOTES)],
        not_sent=[json.dumps({"name": "manual.pdf", "size": 61 * MIB})],
    )
    page = _text(response)
    assert (
        "1 of 2 files uploaded and queued for analysis. "
        "Not uploaded: ‘manual.pdf’ (61 MB, over the 1 MB limit)." in page
    )
    assert len(_banners(response)) == 1


def test_revision_and_self_check_uploads_are_checked_the_same_way(
    client, auth, world, small_limits
):
    auth.login(world.director.email)
    big = b"%PDF-1.7\n" + b"0" * (2 * MIB)
    revision = _post(
        client,
        auth,
        f"/documents/{world.document.id}/versions",
        [("renal-lecture.pdf", big)],
        page=f"/documents/{world.document.id}",
    )
    assert "‘renal-lecture.pdf’ is 2 MB; the limit is 1 MB per file." in _text(revision)
    assert len(world.document.versions) == 1
    drafts = _post(
        client, auth, "/self-check", [("draft.md", NOTES), ("draft-big.pdf", big)]
    )
    page = _text(drafts)
    assert "1 of 2 files uploaded" in page and "‘draft-big.pdf’ (2 MB" in page
    draft = _versions()["draft.md"]
    assert draft.document.clinic_id is None


# --------------------------------------------------------------------------- forged forms


def test_forged_form_fields_are_treated_as_data(client, auth, world, small_limits):
    """What a script (not upload.js) might send: nothing breaks, nothing is stored."""
    auth.login(world.director.email)
    before = _count(DocumentVersion)
    not_sent = [
        json.dumps({"name": "<img src=x onerror=alert(1)>.pdf", "size": 5 * MIB}),
        "not json",
        json.dumps({"name": "x.pdf", "size": -4}),
        json.dumps({"name": "y.pdf"}),
        json.dumps(["z.pdf", 1]),
        json.dumps({"name": "small.pdf", "size": 10}),  # under the limit: not believed
    ] + [json.dumps({"name": f"flood{i}.pdf", "size": 9 * MIB}) for i in range(300)]
    response = _upload(
        client,
        auth,
        world.clinic.id,
        [("../../etc/notes.md", NOTES)],
        not_sent=not_sent,
    )
    raw = response.get_data(as_text=True)
    assert "<img src=x" not in raw
    assert "‘&lt;img src=x onerror=alert(1)&gt;.pdf’ is 5 MB" in raw
    page = _text(response)
    assert "‘small.pdf’ was not sent" in page
    # At most 100 kept-back entries are read (4 of them malformed, ignored), and the
    # banner names 12 of the 96 refused.
    assert "1 of 97 files uploaded" in page and "84 more." in page
    assert len(_banners(response)) == 1
    assert _count(DocumentVersion) == before + 1
    assert "notes.md" in _versions()  # the path is dropped from the name


def test_a_forged_upload_without_csrf_or_files(client, auth, world, small_limits):
    auth.login(world.director.email)
    no_token = client.post(
        f"/clinics/{world.clinic.id}/documents",
        data={"files": [(io.BytesIO(NOTES), "notes.md")]},
        content_type="multipart/form-data",
    )
    assert no_token.status_code == 400
    token = auth.csrf_token(f"/clinics/{world.clinic.id}")
    wrong_field = client.post(
        f"/clinics/{world.clinic.id}/documents",
        data={"csrf_token": token, "other": [(io.BytesIO(NOTES), "notes.md")]},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "Choose at least one file." in _text(wrong_field)
    assert "notes.md" not in _versions()


def test_another_directors_clinic_refuses_the_batch(client, auth, world, small_limits):
    auth.login(world.director.email)
    token = auth.csrf_token(f"/clinics/{world.clinic.id}")
    response = client.post(
        f"/clinics/{world.other_clinic.id}/documents",
        data={"csrf_token": token, "files": [(io.BytesIO(NOTES), "notes.md")]},
        content_type="multipart/form-data",
    )
    assert response.status_code in (403, 404)
    assert "notes.md" not in _versions()


# --------------------------------------------------------------------------- the whole-upload cap


def test_an_upload_over_the_cap_gets_a_page_naming_the_limit(
    client, auth, world, small_limits
):
    auth.login(world.director.email)
    before = (_count(Document), _count(DocumentVersion))
    chunk = b"0" * (MIB - 1000)
    response = _upload(
        client,
        auth,
        world.clinic.id,
        [(f"part{i}.txt", chunk) for i in range(5)],  # 5 MB, over 4 MB
    )
    assert response.status_code == 413
    page = _text(response)
    assert "Upload too large" in page
    assert (
        "This upload is 5 MB in all, over the 4 MB limit for one upload "
        "(up to 4 files of at most 1 MB each). Nothing was stored." in page
    )
    link = f'href="http://localhost/clinics/{world.clinic.id}"'
    assert link in response.get_data(as_text=True)
    assert "Traceback" not in page
    assert (_count(Document), _count(DocumentVersion)) == before


def test_the_cap_can_be_set_on_its_own(app, client, auth, world, small_limits):
    app.config["MAX_REQUEST_MB"] = 2
    auth.login(world.director.email)
    chunk = b"0" * (MIB - 1000)
    response = _upload(
        client, auth, world.clinic.id, [(f"p{i}.txt", chunk) for i in range(3)]
    )
    assert response.status_code == 413
    assert "over the 2 MB limit for one upload" in _text(response)


def test_a_form_of_too_many_parts_is_not_called_too_large(
    app, client, auth, world, small_limits
):
    app.config["MAX_FORM_PARTS"] = 10
    auth.login(world.director.email)
    response = _upload(
        client, auth, world.clinic.id, [(f"n{i}.md", NOTES) for i in range(12)]
    )
    assert response.status_code == 413
    page = _text(response)
    assert "too many parts" in page and "limit for one upload" not in page
    assert "n0.md" not in _versions()


def test_other_forms_keep_the_one_file_limit(client, small_limits):
    response = client.post(
        "/auth/login",
        data={"email": "a@b.c", "password": "x" * (2 * MIB)},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    assert "The upload is larger than the limit for this site." in _text(response)


def test_api_upload_checks_the_file_and_the_cap(client, world, small_limits):
    _token, plaintext = tokens.create_token(None, world.director, "t")
    headers = {"Authorization": f"Bearer {plaintext}"}
    url = f"/api/v1/clinics/{world.clinic.id}/documents"

    def post(data: bytes, name: str):
        return client.post(
            url,
            headers=headers,
            data={"file": (io.BytesIO(data), name)},
            content_type="multipart/form-data",
        )

    big = post(b"%PDF-1.7\n" + b"0" * (3 * MIB), "manual.pdf")
    assert big.status_code == 413
    assert big.get_json() == {
        "error": "file_too_large",
        "message": "‘manual.pdf’ is 3 MB; the limit is 1 MB per file.",
    }
    over_cap = post(b"0" * (5 * MIB), "huge.txt")
    assert over_cap.status_code == 413
    body = over_cap.get_json()
    assert body["error"] == "request_entity_too_large"
    assert "over the 4 MB limit for one upload" in body["message"]
    ok = post(NOTES, "notes.md")
    assert ok.status_code == 202 and ok.get_json()["unchanged"] is False
    again = post(NOTES, "notes.md")
    assert again.status_code == 200 and again.get_json()["unchanged"] is True
    assert "manual.pdf" not in _versions() and "huge.txt" not in _versions()


# --------------------------------------------------------------------------- the page and the parts


def test_the_form_gives_the_browser_its_limits(client, auth, world, small_limits):
    auth.login(world.director.email)
    page = client.get(f"/clinics/{world.clinic.id}").get_data(as_text=True)
    assert f'data-max-file-bytes="{MIB}"' in page
    assert 'data-max-file-label="1 MB"' in page and 'data-max-files="4"' in page
    assert f'data-max-request-bytes="{4 * MIB}"' in page
    assert "Up to 1 MB each, 4 files at a time." in page
    assert "upload.js" in page


def test_settings_from_the_environment():
    found = config_module.from_environment(
        {
            "CLINIC_MAX_UPLOAD_MB": "25",
            "CLINIC_MAX_UPLOAD_FILES": "8",
            "CLINIC_MAX_REQUEST_MB": "150",
        }
    )
    assert found == {"MAX_UPLOAD_MB": 25, "MAX_UPLOAD_FILES": 8, "MAX_REQUEST_MB": 150}
    limits = UploadLimits.from_config({**found})
    assert (limits.file_bytes, limits.max_files, limits.request_bytes) == (
        25 * MIB,
        8,
        150 * MIB,
    )
    default = UploadLimits.from_config(
        {"MAX_UPLOAD_MB": 50, "MAX_UPLOAD_FILES": 20, "MAX_REQUEST_MB": None}
    )
    assert default.request_bytes == 1000 * MIB and default.request_label == "1000 MB"


def test_the_cap_message_without_a_content_length(small_limits):
    assert over_request_limit(None, small_limits).startswith(
        "This upload is over the 4 MB limit for one upload (up to 4 files"
    )


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 bytes"),
        (1, "1 byte"),
        (1023, "1023 bytes"),
        (1024, "1 KB"),
        (800 * 1024, "800 KB"),
        (int(1.5 * MIB), "1.5 MB"),
        (61 * MIB + 300_000, "61 MB"),
        (int(1.25 * 1024 * MIB), "1.2 GB"),
    ],
)
def test_sizes_read_as_people_write_them(size, text):
    assert format_size(size) == text


def test_a_part_past_the_limit_keeps_nothing_but_its_size():
    spool = LimitedSpool(limit=10)
    spool.write(b"12345")
    spool.write(b"67890")
    assert not spool.over_limit
    spool.seek(0)
    assert spool.read() == b"1234567890"
    spool.seek(0, 2)
    spool.write(b"x")
    spool.write(b"y" * 1000)
    assert spool.over_limit and spool.size == 1011
    spool.seek(0)
    assert spool.read() == b""
    spool.close()
