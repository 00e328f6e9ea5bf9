"""The review screen on a long PDF: navigation lands on the highlight, and findings are
added from a selection through a fixed panel, one per segment the selection touches.

One 110-page PDF, built here with WeasyPrint, is uploaded once (by the director) and
reviewed by the coach in both tests.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from tests.e2e.conftest import assert_accessible

pytestmark = pytest.mark.e2e

PAGES = 110
FLAGGED_PAGE = 100
FLAGGED = "eGFR is multiplied by 1.159 if the patient is Black."
FILENAME = "long-renal-manual.pdf"
ANALYSIS_TIMEOUT = 300_000  # ms: a long PDF, and the first analysis loads the model

state: dict = {}


def _long_pdf() -> bytes:
    from weasyprint import HTML

    pages = []
    for n in range(1, PAGES + 1):
        body = [
            f"<h2>Section {n}: renal physiology</h2>",
            (
                f"<p>Page {n} reviews how the nephron filters plasma and how tubular "
                "transport adjusts sodium, potassium and water balance.</p>"
            ),
            (
                "<p>Students compare clearance measurements with estimated filtration "
                "and discuss the limits of each method at the bedside.</p>"
            ),
        ]
        if n == FLAGGED_PAGE:
            body.insert(2, f"<p>{FLAGGED}</p>")
        pages.append(
            f'<section style="page-break-after: always">{"".join(body)}</section>'
        )
    html = (
        "<html><head><style>@page { size: A4; margin: 2cm } "
        "body { font-family: sans-serif; font-size: 12pt }</style></head>"
        f"<body>{''.join(pages)}</body></html>"
    )
    return HTML(string=html).write_pdf()


def _review_url(server, login) -> str:
    """Upload the long PDF once (as the director); the review URL once it is analysed."""
    if "review_url" in state:
        return state["review_url"]
    page = login("director")
    page.goto(f"/clinics/{server.clinic_id}")
    page.get_by_label("Upload materials").set_input_files(
        [{"name": FILENAME, "mimeType": "application/pdf", "buffer": _long_pdf()}]
    )
    page.get_by_role("button", name="Upload and analyse").click()
    row = page.locator("#documents table tbody tr", has_text=FILENAME)
    review = row.get_by_role("link", name=re.compile(r"^Review "))
    expect(review).to_have_count(1, timeout=ANALYSIS_TIMEOUT)
    state["review_url"] = review.get_attribute("href")
    page.context.close()
    return state["review_url"]


def _in_viewport(page, locator) -> None:
    """The element's box lies inside the window and inside the document pane."""
    box = locator.bounding_box()
    assert box is not None, "the element is not rendered"
    view = page.viewport_size
    pane = page.locator("#doc-pane").bounding_box()
    for name, area in (
        ("viewport", {"x": 0, "y": 0, **view}),
        ("document pane", pane),
    ):
        assert (
            area["y"] <= box["y"]
            and box["y"] + box["height"] <= area["y"] + area["height"]
        ), (
            f"highlight at y={box['y']:.0f}..{box['y'] + box['height']:.0f} is outside the {name} {area}"
        )


def test_finding_on_page_100_lands_on_its_highlight(server, login, screenshot):
    url = _review_url(server, login)
    page = login("coach")
    page.goto(url)
    expect(page.locator("#findings")).to_be_visible()
    expect(page.locator("main")).to_contain_text(f"{PAGES} pages")

    # Every page image reserves its size before it loads: width and height attributes
    # in the page's proportions (A4: 1.414).
    images = page.locator(".page-figure img")
    expect(images).to_have_count(PAGES)
    sizes = images.evaluate_all(
        "imgs => imgs.map(i => [i.getAttribute('width'), i.getAttribute('height')])"
    )
    assert all(w and h for w, h in sizes), sizes[:5]
    assert all(1.40 < int(h) / int(w) < 1.43 for w, h in sizes), sizes[:5]

    card = page.locator("#findings li.finding", has_text="1.159").first
    expect(card).to_be_visible()
    goto = card.locator("a.goto")
    expect(goto).to_contain_text(f"page {FLAGGED_PAGE}")
    fid = card.get_attribute("data-id")
    goto.click()

    highlight = page.locator(f".page-hl[data-finding='{fid}']").first
    expect(highlight).to_have_class(re.compile(r"\bactive\b"))
    target_img = page.locator(".page-figure img[data-page='100']")
    try:
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0",
            arg=target_img.element_handle(),
        )
    except PlaywrightTimeoutError:
        pytest.fail(
            f"page {FLAGGED_PAGE}'s image never loaded: the pane did not land on it "
            f"(highlight at {highlight.bounding_box()})"
        )
    page.wait_for_timeout(300)  # the re-scroll after the image has loaded
    _in_viewport(page, highlight)
    # The same for the highlighted words in the text under the image.
    words = page.locator(f"mark.hl[data-findings~='{fid}']").first
    words.scroll_into_view_if_needed()
    _in_viewport(page, words)

    # j then k comes back to the same finding's highlight.
    page.locator("#doc-pane").focus()
    card.focus()
    page.keyboard.press("j")
    page.keyboard.press("k")
    expect(card).to_have_class(re.compile(r"\bactive\b"))
    page.wait_for_timeout(800)
    _in_viewport(page, highlight)
    screenshot(page, "10-coach-long-pdf-page-100")
    assert_accessible(page, "review screen, long PDF, page 100")


