"""In the browser: rubric health. A coach dismisses three findings of one criterion as
race-conscious, all from the same community health survey, and confirms two others; an
admin opens Rubric health, reads the criterion's precision with its rubric version, and
downloads the proposed exception in the rubric's YAML.

Runs on a course of its own (through the API, as tests/e2e/own_clinic.py does).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import expect

from tests.e2e.conftest import ACCOUNTS, assert_accessible
from tests.e2e.own_clinic import ANALYSIS_SECONDS, api, token

pytestmark = pytest.mark.e2e

SURVEY = (
    "Week 3: Population health\n\n"
    "In the community health survey, diabetes was more common among Hispanic adults.\n\n"
    "The community health survey found higher asthma rates among Black children.\n\n"
    "According to the community health survey, obesity was more prevalent among "
    "Pacific Islander adults.\n\n"
    "Hypertension is more common in African Americans.\n\n"
    "Stroke mortality is higher among Black adults than among white adults.\n"
)


def test_dismissals_become_a_proposed_rubric_change(login, screenshot):
    admin = login("admin")
    key = token(admin, "health e2e")
    course = api(
        admin,
        "POST",
        "/courses",
        key,
        data={
            "code": "POP 210",
            "title": "Population Health",
            "kind": "course",
            "school": "School of Medicine",
            "director_emails": [ACCOUNTS["director"].email],
        },
    )
    clinic = api(
        admin,
        "POST",
        "/clinics",
        key,
        data={
            "course_id": course["id"],
            "academic_year": "2025-26",
            "coach_emails": [ACCOUNTS["coach"].email],
        },
    )
    upload = api(
        admin,
        "POST",
        f"/clinics/{clinic['id']}/documents",
        key,
        multipart={
            "file": {
                "name": "week3-population-health.md",
                "mimeType": "text/markdown",
                "buffer": SURVEY.encode(),
            }
        },
    )
    deadline = time.monotonic() + ANALYSIS_SECONDS
    while not api(admin, "GET", f"/documents/{upload['document_id']}", key)["finished"]:
        assert time.monotonic() < deadline, "the analysis did not finish"
        time.sleep(1)

    coach = login("coach")
    coach.goto(f"/versions/{upload['version_id']}/review")
    cards = coach.locator("#findings li.finding")
    expect(cards).to_have_count(5)
    survey = coach.locator("#findings li.finding", has_text="community health survey")
    expect(survey).to_have_count(3)
    for i in range(3):
        survey.nth(i).locator(".bulk-pick").check()
    coach.locator("#bulk-reason").select_option("race_conscious")
    coach.locator("#bulk-comment").fill("Survey figures, discussed in class")
    coach.once("dialog", lambda dialog: dialog.accept())
    coach.get_by_role("button", name="Dismiss selected").click()
    expect(coach.get_by_role("status").first).to_contain_text("3 findings dismissed")
    for card_id in coach.locator(
        "#findings li.finding[data-status='open']"
    ).evaluate_all("els => els.map(e => e.id)"):
        coach.goto(f"/versions/{upload['version_id']}/review#{card_id}")
        coach.locator(f"#{card_id}").get_by_role(
            "button", name="Confirm", exact=True
        ).click()
        coach.wait_for_load_state()

    admin.goto("/")
    admin.get_by_role("link", name="Rubric health").click()
    expect(admin.locator("h1")).to_have_text("Rubric health")
    section = admin.locator("section#RC-DISP")
    # Other browser tests share the server: their decisions count too.
    expect(section).to_contain_text("Race-conscious in context:")
    proposal = section.locator(".proposal")
    expect(proposal).to_contain_text(
        "Proposed change: an exception for “community health survey”"
    )
    expect(proposal).to_contain_text("Coaches dismissed 3 findings of RC-DISP")
    row = admin.locator("tr", has=admin.locator('a[href="#RC-DISP"]'))
    expect(row).to_contain_text("%")
    expect(row).to_contain_text(re.compile(r"\+[0-9a-f]{8}"))  # its rubric version
    proposal.scroll_into_view_if_needed()
    screenshot(admin, "24-admin-rubric-health-proposal")
    assert_accessible(admin, "rubric health with a proposal")
    with admin.expect_download() as download_info:
        proposal.get_by_role("link", name="Download the proposal").click()
    download = download_info.value
    assert download.suggested_filename == "proposal-RC-DISP-race_conscious.yaml"
    data = yaml.safe_load(Path(download.path()).read_text(encoding="utf-8"))
    [criterion] = data["criteria"]
    assert criterion["id"] == "RC-DISP"
    assert next(iter(data["sets"].values()))["phrases"] == ["community health survey"]
