"""A course and clinic of a test's own, made through the API with an admin's token, so
the journeys' clinics (NEPH 610, MED 700) stay as they expect them.

The course is directed by Dana Director and coached by Casey Coach (the journeys'
accounts); its clinic is in an earlier year than the journeys', so the dean summary
(latest year) leaves it out.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from playwright.sync_api import expect

from clinic.demo_materials import syllabus_pdf
from tests.e2e.conftest import ACCOUNTS

ANALYSIS_SECONDS = 120  # the first analysis also loads the language model


@dataclass(frozen=True)
class OwnClinic:
    clinic_id: int
    document_id: int
    version_id: int
    code: str


def token(page, name: str) -> str:
    page.goto("/auth/tokens")
    page.get_by_label("Token name").fill(name)
    page.locator("main form [type=submit]").first.click()
    flash = page.locator(".alert-success").inner_text()
    return re.search(r"clinic_[\w-]+", flash).group(0)


def api(page, method: str, path: str, token: str, **kwargs) -> dict:
    response = page.request.fetch(
        f"/api/v1{path}",
        method=method,
        headers={"Authorization": f"Bearer {token}"},
        **kwargs,
    )
    assert response.ok, f"{method} {path}: {response.status} {response.text()}"
    return response.json()


def new_clinic(admin_page, code: str, title: str) -> OwnClinic:
    """A course `code` with one clinic and the demo syllabus in it, analysed (draft)."""
    key = token(admin_page, f"{code} e2e")
    course = api(
        admin_page,
        "POST",
        "/courses",
        key,
        data={
            "code": code,
            "title": title,
            "kind": "course",
            "school": "School of Medicine",
            "director_emails": [ACCOUNTS["director"].email],
        },
    )
    clinic = api(
        admin_page,
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
        admin_page,
        "POST",
        f"/clinics/{clinic['id']}/documents",
        key,
        multipart={
            "file": {
                "name": f"{code.lower().replace(' ', '-')}-syllabus.pdf",
                "mimeType": "application/pdf",
                "buffer": syllabus_pdf(),
            }
        },
    )
    deadline = time.monotonic() + ANALYSIS_SECONDS
    while True:
        document = api(admin_page, "GET", f"/documents/{upload['document_id']}", key)
        if document["finished"]:
            break
        assert time.monotonic() < deadline, "the analysis did not finish"
        time.sleep(1)
    assert document["status"] == "done", document
    return OwnClinic(clinic["id"], upload["document_id"], upload["version_id"], code)


def status(page):
    return page.locator("main .status-badge").first


def move_to(page, label: str) -> None:
    """On the clinic page: a step that needs no confirmation."""
    page.get_by_role("button", name=f"Move to “{label}”").click()
    expect(page.get_by_role("status").first).to_contain_text(
        f"The clinic is now: {label}."
    )
    expect(status(page)).to_have_text(label)