def _select(page, first: str, last: str) -> None:
    """Select from the start of `first` to the end of `last` (both in .seg texts)."""
    page.evaluate(
        """([first, last]) => {
            const all = Array.from(document.querySelectorAll('.seg'));
            function at(needle, from) {
                for (const seg of all.slice(from)) {
                    const walker = document.createTreeWalker(seg, NodeFilter.SHOW_TEXT);
                    let node;
                    while ((node = walker.nextNode())) {
                        const i = node.textContent.indexOf(needle);
                        if (i >= 0) return [seg, node, i];
                    }
                }
                throw new Error('not found: ' + needle);
            }
            const [seg, a, i] = at(first, 0);
            const [, b, j] = at(last, all.indexOf(seg));
            const range = document.createRange();
            range.setStart(a, i);
            range.setEnd(b, j + last.length);
            const sel = window.getSelection();
            sel.removeAllRanges();
            sel.addRange(range);
            seg.dispatchEvent(new MouseEvent('mouseup', {bubbles: true}));
        }""",
        [first, last],
    )


def test_add_finding_panel_stays_in_view_and_takes_two_segments(
    server, login, screenshot
):
    url = _review_url(server, login)
    page = login("coach")
    page.goto(url)
    cards = page.locator("#findings li.finding")
    expect(cards.first).to_be_visible()
    total = cards.count()
    form = page.locator("#manual-form")

    # Scroll both panes far down, then select words on page 60.
    page.locator(".findings-pane").evaluate("el => { el.scrollTop = el.scrollHeight; }")
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    needle = "Page 60 reviews how the nephron filters plasma"
    page.locator(".seg", has_text=needle).scroll_into_view_if_needed()
    _select(page, needle, needle)
    expect(form).to_be_visible()
    expect(page.locator("#manual-quote")).to_have_text(needle)
    box = form.bounding_box()
    view = page.viewport_size
    assert box and 0 <= box["y"] and box["y"] + box["height"] <= view["height"], box
    assert 0 <= box["x"] and box["x"] + box["width"] <= view["width"], box
    form.get_by_label("Criterion").select_option("RC-TX")
    form.get_by_label("Note").fill("One passage, from a scrolled pane.")
    with page.expect_navigation():
        form.get_by_role("button", name="Add finding").click()
    page.wait_for_load_state("load")  # review.js, at the end of the page, has run
    expect(page.get_by_role("status").first).to_contain_text("Finding added")
    expect(cards).to_have_count(total + 1)
    expect(
        page.locator(
            "#findings li.finding", has_text="One passage, from a scrolled pane."
        )
    ).to_have_count(1)

    # A selection over two segments (two paragraphs of page 61) adds two findings.
    first = "Page 61 reviews how the nephron"
    last = "Students compare clearance measurements"
    segs = page.locator(".doc-group", has_text="Page 61 reviews").locator(".seg")
    page.locator(".seg", has_text=first).scroll_into_view_if_needed()
    _select(page, first, last)
    expect(form).to_be_visible()
    expect(page.locator("#manual-quote li")).to_have_count(2)
    expect(page.locator("#manual-count")).to_contain_text("2 passages")
    submit = form.get_by_role("button", name="Add 2 findings")
    expect(submit).to_be_enabled()
    form.get_by_label("Criterion").select_option("RC-TX")
    form.get_by_label("Note").fill("Across two paragraphs.")
    page.locator(".seg", has_text=first).scroll_into_view_if_needed()
    screenshot(page, "11-coach-add-finding-panel")
    assert_accessible(page, "review screen, add-finding panel")
    assert segs.count() >= 2
    submit.click()
    expect(page.get_by_role("status").first).to_contain_text("2 findings added")
    expect(cards).to_have_count(total + 3)
    added = page.locator("#findings li.finding", has_text="Across two paragraphs.")
    expect(added).to_have_count(2)
    expect(added.nth(0).locator(".quote")).to_contain_text("Page 61 reviews")
    expect(added.nth(1).locator(".quote")).to_contain_text("Students compare")
