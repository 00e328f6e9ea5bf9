"""Two coaches on one clinic: each coach's decision is kept, the review screen shows
where they differ, the lead coach settles it; and findings assigned to a coach."""

from __future__ import annotations

import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import AuditEvent, ClinicStatus, Finding, FindingStatus, Role
from clinic.services import reviews, tokens
from tests import builders


def _second_coach(world):
    """Sam joins Cory on the world's clinic; Cory, first by name, leads it."""
    sam = builders.gen_user(Role.COACH, name="Sam Secondcoach")
    world.clinic.coaches.append(sam)
    db.session.commit()
    return sam


def _post(client, auth, finding, path, **data):
    token = auth.csrf_token(f"/versions/{finding.version_id}/review")
    return client.post(
        f"/findings/{finding.id}/{path}", data={"csrf_token": token, **data}
    )


def _card(page: str, finding: Finding) -> str:
    card = page[page.index(f'id="finding-{finding.id}"') :]
    return card[: card.find('class="finding card', 10)]


def _review(client, world) -> str:
    return client.get(f"/versions/{world.version.id}/review").get_data(as_text=True)


def _events(action):
    return list(
        db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action))
    )


def _differ(world, sam):
    """Cory confirms the world's finding, Sam dismisses it."""
    finding = world.finding
    reviews.confirm(world.coach, finding, "Race as a risk factor")
    reviews.dismiss(sam, finding, "race_conscious", "It explains the cause")
    return finding


def test_differing_decisions_show_on_the_card_with_each_coach(client, auth, world):
    sam = _second_coach(world)
    finding = _differ(world, sam)
    assert finding.status == FindingStatus.DISMISSED  # the latest decision
    assert reviews.coaches_differ(finding)

    auth.login(sam.email)
    page = _review(client, world)
    card = _card(page, finding)
    assert "Coaches differ" in card
    assert "<strong>Cory Coach</strong>: confirmed" in card
    assert "<strong>Sam Secondcoach</strong>: dismissed (Race-conscious" in card
    assert "The lead coach, Cory Coach, settles it." in card
    assert "Settle: confirm" not in card  # Sam is not the lead
    assert 'data-agreement="differ"' in card
    assert '<option value="differ">Coaches differ (1)</option>' in page


def test_agreeing_coaches_and_a_withdrawn_decision_do_not_differ(world):
    sam = _second_coach(world)
    finding = world.finding
    reviews.confirm(world.coach, finding)
    reviews.confirm(sam, finding, "Agreed")
    assert not reviews.coaches_differ(finding)
    reviews.dismiss(sam, finding, "not_about_race")
    assert reviews.coaches_differ(finding)
    reviews.reopen(sam, finding)  # Sam withdraws the dismissal
    db.session.refresh(finding)
    assert [d.coach_id for d in finding.coach_decisions] == [world.coach.id]
    assert not reviews.coaches_differ(finding)


def test_the_lead_coach_settles_and_the_audit_keeps_both_decisions(client, auth, world):
    sam = _second_coach(world)
    finding = _differ(world, sam)
    auth.login(world.coach.email)
    card = _card(_review(client, world), finding)
    assert "Settle: confirm" in card and "Settle: dismiss" in card

    response = _post(
        client, auth, finding, "settle", action="confirmed", comment="Keep it"
    )
    assert response.status_code == 302
    db.session.refresh(finding)
    assert finding.status == FindingStatus.CONFIRMED
    assert finding.settled_by_id == world.coach.id
    assert not reviews.coaches_differ(finding)
    [event] = _events("finding.settle")
    assert {c["status"] for c in event.before["coaches"]} == {"confirmed", "dismissed"}
    assert event.after["status"] == "confirmed"

    page = _review(client, world)
    assert "Settled as confirmed." in page
    card = _card(page, finding)
    assert "Coaches differ" not in card and "Settled by Cory Coach, lead coach" in card

    # A coach who decides differently after the settle reopens the difference.
    reviews.dismiss(sam, finding, "duplicate")
    db.session.refresh(finding)
    assert reviews.coaches_differ(finding)


