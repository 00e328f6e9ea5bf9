"""Changing a finding's criterion: on the review page and in the API, audited, and the
rubric's title, category, severity and guidance follow."""

from __future__ import annotations

import sqlalchemy as sa
from markupsafe import escape

from clinic.extensions import db
from clinic.models import AuditEvent, Finding
from clinic.rubric_cache import app_rubric
from clinic.services import reviews, tokens


def _egfr(world) -> Finding:
    return db.session.scalar(
        sa.select(Finding).where(
            Finding.version_id == world.version.id,
            Finding.criterion_id == "RC-ALG-EGFR",
        )
    )


def _decide(client, auth, finding, **data):
    token = auth.csrf_token(f"/versions/{finding.version_id}/review")
    return client.post(
        f"/findings/{finding.id}/decision", data={"csrf_token": token, **data}
    )


def _events(action):
    return list(
        db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action))
    )


def test_coach_changes_the_criterion_and_the_card_follows_the_rubric(
    client, auth, world
):
    finding = _egfr(world)
    new = app_rubric().criteria["RC-BIO"]
    auth.login(world.coach.email)
    page = client.get(f"/versions/{world.version.id}/review").get_data(as_text=True)
    assert f'id="crit-{finding.id}"' in page and "Change criterion…" in page

    response = _decide(client, auth, finding, action="criterion", criterion="RC-BIO")
    assert response.status_code == 302
    db.session.refresh(finding)
    assert (finding.criterion_id, finding.title) == ("RC-BIO", new.title)
    assert (finding.category, finding.severity) == (new.category, new.severity)
    [event] = _events("finding.criterion")
    assert event.before["criterion_id"] == "RC-ALG-EGFR"
    assert event.after["criterion_id"] == "RC-BIO"
    assert event.actor_id == world.coach.id

    page = client.get(f"/versions/{world.version.id}/review").get_data(as_text=True)
    card = page[page.index(f'id="finding-{finding.id}"') :]
    card = card[: card.find('class="finding card', 10)]
    assert "<code>RC-BIO</code>" in card and str(escape(new.title)) in card
    assert str(escape(new.explanation)) in card  # the rubric's explanation follows
    old = app_rubric().criteria["RC-ALG-EGFR"]
    assert str(escape(old.explanation)) not in card


def test_a_severity_set_by_a_coach_is_kept(client, auth, world):
    finding = _egfr(world)
    reviews.set_severity(world.coach, finding, "low")
    reviews.change_criterion(world.coach, finding, app_rubric().criteria["RC-BIO"])
    assert finding.severity == "low"


def test_unknown_or_same_criterion_is_refused_and_nothing_changes(client, auth, world):
    finding = _egfr(world)
    auth.login(world.coach.email)
    for value in ("RC-NOPE", "", "RC-ALG-EGFR"):
        response = _decide(client, auth, finding, action="criterion", criterion=value)
        assert response.status_code == 302
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        assert 'role="alert"' in page
        db.session.refresh(finding)
        assert finding.criterion_id == "RC-ALG-EGFR"
    assert _events("finding.criterion") == []


def test_a_director_may_not_change_the_criterion(client, auth, world):
    finding = _egfr(world)
    auth.login(world.director.email)
    page = client.get(f"/versions/{world.version.id}/review").get_data(as_text=True)
    assert "Change criterion" not in page
    response = _decide(client, auth, finding, action="criterion", criterion="RC-BIO")
    assert response.status_code == 403
    db.session.refresh(finding)
    assert finding.criterion_id == "RC-ALG-EGFR"


def _token(user) -> dict:
    secret = tokens.create_token(user, user, "tools")[1]
    return {"Authorization": f"Bearer {secret}"}


def test_api_changes_the_criterion(client, world):
    finding = _egfr(world)
    response = client.patch(
        f"/api/v1/findings/{finding.id}",
        json={"criterion_id": "RC-BIO"},
        headers=_token(world.coach),
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["criterion_id"] == "RC-BIO"
    assert len(_events("finding.criterion")) == 1

    refused = client.patch(
        f"/api/v1/findings/{finding.id}",
        json={"criterion_id": "RC-NOPE", "status": "confirmed"},
        headers=_token(world.coach),
    )
    assert refused.status_code == 400
    assert "RC-NOPE" in refused.get_json()["message"]
    db.session.refresh(finding)
    assert (finding.criterion_id, finding.status.value) == ("RC-BIO", "open")

    director = client.patch(
        f"/api/v1/findings/{finding.id}",
        json={"criterion_id": "RC-CULT"},
        headers=_token(world.director),
    )
    assert director.status_code == 403


def test_openapi_declares_criterion_id(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert (
        "criterion_id" in spec["components"]["schemas"]["FindingUpdate"]["properties"]
    )
