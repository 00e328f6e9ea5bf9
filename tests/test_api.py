"""The JSON API: error shapes, cookies, the whole clinic flow, agreement with the pages."""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa
from flask import g
from openapi_spec_validator import validate

from clinic.api.openapi import openapi_path
from clinic.extensions import db
from clinic.models import AuditEvent, ClinicStatus, Finding
from clinic.rubric_cache import app_rubric
from clinic.services import tokens
from tests import builders
from tests.conftest import AuthActions

API = "/api/v1"


@pytest.fixture
def api(client, world):
    """`api(role_or_user, method, path, **kwargs)`: a request with that user's token."""
    cache: dict[int, str] = {}

    def call(who, method: str, path: str, **kwargs):
        user = world.users[who] if isinstance(who, str) else who
        if user.id not in cache:
            cache[user.id] = tokens.create_token(None, user, "test")[1]
        headers = {"Authorization": f"Bearer {cache[user.id]}"}
        return client.open(API + path, method=method, headers=headers, **kwargs)

    return call


def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["error"] == code
    assert isinstance(body["message"], str) and body["message"]
    return body


def _upload(api, who, clinic_id: int, data: bytes, filename: str, **form):
    return api(
        who,
        "POST",
        f"/clinics/{clinic_id}/documents",
        data={"file": (io.BytesIO(data), filename), **form},
        content_type="multipart/form-data",
    )


# --------------------------------------------------------------------------- errors


def test_401_without_or_with_a_bad_token(client, world):
    _error(client.get(f"{API}/me"), 401, "unauthorized")
    for header in ("Bearer nope", "Bearer clinic_nope", "Basic abc", "Bearer "):
        response = client.get(f"{API}/me", headers={"Authorization": header})
        _error(response, 401, "unauthorized")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_error_shapes(app, api, world):
    bad_json = api(
        "admin", "POST", "/courses", data="{nope", content_type="application/json"
    )
    _error(bad_json, 400, "bad_request")
    not_object = api("admin", "POST", "/courses", json=[1, 2])
    _error(not_object, 400, "bad_request")
    missing = api("admin", "POST", "/courses", json={"code": "X 1"})
    assert "title" in _error(missing, 400, "invalid")["message"]
    _error(
        api("director", "PATCH", f"/findings/{world.finding.id}", json={}),
        403,
        "forbidden",
    )
    _error(api("admin", "GET", "/clinics/9999"), 404, "not_found")
    _error(api("admin", "GET", "/no-such-thing"), 404, "not_found")
    wrong_method = api("admin", "DELETE", "/courses")
    _error(wrong_method, 405, "method_not_allowed")
    assert "GET" in wrong_method.headers["Allow"]
    _error(
        api(
            "admin",
            "POST",
            f"/clinics/{world.clinic.id}/transition",
            json={"to": "closed"},
        ),
        409,
        "illegal_transition",
    )
    _error(
        api(
            "admin", "POST", f"/clinics/{world.clinic.id}/transition", json={"to": "x"}
        ),
        400,
        "invalid",
    )
    form_post = api("admin", "POST", "/courses", data={"code": "X"})
    _error(form_post, 415, "unsupported_media_type")
    json_upload = api("admin", "POST", f"/clinics/{world.clinic.id}/documents", json={})
    _error(json_upload, 415, "unsupported_media_type")
    # A request over the upload cap (MAX_UPLOAD_MB x MAX_UPLOAD_FILES) is refused whole;
    # one file over MAX_UPLOAD_MB in a request under the cap is `file_too_large`.
    app.config.update(MAX_UPLOAD_MB=1, MAX_UPLOAD_FILES=1)
    too_big = _upload(api, "director", world.clinic.id, b"x" * 1_100_000, "big.txt")
    body = _error(too_big, 413, "request_entity_too_large")
    assert "over the 1 MB limit for one upload" in body["message"]
    app.config.update(MAX_UPLOAD_FILES=2)
    too_big = _upload(api, "director", world.clinic.id, b"x" * 1_100_000, "big.txt")
    body = _error(too_big, 413, "file_too_large")
    assert body["message"] == "‘big.txt’ is more than 1 MB; the limit is 1 MB per file."


