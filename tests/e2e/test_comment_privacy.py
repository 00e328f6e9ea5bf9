"""In the browser: a coach's comments are private to coaches until feedback is shared;
a coach's internal notes are never shown to a course director.

Runs on a clinic of its own (tests/e2e/own_clinic.py), directed by Dana Director and
coached by Casey Coach.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import assert_accessible
from tests.e2e.own_clinic import move_to, new_clinic, status

pytestmark = pytest.mark.e2e

COMMENT = "Teach the 2021 CKD-EPI equation; the race coefficient should go."
FINDING_NOTE = "Coaches only: raise this first at the session, gently."
CLINIC_NOTE = "Coaches only: the director asked for a short written summary."


def _director_sees_no_notes(page, clinic) -> None:
    main = page.locator("main")
    expect(main).not_to_contain_text(FINDING_NOTE)
    expect(main).not_to_contain_text(CLINIC_NOTE)
    expect(
        page.locator(".internal-notes, .internal-note, #internal-notes")
    ).to_have_count(0)


def test_comments_private_until_shared_notes_never(server, login, screenshot):
    clinic = new_clinic(login("admin"), "PRIV 201", "Comment Privacy")
    review = f"/versions/{clinic.version_id}/review"

    # --- the director submits the materials ---
    director = login("director")
    director.goto(f"/clinics/{clinic.clinic_id}")
    expect(director.locator("h1")).to_contain_text(clinic.code)
    move_to(director, "Materials submitted")

    # --- the coach takes it into review, comments, adds internal notes ---
    coach = login("coach")
    coach.goto(f"/clinics/{clinic.clinic_id}")
    move_to(coach, "In review")
    coach.locator("#clinic-note").fill(CLINIC_NOTE)
    coach.get_by_role("button", name="Add note").click()
    expect(coach.locator("#internal-notes")).to_contain_text(CLINIC_NOTE)

    coach.goto(review)
    card = coach.locator("#findings li.finding").first
    finding_id = card.get_attribute("id")
    card.locator("details.comments summary").click()
    card.get_by_label(re.compile("^Comment on")).fill(COMMENT)
    card.get_by_role("button", name="Post comment").click()
    card = coach.locator(f"#{finding_id}")
    expect(card.locator("details.comments summary")).to_have_text("Comments (1)")
    card.locator(".internal-notes summary").click()
    card.get_by_label(re.compile("^Internal note on")).fill(FINDING_NOTE)
    card.get_by_role("button", name="Add internal note").click()
    card = coach.locator(f"#{finding_id}")
    expect(card.locator(".internal-notes summary")).to_contain_text(
        "Internal notes (1)"
    )
    expect(card.locator(".internal-notes")).to_contain_text(FINDING_NOTE)
    expect(card.locator("details.comments")).to_contain_text(COMMENT)

    # --- in review: the director sees the finding, not the comment nor the notes ---
    director.goto(review)
    card = director.locator(f"#{finding_id}")
    expect(card).to_be_visible()
    expect(director.locator("main")).not_to_contain_text(COMMENT)
    expect(card.locator("details.comments")).to_have_count(0)
    _director_sees_no_notes(director, clinic)
    card.scroll_into_view_if_needed()
    screenshot(director, "16-director-comments-private")
    assert_accessible(director, "review screen, director, before sharing")
    director.goto(f"/clinics/{clinic.clinic_id}")
    expect(status(director)).to_have_text("In review")
    expect(director.locator("main")).not_to_contain_text(COMMENT)
    _director_sees_no_notes(director, clinic)

    # --- the coach shares the feedback ---
    coach.goto(f"/clinics/{clinic.clinic_id}")
    coach.get_by_role("link", name="Move to “Feedback shared”…").click()
    # The syllabus has open high-severity findings: the quality gate wants a reason
    # (tests/e2e/test_share_gate.py looks at that page closely).
    coach.get_by_label(re.compile("^Reason for overriding")).fill(
        "Discussed at the coaching session."
    )
    coach.get_by_role("button", name="Override and move to “Feedback shared”").click()
    expect(status(coach)).to_have_text("Feedback shared")

    # --- shared: the director reads the comment, and still never the notes ---
    director.goto(review)
    card = director.locator(f"#{finding_id}")
    expect(card.locator("details.comments summary")).to_have_text("Comments (1)")
    expect(card.locator("details.comments")).to_contain_text(COMMENT)
    expect(card.locator("details.comments")).to_contain_text("Casey Coach")
    _director_sees_no_notes(director, clinic)
    assert_accessible(director, "review screen, director, after sharing")
    director.goto(f"/clinics/{clinic.clinic_id}")
    expect(status(director)).to_have_text("Feedback shared")
    _director_sees_no_notes(director, clinic)
