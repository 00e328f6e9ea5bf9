"""Transition guards: share confirmation and quality gate, close warning, step back with a
reason, action plan agreed by directors (or an admin on their behalf), unknown targets."""

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import ActionStatus, AuditEvent, ClinicStatus, FindingStatus
from clinic.services import tokens, workflow

API = "/api/v1"


@pytest.fixture
def api(client, world):
    """`api(role, path, json)`: POST with that user's bearer token."""
    cache: dict[int, str] = {}

    def call(who, path: str, json: dict):
        user = world.users[who] if isinstance(who, str) else who
        if user.id not in cache:
            cache[user.id] = tokens.create_token(None, user, "test")[1]
        return client.post(
            API + path, json=json, headers={"Authorization": f"Bearer {cache[user.id]}"}
        )

    return call


def _status(world, status: ClinicStatus) -> None:
    world.clinic.status = status
    db.session.commit()


def _severities(world, *severities: str) -> list:
    """Leave open only as many findings as severities given (with those severities);
    confirm the rest."""
    findings = list(world.version.findings)
    assert len(findings) >= len(severities)
    for finding, severity in zip(findings, severities, strict=False):
        finding.status, finding.severity = FindingStatus.OPEN, severity
    for finding in findings[len(severities) :]:
        finding.status = FindingStatus.CONFIRMED
    db.session.commit()
    return findings


def _post_page(client, auth, world, **data):
    token = auth.csrf_token(f"/clinics/{world.clinic.id}")
    return client.post(
        f"/clinics/{world.clinic.id}/transition", data={"csrf_token": token, **data}
    )


def _events(action: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action))
    )


