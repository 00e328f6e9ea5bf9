"""The six browser journeys of a clinic, in order, sharing one server (see conftest.py).

Each journey checks what its user sees and runs axe-core on every page it visits.
"""

from __future__ import annotations

import io
import re

import pytest
from playwright.sync_api import expect

from clinic.demo_materials import SLIDES, lecture_deck, syllabus_pdf
from tests.e2e.conftest import assert_accessible

pytestmark = pytest.mark.e2e

PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
LECTURE = "renal-lecture.pptx"
SYLLABUS = "neph-610-syllabus.pdf"
ANALYSIS_TIMEOUT = 120_000  # ms; the first analysis also loads the language model

# What the journeys learn and later journeys check (they run in file order).
state: dict = {}


def _deck(slides) -> bytes:
    """A PPTX built like clinic.demo_materials.lecture_deck, from the given slides."""
    from pptx import Presentation

    prs = Presentation()
    for title, bullets, notes in slides:
        slide = prs.slides.add_slide(prs.slide_layouts[1])
        slide.shapes.title.text = title
        frame = slide.placeholders[1].text_frame
        frame.text = bullets[0]
        for bullet in bullets[1:]:
            frame.add_paragraph().text = bullet
        if notes:
            slide.notes_slide.notes_text_frame.text = notes
    out = io.BytesIO()
    prs.save(out)
    return out.getvalue()


def _revised_deck() -> bytes:
    """The lecture with the race-corrected eGFR slide rewritten race-free."""
    slides = list(SLIDES)
    assert slides[2][0] == "Estimating GFR"
    slides[2] = (
        "Estimating GFR",
        [
            "Serum creatinine depends on muscle mass, diet and tubular secretion",
            "Use the 2021 CKD-EPI creatinine and cystatin C equation for every patient",
        ],
        "",
    )
    return _deck(slides)


def _pdf_text(download) -> str:
    from pypdf import PdfReader

    reader = PdfReader(download.path())
    return " ".join((p.extract_text() or "") for p in reader.pages)


def _norm(text: str) -> str:
    return " ".join(text.split())


def _clinic(page, server):
    page.goto(f"/clinics/{server.clinic_id}")
    expect(page.locator("h1")).to_contain_text("NEPH 610")


def _status(page):
    return page.locator("main .status-badge").first


def _review_lecture(page):
    page.get_by_role("link", name="Review renal-lecture").click()
    expect(page.locator("#findings")).to_be_visible()


def _move_to(page, label: str):
    page.get_by_role("button", name=f"Move to “{label}”").click()
    expect(page.get_by_role("status").first).to_contain_text(
        f"The clinic is now: {label}."
    )
    expect(_status(page)).to_have_text(label)


def _share_feedback(page):
    """In review -> feedback shared goes through the confirmation step while findings
    are open: the page gives the counts, and open high-severity findings need an
    override reason (the quality gate)."""
    page.get_by_role("link", name="Move to “Feedback shared”…").click()
    expect(page.locator("h1")).to_have_text(
        "Move from “In review” to “Feedback shared”"
    )
    counts = page.locator("#guard-counts dd")
    expect(counts.first).to_be_visible()
    n_open, n_high = int(counts.nth(0).inner_text()), int(counts.nth(1).inner_text())
    assert n_open >= 1
    expect(page.locator("#guard-message")).to_contain_text(
        f"{n_open} finding" if n_open == 1 else f"{n_open} findings"
    )
    assert_accessible(page, "share confirmation page")
    if n_high:
        expect(page.locator("#guard-message")).to_contain_text("Quality gate")
        # Without a reason the gate holds and the page comes back with the counts.
        page.get_by_role(
            "button", name="Override and move to “Feedback shared”"
        ).click()
        expect(page.get_by_role("alert").first).to_contain_text(
            "Feedback cannot be shared yet"
        )
        expect(page.locator("#guard-counts")).to_be_visible()
        page.get_by_label(re.compile("^Reason for overriding")).fill(
            "The syllabus findings are discussed at the coaching session."
        )
        page.get_by_role(
            "button", name="Override and move to “Feedback shared”"
        ).click()
    else:
        page.get_by_role("button", name="Yes, move to “Feedback shared”").click()
    expect(page.get_by_role("status").first).to_contain_text(
        "The clinic is now: Feedback shared."
    )
    expect(_status(page)).to_have_text("Feedback shared")