def test_unknown_emails_are_named(api, world):
    response = api(
        "admin",
        "POST",
        "/courses",
        json={
            "code": "NEW 1",
            "title": "New",
            "kind": "course",
            "school": "Medicine",
            "director_emails": [world.director.email, "ghost@school.example.edu"],
        },
    )
    assert "ghost@school.example.edu" in _error(response, 400, "invalid")["message"]
    wrong_role = api(
        "admin",
        "POST",
        "/clinics",
        json={
            "course_id": world.course.id,
            "academic_year": "2027-28",
            "coach_emails": [world.director.email],
        },
    )
    _error(wrong_role, 400, "invalid")


def test_session_cookie_alone_does_not_authenticate(client, auth, world):
    assert auth.login(world.admin.email).status_code == 302
    assert client.get("/").status_code == 200  # signed in for the pages
    _error(client.get(f"{API}/me"), 401, "unauthorized")
    _error(client.post(f"{API}/courses", json={}), 401, "unauthorized")


def test_api_answers_set_no_cookie_and_need_no_csrf(client, api, world):
    me = api("coach", "GET", "/me")
    assert me.status_code == 200
    assert me.get_json()["email"] == world.coach.email
    assert "Set-Cookie" not in me.headers
    # CSRF protection is on for the pages, off for bearer-token calls.
    response = api(
        "coach",
        "POST",
        f"/findings/{world.finding.id}/comments",
        json={"body": "No CSRF token needed."},
    )
    assert response.status_code == 201
    assert "Set-Cookie" not in response.headers


def test_openapi_document_validates_and_lists_every_route(app, client):
    response = client.get(f"{API}/openapi.json")  # public: no token needed
    assert response.status_code == 200
    spec = response.get_json()
    validate(spec)
    assert spec["openapi"].startswith("3.1")
    assert "bearerAuth" in spec["components"]["securitySchemes"]
    for name in (
        "Finding",
        "Clinic",
        "UploadResult",
        "Document",
        "Error",
        "ActionItem",
    ):
        assert name in spec["components"]["schemas"]
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("api.")]
    assert len(rules) > 15
    for rule in rules:
        item = spec["paths"].get(openapi_path(rule))
        assert item is not None, rule.rule
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in item, (method, rule.rule)
    finding = spec["components"]["schemas"]["Finding"]["properties"]
    for key in ("id", "criterion_id", "category", "severity", "status", "match"):
        assert key in finding
    for key in ("location", "start", "end", "matched_text", "sentence"):
        assert key in finding


# --------------------------------------------------------------------------- the whole flow


