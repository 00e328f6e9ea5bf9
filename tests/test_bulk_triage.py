"""Triage in bulk: confirm or dismiss several findings (chosen, or all matching filters)."""

from __future__ import annotations

import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import AuditEvent, DismissReason, Finding, FindingStatus, Segment
from clinic.rubric_cache import app_rubric
from clinic.services import reviews, tokens


def _finding(version, criterion, source="machine"):
    return db.session.scalar(
        sa.select(Finding).where(
            Finding.version_id == version.id,
            Finding.criterion_id == criterion,
            Finding.source == source,
        )
    )


def _page_one_bio(world):
    """An open RC-BIO finding on page 1, so a page range tells it from page 2's."""
    segment = db.session.scalar(
        sa.select(Segment)
        .where(Segment.version_id == world.version.id)
        .order_by(Segment.ordinal)
    )
    assert segment.location["number"] == 1
    finding = reviews.add_manual_finding(
        world.coach,
        world.version,
        segment,
        0,
        5,
        app_rubric().criteria["RC-BIO"],
        "page one",
    )
    return reviews.reopen(world.coach, finding)


def _bulk(client, auth, version, **data):
    token = auth.csrf_token(f"/versions/{version.id}/review")
    return client.post(
        f"/versions/{version.id}/findings/bulk", data={"csrf_token": token, **data}
    )


def _events(action):
    return list(
        db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action))
    )


def _statuses(*findings):
    for f in findings:
        db.session.refresh(f)
    return [f.status for f in findings]


def test_bulk_dismiss_by_filter_changes_exactly_the_matching_findings(
    client, auth, world
):
    page_one = _page_one_bio(world)
    bio = _finding(world.version, "RC-BIO")
    egfr = _finding(world.version, "RC-ALG-EGFR")
    auth.login(world.coach.email)
    page = client.get(f"/versions/{world.version.id}/review").get_data(as_text=True)
    assert 'id="bulk-form"' in page and 'id="filter-page-from"' in page
    assert f'name="ids" value="{bio.id}" form="bulk-form"' in page
    assert 'data-page="2"' in page

    response = _bulk(
        client,
        auth,
        world.version,
        action="dismiss",
        reason="not_about_race",
        comment="Physiology, not race",
        all_matching="1",
        criterion="RC-BIO",
        status="open",
        page_from="2",
        page_to="2",
    )
    assert response.status_code == 303
    assert _statuses(bio, egfr, page_one) == [
        FindingStatus.DISMISSED,
        FindingStatus.OPEN,
        FindingStatus.OPEN,
    ]
    assert bio.dismiss_reason == DismissReason.NOT_ABOUT_RACE
    assert bio.decision_comment == "Physiology, not race"
    assert bio.decided_by_id == world.coach.id
    (event,) = _events("finding.bulk_dismiss")
    assert event.after["count"] == 1 and event.after["ids"] == [bio.id]
    assert event.after["reason"] == "not_about_race"
    assert event.clinic_id == world.clinic.id
    assert not _events("finding.dismiss")  # one action, not one per finding
    followed = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "1 finding dismissed." in followed


def test_bulk_confirm_of_chosen_ids_is_one_audit_entry_with_its_count(
    client, auth, world
):
    bio = _finding(world.version, "RC-BIO")
    egfr = _finding(world.version, "RC-ALG-EGFR")
    auth.login(world.coach.email)
    token = auth.csrf_token(f"/versions/{world.version.id}/review")
    response = client.post(
        f"/versions/{world.version.id}/findings/bulk",
        data={"csrf_token": token, "action": "confirm", "ids": [bio.id, egfr.id]},
    )
    assert response.status_code == 303
    assert _statuses(bio, egfr) == [FindingStatus.CONFIRMED] * 2
    (event,) = _events("finding.bulk_confirm")
    assert event.after["count"] == 2 and sorted(event.after["ids"]) == sorted(
        [bio.id, egfr.id]
    )


