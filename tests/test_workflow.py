"""Feedback workflow: status, comments, pedagogy, sessions, action items, self-check, home feed."""

import datetime as dt
import io

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import (
    ActionItem,
    ActionStatus,
    AuditEvent,
    ClinicStatus,
    Comment,
    Document,
)
from clinic.services import workflow
from tests import builders


def _post(client, auth, url, page, **data):
    return client.post(url, data={"csrf_token": auth.csrf_token(page), **data})


def _move(client, auth, clinic, to, **extra):
    return _post(
        client,
        auth,
        f"/clinics/{clinic.id}/transition",
        f"/clinics/{clinic.id}",
        to=to,
        **extra,
    )


STEPS = [
    ("draft", "submitted", "director"),
    ("submitted", "in_review", "coach"),
    ("in_review", "feedback_shared", "coach"),
    ("feedback_shared", "plan_agreed", "director"),
    ("plan_agreed", "closed", "coach"),
]


def test_the_whole_workflow_by_the_right_roles(client, auth, world):
    for src, to, role in STEPS:
        assert world.clinic.status.value == src
        auth.login(getattr(world, role).email)
        page = client.get(f"/clinics/{world.clinic.id}").get_data(as_text=True)
        # The button for the next step is there (a link to its confirmation step when
        # a guard asks for one: the world's findings are still open).
        assert f'value="{to}"' in page or f"to={to}" in page
        _move(
            client,
            auth,
            world.clinic,
            to,
            confirm="1",
            override_reason="Agreed in session",
        )
        db.session.refresh(world.clinic)
        assert world.clinic.status.value == to
        auth.logout()
    events = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "clinic.transition")
    )
    assert [e.after["status"] for e in events] == [to for _, to, _ in STEPS]


@pytest.mark.parametrize(
    ("status", "role", "to"),
    [
        ("draft", "coach", "submitted"),  # a director submits
        ("draft", "director", "in_review"),  # no skipping
        ("submitted", "director", "in_review"),
        ("in_review", "director", "feedback_shared"),
        ("feedback_shared", "coach", "draft"),  # no going back
        ("closed", "coach", "draft"),
        ("plan_agreed", "director", "closed"),
    ],
)
def test_refused_transitions(client, auth, world, status, role, to):
    world.clinic.status = ClinicStatus(status)
    db.session.commit()
    auth.login(getattr(world, role).email)
    page = _move(client, auth, world.clinic, to)
    assert page.status_code == 302
    db.session.refresh(world.clinic)
    assert world.clinic.status.value == status
    with pytest.raises(workflow.ServiceError):
        workflow.transition(getattr(world, role), world.clinic, to)


def test_dean_and_other_director_cannot_move_a_clinic(client, auth, world):
    for user, refused in ((world.dean, 403), (world.other_director, 404)):
        auth.login(user.email)
        assert _move(client, auth, world.clinic, "submitted").status_code == refused
        auth.logout()
    db.session.refresh(world.clinic)
    assert world.clinic.status == ClinicStatus.DRAFT


def test_directors_see_decisions_only_once_feedback_is_shared(client, auth, world):
    f = world.finding
    workflow_dismiss = __import__(
        "clinic.services.reviews", fromlist=["dismiss"]
    ).dismiss
    workflow_dismiss(world.coach, f, "race_conscious", "context given on slide 4")
    auth.login(world.director.email)
    review = f"/versions/{world.version.id}/review"
    page = client.get(review).get_data(as_text=True)
    assert "context given on slide 4" not in page and "Under review" in page
    world.clinic.status = ClinicStatus.FEEDBACK_SHARED
    db.session.commit()
    page = client.get(review).get_data(as_text=True)
    assert "context given on slide 4" in page and "Race-conscious in context" in page


def test_comment_threads_escape_html(client, auth, world):
    auth.login(world.coach.email)
    review = f"/versions/{world.version.id}/review"
    _post(
        client,
        auth,
        f"/findings/{world.finding.id}/comments",
        review,
        body="<script>alert(1)</script> see slide 4",
    )
    page = client.get(review).get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; see slide 4" in page
    assert "<script>alert(1)</script>" not in page
    comment = db.session.scalar(sa.select(Comment))
    assert comment.author_id == world.coach.id


def test_director_replies_and_marks_revised_after_feedback(client, auth, world):
    world.clinic.status = ClinicStatus.FEEDBACK_SHARED
    db.session.commit()
    workflow.add_comment(world.coach, world.finding, "Please use CKD-EPI 2021 here.")
    auth.login(world.director.email)
    review = f"/versions/{world.version.id}/review"
    _post(
        client,
        auth,
        f"/findings/{world.finding.id}/comments",
        review,
        body="Done in the new deck.",
        parent_id=db.session.scalar(sa.select(Comment.id)),
    )
    _post(client, auth, f"/findings/{world.finding.id}/revised", review, revised="1")
    db.session.refresh(world.finding)
    assert world.finding.revised_by_id == world.director.id
    page = client.get(review).get_data(as_text=True)
    assert (
        "Done in the new deck." in page
        and "(Director," in page
        and "Marked as revised" in page
    )


