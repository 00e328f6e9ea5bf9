"""The dean's school summary: numbers from the database, page, PDF, CSV, access."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from clinic.export.charts import grouped_bar_chart
from clinic.extensions import db
from clinic.models import (
    ActionStatus,
    Clinic,
    ClinicStatus,
    FindingStatus,
    VersionStatus,
)
from clinic.services import reviews, workflow
from clinic.summaries.presenters import heat
from clinic.summaries.queries import CATEGORIES, previous_year, school_summary
from tests import builders

REVISED_TEXT = (
    "Renal physiology, week 3.\n\n"
    "Estimate kidney function with a validated equation that does not use race.\n\n"
    "Black patients have higher muscle mass than White patients.\n\n"
    "Review the white blood cell count before the biopsy."
)


# --------------------------------------------------------------------------- helpers


def expected_numbers(school: str | None, year: str) -> dict:
    """The summary's numbers computed the slow way, object by object, from the database."""
    clinics = [
        c
        for c in db.session.scalars(sa.select(Clinic))
        if c.academic_year == year and (school is None or c.course.school == school)
    ]
    out = {
        "clinics": len(clinics),
        "documents": 0,
        "analysed": 0,
        "open": 0,
        "confirmed": 0,
        "dismissed": 0,
        "resolved": 0,
        "confirmed_issues": 0,
        "done": 0,
        "actions_open": 0,
        "overdue": 0,
        "dropped": 0,
        "by_category": dict.fromkeys(CATEGORIES, 0),
        "per_course": {},
    }
    for clinic in clinics:
        flagged = 0
        for document in clinic.documents:
            out["documents"] += 1
            done = [v for v in document.versions if v.status == VersionStatus.DONE]
            for version in document.versions:
                for f in version.findings:
                    if f.status == FindingStatus.CONFIRMED and f.resolved_in_version_id:
                        out["resolved"] += 1
                        out["confirmed_issues"] += 1
            if not done:
                continue
            out["analysed"] += 1
            for f in done[-1].findings:
                out[f.status.value] += 1
                if f.status != FindingStatus.DISMISSED:
                    out["by_category"][f.category] += 1
                    flagged += 1
                if f.status == FindingStatus.CONFIRMED and not f.resolved_in_version_id:
                    out["confirmed_issues"] += 1
        out["per_course"][clinic.course.code] = flagged
        for item in clinic.action_items:
            if item.status == ActionStatus.DONE:
                out["done"] += 1
            elif item.status == ActionStatus.DROPPED:
                out["dropped"] += 1
            else:
                out["actions_open"] += 1
                out["overdue"] += item.overdue
    return out


def text_upload(clinic, user, text=builders.LECTURE_TEXT, document=None):
    return builders.gen_version(
        clinic, user, filename="notes.txt", data=text.encode(), document=document
    )


@pytest.fixture
def busy(world):
    """The world plus decisions, a revision, action items and last year's clinic."""
    coach, director = world.coach, world.director
    pdf_findings = world.version.findings
    reviews.confirm(coach, pdf_findings[0], "race-based eGFR")
    reviews.dismiss(coach, pdf_findings[1], "not_about_race")
    # A text document: two confirmed findings, then a revision that removes one passage.
    v1 = text_upload(world.clinic, director)
    by_criterion = {f.criterion_id: f for f in v1.findings}
    reviews.confirm(coach, by_criterion["RC-ALG-EGFR"])
    reviews.confirm(coach, by_criterion["RC-BIO"])
    v2 = text_upload(world.clinic, director, REVISED_TEXT, document=v1.document)
    assert v2.number == 2 and v2.status == VersionStatus.DONE
    today = dt.date.today()
    workflow.update_action_item(world.admin, world.action_item, status="done")
    workflow.create_action_item(
        coach,
        world.clinic,
        title="Late",
        owner=director,
        due_date=today - dt.timedelta(days=3),
    )
    item = workflow.create_action_item(coach, world.clinic, title="Not needed")
    workflow.update_action_item(coach, item, status="dropped", drop_reason="merged")
    workflow.create_action_item(
        world.admin,
        world.other_clinic,
        title="Soon",
        due_date=today + dt.timedelta(days=30),
    )
    # Last year: NEPH 610 had a clinic with one analysed document, all open.
    last_year = builders.gen_clinic(world.course, year="2025-26")
    text_upload(last_year, director)
    # Another school, same year: must stay out of the School of Medicine summary.
    nursing = builders.gen_course(
        code="NURS 101", title="Nursing Basics", school="School of Nursing"
    )
    nursing_clinic = builders.gen_clinic(nursing, status=ClinicStatus.IN_REVIEW)
    text_upload(nursing_clinic, world.admin)
    world.v1, world.v2, world.last_year = v1, v2, last_year
    return world


def _login(auth, user):
    response = auth.login(user.email)
    assert response.status_code == 302


def _flat(text: str) -> str:
    return " ".join(text.split())


# --------------------------------------------------------------------------- queries