def test_forged_ids_of_another_document_are_refused_and_nothing_changes(
    client, auth, world
):
    bio = _finding(world.version, "RC-BIO")
    auth.login(world.coach.email)
    token = auth.csrf_token(f"/versions/{world.version.id}/review")
    response = client.post(
        f"/versions/{world.version.id}/findings/bulk",
        data={
            "csrf_token": token,
            "action": "dismiss",
            "reason": "duplicate",
            "ids": [bio.id, world.other_finding.id],
        },
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert f"{world.other_finding.id} are not part of this version" in page
    assert "nothing was changed" in page
    assert _statuses(bio, world.other_finding) == [FindingStatus.OPEN] * 2
    assert not _events("finding.bulk_dismiss")


def test_dismiss_without_a_reason_is_refused(client, auth, world):
    bio = _finding(world.version, "RC-BIO")
    auth.login(world.coach.email)
    response = _bulk(
        client, auth, world.version, action="dismiss", reason="", all_matching="1"
    )
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Choose why the findings are dismissed." in page
    assert _statuses(bio) == [FindingStatus.OPEN]
    assert not _events("finding.bulk_dismiss")


def test_other_reason_needs_a_comment(world):
    import pytest

    from clinic.services import ServiceError

    with pytest.raises(ServiceError, match="comment"):
        reviews.bulk_decide(
            world.coach, world.version, world.version.findings, "dismiss", "other"
        )


def test_a_director_gets_403_and_nothing_changes(client, auth, world):
    bio = _finding(world.version, "RC-BIO")
    auth.login(world.director.email)
    page = client.get(f"/versions/{world.version.id}/review").get_data(as_text=True)
    assert 'id="bulk-form"' not in page and "bulk-pick" not in page
    response = _bulk(client, auth, world.version, action="confirm", ids=[bio.id])
    assert response.status_code == 403
    assert _statuses(bio) == [FindingStatus.OPEN]


def test_next_open_finding_after_a_decision(client, auth, world):
    egfr = _finding(world.version, "RC-ALG-EGFR")
    bio = _finding(world.version, "RC-BIO")
    auth.login(world.coach.email)
    token = auth.csrf_token(f"/versions/{world.version.id}/review")
    response = client.post(
        f"/findings/{egfr.id}/decision", data={"csrf_token": token, "action": "confirm"}
    )
    assert response.headers["Location"].endswith(f"#finding-{bio.id}")
    response = client.post(
        f"/findings/{bio.id}/decision",
        data={"csrf_token": token, "action": "confirm"},
        headers={"Accept": "application/json"},
    )
    assert response.get_json()["next_open_id"] is None  # none is left open


# --------------------------------------------------------------------------- API


def _token(user):
    secret = tokens.create_token(user, user, "bulk")[1]
    return {"Authorization": f"Bearer {secret}"}


def test_api_bulk_dismiss_by_filter_and_forged_ids(client, world):
    headers = _token(world.coach)
    bio = _finding(world.version, "RC-BIO")
    egfr = _finding(world.version, "RC-ALG-EGFR")
    url = f"/api/v1/documents/{world.document.id}/findings/bulk"
    forged = client.post(
        url,
        json={
            "action": "confirm",
            "ids": [bio.id, world.other_finding.id],
        },
        headers=headers,
    )
    assert forged.status_code == 400
    assert "not part of this version" in forged.get_json()["message"]
    assert _statuses(bio, egfr) == [FindingStatus.OPEN] * 2

    empty = client.post(
        url, json={"action": "dismiss", "all_matching": True}, headers=headers
    )
    assert empty.status_code == 400 and _statuses(bio) == [FindingStatus.OPEN]

    response = client.post(
        url,
        json={
            "action": "dismiss",
            "reason": "clinically_justified",
            "all_matching": True,
            "criterion": "RC-BIO",
            "page_from": 2,
        },
        headers=headers,
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["count"] == 1 and body["ids"] == [bio.id]
    assert body["findings"][0]["status"] == "dismissed"
    assert _statuses(bio, egfr) == [FindingStatus.DISMISSED, FindingStatus.OPEN]
    (event,) = _events("finding.bulk_dismiss")
    assert event.after["count"] == 1


def test_api_director_gets_403(client, world):
    response = client.post(
        f"/api/v1/documents/{world.document.id}/findings/bulk",
        json={"action": "confirm", "all_matching": True},
        headers=_token(world.director),
    )
    assert response.status_code == 403


def test_api_decision_answers_the_next_open_finding(client, world):
    egfr = _finding(world.version, "RC-ALG-EGFR")
    bio = _finding(world.version, "RC-BIO")
    response = client.patch(
        f"/api/v1/findings/{egfr.id}",
        json={"status": "confirmed"},
        headers=_token(world.coach),
    )
    assert response.status_code == 200
    assert response.get_json()["next_open_id"] == bio.id


def test_openapi_declares_the_bulk_route(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    op = spec["paths"]["/documents/{document_id}/findings/bulk"]["post"]
    assert op["operationId"] == "bulk_decide"
    body = op["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/BulkDecision"}
    schemas = spec["components"]["schemas"]
    assert {"ids", "all_matching", "page_from", "page_to", "reason"} <= set(
        schemas["BulkDecision"]["properties"]
    )
    assert "next_open_id" in schemas["Finding"]["properties"]
    assert "403" in op["responses"]