def test_empty_comment_is_refused(client, auth, world):
    auth.login(world.coach.email)
    _post(
        client,
        auth,
        f"/findings/{world.finding.id}/comments",
        f"/versions/{world.version.id}/review",
        body="   ",
    )
    assert db.session.scalar(sa.select(sa.func.count(Comment.id))) == 0


def test_pedagogy_scores_with_guidance(client, auth, world):
    auth.login(world.coach.email)
    url = f"/clinics/{world.clinic.id}/pedagogy"
    page = client.get(url).get_data(as_text=True)
    assert "M1" in page and "M10" in page and 'value="na"' in page
    assert page.count("Save scores") == 1  # one form for every criterion
    response = _post(
        client,
        auth,
        url,
        url,
        **{
            "score-M2": "2",
            "notes-M2": "Names racism in week 3 only",
            "score-M9": "na",
        },
    )
    assert response.status_code == 302
    scores = {s.criterion_id: s.score for s in world.clinic.pedagogy_scores}
    assert scores == {"M2": 2, "M9": None}
    page = client.get(url).get_data(as_text=True)
    assert "Scores saved: M2, M9." in page
    assert "Names racism in week 3 only" in page and "2 / 3" in page and "N/A" in page
    auth.logout()
    auth.login(world.director.email)
    assert "Save scores" not in client.get(url).get_data(as_text=True)
    assert _post(client, auth, url, url, **{"score-M1": "3"}).status_code == 403


def test_pedagogy_saves_every_criterion_in_one_submit(client, auth, world):
    auth.login(world.coach.email)
    url = f"/clinics/{world.clinic.id}/pedagogy"
    _post(client, auth, url, url, **{"score-M1": "1", "notes-M1": "First pass"})
    response = _post(
        client,
        auth,
        url,
        url,
        **{
            "score-M1": "1",
            "notes-M1": "First pass",  # unchanged: no new audit event
            "score-M3": "3",
            "notes-M3": "Structural racism named as a cause",
            "evidence-M3": "Week 2 slides 4-6",
            "score-M4": "0",
        },
    )
    assert response.status_code == 302
    rows = {s.criterion_id: s for s in world.clinic.pedagogy_scores}
    assert {k: r.score for k, r in rows.items()} == {"M1": 1, "M3": 3, "M4": 0}
    assert rows["M3"].evidence == "Week 2 slides 4-6"
    events = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "pedagogy.score")
    )
    assert [e.after["criterion"] for e in events] == ["M1", "M3", "M4"]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"score-M3": "7"}, "M3: a score is 0, 1, 2 or 3 (or N/A)."),
        ({"notes-M3": "Notes but no score"}, "M3: choose a score or N/A"),
        ({"score-M99": "1"}, "M99 is not a pedagogy criterion of the rubric."),
        ({"score-M3": "2", "notes-M3": "x" * 10_001}, "M3: Notes is too long"),
    ],
)
def test_pedagogy_problem_saves_nothing_and_keeps_what_was_typed(
    client, auth, world, bad, message
):
    auth.login(world.coach.email)
    url = f"/clinics/{world.clinic.id}/pedagogy"
    typed = {
        "score-M2": "2",
        "notes-M2": "Typed & kept <b>as text</b>",
        "evidence-M5": "Syllabus p. 3",
        "score-M5": "na",
        **bad,
    }
    response = _post(client, auth, url, url, **typed)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Nothing was saved:" in page and message in page
    assert "Everything you typed is still in the form." in page
    assert world.clinic.pedagogy_scores == []
    # Every criterion comes back as typed (escaped), not only the one with the problem.
    assert 'id="M2-2" value="2" checked' in page
    assert 'id="M5-na" value="na" checked' in page
    assert "Typed &amp; kept &lt;b&gt;as text&lt;/b&gt;</textarea>" in page
    assert "Syllabus p. 3</textarea>" in page
    if "notes-M3" in bad and len(bad["notes-M3"]) < 100:
        assert f"{bad['notes-M3']}</textarea>" in page


def test_action_item_from_a_confirmed_finding(client, auth, world):
    finding = world.finding
    __import__("clinic.services.reviews", fromlist=["confirm"]).confirm(
        world.coach, finding
    )
    auth.login(world.coach.email)
    url = f"/clinics/{world.clinic.id}/action-items/new?finding={finding.id}"
    page = client.get(url).get_data(as_text=True)
    assert f"Revise: {finding.title}" in page
    assert workflow.recommendation_for(finding)[:40] in page.replace(
        "&#39;", "'"
    ).replace("&#34;", '"')
    due = (dt.date.today() - dt.timedelta(days=3)).isoformat()
    response = _post(
        client,
        auth,
        url,
        url,
        title="Replace the eGFR slide",
        description="Use CKD-EPI 2021",
        owner=str(world.director.id),
        due_date=due,
        findings=[str(finding.id)],
    )
    assert response.status_code == 302
    item = db.session.scalar(
        sa.select(ActionItem).where(ActionItem.title == "Replace the eGFR slide")
    )
    assert item.findings == [finding] and item.owner == world.director and item.overdue
    auth.logout()
    auth.login(world.director.email)
    home = client.get("/").get_data(as_text=True)
    assert "Replace the eGFR slide" in home and "Overdue" in home