def test_only_the_lead_settles_and_only_where_coaches_differ(client, auth, world):
    sam = _second_coach(world)
    finding = _differ(world, sam)
    auth.login(sam.email)
    assert _post(client, auth, finding, "settle", action="confirmed").status_code == 403
    db.session.refresh(finding)
    assert finding.status == FindingStatus.DISMISSED and finding.settled_at is None

    # The admin names Sam the lead: now Sam settles, Cory may not.
    auth.logout()
    auth.login(world.admin.email)
    token = auth.csrf_token(f"/admin/clinics/{world.clinic.id}/coaches")
    client.post(
        f"/admin/clinics/{world.clinic.id}/coaches",
        data={
            "csrf_token": token,
            "coaches": [world.coach.id, sam.id],
            "lead": str(sam.id),
        },
    )
    db.session.refresh(world.clinic)
    assert world.clinic.lead == sam
    auth.logout()
    auth.login(world.coach.email)
    assert _post(client, auth, finding, "settle", action="confirmed").status_code == 403
    auth.logout()
    auth.login(sam.email)
    response = _post(client, auth, finding, "settle", action="dismissed", reason="")
    assert "Choose why the finding is dismissed." in _review(client, world)
    assert response.status_code == 302
    _post(client, auth, finding, "settle", action="dismissed", reason="race_conscious")
    db.session.refresh(finding)
    assert finding.settled_by_id == sam.id

    # Nothing to settle once they agree.
    _post(client, auth, finding, "settle", action="confirmed")
    assert "there is nothing to settle" in _review(client, world)
    db.session.refresh(finding)
    assert finding.status == FindingStatus.DISMISSED


def test_the_lead_must_be_one_of_the_coaches(client, auth, world):
    auth.login(world.admin.email)
    url = f"/admin/clinics/{world.clinic.id}/coaches"
    response = client.post(
        url,
        data={
            "csrf_token": auth.csrf_token(url),
            "coaches": [world.coach.id],
            "lead": str(world.other_coach.id),
        },
    )
    assert response.status_code == 200
    assert (
        "The lead coach must be one of the clinic&#39;s coaches."
        in response.get_data(as_text=True)
    )
    db.session.refresh(world.clinic)
    assert world.clinic.lead_coach_id is None


def test_directors_never_see_coaches_differ(client, auth, world):
    sam = _second_coach(world)
    _differ(world, sam)
    # Even once feedback is shared and the director sees the decisions.
    world.clinic.status = ClinicStatus.FEEDBACK_SHARED
    db.session.commit()
    auth.login(world.director.email)
    page = _review(client, world)
    assert "Dismissed by Sam Secondcoach" in page
    assert "Coaches differ" not in page and "Cory Coach</strong>: confirmed" not in page
    assert "data-agreement" not in page and 'id="filter-assigned"' not in page


def test_assign_a_finding_to_a_coach_of_the_clinic(client, auth, world):
    sam = _second_coach(world)
    finding = world.finding
    auth.login(world.coach.email)
    card = _card(_review(client, world), finding)
    assert f'<option value="{sam.id}">Sam Secondcoach</option>' in card

    assert (
        _post(client, auth, finding, "assign", assignee=str(sam.id)).status_code == 302
    )
    db.session.refresh(finding)
    assert finding.assignee_id == sam.id
    [event] = _events("finding.assign")
    assert (event.before, event.after) == (
        {"assignee_id": None},
        {"assignee_id": sam.id},
    )
    page = _review(client, world)
    assert "Assigned to Sam Secondcoach." in page
    assert "Assigned to Sam Secondcoach</span>" in _card(page, finding)

    # Sam sees it as theirs, and the filter counts it.
    auth.logout()
    auth.login(sam.email)
    page = _review(client, world)
    assert "Assigned to you</span>" in _card(page, finding)
    assert '<option value="me">Assigned to me (1)</option>' in page
    assert f'<option value="{sam.id}" selected>' in _card(page, finding)


