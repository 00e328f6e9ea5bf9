"""axe-core on the pages the journeys do not reach: zero serious or critical violations.

The journeys (test_journeys.py) run axe on every page they visit; this covers sign-in,
each role's home, the lists, the glossary, self-check with a private draft and its
review, account pages and the admin pages.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import axe_violations, format_violations

pytestmark = pytest.mark.e2e

DRAFT = (
    "Week 2: kidney function\n\n"
    "Estimate eGFR with CKD-EPI and multiply by 1.159 if the patient is Black.\n"
    "Structural racism and access to care drive disparities in kidney failure.\n"
)


def _audit(page, where: str, found: dict) -> None:
    expect(page.locator("main")).to_be_visible()
    violations = axe_violations(page)
    if violations:
        found[where] = violations


def _report(found: dict) -> str:
    return "\n".join(format_violations(where, v) for where, v in found.items())


def test_pages_have_no_serious_violations(server, login, anonymous):
    found: dict = {}

    anonymous.goto("/auth/login")
    _audit(anonymous, "sign-in page", found)

    admin = login("admin")
    for path in [
        "/",
        "/clinics",
        "/courses",
        "/glossary",
        "/auth/password",
        "/auth/tokens",
        "/admin/users",
        "/admin/users/new",
        "/admin/courses",
        "/admin/courses/new",
        "/admin/clinics/new",
        f"/admin/clinics/{server.other_clinic_id}/coaches",
        "/admin/audit",
    ]:
        response = admin.goto(path)
        assert response.status == 200, (path, response.status)
        _audit(admin, f"admin {path}", found)
    admin.goto("/courses")
    admin.get_by_role("link", name=re.compile("^MED 700")).first.click()
    expect(admin.locator("h1")).to_contain_text("MED 700")
    _audit(admin, "course page", found)

    for role in ("coach", "dean"):
        page = login(role)
        _audit(page, f"{role} home", found)
        page.goto("/clinics")
        _audit(page, f"{role} clinics list", found)

    # A director's private self-check: upload a draft, wait for it, open its review.
    director = login("director2")
    _audit(director, "director home", found)
    director.get_by_role("link", name="Self-check").click()
    expect(director.locator("h1")).to_have_text("Self-check a draft")
    _audit(director, "self-check, empty", found)
    director.get_by_label("Draft files").set_input_files(
        [
            {
                "name": "draft-notes.txt",
                "mimeType": "text/plain",
                "buffer": DRAFT.encode(),
            }
        ]
    )
    director.get_by_role("button", name="Upload and analyse").click()
    link = director.get_by_role("link", name=re.compile(r"^\d+ findings$"))
    expect(link).to_be_visible(timeout=120_000)
    _audit(director, "self-check with a draft", found)
    link.click()
    expect(director.locator("#findings li.finding").first).to_be_visible()
    expect(director.locator("#findings")).to_contain_text("1.159")
    _audit(director, "self-check review screen", found)
    director.get_by_role("link", name="draft-notes").first.click()
    _audit(director, "draft document page", found)

    assert not found, "serious or critical axe violations:\n" + _report(found)