def test_whole_clinic_flow_through_the_api(api, world):
    admin, director, coach = world.admin, world.director, world.coach
    course = api(
        admin,
        "POST",
        "/courses",
        json={
            "code": "PULM 620",
            "title": "Pulmonology",
            "kind": "clerkship",
            "school": "School of Medicine",
            "director_emails": [director.email.upper()],
        },
    )
    assert course.status_code == 201, course.get_json()
    course_id = course.get_json()["id"]
    assert course.get_json()["directors"][0]["email"] == director.email
    clinic = api(
        admin,
        "POST",
        "/clinics",
        json={
            "course_id": course_id,
            "academic_year": "2027-28",
            "coach_emails": [coach.email],
        },
    )
    assert clinic.status_code == 201, clinic.get_json()
    clinic_id = clinic.get_json()["id"]
    assert clinic.get_json()["status"] == "draft"

    listed = api(
        director, "GET", f"/clinics?course_id={course_id}&academic_year=2027-28"
    )
    assert [c["id"] for c in listed.get_json()["clinics"]] == [clinic_id]
    assert api(director, "GET", "/clinics?academic_year=1999-00").get_json() == {
        "clinics": []
    }

    upload = _upload(
        api, director, clinic_id, builders.LECTURE_TEXT.encode(), "week3.txt"
    )
    assert upload.status_code == 202, upload.get_json()
    result = upload.get_json()
    assert set(result) >= {
        "document_id",
        "version_id",
        "version",
        "status",
        "status_url",
    }
    assert result["version"] == 1
    document_id = result["document_id"]
    status = api(director, "GET", result["status_url"].removeprefix(API)).get_json()
    assert status["status"] == "done" and status["progress"] == 100
    assert status["error"] is None and status["warnings"] == []
    assert status["rubric_version"] == app_rubric().version_id
    assert status["counts"]["findings"] >= 2
    assert "diff" not in status

    # Coaches cannot start the review of a draft; the director submits first.
    early = api(
        coach, "POST", f"/clinics/{clinic_id}/transition", json={"to": "in_review"}
    )
    _error(early, 409, "illegal_transition")
    submitted = api(
        director, "POST", f"/clinics/{clinic_id}/transition", json={"to": "submitted"}
    )
    assert (
        submitted.status_code == 200 and submitted.get_json()["status"] == "submitted"
    )
    not_for_director = api(
        director, "POST", f"/clinics/{clinic_id}/transition", json={"to": "in_review"}
    )
    _error(not_for_director, 403, "forbidden")
    in_review = api(
        coach, "POST", f"/clinics/{clinic_id}/transition", json={"to": "in_review"}
    )
    assert in_review.get_json()["status"] == "in_review"
    assert in_review.get_json()["next_steps"] == ["feedback_shared"]

    findings = api(coach, "GET", f"/documents/{document_id}/findings").get_json()
    assert findings["version"] == 1 and findings["count"] >= 2
    first, second = findings["findings"][:2]
    for key in (
        "id",
        "criterion_id",
        "category",
        "severity",
        "status",
        "match",
        "location",
        "start",
        "end",
        "matched_text",
        "sentence",
    ):
        assert key in first
    assert first["status"] == "open" and first["match"] == "new"

    confirmed = api(
        coach,
        "PATCH",
        f"/findings/{first['id']}",
        json={"status": "confirmed", "comment": "Race correction.", "severity": "high"},
    )
    assert confirmed.status_code == 200, confirmed.get_json()
    assert confirmed.get_json()["status"] == "confirmed"
    assert confirmed.get_json()["severity"] == "high"
    assert confirmed.get_json()["comment"] == "Race correction."
    no_reason = api(
        coach, "PATCH", f"/findings/{second['id']}", json={"status": "dismissed"}
    )
    _error(no_reason, 400, "invalid")
    bad_reason = api(
        coach,
        "PATCH",
        f"/findings/{second['id']}",
        json={"status": "dismissed", "reason": "because"},
    )
    _error(bad_reason, 400, "invalid")
    dismissed = api(
        coach,
        "PATCH",
        f"/findings/{second['id']}",
        json={"status": "dismissed", "reason": "race_conscious"},
    )
    assert dismissed.get_json()["status"] == "dismissed"
    assert dismissed.get_json()["reason"] == "race_conscious"
    only = api(
        coach, "GET", f"/documents/{document_id}/findings?status=dismissed"
    ).get_json()
    assert [f["id"] for f in only["findings"]] == [second["id"]]

    comment = api(
        coach,
        "POST",
        f"/findings/{first['id']}/comments",
        json={"body": "See CKD-EPI 2021."},
    )
    assert (
        comment.status_code == 201 and comment.get_json()["body"] == "See CKD-EPI 2021."
    )
    # The director cannot discuss, and sees no decisions, before feedback is shared.
    _error(
        api(director, "POST", f"/findings/{first['id']}/comments", json={"body": "?"}),
        403,
        "forbidden",
    )
    seen = api(director, "GET", f"/documents/{document_id}/findings").get_json()[
        "findings"
    ]
    assert {f["status"] for f in seen} == {"open"}
    assert all("reason" not in f and "comment" not in f for f in seen)
    hidden = api(director, "GET", f"/documents/{document_id}/findings?status=confirmed")
    assert hidden.get_json()["findings"] == []

    criterion_id = next(iter(app_rubric().manual_criteria))
    scored = api(
        coach,
        "PUT",
        f"/clinics/{clinic_id}/pedagogy/{criterion_id}",
        json={"score": 2, "notes": "Race framed as social.", "evidence": "Slide 4"},
    )
    assert scored.status_code == 200, scored.get_json()
    assert scored.get_json()["score"] == 2
    na = api(
        coach,
        "PUT",
        f"/clinics/{clinic_id}/pedagogy/{criterion_id}",
        json={"score": None},
    )
    assert na.get_json()["score"] is None and na.get_json()["scored"] is True
    _error(
        api(
            coach,
            "PUT",
            f"/clinics/{clinic_id}/pedagogy/{criterion_id}",
            json={"score": 7},
        ),
        400,
        "invalid",
    )
    _error(
        api(coach, "PUT", f"/clinics/{clinic_id}/pedagogy/NOPE", json={"score": 1}),
        404,
        "not_found",
    )
    pedagogy = api(director, "GET", f"/clinics/{clinic_id}/pedagogy").get_json()
    assert len(pedagogy["criteria"]) == len(app_rubric().manual_criteria)
    assert pedagogy["can_score"] is False

    item = api(
        coach,
        "POST",
        f"/clinics/{clinic_id}/action-items",
        json={
            "from_finding_id": first["id"],
            "owner_email": director.email,
            "due_date": "2027-03-01",
        },
    )
    assert item.status_code == 201, item.get_json()
    item = item.get_json()
    assert item["title"].startswith("Revise: ")
    assert (
        item["finding_ids"] == [first["id"]] and item["owner_email"] == director.email
    )
    plain = api(
        coach,
        "POST",
        f"/clinics/{clinic_id}/action-items",
        json={
            "title": "Add a session on race as a social construct",
            "finding_ids": [],
        },
    )
    assert plain.status_code == 201
    _error(
        api(
            coach,
            "POST",
            f"/clinics/{clinic_id}/action-items",
            json={"title": "X", "owner_email": coach.email},
        ),
        400,
        "invalid",
    )
    _error(
        api(
            coach,
            "POST",
            f"/clinics/{clinic_id}/action-items",
            json={"title": "X", "due_date": "next week"},
        ),
        400,
        "invalid",
    )

    feedback = api(
        coach,
        "POST",
        f"/clinics/{clinic_id}/transition",
        json={"to": "feedback_shared"},
    )
    assert feedback.get_json()["status"] == "feedback_shared"

    progress = api(
        director, "PATCH", f"/action-items/{item['id']}", json={"status": "in_progress"}
    )
    assert (
        progress.status_code == 200 and progress.get_json()["status"] == "in_progress"
    )
    _error(
        api(
            director, "PATCH", f"/action-items/{item['id']}", json={"title": "Mine now"}
        ),
        403,
        "forbidden",
    )
    _error(
        api(
            director,
            "PATCH",
            f"/action-items/{plain.get_json()['id']}",
            json={"status": "done"},
        ),
        403,
        "forbidden",
    )
    _error(
        api(coach, "PATCH", f"/action-items/{item['id']}", json={"status": "dropped"}),
        400,
        "invalid",
    )
    dropped = api(
        coach,
        "PATCH",
        f"/action-items/{item['id']}",
        json={"status": "dropped", "drop_reason": "Covered by the new lecture."},
    )
    assert dropped.get_json()["status"] == "dropped"
    items = api(director, "GET", f"/clinics/{clinic_id}/action-items").get_json()
    assert {i["id"] for i in items["action_items"]} == {
        item["id"],
        plain.get_json()["id"],
    }

    # Now the director sees the decisions and can discuss them.
    seen = api(director, "GET", f"/documents/{document_id}/findings").get_json()[
        "findings"
    ]
    by_id = {f["id"]: f for f in seen}
    assert by_id[first["id"]]["status"] == "confirmed"
    assert by_id[second["id"]]["reason"] == "race_conscious"
    reply = api(
        director,
        "POST",
        f"/findings/{first['id']}/comments",
        json={"body": "Will revise.", "parent_id": comment.get_json()["id"]},
    )
    assert (
        reply.status_code == 201
        and reply.get_json()["parent_id"] == comment.get_json()["id"]
    )
    thread = api(director, "GET", f"/findings/{first['id']}").get_json()["comments"]
    assert [c["body"] for c in thread] == ["See CKD-EPI 2021.", "Will revise."]

    # A revision: the race-corrected sentence is gone, the rest persists.
    revised = builders.LECTURE_TEXT.replace(
        "Estimate kidney function with the CKD-EPI equation, multiplying by 1.159 if the patient is Black.",
        "Estimate kidney function with the race-free CKD-EPI 2021 equation.",
    )
    second_upload = _upload(
        api,
        director,
        clinic_id,
        revised.encode(),
        "week3-v2.txt",
        document_id=str(document_id),
    )
    assert second_upload.status_code == 202
    assert second_upload.get_json()["version"] == 2
    assert second_upload.get_json()["document_id"] == document_id
    doc = api(director, "GET", f"/documents/{document_id}").get_json()
    assert doc["version"] == 2 and doc["status"] == "done"
    assert set(doc["diff"]) >= {"resolved", "persisting", "new"}
    assert doc["diff"]["resolved"] >= 1
    assert doc["diff"]["persisting"] + doc["diff"]["new"] == doc["counts"]["findings"]
    v1 = api(director, "GET", f"/documents/{document_id}/findings?version=1").get_json()
    assert v1["version"] == 1 and v1["count"] == findings["count"]
    _error(
        api(director, "GET", f"/documents/{document_id}/findings?version=9"),
        404,
        "not_found",
    )
    again = _upload(
        api,
        director,
        clinic_id,
        revised.encode(),
        "week3-v2.txt",
        document_id=str(document_id),
    )
    assert again.status_code == 200 and again.get_json()["unchanged"] is True

    # Every change above was audited under the token's user.
    actions = set(
        db.session.scalars(
            sa.select(AuditEvent.action).where(AuditEvent.clinic_id == clinic_id)
        )
    )
    assert {
        "clinic.transition",
        "finding.confirm",
        "finding.dismiss",
        "comment.add",
        "pedagogy.score",
        "action_item.create",
        "action_item.update",
        "version.upload",
    } <= actions


