"""A batch upload with one over-size file, in the browser, on a server of its own whose
per-file limit is 1 MB (so that the over-size file is small enough to make at once).

With JavaScript the browser names the file and the limit before sending and leaves it
out; without it the server refuses it on its own. Either way the other files arrive,
are analysed and one banner sums up the batch.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from clinic.demo_materials import lecture_deck, syllabus_pdf
from tests.e2e.conftest import (
    ACCOUNTS,
    PASSWORD,
    VIEWPORT,
    assert_accessible,
    running_server,
)

pytestmark = pytest.mark.e2e

PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
MIB = 1024 * 1024
ANALYSIS_TIMEOUT = 120_000  # ms; the first analysis also loads the language model
OVERSIZE = "cdc-abstractor-manual.pdf"
OLD_PPT = (
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    + "PowerPoint Document".encode("utf-16-le")
    + b"\0" * 600
)
NOTES = b"# Week 3\n\nBlack race is a risk factor for hypertension.\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """This module's own `clinic serve`: 1 MB per file, 3 files (3 MB) per upload."""
    with running_server(
        tmp_path_factory.mktemp("e2e-uploads"),
        CLINIC_MAX_UPLOAD_MB="1",
        CLINIC_MAX_UPLOAD_FILES="3",
    ) as running:
        yield running


def _oversize() -> bytes:
    return b"%PDF-1.7\n" + b"0" * (MIB + MIB // 2)  # 1.5 MB


def _file(name: str, data: bytes, mime: str = "application/octet-stream") -> dict:
    return {"name": name, "mimeType": mime, "buffer": data}


def _banners(page):
    """The flashed messages above the page's main content."""
    return page.locator("body > .container > .alert")


def test_browser_names_the_oversize_file_and_sends_the_rest(server, login, screenshot):
    page = login("director")
    page.goto(f"/clinics/{server.clinic_id}")
    expect(page.locator("#documents")).to_contain_text("No materials uploaded yet.")
    expect(page.locator("#files-help")).to_contain_text(
        "Up to 1 MB each, 3 files at a time."
    )
    posted: list = []
    page.on(
        "request",
        lambda r: (
            posted.append(r) if r.method == "POST" and "/documents" in r.url else None
        ),
    )
    page.get_by_label("Upload materials").set_input_files(
        [
            _file("renal-lecture.pptx", lecture_deck(), PPTX),
            _file(OVERSIZE, _oversize(), "application/pdf"),
            _file("neph-610-syllabus.pdf", syllabus_pdf(), "application/pdf"),
        ]
    )
    # Before anything is sent: the file and the limit are named.
    check = page.locator("#files-check")
    expect(check).to_be_visible()
    expect(check).to_contain_text(
        f"‘{OVERSIZE}’ is 1.5 MB; the limit is 1 MB per file."
    )
    expect(check).to_contain_text(
        "This file will not be sent; the other 2 files will be."
    )
    assert posted == []
    assert_accessible(page, "clinic page, a file over the limit chosen")
    page.locator("#documents").scroll_into_view_if_needed()
    screenshot(page, "18-director-batch-upload-refused-file")

    page.get_by_role("button", name="Upload and analyse").click()
    banner = page.locator(".upload-summary")
    expect(banner).to_have_count(1)
    expect(banner).to_contain_text(
        "2 of 3 files uploaded and queued for analysis. "
        f"Not uploaded: ‘{OVERSIZE}’ (1.5 MB, over the 1 MB limit)."
    )
    expect(banner).to_contain_text("renal-lecture.pptx uploaded as renal-lecture")
    expect(banner).to_contain_text(
        "neph-610-syllabus.pdf uploaded as neph-610-syllabus"
    )
    expect(_banners(page)).to_have_count(1)
    # The over-size file was not in the request at all (the two others are ~40 KB).
    assert len(posted) == 1
    headers = posted[0].all_headers()
    assert 0 < int(headers.get("content-length", 0)) < MIB, headers

    table = page.locator("#documents table")
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(table).to_contain_text("renal-lecture.pptx")
    expect(table).to_contain_text("neph-610-syllabus.pdf")
    expect(table).not_to_contain_text(OVERSIZE)
    assert_accessible(page, "clinic page, batch summary")
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "19-director-batch-upload-summary")

    # Both are analysed (status.js reloads the page once they are done).
    reviews = table.get_by_role("link", name=re.compile(r"^Review "))
    expect(reviews).to_have_count(2, timeout=ANALYSIS_TIMEOUT)


@pytest.fixture
def no_script(server, browser):
    """A director signed in, in a browser with JavaScript off."""
    context = browser.new_context(
        viewport=VIEWPORT, base_url=server.url, java_script_enabled=False
    )
    page = context.new_page()
    account = ACCOUNTS["director"]
    page.goto("/auth/login")
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("header")).to_contain_text(account.name)
    yield page
    context.close()


def test_without_javascript_the_server_refuses_the_file_on_its_own(server, no_script):
    page = no_script
    page.goto(f"/clinics/{server.clinic_id}")
    page.get_by_label("Upload materials").set_input_files(
        [
            _file("week3-notes.md", NOTES, "text/markdown"),
            _file(OVERSIZE, _oversize(), "application/pdf"),
            _file("old-deck.ppt", OLD_PPT),
        ]
    )
    page.get_by_role("button", name="Upload and analyse").click()
    banner = page.locator(".upload-summary")
    expect(banner).to_have_count(1)
    expect(banner).to_contain_text(
        "1 of 3 files uploaded and queued for analysis. Not uploaded: "
        f"‘{OVERSIZE}’ (1.5 MB, over the 1 MB limit), "
        "‘old-deck.ppt’ (a type that cannot be reviewed)."
    )
    expect(banner).to_contain_text("save it as PPTX")
    expect(_banners(page)).to_have_count(1)
    table = page.locator("#documents table")
    expect(table).to_contain_text("week3-notes.md")
    expect(table).not_to_contain_text(OVERSIZE)
    expect(table).not_to_contain_text("old-deck.ppt")


def test_without_javascript_an_upload_over_the_cap_gets_a_page(server, no_script):
    page = no_script
    page.goto(f"/clinics/{server.clinic_id}")
    chunk = b"0" * (MIB - 50_000)
    page.get_by_label("Upload materials").set_input_files(
        [_file(f"part-{i}.txt", chunk, "text/plain") for i in range(4)]
    )
    page.get_by_role("button", name="Upload and analyse").click()
    expect(page.locator("h1")).to_have_text("Upload too large")
    expect(page.locator("main")).to_contain_text(
        "over the 3 MB limit for one upload (up to 3 files of at most 1 MB each). "
        "Nothing was stored."
    )
    page.get_by_role("link", name="Back to the page you came from").click()
    expect(page.locator("#documents table")).not_to_contain_text("part-0.txt")