def test_previous_year():
    assert previous_year("2026-27") == "2025-26"
    assert previous_year("2000-01") == "1999-00"
    assert previous_year("1999-00") == "1998-99"
    assert previous_year("bogus") is None
    assert previous_year(None) is None


def test_summary_numbers_equal_the_database(busy):
    school = "School of Medicine"
    summary = school_summary(school, "2026-27")
    want = expected_numbers(school, "2026-27")
    t = summary.totals
    assert [r.course_code for r in summary.clinics] == ["CARD 630", "NEPH 610"]
    assert t.clinics == want["clinics"] == 2
    assert t.documents == want["documents"] == 3
    assert (t.findings.open, t.findings.confirmed, t.findings.dismissed) == (
        want["open"],
        want["confirmed"],
        want["dismissed"],
    )
    assert t.findings.dismissed == 1  # counted apart, not in open
    assert t.by_category == want["by_category"]
    assert (t.resolution.resolved, t.resolution.confirmed) == (
        want["resolved"],
        want["confirmed_issues"],
    )
    assert (t.actions.done, t.actions.open, t.actions.overdue, t.actions.dropped) == (
        want["done"],
        want["actions_open"],
        want["overdue"],
        want["dropped"],
    )
    assert (t.actions.done, t.actions.open, t.actions.overdue, t.actions.dropped) == (
        1,
        3,  # "Late" (overdue), the other clinic's "Other" and "Soon"
        1,
        1,
    )
    for row in summary.clinics:
        assert row.findings.flagged == want["per_course"][row.course_code]
        assert sum(row.by_category.values()) == row.findings.flagged


def test_share_resolved_counts_each_confirmed_passage_once(busy):
    row = next(
        r
        for r in school_summary(None, "2026-27").clinics
        if r.course_code == "NEPH 610"
    )
    # PDF: one confirmed, still there. Text: eGFR confirmed then revised away (resolved);
    # the biology passage stays confirmed into version 2 (carried, counted once).
    assert busy.v2.resolved_count >= 1
    carried = [
        f
        for f in busy.v2.findings
        if f.criterion_id == "RC-BIO" and f.status == FindingStatus.CONFIRMED
    ]
    assert carried, "the confirmed decision is carried into the revision"
    assert (row.resolution.resolved, row.resolution.confirmed) == (1, 3)
    assert row.resolution.percent == "33%"
    assert row.findings.confirmed == 2  # latest versions only


def test_previous_year_comparison(busy):
    summary = school_summary("School of Medicine", "2026-27")
    assert summary.previous_year == "2025-26"
    before = expected_numbers("School of Medicine", "2025-26")
    assert summary.previous.clinics == 1
    assert summary.previous.findings.flagged == before["open"] + before["confirmed"]
    changes = {c.course_code: c for c in summary.changes}
    assert (
        changes["NEPH 610"].value("flagged", previous=True)
        == (before["per_course"]["NEPH 610"])
    )
    assert changes["CARD 630"].previous is None
    assert changes["CARD 630"].delta("flagged") is None
    neph = changes["NEPH 610"]
    assert neph.delta("flagged") == neph.value("flagged") - neph.value(
        "flagged", previous=True
    )


def test_top_criteria_are_the_most_often_confirmed(busy):
    summary = school_summary(None, "2026-27")
    counts = {c.criterion_id: c.count for c in summary.top_criteria}
    # RC-ALG-EGFR (PDF) and RC-BIO (carried into the text revision) are confirmed.
    assert counts == {"RC-ALG-EGFR": 1, "RC-BIO": 1}
    assert all(c.title for c in summary.top_criteria)


def test_filters_school_and_year(busy):
    everything = school_summary(None, "2026-27")
    assert {r.course_code for r in everything.clinics} == {
        "CARD 630",
        "NEPH 610",
        "NURS 101",
    }
    nursing = school_summary("School of Nursing", None)
    assert [r.course_code for r in nursing.clinics] == ["NURS 101"]
    assert nursing.year == "2026-27"
    assert nursing.totals.by_status[ClinicStatus.IN_REVIEW] == 1
    last = school_summary(None, "2025-26")
    assert [r.course_code for r in last.clinics] == ["NEPH 610"]
    assert last.previous_year == "2024-25" and last.previous.clinics == 0
    assert school_summary(None, "1990-91").clinics == []


def test_default_year_is_the_latest_with_clinics(busy):
    builders.gen_clinic(busy.other_course, year="2024-25")
    summary = school_summary()
    assert summary.year == "2026-27"
    assert summary.years == ["2026-27", "2025-26", "2024-25"]
    assert summary.schools == ["School of Medicine", "School of Nursing"]


def test_empty_database_summary(app):
    summary = school_summary()
    assert summary.year is None and summary.clinics == []
    assert summary.totals.resolution.percent == "—"


# --------------------------------------------------------------------------- page