def test_manual_finding_on_segment_offsets(api, world):
    segments = api(
        "coach", "GET", f"/documents/{world.document.id}/segments"
    ).get_json()
    assert segments["version_id"] == world.version.id
    segment = next(s for s in segments["segments"] if "muscle mass" in s["text"])
    start = segment["text"].index("muscle mass")
    body = {
        "version_id": world.version.id,
        "segment_id": segment["id"],
        "start": start,
        "end": start + len("muscle mass"),
        "criterion_id": world.finding.criterion_id,
        "note": "Generalisation.",
    }
    created = api("coach", "POST", f"/clinics/{world.clinic.id}/findings", json=body)
    assert created.status_code == 201, created.get_json()
    finding = created.get_json()
    assert finding["matched_text"] == "muscle mass"
    assert finding["source"] == "manual" and finding["status"] == "confirmed"
    assert db.session.get(Finding, finding["id"]).note == "Generalisation."
    wrong_clinic = dict(body, version_id=world.other_version.id)
    _error(
        api("admin", "POST", f"/clinics/{world.clinic.id}/findings", json=wrong_clinic),
        400,
        "invalid",
    )
    _error(
        api(
            "coach",
            "POST",
            f"/clinics/{world.clinic.id}/findings",
            json=dict(body, start=5, end=2),
        ),
        400,
        "invalid",
    )
    _error(
        api(
            "coach",
            "POST",
            f"/clinics/{world.clinic.id}/findings",
            json=dict(body, criterion_id="NOPE"),
        ),
        400,
        "invalid",
    )


