"""Free-text fields: control characters refused in single-line fields, one length
limit per kind of field, the same through the pages, the API and the database."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import Course, Finding
from clinic.services import ServiceError, courses, reviews, tokens, workflow
from clinic.services.text import LINE_MAX, TEXT_MAX, long_text, one_line

CONTROL = ["\r\nX-Injected: 1", "\n", "\x00", "\x1b[31m", "\u2028", "\u202e"]


@pytest.mark.parametrize("bad", CONTROL)
def test_one_line_refuses_control_characters(bad):
    with pytest.raises(ServiceError, match="without control characters"):
        one_line(f"NEPH{bad}610", "The course code")


def test_long_text_keeps_line_breaks_but_not_nul():
    assert long_text("First line\nsecond\tline", "The comment") == (
        "First line\nsecond\tline"
    )
    with pytest.raises(ServiceError, match="control character"):
        long_text("a\x00b", "The comment")
    with pytest.raises(ServiceError, match=f"at most {TEXT_MAX}"):
        long_text("x" * (TEXT_MAX + 1), "The comment")


def test_a_control_character_course_code_is_refused_page_and_api(client, auth, world):
    """A newline in a course code broke the action plan's Content-Disposition (500)."""
    auth.login(world.admin.email)
    token = auth.csrf_token("/admin/courses/new")
    response = client.post(
        "/admin/courses/new",
        data={
            "code": "NEPH\r\n611",
            "title": "Renal",
            "kind": "course",
            "school": "School of Medicine",
            "csrf_token": token,
        },
    )
    assert "must be one line of text without control characters" in response.text
    _, plain = tokens.create_token(world.admin, world.admin, "t")
    api = client.post(
        "/api/v1/courses",
        headers={"Authorization": f"Bearer {plain}"},
        json={"code": "X\u20281", "title": "T", "kind": "course", "school": "S"},
    )
    assert api.status_code == 400 and "control characters" in api.json["message"]
    assert (
        db.session.scalar(
            sa.select(sa.func.count(Course.id)).where(
                Course.code.like("%611%") | Course.code.like("X%")
            )
        )
        == 0
    )


def test_the_action_plan_file_name_is_a_safe_header(client, auth, world):
    # Written straight to the database, as data from before this check could be.
    world.course.code = 'NEPH "610"; x'
    db.session.commit()
    auth.login(world.admin.email)
    response = client.get(f"/clinics/{world.clinic.id}/action-plan.pdf")
    assert response.status_code == 200
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and "\n" not in disposition
    assert response.data.startswith(b"%PDF")


def test_length_limits_are_the_same_everywhere(client, auth, world):
    with pytest.raises(ServiceError, match=f"at most {LINE_MAX}"):
        workflow.create_action_item(world.coach, world.clinic, title="t" * 300)
    finding = db.session.get(Finding, world.finding.id)
    with pytest.raises(ServiceError, match=f"at most {TEXT_MAX}"):
        reviews.dismiss(world.coach, finding, "other", "c" * 1_000_000)
    _, plain = tokens.create_token(world.coach, world.coach, "t")
    response = client.post(
        f"/api/v1/clinics/{world.clinic.id}/notes",
        headers={"Authorization": f"Bearer {plain}"},
        json={"body": "n" * 100_000},
    )
    assert (
        response.status_code == 400
        and f"at most {TEXT_MAX}" in response.json["message"]
    )
    # The longest allowed title fits its column on every database.
    item = workflow.create_action_item(world.coach, world.clinic, title="t" * LINE_MAX)
    db.session.expire_all()
    assert len(item.title) == LINE_MAX
    with pytest.raises(ServiceError):
        courses.create_course(
            world.admin,
            code="C" * 41,
            title="T",
            kind="course",
            school="S",
            director_ids=[],
        )
