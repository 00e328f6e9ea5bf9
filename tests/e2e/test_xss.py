"""In the browser: script in an uploaded file's name and text is shown as text, never run.

Uses MED 700 (director2's clinic, which the journeys leave alone). The server-side
check of every free-text field on every page is tests/test_security.py.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

ANALYSIS_TIMEOUT = 90_000
FILE_PAYLOAD = "\"><img src=x onerror=window.__xss='file-name'>"
TEXT_PAYLOAD = (
    "<script>window.__xss='document-text'</script>"
    "<img src=x onerror=\"window.__xss='document-img'\">"
)
FLAGGED = "Black patients have higher muscle mass than White patients."


def _no_script_ran(page, dialogs: list) -> None:
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert dialogs == []
    # The payload is text: no element was made from it.
    assert page.locator("img[src='x']").count() == 0


def test_payloads_in_an_upload_render_as_text(server, login):
    page = login("director2")
    dialogs: list = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(f"/clinics/{server.other_clinic_id}")
    filename = FILE_PAYLOAD + ".txt"
    page.get_by_label("Upload materials").set_input_files(
        [
            {
                "name": filename,
                "mimeType": "text/plain",
                "buffer": f"{TEXT_PAYLOAD}\n\n{FLAGGED}\n".encode(),
            }
        ]
    )
    page.get_by_role("button", name="Upload and analyse").click()
    table = page.locator("#documents table")
    expect(table).to_contain_text(FILE_PAYLOAD)  # the name, shown as typed
    _no_script_ran(page, dialogs)

    review = table.get_by_role("link", name=re.compile(r"^Review "))
    expect(review).to_have_count(1, timeout=ANALYSIS_TIMEOUT)
    _no_script_ran(page, dialogs)
    review.click()
    page.wait_for_load_state()
    expect(page.locator("main")).to_contain_text("window.__xss='document-text'")
    expect(page.locator("main")).to_contain_text(FLAGGED)
    _no_script_ran(page, dialogs)

    for path in ("/", f"/clinics/{server.other_clinic_id}"):
        page.goto(path)
        _no_script_ran(page, dialogs)