def test_findings_filters(api, world):
    url = f"/documents/{world.document.id}/findings"
    everything = api("coach", "GET", url).get_json()["findings"]
    f = everything[0]
    for name, key in (
        ("criterion", "criterion_id"),
        ("category", "category"),
        ("severity", "severity"),
        ("status", "status"),
        ("match", "match"),
    ):
        got = api("coach", "GET", f"{url}?{name}={f[key]}").get_json()["findings"]
        assert got and all(g[key] == f[key] for g in got)
        assert got == [g for g in everything if g[key] == f[key]]
    _error(api("coach", "GET", f"{url}?status=maybe"), 400, "invalid")
    _error(api("coach", "GET", f"{url}?version=two"), 400, "invalid")


def test_upload_a_new_version_of_a_foreign_document_is_refused(api, world):
    response = _upload(
        api,
        "admin",
        world.clinic.id,
        b"Some text.",
        "x.txt",
        document_id=str(world.other_document.id),
    )
    _error(response, 400, "invalid")
    missing_file = api(
        "director",
        "POST",
        f"/clinics/{world.clinic.id}/documents",
        data={"document_id": "1"},
        content_type="multipart/form-data",
    )
    _error(missing_file, 400, "invalid")
    bad_type = _upload(api, "director", world.clinic.id, b"\x00\x01binary", "x.exe")
    _error(bad_type, 400, "invalid")