def test_1_director_uploads_and_sees_findings(server, login, screenshot):
    page = login("director")
    expect(page.locator("h1")).to_have_text("My courses")
    expect(page.locator("main")).to_contain_text("NEPH 610")
    assert_accessible(page, "director home")

    _clinic(page, server)
    expect(_status(page)).to_have_text("Draft")
    expect(page.locator("#documents")).to_contain_text("No materials uploaded yet.")
    assert_accessible(page, "clinic page, empty")

    page.get_by_label("Upload materials").set_input_files(
        [
            {"name": LECTURE, "mimeType": PPTX, "buffer": lecture_deck()},
            {"name": SYLLABUS, "mimeType": "application/pdf", "buffer": syllabus_pdf()},
        ]
    )
    page.get_by_role("button", name="Upload and analyse").click()
    table = page.locator("#documents table")
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(table).to_contain_text(LECTURE)
    expect(table).to_contain_text(SYLLABUS)
    # Progress: each new version shows its analysis state until it is done.
    labels = table.locator(".status-label")
    expect(labels).to_have_count(2)
    progress = [t.strip() for t in labels.all_inner_texts()]
    assert all(progress), progress
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "1-director-upload-progress")
    assert_accessible(page, "clinic page, analysis running")

    # status.js polls and reloads the page when the analysis is done.
    reviews = table.get_by_role("link", name=re.compile(r"^Review "))
    expect(reviews).to_have_count(2, timeout=ANALYSIS_TIMEOUT)
    expect(labels).to_have_text(["Done", "Done"])
    counts = {}
    for row in table.locator("tbody tr").all():
        cells = row.locator("td")
        counts[cells.nth(0).inner_text().split("\n")[0]] = int(
            cells.nth(4).inner_text().split()[0]
        )
    assert counts["renal-lecture"] >= 5, counts
    assert counts["neph-610-syllabus"] >= 3, counts
    state["counts"] = counts
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "2-director-findings")
    assert_accessible(page, "clinic page, analysis done")

    # The director sees the findings (still "under review") and submits the materials.
    _review_lecture(page)
    cards = page.locator("#findings li.finding")
    expect(cards).to_have_count(counts["renal-lecture"])
    expect(page.locator("#findings")).to_contain_text("eGFR")
    expect(cards.first.locator(".badge.status-open")).to_have_text("Under review")
    assert_accessible(page, "review screen, director before feedback")

    _clinic(page, server)
    _move_to(page, "Materials submitted")