def test_assigning_outside_the_clinic_is_refused(client, auth, world):
    finding = world.finding
    auth.login(world.coach.email)
    _post(client, auth, finding, "assign", assignee=str(world.other_coach.id))
    page = _review(client, world)
    assert "Olive Othercoach is not a coach of this clinic" in page
    _post(client, auth, finding, "assign", assignee="abc")
    assert "“abc” is not a number." in _review(client, world)
    db.session.refresh(finding)
    assert finding.assignee_id is None and not _events("finding.assign")

    auth.logout()
    auth.login(world.director.email)
    token = auth.csrf_token("/")
    response = client.post(
        f"/findings/{finding.id}/assign",
        data={"csrf_token": token, "assignee": str(world.coach.id)},
    )
    assert response.status_code == 403


def test_bulk_dismiss_of_what_is_assigned_to_me(client, auth, world):
    sam = _second_coach(world)
    mine, other = world.version.findings[:2]
    reviews.assign(world.coach, mine, sam)
    auth.login(sam.email)
    token = auth.csrf_token(f"/versions/{world.version.id}/review")
    client.post(
        f"/versions/{world.version.id}/findings/bulk",
        data={
            "csrf_token": token,
            "all_matching": "1",
            "assigned": "me",
            "action": "dismiss",
            "reason": "duplicate",
        },
    )
    db.session.refresh(mine)
    db.session.refresh(other)
    assert mine.status == FindingStatus.DISMISSED
    assert other.status == FindingStatus.OPEN
    [event] = _events("finding.bulk_dismiss")
    assert event.after["count"] == 1
    assert [d.coach_id for d in mine.coach_decisions] == [sam.id]


def _api(client, method, url, token, **kwargs):
    return client.open(
        url, method=method, headers={"Authorization": f"Bearer {token}"}, **kwargs
    )


def test_api_assign_filter_and_settle(client, world):
    sam = _second_coach(world)
    _, cory_token = tokens.create_token(world.coach, world.coach, "t")
    _, sam_token = tokens.create_token(sam, sam, "t")
    _, director_token = tokens.create_token(world.director, world.director, "t")
    finding = world.finding
    url = f"/api/v1/findings/{finding.id}"

    bad = _api(
        client, "PATCH", url, cory_token, json={"assignee_id": world.other_coach.id}
    )
    assert (
        bad.status_code == 400 and "not a coach of this clinic" in bad.json["message"]
    )
    body = _api(client, "PATCH", url, cory_token, json={"assignee_id": sam.id}).json
    assert body["assignee"]["name"] == "Sam Secondcoach"

    listing = f"/api/v1/documents/{world.document.id}/findings"
    mine = _api(client, "GET", listing + "?assigned=me", sam_token).json
    assert [f["id"] for f in mine["findings"]] == [finding.id]
    assert (
        _api(client, "GET", listing + "?assigned=someone", sam_token).status_code == 400
    )

    settle = url + "/settle"
    agree = _api(client, "POST", settle, cory_token, json={"status": "confirmed"})
    assert agree.status_code == 409 and agree.json["error"] == "conflict"

    _api(client, "PATCH", url, cory_token, json={"status": "confirmed"})
    _api(
        client,
        "PATCH",
        url,
        sam_token,
        json={"status": "dismissed", "reason": "duplicate"},
    )
    differ = _api(client, "GET", listing + "?differ=true", cory_token).json
    assert [f["id"] for f in differ["findings"]] == [finding.id]
    [f] = differ["findings"]
    assert {d["coach"]["name"]: d["status"] for d in f["coach_decisions"]} == {
        "Cory Coach": "confirmed",
        "Sam Secondcoach": "dismissed",
    }
    assert (
        _api(
            client, "POST", settle, sam_token, json={"status": "confirmed"}
        ).status_code
        == 403
    )
    settled = _api(client, "POST", settle, cory_token, json={"status": "confirmed"})
    assert settled.status_code == 200
    assert settled.json["status"] == "confirmed" and not settled.json["coaches_differ"]
    assert settled.json["settled_by"]["name"] == "Cory Coach"

    # Directors get neither the coaches' decisions nor the coaches' filters.
    seen = _api(client, "GET", url, director_token).json
    assert "coach_decisions" not in seen and "assignee" not in seen
    assert (
        _api(client, "GET", listing + "?differ=true", director_token).status_code == 400
    )
    clinic = _api(client, "GET", f"/api/v1/clinics/{world.clinic.id}", cory_token).json
    assert clinic["lead_coach"]["name"] == "Cory Coach"
