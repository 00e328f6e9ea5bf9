"""In the browser: bulk dismiss by filter (a page range) on the review screen.

Runs on its own course and clinic, made through the API with an admin's token, so the
journeys' clinics (NEPH 610, MED 700) stay as they expect them.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from clinic.demo_materials import syllabus_pdf
from tests.e2e.conftest import assert_accessible

pytestmark = pytest.mark.e2e

ANALYSIS_SECONDS = 120  # the first analysis also loads the language model


def _token(page) -> str:
    page.goto("/auth/tokens")
    page.get_by_label("Token name").fill("bulk triage e2e")
    page.locator("main form [type=submit]").first.click()
    flash = page.locator(".alert-success").inner_text()
    return re.search(r"clinic_[\w-]+", flash).group(0)


def _api(page, method: str, path: str, token: str, **kwargs) -> dict:
    response = page.request.fetch(
        f"/api/v1{path}",
        method=method,
        headers={"Authorization": f"Bearer {token}"},
        **kwargs,
    )
    assert response.ok, f"{method} {path}: {response.status} {response.text()}"
    return response.json()


def test_bulk_dismiss_by_page_range(server, login, screenshot):
    page = login("admin")
    token = _token(page)
    course = _api(
        page,
        "POST",
        "/courses",
        token,
        data={
            "code": "BULK 101",
            "title": "Bulk Triage",
            "kind": "course",
            "school": "School of Medicine",
        },
    )
    clinic = _api(
        page,
        "POST",
        "/clinics",
        token,
        # An earlier year than the journeys': the dean summary (latest year) leaves it out.
        data={"course_id": course["id"], "academic_year": "2025-26"},
    )
    upload = _api(
        page,
        "POST",
        f"/clinics/{clinic['id']}/documents",
        token,
        multipart={
            "file": {
                "name": "bulk-syllabus.pdf",
                "mimeType": "application/pdf",
                "buffer": syllabus_pdf(),
            }
        },
    )
    deadline = time.monotonic() + ANALYSIS_SECONDS
    while True:
        document = _api(page, "GET", f"/documents/{upload['document_id']}", token)
        if document["finished"]:
            break
        assert time.monotonic() < deadline, "the analysis did not finish"
        time.sleep(1)
    assert document["status"] == "done", document

    page.goto(f"/versions/{upload['version_id']}/review")
    cards = page.locator("#findings li.finding")
    pages = [int(p) for p in cards.evaluate_all("cs => cs.map(c => c.dataset.page)")]
    assert len(pages) >= 2 and len(set(pages)) >= 2, pages
    last = max(pages)
    matching = pages.count(last)

    page.get_by_label("From page").fill(str(last))
    page.get_by_label("To page").fill(str(last))
    expect(page.locator("#shown-count")).to_have_text(str(matching))
    page.get_by_label(
        re.compile("Select all findings matching the current filters")
    ).check()
    expect(page.locator("#bulk-count")).to_have_text(f"{matching} selected")
    page.get_by_label("Reason (to dismiss)").select_option("not_about_race")
    page.get_by_label("Comment").first.fill("Scheduling text, not about race")
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "12-coach-bulk-triage")
    assert_accessible(page, "review screen, bulk triage")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Dismiss selected").click()
    expect(page.locator(".alert-success")).to_contain_text(
        f"{matching} finding{'s' if matching != 1 else ''} dismissed."
    )
    statuses = cards.evaluate_all(
        "cs => cs.map(c => [parseInt(c.dataset.page), c.dataset.status])"
    )
    assert sorted(s for p, s in statuses if p == last) == ["dismissed"] * matching
    assert all(s == "open" for p, s in statuses if p != last), statuses

    # After a single decision the page opens at the next open finding, focused.
    open_ids = cards.evaluate_all(
        "cs => cs.filter(c => c.dataset.status === 'open').map(c => c.id)"
    )
    assert len(open_ids) >= 2, open_ids
    first = page.locator(f"#{open_ids[0]}")
    first.get_by_role("button", name="Confirm").click()
    expect(page).to_have_url(re.compile(f"#{open_ids[1]}$"))
    expect(page.locator(f"#{open_ids[1]}")).to_be_focused()
    expect(page.locator(f"#{open_ids[1]}")).to_be_in_viewport()
    expect(page.locator(f"#{open_ids[0]}")).to_have_attribute(
        "data-status", "confirmed"
    )

    page.goto("/admin/audit")
    expect(page.locator("main")).to_contain_text("finding.bulk_dismiss")