def test_page_shows_the_numbers(client, auth, busy):
    _login(auth, busy.dean)
    response = client.get("/summary?school=School+of+Medicine&year=2026-27")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    want = expected_numbers("School of Medicine", "2026-27")
    assert "NEPH 610" in page and "CARD 630" in page and "NURS 101" not in page
    heat = page[page.index('id="heat-map"') :]
    heat = heat[: heat.index("</table>")]
    footer = heat[heat.index("<tfoot>") :]
    cells = re.findall(r"<td[^>]*>(?:<strong>)?(\d+)", footer)
    assert [int(c) for c in cells] == [
        *(want["by_category"][c] for c in CATEGORIES),
        want["open"] + want["confirmed"],
    ]
    # Shaded cells still print their number.
    assert re.search(r'style="background-color:hsl\([^"]+">\d+</td>', heat)
    assert f"{want['resolved']} of {want['confirmed_issues']}" in page
    assert "<svg" in page and "Most often confirmed criteria" in page
    assert "RC-ALG-EGFR" in page
    assert "Change from 2025-26" in page
    assert "a later version of their document no longer contains" in page
    assert 'option value="School of Nursing"' in page


def test_nav_link_only_for_deans_and_admins(client, auth, world):
    _login(auth, world.dean)
    assert 'href="/summary"' in client.get("/").get_data(as_text=True)
    auth.logout()
    _login(auth, world.coach)
    assert 'href="/summary"' not in client.get("/").get_data(as_text=True)


# --------------------------------------------------------------------------- PDF


def test_pdf_totals_equal_the_database(client, auth, busy):
    _login(auth, busy.admin)
    response = client.get("/summary.pdf?school=School+of+Medicine&year=2026-27")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="clinic-summary-School-of-Medicine-2026-27.pdf"'
    )
    reader = PdfReader(io.BytesIO(response.data))
    text = _flat(" ".join(page.extract_text() for page in reader.pages))
    want = expected_numbers("School of Medicine", "2026-27")
    assert "NEPH 610" in text and "CARD 630" in text and "NURS 101" not in text
    assert "School of Medicine" in text and "2026-27" in text
    share = round(100 * want["resolved"] / want["confirmed_issues"])
    clinics_total = (
        f"Total ({want['clinics']} clinics) {want['analysed']} of {want['documents']} "
        f"{want['open']} {want['confirmed']} {want['dismissed']} "
        f"{want['resolved']} of {want['confirmed_issues']} ({share}%) "
        f"{want['done']} {want['actions_open']} {want['overdue']}"
    )
    assert clinics_total in text
    heat_total = "Total " + " ".join(
        str(n)
        for n in [
            *(want["by_category"][c] for c in CATEGORIES),
            want["open"] + want["confirmed"],
        ]
    )
    assert heat_total in text
    flagged = want["open"] + want["confirmed"]
    assert f"Flagged findings {flagged} {want['open']} open" in text
    assert "Page 1 of" in text
    assert "Change from 2025-26" in text


def test_pdf_of_an_empty_year(client, auth, world):
    _login(auth, world.dean)
    response = client.get("/summary.pdf?year=1990-91")
    assert response.status_code == 200
    text = PdfReader(io.BytesIO(response.data)).pages[0].extract_text()
    assert "No clinics" in _flat(text)


# --------------------------------------------------------------------------- CSV


def test_summary_csv_has_the_heat_map(client, auth, busy):
    _login(auth, busy.dean)
    response = client.get("/summary.csv?school=School+of+Medicine&year=2026-27")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    text = response.data.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    want = expected_numbers("School of Medicine", "2026-27")
    assert [r["course"] for r in rows] == ["CARD 630", "NEPH 610", "Total"]
    total = rows[-1]
    assert {c: int(total[c]) for c in CATEGORIES} == want["by_category"]
    assert int(total["dismissed"]) == want["dismissed"]
    for row in rows[:-1]:
        assert int(row["flagged"]) == want["per_course"][row["course"]]


# --------------------------------------------------------------------------- access


@pytest.mark.parametrize("path", ["/summary", "/summary.pdf", "/summary.csv"])
def test_only_deans_and_admins(client, auth, world, path):
    assert "/auth/login" in client.get(path).headers["Location"]
    for user, status in [
        (world.coach, 403),
        (world.director, 403),
        (world.dean, 200),
        (world.admin, 200),
    ]:
        _login(auth, user)
        assert client.get(path).status_code == status, (user.role, path)
        auth.logout()


# --------------------------------------------------------------------------- charts


def test_grouped_chart_prints_series_and_values():
    svg = str(grouped_bar_chart([("Clinics", [3, None])], ["2026-27", "2025-26"], "Δ"))
    assert svg.startswith("<svg") and 'role="img"' in svg
    assert "2026-27: 3" in svg and "2025-26: —" in svg
    assert "<title>Δ</title>" in svg


def test_heat_map_shades_keep_the_number_readable():
    assert heat(0, 5) == ""
    assert "color:#000" in heat(1, 5)  # pale cell, dark text
    assert "color:#fff" in heat(5, 5)  # darkest cell, white text
