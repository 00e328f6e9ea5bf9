"""The API's authorization matrix: every API rule, every role, own and foreign objects."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import AuditEvent, DismissReason, FindingDecision, FindingStatus
from clinic.rubric_cache import app_rubric
from clinic.services import tokens, workflow
from tests.test_authz import expectation

OK = "ok"
COACHES_ADMINS = {"admin": OK, "coach": OK, "director": 403, "dean": 403}
ROLES = ["admin", "coach", "director", "dean"]
EVERYONE = {"admin": OK, "coach": OK, "director": OK, "dean": OK}
ADMIN_ONLY = {"admin": OK, "coach": 403, "director": 403, "dean": 403}
NOT_FOREIGN = {"admin": OK, "coach": 403, "director": 403, "dean": OK}
# (own object, foreign object): "own" is the course/clinic the coach and director belong to.
SCOPED = (EVERYONE, NOT_FOREIGN)
# Those who work on the clinic: admins, its course's directors, its coaches (never deans).
MEMBERS = ({"admin": OK, "coach": OK, "director": OK, "dean": 403}, ADMIN_ONLY)
# Coach work; the world's clinic is a draft, so directors may not comment yet either.
REVIEWERS = ({"admin": OK, "coach": OK, "director": 403, "dean": 403}, ADMIN_ONLY)

EXPECTED_API: dict[str, tuple[dict, dict]] = {
    "api.openapi": (EVERYONE, EVERYONE),
    "api.me": (EVERYONE, EVERYONE),
    "api.courses_list": (EVERYONE, EVERYONE),
    "api.create_course": (ADMIN_ONLY, ADMIN_ONLY),
    "api.course": SCOPED,
    "api.clinics_list": (EVERYONE, EVERYONE),
    "api.create_clinic": (ADMIN_ONLY, ADMIN_ONLY),
    "api.clinic": SCOPED,
    "api.transition": MEMBERS,
    "api.upload": MEMBERS,
    "api.document": SCOPED,
    "api.document_findings": SCOPED,
    "api.document_segments": SCOPED,
    "api.finding": SCOPED,
    "api.update_finding": REVIEWERS,
    "api.add_comment": REVIEWERS,
    # Coaches' internal notes: never directors or deans, at any state.
    "api.notes": REVIEWERS,
    "api.add_clinic_note": REVIEWERS,
    "api.add_finding": REVIEWERS,
    "api.bulk_decide": REVIEWERS,
    # CAP's view of its rubric: admins and coaches, whatever the clinic.
    "api.rubric_health": (COACHES_ADMINS, COACHES_ADMINS),
    # The lead coach (the world's clinic has one coach, so its lead) and admins.
    "api.settle_finding": REVIEWERS,
    "api.action_items": SCOPED,
    "api.create_action_item": REVIEWERS,
    # The own item is owned by the course director, who may change its status.
    "api.update_action_item": MEMBERS,
    "api.pedagogy": SCOPED,
    "api.score_pedagogy": REVIEWERS,
    # Directors get the plan once feedback is shared (the world's clinic is a draft).
    "api.action_plan": (
        {"admin": OK, "coach": OK, "director": 403, "dean": OK},
        NOT_FOREIGN,
    ),
    "api.summary_pdf": (NOT_FOREIGN, NOT_FOREIGN),
    # Each user's own notifications; one is the coach's (own) or the director's (foreign).
    "api.notifications_list": (EVERYONE, EVERYONE),
    "api.notifications_read_all": (EVERYONE, EVERYONE),
    "api.notification_preferences": (EVERYONE, EVERYONE),
    "api.set_notification_preferences": (EVERYONE, EVERYONE),
    "api.notification_read": (
        {"admin": 403, "coach": OK, "director": 403, "dean": 403},
        {"admin": 403, "coach": 403, "director": OK, "dean": 403},
    ),
}
PUBLIC_API = {"api.openapi"}


def api_rules(app):
    return [r for r in app.url_map.iter_rules() if r.endpoint.startswith("api.")]


def api_url(rule, objects: dict) -> str:
    values = {arg: objects[arg] for arg in rule.arguments}
    return rule.build(values, append_unknown=False)[1]


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def setup_api_world(world):
    """Tokens per role, and an action item in each clinic (owned by its director)."""
    world.tokens = {
        role: tokens.create_token(None, user, f"{role} token")[1]
        for role, user in world.users.items()
    }
    world.tokens["other_director"] = tokens.create_token(
        None, world.other_director, "other"
    )[1]
    world.action_item = workflow.create_action_item(
        world.admin, world.clinic, title="Revise slide 2", owner=world.director
    )
    world.other_action_item = workflow.create_action_item(
        world.admin,
        world.other_clinic,
        title="Revise the cardio deck",
        owner=world.other_director,
    )
    world.criterion_id = next(iter(app_rubric().manual_criteria))
    world.coach_notification = _notification_of(world.coach)
    world.director_notification = _notification_of(world.director)
    return world


def _notification_of(user):
    from clinic.models import MailStatus, Notification, NotificationKind

    notification = Notification(
        user_id=user.id,
        kind=NotificationKind.REPLY,
        subject="A reply",
        body="A reply",
        link="/",
        mail_status=MailStatus.SENT,
    )
    db.session.add(notification)
    db.session.commit()
    return notification


def objects(world, own: bool) -> dict:
    return {
        "course_id": (world.course if own else world.other_course).id,
        "clinic_id": (world.clinic if own else world.other_clinic).id,
        "document_id": (world.document if own else world.other_document).id,
        "finding_id": (world.finding if own else world.other_finding).id,
        "action_item_id": (world.action_item if own else world.other_action_item).id,
        "criterion_id": world.criterion_id,
        "notification_id": (
            world.coach_notification if own else world.director_notification
        ).id,
    }


def call(client, method: str, url: str, token: str | None, **kwargs):
    headers = bearer(token) if token else {}
    if method not in ("GET", "HEAD") and "json" not in kwargs and "data" not in kwargs:
        kwargs["json"] = {}  # an empty body: the guard decides before any validation
    return client.open(url, method=method, headers=headers, **kwargs)


def test_every_api_route_has_an_expected_decision(app):
    endpoints = {r.endpoint for r in api_rules(app)}
    assert endpoints == set(EXPECTED_API), (
        "add new API routes to EXPECTED_API with their policy decision"
    )


@pytest.mark.parametrize("role", ["anonymous", *ROLES])
def test_api_authorization_matrix(app, client, world, role):
    setup_api_world(world)
    token = None if role == "anonymous" else world.tokens[role]
    before = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))
    failures = []
    for rule in api_rules(app):
        for own in (True, False):
            url = api_url(rule, objects(world, own))
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                response = call(client, method, url, token)
                status = response.status_code
                if role == "anonymous":
                    expected = OK if rule.endpoint in PUBLIC_API else 401
                else:
                    expected = expectation(
                        EXPECTED_API[rule.endpoint][0 if own else 1][role],
                        role,
                        rule,
                        own,
                    )
                if expected == OK:
                    good = status not in (401, 403, 404, 500)
                else:
                    good = status == expected
                    body = response.get_json(silent=True) or {}
                    good = good and set(body) >= {"error", "message"}
                if not good:
                    failures.append(
                        f"{method} {url} as {role}: got {status}, expected {expected}"
                    )
    assert not failures, "\n".join(failures)
    # Empty bodies change nothing: only token bookkeeping may have happened.
    after = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))
    assert after == before


@pytest.mark.parametrize("role", ["admin", "dean"])
def test_missing_objects_answer_404(app, client, world, role):
    setup_api_world(world)
    missing = dict.fromkeys(
        ("course_id", "clinic_id", "document_id", "finding_id", "action_item_id"),
        9999,
    )
    missing["criterion_id"] = world.criterion_id
    for rule in api_rules(app):
        if not set(rule.arguments) - {"criterion_id"} or "GET" not in rule.methods:
            continue
        response = call(client, "GET", api_url(rule, missing), world.tokens[role])
        assert response.status_code == 404, rule.rule
        assert response.get_json()["error"] == "not_found"


def test_director_of_another_course_gets_403_on_every_endpoint_of_this_clinic(
    app, client, world
):
    setup_api_world(world)
    token = world.tokens["other_director"]
    own = objects(world, own=True)
    checked = 0
    for rule in api_rules(app):
        if not set(rule.arguments) - {"criterion_id"}:
            continue  # lists and creation: not about one clinic
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = call(client, method, api_url(rule, own), token)
            assert response.status_code in (403, 404), (method, rule.rule)
            assert response.get_json()["error"] in ("forbidden", "not_found")
            checked += 1
    assert checked >= 16
    # Lists leave the clinic out, and its course.
    clinics = call(client, "GET", "/api/v1/clinics", token).get_json()["clinics"]
    assert world.clinic.id not in {c["id"] for c in clinics}
    courses = call(client, "GET", "/api/v1/courses", token).get_json()["courses"]
    assert world.course.id not in {c["id"] for c in courses}


def _valid_writes(world) -> list[tuple[str, str, dict]]:
    """A request with a valid body for every write endpoint of the API."""
    segment = world.version.segments[0]
    # The coach dismissed the finding; the PATCH below confirms it: they differ, so
    # the settle is valid.
    db.session.add(
        FindingDecision(
            finding_id=world.finding.id,
            coach_id=world.coach.id,
            status=FindingStatus.DISMISSED,
            dismiss_reason=DismissReason.NOT_ABOUT_RACE,
        )
    )
    db.session.commit()
    return [
        (
            "POST",
            "/api/v1/courses",
            {"json": {"code": "X 1", "title": "X", "kind": "course", "school": "S"}},
        ),
        (
            "POST",
            "/api/v1/clinics",
            {"json": {"course_id": world.course.id, "academic_year": "2027-28"}},
        ),
        (
            "POST",
            f"/api/v1/clinics/{world.clinic.id}/transition",
            {"json": {"to": "submitted"}},
        ),
        (
            "POST",
            f"/api/v1/clinics/{world.clinic.id}/documents",
            {
                "data": {"file": (io.BytesIO(b"Some text."), "a.txt")},
                "content_type": "multipart/form-data",
            },
        ),
        (
            "PATCH",
            f"/api/v1/findings/{world.finding.id}",
            {"json": {"status": "confirmed"}},
        ),
        (
            "POST",
            f"/api/v1/findings/{world.finding.id}/comments",
            {"json": {"body": "Hello"}},
        ),
        (
            "POST",
            f"/api/v1/clinics/{world.clinic.id}/notes",
            {"json": {"body": "Internal", "finding_id": world.finding.id}},
        ),
        (
            "POST",
            f"/api/v1/clinics/{world.clinic.id}/findings",
            {
                "json": {
                    "version_id": world.version.id,
                    "segment_id": segment.id,
                    "start": 0,
                    "end": 3,
                    "criterion_id": world.finding.criterion_id,
                }
            },
        ),
        (
            "POST",
            f"/api/v1/documents/{world.document.id}/findings/bulk",
            {"json": {"action": "confirm", "ids": [world.finding.id]}},
        ),
        (
            "POST",
            f"/api/v1/findings/{world.finding.id}/settle",
            {"json": {"status": "confirmed"}},
        ),
        (
            "POST",
            f"/api/v1/clinics/{world.clinic.id}/action-items",
            {"json": {"title": "Do it"}},
        ),
        (
            "PATCH",
            f"/api/v1/action-items/{world.action_item.id}",
            {"json": {"status": "done"}},
        ),
        (
            "PUT",
            f"/api/v1/clinics/{world.clinic.id}/pedagogy/{world.criterion_id}",
            {"json": {"score": 2, "notes": "Good"}},
        ),
    ]


# A dean's own notifications and settings are theirs to change (test_notifications).
PERSONAL_WRITES = {
    "api.notification_read",
    "api.notifications_read_all",
    "api.set_notification_preferences",
}


def test_dean_cannot_change_anything(app, client, world):
    setup_api_world(world)
    writes = _valid_writes(world)
    write_rules = {
        (m, r.endpoint)
        for r in api_rules(app)
        for m in r.methods - {"GET", "HEAD", "OPTIONS"}
        if r.endpoint not in PERSONAL_WRITES
    }
    assert len(writes) == len(write_rules), "a write endpoint is missing here"
    before = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))
    for method, url, kwargs in writes:
        response = call(client, method, url, world.tokens["dean"], **kwargs)
        assert response.status_code == 403, (method, url, response.get_json())
        assert response.get_json()["error"] == "forbidden"
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == before


def test_the_same_valid_writes_work_for_an_admin(app, client, world):
    """The bodies used for the dean are valid: an admin gets them through."""
    setup_api_world(world)
    for method, url, kwargs in _valid_writes(world):
        response = call(client, method, url, world.tokens["admin"], **kwargs)
        assert response.status_code in (200, 201, 202), (method, url, response.json)


def test_a_deactivated_users_token_answers_401(client, world):
    setup_api_world(world)
    coach = world.coach
    coach.active = False
    db.session.commit()
    response = call(client, "GET", "/api/v1/me", world.tokens["coach"])
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"


def test_a_coach_of_another_clinic_sees_nothing_of_this_one(client, world):
    setup_api_world(world)
    _token, plaintext = tokens.create_token(None, world.other_coach, "x")
    for url in (
        f"/api/v1/clinics/{world.clinic.id}",
        f"/api/v1/documents/{world.document.id}/findings",
        f"/api/v1/findings/{world.finding.id}",
    ):
        # As if it did not exist: the same answer as for an id with nothing there.
        response = call(client, "GET", url, plaintext)
        assert response.status_code == 404 and response.json["error"] == "not_found"
    missing = call(client, "GET", "/api/v1/findings/999999", plaintext)
    assert missing.status_code == 404
    assert (
        missing.json
        == call(client, "GET", f"/api/v1/findings/{world.finding.id}", plaintext).json
    )


# (reader, clinic status) -> (reads the comment, reads the internal notes); see test_authz.
PRIVACY_API = {
    ("coach", "in_review"): (True, True),
    ("coach", "feedback_shared"): (True, True),
    ("admin", "in_review"): (True, True),
    ("admin", "feedback_shared"): (True, True),
    ("director", "in_review"): (False, False),
    ("director", "feedback_shared"): (True, False),
    ("dean", "in_review"): (False, False),
    ("dean", "feedback_shared"): (True, False),
}


@pytest.mark.parametrize(("role", "status"), sorted(PRIVACY_API))
def test_comment_and_note_privacy_in_the_api(client, world, role, status):
    from clinic.models import ClinicStatus

    setup_api_world(world)
    world.clinic.status = ClinicStatus.IN_REVIEW
    db.session.commit()
    workflow.add_comment(world.coach, world.finding, "Private until shared")
    workflow.add_note(world.coach, world.clinic, "Never for directors", world.finding)
    workflow.add_note(world.coach, world.clinic, "Clinic-wide, never for directors")
    world.clinic.status = ClinicStatus(status)
    db.session.commit()
    sees_comment, sees_notes = PRIVACY_API[(role, status)]
    token = world.tokens[role]
    finding = call(client, "GET", f"/api/v1/findings/{world.finding.id}", token)
    assert finding.status_code == 200
    body = finding.get_json()
    assert body["comments_visible"] is sees_comment
    assert [c["body"] for c in body["comments"]] == (
        ["Private until shared"] if sees_comment else []
    )
    assert ("internal_notes" in body) is sees_notes
    assert ("Never for directors" in str(body)) is sees_notes
    clinic = call(client, "GET", f"/api/v1/clinics/{world.clinic.id}", token)
    assert clinic.get_json()["comments_visible"] is sees_comment
    notes = call(client, "GET", f"/api/v1/clinics/{world.clinic.id}/notes", token)
    assert notes.status_code == (200 if sees_notes else 403)
    if sees_notes:
        assert {n["body"] for n in notes.get_json()["notes"]} == {
            "Never for directors",
            "Clinic-wide, never for directors",
        }
    added = call(
        client,
        "POST",
        f"/api/v1/clinics/{world.clinic.id}/notes",
        token,
        json={"body": "Another"},
    )
    assert added.status_code == (201 if sees_notes else 403)
