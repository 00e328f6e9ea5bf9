"""In the browser: sharing feedback while findings are open goes through a confirmation
page with the counts; an open high-severity finding holds the share (the quality gate)
until the coach gives an override reason, which the audit log and the clinic's status
history keep. Also the pedagogy page: several criteria scored and saved in one form.

Runs on a clinic of its own (tests/e2e/own_clinic.py); journey 2 passes through the same
gate on NEPH 610.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ACCOUNTS, PASSWORD, VIEWPORT, assert_accessible
from tests.e2e.own_clinic import move_to, new_clinic, status

pytestmark = pytest.mark.e2e

OVERRIDE = "The high-severity findings are the agenda of the coaching session."


@pytest.fixture(scope="module")
def clinic(server, browser):
    """GATE 301, analysed and moved to in review (by its director, then its coach)."""
    context = browser.new_context(viewport=VIEWPORT, base_url=server.url)
    page = context.new_page()

    def sign_in(role):
        page.context.clear_cookies()
        page.goto("/auth/login")
        page.get_by_label("Email").fill(ACCOUNTS[role].email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator("header")).to_contain_text(ACCOUNTS[role].name)

    sign_in("admin")
    own = new_clinic(page, "GATE 301", "Share Gate")
    sign_in("director")
    page.goto(f"/clinics/{own.clinic_id}")
    move_to(page, "Materials submitted")
    sign_in("coach")
    page.goto(f"/clinics/{own.clinic_id}")
    move_to(page, "In review")
    context.close()
    return own


def test_pedagogy_several_criteria_in_one_form(clinic, login, screenshot):
    page = login("coach")
    page.goto(f"/clinics/{clinic.clinic_id}")
    page.get_by_role("link", name="Pedagogy scores").click()
    expect(page.locator("h1")).to_have_text("Pedagogy and learning environment")
    expect(page.locator("form#pedagogy-form")).to_have_count(1)
    sections = page.locator("form#pedagogy-form section.card")
    assert sections.count() >= 3
    scored = []
    for section, score, notes in (
        (sections.nth(0), "2", "Cases mostly show patients as individuals."),
        (sections.nth(1), "1", "Race named without its social context in lecture 3."),
        (sections.nth(2), "3", "Students are invited to question the guidelines."),
    ):
        scored.append(section.get_attribute("id"))
        section.get_by_label(re.compile(f"^{score} —")).check()
        section.get_by_label("Notes").fill(notes)
    # Several criteria typed, one save below them: the screenshot shows the second
    # criterion filled in with the next ones and the sticky save bar.
    sections.nth(1).scroll_into_view_if_needed()
    page.evaluate("window.scrollBy(0, -80)")
    screenshot(page, "17-coach-pedagogy-one-form")
    assert_accessible(page, "pedagogy page, several criteria typed")
    page.get_by_role("button", name="Save scores").click()
    expect(page.get_by_role("status").first).to_contain_text(
        "Scores saved: " + ", ".join(scored) + "."
    )
    for criterion_id, badge in zip(scored, ("2 / 3", "1 / 3", "3 / 3"), strict=True):
        expect(page.locator(f"section#{criterion_id} h2 .badge")).to_have_text(badge)
    expect(page.locator("section.card h2 .badge", has_text="not scored")).to_have_count(
        sections.count() - 3
    )


def test_share_gate_counts_and_override(clinic, login, screenshot):
    page = login("coach")
    # What the confirmation page must count: the open findings, by severity.
    page.goto(f"/versions/{clinic.version_id}/review")
    cards = page.locator("#findings li.finding")
    expect(cards.first).to_be_visible()
    severities = cards.evaluate_all(
        "cs => cs.filter(c => c.dataset.status === 'open').map(c => c.dataset.severity)"
    )
    n_open, n_high = len(severities), severities.count("high")
    assert n_open >= 2 and n_high >= 1, severities

    page.goto(f"/clinics/{clinic.clinic_id}")
    expect(page.locator("#guard-feedback_shared")).to_contain_text("Quality gate")
    page.get_by_role("link", name="Move to “Feedback shared”…").click()
    expect(page.locator("h1")).to_have_text(
        "Move from “In review” to “Feedback shared”"
    )
    counts = page.locator("#guard-counts dd")
    expect(counts.nth(0)).to_have_text(str(n_open))
    expect(counts.nth(1)).to_have_text(str(n_high))
    expect(counts.nth(2)).to_have_text(str(severities.count("medium")))
    expect(counts.nth(3)).to_have_text(str(severities.count("low")))
    expect(page.locator("#guard-message")).to_contain_text("Quality gate")
    expect(page.locator("#guard-message")).to_contain_text(f"{n_open} findings")
    expect(
        page.get_by_role("button", name="Yes, move to “Feedback shared”")
    ).to_have_count(0)
    override = page.get_by_role("button", name="Override and move to “Feedback shared”")
    expect(override).to_be_visible()
    screenshot(page, "15-coach-share-confirmation")
    assert_accessible(page, "share confirmation page, quality gate")

    # Without a reason the gate holds: the page comes back with the counts.
    override.click()
    expect(page.get_by_role("alert").first).to_contain_text(
        "Feedback cannot be shared yet"
    )
    expect(page.locator("#guard-counts dd").nth(0)).to_have_text(str(n_open))
    page.goto(f"/clinics/{clinic.clinic_id}")
    expect(status(page)).to_have_text("In review")

    # With one, it goes through.
    page.get_by_role("link", name="Move to “Feedback shared”…").click()
    page.get_by_label(re.compile("^Reason for overriding")).fill(OVERRIDE)
    page.get_by_role("button", name="Override and move to “Feedback shared”").click()
    expect(page.get_by_role("status").first).to_contain_text(
        "The clinic is now: Feedback shared."
    )
    expect(status(page)).to_have_text("Feedback shared")
    page.locator("#status-history summary").click()
    expect(page.locator("#status-history")).to_contain_text(OVERRIDE)

    # The audit log keeps the override, with its reason.
    admin = login("admin")
    admin.goto("/admin/audit")
    override_row = admin.locator("main tr", has_text="clinic.gate_override")
    expect(override_row.first).to_be_visible()
    expect(admin.locator("main")).to_contain_text(OVERRIDE)