def test_2_coach_reviews_with_keyboard_and_mouse(server, login, screenshot):
    page = login("coach")
    expect(page.locator("main")).to_contain_text("NEPH 610")
    assert_accessible(page, "coach home")
    _clinic(page, server)
    _move_to(page, "In review")
    assert_accessible(page, "clinic page, coach")
    _review_lecture(page)
    review_url = page.url
    state["review_url"] = review_url
    cards = page.locator("#findings li.finding")
    total = cards.count()
    assert total == state["counts"]["renal-lecture"]
    assert_accessible(page, "review screen, coach")

    # --- keyboard only: skip link, j to select, c to confirm ---
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "content"
    page.keyboard.press("j")
    first = cards.first
    expect(first).to_have_class(re.compile(r"\bactive\b"))
    expect(first).to_be_focused()
    first_id = first.get_attribute("id")
    state["confirmed_id"] = first_id
    state["confirmed_title"] = first.locator("h3").inner_text()
    state["confirmed_words"] = first.locator(".quote strong").inner_text()
    with page.expect_navigation():
        page.keyboard.press("c")
    first = page.locator(f"#{first_id}")
    expect(first.locator(".badge.status-confirmed")).to_have_text("Confirmed")
    expect(first.locator(".decision")).to_contain_text("Confirmed by Casey Coach")
    # The page reopens at the next open finding (the decided one was the first).
    expect(cards.nth(1)).to_be_focused()
    expect(page).to_have_url(re.compile(f"#{cards.nth(1).get_attribute('id')}$"))
    first.focus()  # back to the top of the list for the walk below

    # --- j, k to the disparity statistic (its cause is on the next bullet), d,
    # a reason with the arrow keys, Enter ---
    disparity = page.locator("#findings li.finding", has_text="three times more likely")
    expect(disparity).to_have_count(1)
    for _ in range(cards.count()):
        page.keyboard.press("j")
        if disparity.evaluate("el => el === document.activeElement"):
            break
    page.keyboard.press("k")
    page.keyboard.press("j")
    expect(disparity).to_be_focused()
    expect(disparity).to_have_class(re.compile(r"\bactive\b"))
    second_id = disparity.get_attribute("id")
    page.keyboard.press("d")
    reason = disparity.locator("select[name=reason]")
    expect(reason).to_be_focused()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(reason).to_have_value("race_conscious")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    second = page.locator(f"#{second_id}")
    expect(second.locator(".badge.status-dismissed")).to_have_text("Dismissed")
    expect(second.locator(".decision")).to_contain_text("Race-conscious in context")
    expect(page.locator(".badge.status-confirmed")).to_have_count(1)
    expect(page.locator(".badge.status-dismissed")).to_have_count(1)

    # --- a manual finding: select words in the document, then the form appears ---
    needle = "ALLHAT subgroup results"
    page.evaluate(
        """(needle) => {
            const seg = [...document.querySelectorAll('.seg')].find(s => s.textContent.includes(needle));
            const walker = document.createTreeWalker(seg, NodeFilter.SHOW_TEXT);
            for (let node = walker.nextNode(); node; node = walker.nextNode()) {
                const i = node.textContent.indexOf(needle);
                if (i < 0) continue;
                const range = document.createRange();
                range.setStart(node, i);
                range.setEnd(node, i + needle.length);
                const sel = window.getSelection();
                sel.removeAllRanges();
                sel.addRange(range);
                break;
            }
            seg.dispatchEvent(new MouseEvent('mouseup', {bubbles: true}));
        }""",
        needle,
    )
    form = page.locator("#manual-form")
    expect(form).to_be_visible()
    expect(page.locator("#manual-quote")).to_have_text(needle)
    criterion = form.get_by_label("Criterion")
    criterion.select_option("RC-TX")
    criterion_id = "RC-TX"
    form.get_by_label("Note").fill("Subgroup results taught as if race were the cause.")
    page.locator(".seg", has_text=needle).scroll_into_view_if_needed()
    screenshot(page, "3-coach-manual-finding")
    assert_accessible(page, "review screen, manual finding form")
    form.get_by_role("button", name="Add finding").click()
    expect(cards).to_have_count(total + 1)
    manual = page.locator("#findings li.finding", has_text="added by Casey Coach")
    expect(manual).to_have_count(1)
    expect(manual.locator(".quote")).to_contain_text(needle)
    expect(manual).to_contain_text(criterion_id)

    # --- a comment on the confirmed finding ---
    first = page.locator(f"#{first_id}")
    first.locator("details.comments summary").click()
    first.get_by_label(re.compile("^Comment on")).fill(
        "The race coefficient should go; teach the 2021 CKD-EPI equation."
    )
    first.get_by_role("button", name="Post comment").click()
    first = page.locator(f"#{first_id}")
    expect(first.locator("details.comments summary")).to_have_text("Comments (1)")
    expect(first.locator("details.comments")).to_contain_text("2021 CKD-EPI equation")
    first.scroll_into_view_if_needed()
    screenshot(page, "4-coach-review-decisions")
    assert_accessible(page, "review screen after decisions")

    # --- an action item from the confirmed finding ---
    first.get_by_role("link", name="Action item").click()
    expect(page.locator("h1")).to_have_text("New action item")
    title = page.get_by_label("Title")
    expect(title).to_have_value(f"Revise: {state['confirmed_title']}")
    page.get_by_label("Owner (a course director)").select_option(label="Dana Director")
    page.get_by_label("Due date").fill("2027-01-15")
    assert_accessible(page, "new action item form")
    page.get_by_role("button", name="Save action item").click()
    expect(page.get_by_role("status").first).to_contain_text("Action item added.")
    # ... and one more, not tied to a finding
    page.get_by_role("link", name="New action item").click()
    page.get_by_label("Title").fill(
        "Add a session on structural causes of CKD disparities"
    )
    page.get_by_label("Owner (a course director)").select_option(label="Dana Director")
    page.get_by_role("button", name="Save action item").click()
    rows = page.locator("#action-items tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text(f"Revise: {state['confirmed_title']}")
    expect(rows.first).to_contain_text("Dana Director")
    state["action_title"] = "Add a session on structural causes of CKD disparities"

    # --- pedagogy: score the first criterion ---
    page.get_by_role("link", name="Pedagogy scores").click()
    expect(page.locator("h1")).to_have_text("Pedagogy and learning environment")
    section = page.locator("main section.card").first
    criterion_id = section.get_attribute("id")
    section.get_by_label(re.compile(r"^2 —")).check()
    section.get_by_label("Notes").fill("Cases mostly show patients as individuals.")
    assert_accessible(page, "pedagogy page, coach")
    page.get_by_role("button", name="Save scores").click()
    expect(page.get_by_role("status").first).to_contain_text(
        f"Scores saved: {criterion_id}."
    )
    section = page.locator(f"section#{criterion_id}")
    expect(section.locator("h2 .badge")).to_have_text("2 / 3")
    expect(section).to_contain_text("Cases mostly show patients as individuals.")
    screenshot(page, "5-coach-pedagogy")
    assert_accessible(page, "pedagogy page after scoring")

    # --- share the feedback ---
    _clinic(page, server)
    _share_feedback(page)
    assert_accessible(page, "clinic page, feedback shared")


def test_3_director_replies_and_revises(server, login, screenshot):
    page = login("director")
    _clinic(page, server)
    expect(_status(page)).to_have_text("Feedback shared")
    expect(page.locator("#action-items")).to_contain_text(state["action_title"])
    _review_lecture(page)
    confirmed = page.locator(f"#{state['confirmed_id']}")
    expect(confirmed.locator(".decision")).to_contain_text("Confirmed by Casey Coach")
    expect(page.locator(".badge.status-dismissed")).to_have_count(1)
    comments = confirmed.locator("details.comments")
    expect(comments).to_contain_text("2021 CKD-EPI equation")
    confirmed.get_by_label(re.compile("^Comment on")).fill(
        "Agreed: the next version uses the race-free equation."
    )
    confirmed.get_by_role("button", name="Post comment").click()
    confirmed = page.locator(f"#{state['confirmed_id']}")
    expect(confirmed.locator("details.comments summary")).to_have_text("Comments (2)")
    expect(confirmed.locator("details.comments")).to_contain_text("race-free equation")
    assert_accessible(page, "review screen, director after feedback")

    # The revision: same file name, the eGFR slide rewritten.
    _clinic(page, server)
    page.get_by_label("Upload materials").set_input_files(
        [{"name": LECTURE, "mimeType": PPTX, "buffer": _revised_deck()}]
    )
    page.get_by_role("button", name="Upload and analyse").click()
    row = page.locator("#documents tbody tr", has_text=LECTURE)
    expect(row.locator("td").nth(1)).to_have_text("2")
    expect(row.get_by_role("link", name=re.compile("^Review"))).to_be_visible(
        timeout=ANALYSIS_TIMEOUT
    )
    expect(row).to_contain_text("resolved")
    _review_lecture(page)
    expect(page.locator("h1")).to_contain_text("version 2")
    diff = page.locator("section.diff")
    expect(diff).to_contain_text("Changes since version 1")
    resolved = diff.locator(".badge", has_text="resolved")
    n_resolved = int(resolved.inner_text().split()[0])
    assert n_resolved >= 1
    diff.get_by_text("Resolved findings").click()
    expect(diff).to_contain_text("was confirmed")
    expect(diff).to_contain_text("1.159")
    # The dismissed sentence is unchanged, so it stays dismissed in the new version.
    dismissed = page.locator(
        "#findings li.finding", has=page.locator(".status-dismissed")
    )
    expect(dismissed).to_have_count(1)
    expect(dismissed).to_contain_text("three times more likely")
    expect(dismissed).to_contain_text("carried over from the earlier version")
    screenshot(page, "6-director-revision-resolved")
    assert_accessible(page, "review screen, revision")


def test_4_coach_downloads_action_plan(server, login):
    page = login("coach")
    _clinic(page, server)
    url = f"/clinics/{server.clinic_id}/action-plan.pdf"
    link = page.locator(f"a[href$='{url}']")
    with page.expect_download() as info:
        if link.count():
            link.first.click()
        else:  # no link on the page yet: the browser fetches the URL as a download
            page.evaluate(
                """(url) => { const a = document.createElement('a');
                   a.href = url; document.body.append(a); a.click(); a.remove(); }""",
                url,
            )
    download = info.value
    assert download.suggested_filename.startswith("action-plan-NEPH-610")
    assert download.suggested_filename.endswith(".pdf")
    text = _norm(_pdf_text(download))
    assert "NEPH 610" in text
    assert _norm(state["confirmed_words"]) in text, state["confirmed_words"]
    assert state["action_title"] in text


def test_5_dean_reads_summary(server, login, screenshot):
    page = login("dean")
    assert_accessible(page, "dean home")
    page.get_by_role("link", name="Summary", exact=True).click()
    expect(page.locator("h1")).to_contain_text("School summary")
    row = page.locator("main table tr", has_text="NEPH 610").first
    expect(row).to_contain_text("Feedback shared")
    screenshot(page, "7-dean-summary")
    assert_accessible(page, "summary page")
    with page.expect_download() as info:
        page.get_by_role("link", name="Download PDF").click()
    download = info.value
    assert download.suggested_filename.endswith(".pdf")
    text = _norm(_pdf_text(download))
    assert "NEPH 610" in text
    assert "Feedback shared" in text


def _refused(page, path: str, where: str, status: int = 403):
    """403 for a step on what the user sees; 404 for what they may not see at all."""
    response = page.goto(path)
    assert response.status == status, (where, response.status)
    expect(page.locator("main")).to_contain_text(f"Error {status}")
    assert_accessible(page, where)


def test_6_refusals(server, login):
    dean = login("dean")
    _clinic(dean, server)
    # The dean reads the clinic but has nothing to change there.
    expect(dean.get_by_label("Upload materials")).to_have_count(0)
    expect(dean.get_by_role("button", name=re.compile("^Move to"))).to_have_count(0)
    expect(dean.get_by_role("link", name="New action item")).to_have_count(0)
    assert_accessible(dean, "clinic page, dean")
    dean.goto(state["review_url"])
    expect(dean.locator("#findings li.finding").first).to_be_visible()
    expect(dean.locator(".confirm-form")).to_have_count(0)
    expect(dean.locator("#manual-form")).to_have_count(0)
    _refused(dean, f"/clinics/{server.clinic_id}/action-items/new", "dean: new action")
    _refused(dean, "/admin/users", "dean: admin users")

    other = login("director2")
    expect(other.locator("main")).not_to_contain_text("NEPH 610")
    other.goto("/clinics")
    expect(other.locator("main")).to_contain_text("MED 700")
    expect(other.locator("main")).not_to_contain_text("NEPH 610")
    assert_accessible(other, "clinics list, other director")
    # Another course's clinic is as missing as one that does not exist.
    _refused(other, f"/clinics/{server.clinic_id}", "director2: clinic page", 404)
    _refused(other, state["review_url"], "director2: review screen", 404)
    _refused(
        other,
        f"/clinics/{server.clinic_id}/action-plan.pdf",
        "director2: action plan",
        404,
    )
    _refused(other, f"/clinics/{server.clinic_id}/pedagogy", "director2: pedagogy", 404)