def test_action_item_owner_must_direct_the_course(world):
    with pytest.raises(workflow.ServiceError, match="director of the course"):
        workflow.create_action_item(
            world.coach, world.clinic, title="x", owner=world.other_director
        )


def test_action_item_status_by_owner_and_drop_needs_reason(client, auth, world):
    auth.login(world.director.email)
    url = f"/action-items/{world.action_item.id}/status"
    _post(client, auth, url, f"/clinics/{world.clinic.id}", status="in_progress")
    db.session.refresh(world.action_item)
    assert world.action_item.status == ActionStatus.IN_PROGRESS
    _post(client, auth, url, f"/clinics/{world.clinic.id}", status="dropped")
    db.session.refresh(world.action_item)
    assert world.action_item.status == ActionStatus.IN_PROGRESS
    _post(
        client,
        auth,
        url,
        f"/clinics/{world.clinic.id}",
        status="dropped",
        drop_reason="Course retired",
    )
    db.session.refresh(world.action_item)
    assert (
        world.action_item.status == ActionStatus.DROPPED
        and world.action_item.drop_reason == "Course retired"
    )


def test_coaching_session_is_logged_with_findings(client, auth, world):
    reviews = __import__("clinic.services.reviews", fromlist=["confirm"])
    reviews.confirm(world.coach, world.finding)
    auth.login(world.coach.email)
    page = f"/clinics/{world.clinic.id}"
    _post(
        client,
        auth,
        f"/clinics/{world.clinic.id}/sessions",
        page,
        held_on="2026-11-20",
        attendees="Dora Director, Cory Coach",
        notes="Walked through the eGFR slides",
        findings=[str(world.finding.id)],
    )
    html = client.get(page).get_data(as_text=True)
    assert "2026-11-20" in html and "Walked through the eGFR slides" in html
    assert world.clinic.sessions[0].findings == [world.finding]


def test_self_check_is_private_until_shared(client, auth, world):
    auth.login(world.director.email)
    token = auth.csrf_token("/self-check")
    client.post(
        "/self-check",
        data={
            "csrf_token": token,
            "files": [(io.BytesIO(builders.LECTURE_TEXT.encode()), "draft.txt")],
        },
        content_type="multipart/form-data",
    )
    draft = db.session.scalar(sa.select(Document).where(Document.clinic_id.is_(None)))
    version = draft.latest
    assert version.findings  # the director sees the analysis at once
    assert "draft" in client.get("/self-check").get_data(as_text=True)
    assert client.get(f"/versions/{version.id}/review").status_code == 200
    auth.logout()
    for user in (world.coach, world.admin, world.dean, world.other_director):
        auth.login(user.email)
        # A private draft: as if it did not exist, for everyone but its owner.
        assert client.get(f"/versions/{version.id}/review").status_code == 404, (
            user.role
        )
        assert client.get(f"/documents/{draft.id}").status_code == 404
        auth.logout()
    auth.login(world.director.email)
    _post(
        client,
        auth,
        f"/documents/{draft.id}/share",
        "/self-check",
        clinic=str(world.clinic.id),
    )
    db.session.refresh(draft)
    assert draft.clinic_id == world.clinic.id
    auth.logout()
    auth.login(world.coach.email)
    assert client.get(f"/versions/{version.id}/review").status_code == 200


def test_cannot_share_a_draft_into_another_directors_clinic(world):
    version = builders.gen_version(None, world.director, filename="mine.txt")
    with pytest.raises(workflow.ServiceError):
        workflow.attach_self_check(world.director, version.document, world.other_clinic)


def test_home_shows_what_changed_since_last_visit(client, auth, world):
    auth.login(world.director.email)
    client.get("/")  # first look
    world.clinic.status = ClinicStatus.FEEDBACK_SHARED
    db.session.commit()
    workflow.add_comment(world.coach, world.finding, "Let us talk about slide 2")
    workflow.transition(
        world.director, world.clinic, "plan_agreed"
    )  # own changes are not news
    home = client.get("/").get_data(as_text=True)
    assert "commented on a finding" in home
    assert "moved the clinic to action plan agreed" not in home
    assert "Nothing new" in client.get("/").get_data(as_text=True)


def test_decisions_are_not_news_for_directors_before_feedback(client, auth, world):
    auth.login(world.director.email)
    client.get("/")
    __import__("clinic.services.reviews", fromlist=["confirm"]).confirm(
        world.coach, world.finding
    )
    assert "confirmed a finding" not in client.get("/").get_data(as_text=True)