# --------------------------------------------------------------------------- pages and API agree


def _signed_in(app, user):
    """A fresh browser signed in as `user` (each role gets its own cookie jar)."""
    # The test's app context (and its `g`) spans requests: forget the last
    # request's user and CSRF token, as a new request in production would.
    g.__dict__.clear()
    client = app.test_client()
    assert AuthActions(client).login(user.email).status_code == 302
    return client


def _page_findings(app, user, version_id: int) -> dict[int, str]:
    page = (
        _signed_in(app, user)
        .get(f"/versions/{version_id}/review")
        .get_data(as_text=True)
    )
    g.__dict__.clear()
    return {
        int(fid): status
        for fid, status in re.findall(
            r'id="finding-(\d+)"[^>]*data-status="(\w+)"', page
        )
    }


@pytest.mark.parametrize("shared", [False, True])
def test_api_and_review_page_agree(app, api, world, shared):
    from clinic.services import reviews

    reviews.confirm(world.coach, world.version.findings[0])
    if len(world.version.findings) > 1:
        reviews.dismiss(world.coach, world.version.findings[1], "duplicate")
    if shared:
        world.clinic.status = ClinicStatus.FEEDBACK_SHARED
        db.session.commit()
    for role in ("admin", "coach", "director", "dean"):
        user = world.users[role]
        page = _page_findings(app, user, world.version.id)
        listed = api(role, "GET", f"/documents/{world.document.id}/findings").get_json()
        from_api = {f["id"]: f["status"] for f in listed["findings"]}
        assert page and from_api == page, role
    # Each role's clinic list is the same on the page and in the API.
    for role in ("coach", "director"):
        page = _signed_in(app, world.users[role]).get("/clinics").get_data(as_text=True)
        g.__dict__.clear()
        clinics = api(role, "GET", "/clinics").get_json()["clinics"]
        assert {c["course"]["code"] for c in clinics} == {
            code for code in ("NEPH 610", "CARD 630") if code in page
        }