def _refused(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["error"] == code
    assert isinstance(body["message"], str) and body["message"]
    return body


# --------------------------------------------------------------------------- sharing


def test_sharing_with_open_findings_asks_for_confirmation(client, auth, api, world):
    _status(world, ClinicStatus.IN_REVIEW)
    _severities(world, "medium", "low")
    auth.login(world.coach.email)

    page = client.get(f"/clinics/{world.clinic.id}/transition?to=feedback_shared")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Please confirm" in html
    assert "2 findings are still open (0 high, 1 medium, 1 low severity)" in html
    assert 'id="guard-counts"' in html
    assert "Yes, move to “Feedback shared”" in html
    # The clinic page links to this step instead of a one-click button.
    clinic_page = client.get(f"/clinics/{world.clinic.id}").get_data(as_text=True)
    assert f"/clinics/{world.clinic.id}/transition?to=feedback_shared" in clinic_page

    # Without confirm the API refuses, with the counts and what it needs.
    body = _refused(
        api(
            "coach", f"/clinics/{world.clinic.id}/transition", {"to": "feedback_shared"}
        ),
        409,
        "confirmation_required",
    )
    assert body["counts"] == {
        "high": 0,
        "medium": 1,
        "low": 1,
        "open": 2,
        "analysing": 0,
    }
    assert body["needs"] == ["confirm"]
    db.session.refresh(world.clinic)
    assert world.clinic.status == ClinicStatus.IN_REVIEW

    # A page POST without confirm comes back 409 with the counts (nothing moved).
    response = _post_page(client, auth, world, to="feedback_shared")
    assert response.status_code == 409
    assert "2 findings are still open" in response.get_data(as_text=True)
    db.session.refresh(world.clinic)
    assert world.clinic.status == ClinicStatus.IN_REVIEW

    response = api(
        "coach",
        f"/clinics/{world.clinic.id}/transition",
        {"to": "feedback_shared", "confirm": True},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["status"] == "feedback_shared"
    (event,) = [
        e
        for e in _events("clinic.transition")
        if e.after["status"] == "feedback_shared"
    ]
    assert event.after["open_when_moved"]["open"] == 2


def test_sharing_without_open_findings_needs_no_confirmation(api, world):
    _status(world, ClinicStatus.IN_REVIEW)
    _severities(world)  # everything decided
    check = workflow.check_transition(
        world.coach, world.clinic, ClinicStatus.FEEDBACK_SHARED
    )
    assert check.free and check.counts["open"] == 0
    response = api(
        "coach", f"/clinics/{world.clinic.id}/transition", {"to": "feedback_shared"}
    )
    assert response.status_code == 200, response.get_data(as_text=True)


def test_open_high_severity_blocks_sharing_unless_overridden(client, auth, api, world):
    _status(world, ClinicStatus.IN_REVIEW)
    _severities(world, "high", "low")
    url = f"/clinics/{world.clinic.id}/transition"

    # confirm alone is not enough: the quality gate needs a reason.
    body = _refused(
        api("coach", url, {"to": "feedback_shared", "confirm": True}),
        409,
        "quality_gate",
    )
    assert body["counts"]["high"] == 1 and body["counts"]["open"] == 2
    assert body["needs"] == ["override_reason"]
    assert "override this quality gate with a reason" in body["message"]
    _refused(
        api("coach", url, {"to": "feedback_shared", "override_reason": "   "}),
        409,
        "quality_gate",
    )

    auth.login(world.coach.email)
    page = client.get(f"{url}?to=feedback_shared").get_data(as_text=True)
    assert "Quality gate" in page and 'name="override_reason"' in page
    response = _post_page(client, auth, world, to="feedback_shared", confirm="1")
    assert response.status_code == 409
    assert "Feedback cannot be shared yet" in response.get_data(as_text=True)
    db.session.refresh(world.clinic)
    assert world.clinic.status == ClinicStatus.IN_REVIEW
    assert _events("clinic.gate_override") == []

    response = api(
        "coach",
        url,
        {"to": "feedback_shared", "override_reason": "Discussed in the session"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    db.session.refresh(world.clinic)
    assert world.clinic.status == ClinicStatus.FEEDBACK_SHARED
    (override,) = _events("clinic.gate_override")
    assert override.actor_id == world.coach.id
    assert override.clinic_id == world.clinic.id
    assert override.after["reason"] == "Discussed in the session"
    assert override.after["counts"]["high"] == 1


# --------------------------------------------------------------------------- closing


def test_closing_with_open_action_items_warns(client, auth, api, world):
    _status(world, ClinicStatus.PLAN_AGREED)
    assert world.action_item.status == ActionStatus.OPEN
    auth.login(world.coach.email)
    page = client.get(f"/clinics/{world.clinic.id}/transition?to=closed")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "1 action item is still open (1 not started, 0 in progress)" in html
    assert "Close the clinic anyway?" in html

    url = f"/clinics/{world.clinic.id}/transition"
    body = _refused(api("coach", url, {"to": "closed"}), 409, "confirmation_required")
    assert body["counts"]["open_action_items"] == 1
    assert body["needs"] == ["confirm"]
    response = api("coach", url, {"to": "closed", "confirm": True})
    assert response.status_code == 200, response.get_data(as_text=True)
    db.session.refresh(world.clinic)
    assert world.clinic.status == ClinicStatus.CLOSED


def test_closing_with_every_action_item_settled_is_one_step(api, world):
    _status(world, ClinicStatus.PLAN_AGREED)
    workflow.update_action_item(world.coach, world.action_item, status="done")
    response = api("coach", f"/clinics/{world.clinic.id}/transition", {"to": "closed"})
    assert response.status_code == 200, response.get_data(as_text=True)


# --------------------------------------------------------------------------- step back


def test_step_back_one_state_needs_a_reason(client, auth, api, world):
    _status(world, ClinicStatus.FEEDBACK_SHARED)
    url = f"/clinics/{world.clinic.id}/transition"

    body = _refused(api("coach", url, {"to": "in_review"}), 400, "invalid")
    assert "`reason` is required" in body["message"]
    _refused(api("coach", url, {"to": "in_review", "reason": "  "}), 400, "invalid")

    auth.login(world.coach.email)
    assert "Step back to “In review”" in client.get(f"{url}?to=in_review").get_data(
        as_text=True
    )
    response = _post_page(client, auth, world, to="in_review", confirm="1")
    assert response.status_code == 400
    assert "cannot be empty" in response.get_data(as_text=True)
    db.session.refresh(world.clinic)
    assert world.clinic.status == ClinicStatus.FEEDBACK_SHARED

    # More than one state back is not a step back.
    body = _refused(
        api("coach", url, {"to": "submitted", "reason": "x"}), 409, "illegal_transition"
    )
    assert "step back one state, to in review" in body["message"]

    response = api(
        "coach", url, {"to": "in_review", "reason": "A finding was shared too soon"}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    db.session.refresh(world.clinic)
    assert world.clinic.status == ClinicStatus.IN_REVIEW
    (event,) = _events("clinic.step_back")
    assert event.actor_id == world.coach.id
    assert event.before == {"status": "feedback_shared"}
    assert event.after == {
        "status": "in_review",
        "reason": "A finding was shared too soon",
    }


def test_step_back_is_for_whoever_takes_the_step_forward(api, world):
    _status(world, ClinicStatus.FEEDBACK_SHARED)
    url = f"/clinics/{world.clinic.id}/transition"
    # Feedback is withdrawn by a coach, not by a director.
    _refused(api("director", url, {"to": "in_review", "reason": "x"}), 403, "forbidden")
    db.session.refresh(world.clinic)
    assert world.clinic.status == ClinicStatus.FEEDBACK_SHARED


# --------------------------------------------------------------------------- plan agreed


def test_only_a_director_of_the_course_marks_the_plan_agreed(api, world):
    _status(world, ClinicStatus.FEEDBACK_SHARED)
    url = f"/clinics/{world.clinic.id}/transition"
    body = _refused(api("coach", url, {"to": "plan_agreed"}), 403, "forbidden")
    assert "Only a director of the course" in body["message"]
    other = api(world.other_director, url, {"to": "plan_agreed"})
    assert other.status_code in (403, 404)
    db.session.refresh(world.clinic)
    assert world.clinic.status == ClinicStatus.FEEDBACK_SHARED

    response = api("director", url, {"to": "plan_agreed"})
    assert response.status_code == 200, response.get_data(as_text=True)
    db.session.refresh(world.clinic)
    assert world.clinic.status == ClinicStatus.PLAN_AGREED
    assert world.clinic.plan_agreed_by_id == world.director.id
    assert world.clinic.plan_agreed_on_behalf is False
    (event,) = [
        e for e in _events("clinic.transition") if e.after["status"] == "plan_agreed"
    ]
    assert "on_behalf_of" not in event.after


def test_an_admin_marks_the_plan_agreed_on_the_directors_behalf(
    client, auth, api, world
):
    _status(world, ClinicStatus.FEEDBACK_SHARED)
    auth.login(world.admin.email)
    page = client.get(f"/clinics/{world.clinic.id}/transition?to=plan_agreed")
    assert "on behalf of the course directors" in page.get_data(as_text=True)

    response = api(
        "admin",
        f"/clinics/{world.clinic.id}/transition",
        {"to": "plan_agreed", "reason": "Agreed by email on 3 December"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    db.session.refresh(world.clinic)
    assert world.clinic.status == ClinicStatus.PLAN_AGREED
    assert world.clinic.plan_agreed_by_id == world.admin.id
    assert world.clinic.plan_agreed_on_behalf is True
    (event,) = [
        e for e in _events("clinic.transition") if e.after["status"] == "plan_agreed"
    ]
    assert event.actor_id == world.admin.id
    assert event.after["on_behalf_of"] == [world.director.email]
    assert event.after["note"] == "Agreed by email on 3 December"
    clinic_page = client.get(f"/clinics/{world.clinic.id}").get_data(as_text=True)
    assert "on behalf of the course directors" in clinic_page


# --------------------------------------------------------------------------- forged targets


@pytest.mark.parametrize("to", ["archived", "FEEDBACK_SHARED", "<script>", "1"])
def test_unknown_status_is_a_clear_400(client, auth, api, world, to):
    _status(world, ClinicStatus.IN_REVIEW)
    body = _refused(
        api("coach", f"/clinics/{world.clinic.id}/transition", {"to": to}),
        400,
        "invalid",
    )
    assert body["message"].startswith("Unknown status")
    assert "draft, submitted, in_review, feedback_shared" in body["message"]

    auth.login(world.coach.email)
    response = _post_page(client, auth, world, to=to, confirm="1")
    assert response.status_code == 302
    flashed = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Unknown status" in flashed
    assert "<script>" not in flashed
    db.session.refresh(world.clinic)
    assert world.clinic.status == ClinicStatus.IN_REVIEW


def test_missing_or_non_string_status_is_a_400(api, world):
    url = f"/clinics/{world.clinic.id}/transition"
    _refused(api("director", url, {}), 400, "invalid")
    _refused(api("director", url, {"to": 3}), 400, "invalid")
    _refused(
        api("director", url, {"to": "submitted", "confirm": "yes"}), 400, "invalid"
    )


def test_a_skipped_state_is_refused_with_the_reason(api, world):
    body = _refused(
        api("director", f"/clinics/{world.clinic.id}/transition", {"to": "in_review"}),
        409,
        "illegal_transition",
    )
    assert "cannot go from draft to in review" in body["message"]
