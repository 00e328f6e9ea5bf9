"""The action plan PDF: what it contains, what it leaves out, who may download it."""

import datetime as dt
import io
import re

import pytest
from pypdf import PdfReader

from clinic.models import ClinicStatus
from clinic.services import reviews, workflow
from tests import builders


def _text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))


@pytest.fixture
def reviewed(world):
    """Three confirmed findings, one dismissed, a comment, a score, an action item and a session."""
    findings = world.version.findings
    confirmed = findings[:3]
    for f in confirmed:
        reviews.confirm(world.coach, f)
    dismissed = builders.gen_version(
        world.clinic,
        world.director,
        filename="extra.txt",
        data=b"Caucasian patients were excluded from the trial.",
    ).findings[0]
    reviews.dismiss(world.coach, dismissed, "duplicate")
    workflow.add_comment(
        world.coach, confirmed[0], "Switch to the race-free equation before spring."
    )
    workflow.score_pedagogy(
        world.coach, world.clinic, "M2", 2, "Racism is named in week 3 only", None
    )
    workflow.create_action_item(
        world.coach,
        world.clinic,
        title="Rewrite the eGFR slide",
        owner=world.director,
        due_date=dt.date(2027, 1, 15),
    )
    workflow.add_session(
        world.coach,
        world.clinic,
        dt.date(2026, 11, 20),
        "Dora Director, Cory Coach",
        "Walked through eGFR",
    )
    return confirmed, dismissed


def test_plan_contains_the_confirmed_findings_and_leaves_out_dismissed(
    client, auth, world, reviewed
):
    confirmed, dismissed = reviewed
    auth.login(world.coach.email)
    response = client.get(f"/clinics/{world.clinic.id}/action-plan.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    text = _text(response.data)
    assert "NEPH 610" in text and "Renal Physiology" in text and "2026-27" in text
    from clinic.rubric_cache import app_rubric

    rubric = app_rubric()
    for f in confirmed:
        assert " ".join(f.matched_text.split()) in text
        assert " ".join(f.sentence.split())[:40] in text
        assert (
            " ".join(rubric.criteria[f.criterion_id].recommendation.split())[:50]
            in text
        )
    assert "CKD-EPI" in text  # the replacement of the eGFR criterion
    assert (
        dismissed.sentence[:30] not in text
        and "Caucasian patients were excluded" not in text
    )
    assert "1 dismissed" in text
    assert "Switch to the race-free equation" in text
    assert (
        "Rewrite the eGFR slide" in text
        and "2027-01-15" in text
        and world.director.name in text
    )
    assert "Racism is named in week 3 only" in text and "2 / 3" in text
    assert "Walked through eGFR" in text and "Sign-off" in text
    assert re.search(r"Page 1 of \d", text)


def test_plan_is_a_tagged_pdf(client, auth, world, reviewed):
    auth.login(world.coach.email)
    reader = PdfReader(
        io.BytesIO(client.get(f"/clinics/{world.clinic.id}/action-plan.pdf").data)
    )
    root = reader.trailer["/Root"]
    assert "/StructTreeRoot" in root and root["/MarkInfo"]["/Marked"]


def test_directors_get_the_plan_once_feedback_is_shared(client, auth, world, reviewed):
    auth.login(world.director.email)
    assert client.get(f"/clinics/{world.clinic.id}/action-plan.pdf").status_code == 403
    world.clinic.status = ClinicStatus.FEEDBACK_SHARED
    from clinic.extensions import db

    db.session.commit()
    assert client.get(f"/clinics/{world.clinic.id}/action-plan.pdf").status_code == 200
    auth.logout()
    auth.login(world.other_director.email)
    # Another course's clinic: as if it did not exist.
    assert client.get(f"/clinics/{world.clinic.id}/action-plan.pdf").status_code == 404


def test_dean_reads_the_plan(client, auth, world, reviewed):
    auth.login(world.dean.email)
    assert client.get(f"/clinics/{world.clinic.id}/action-plan.pdf").status_code == 200


STATS_AND_EGFR = (
    "Infant mortality is 10.9 per 1000 among Black infants vs 4.5 among white infants.\n\n"
    "Obesity rates are highest among non-Hispanic Black adults.\n\n"
    "Hispanics have twice the diabetes mortality of non-Hispanic white adults.\n\n"
    "Calculate eGFR with the MDRD equation, multiplying by 1.212 if the patient is Black.\n"
)


def _plan(client, auth, world) -> str:
    auth.login(world.coach.email)
    response = client.get(f"/clinics/{world.clinic.id}/action-plan.pdf")
    assert response.status_code == 200
    return _text(response.data)


def test_the_plan_puts_the_directors_high_severity_work_first(client, auth, world):
    """Pages of disparity statistics came before the eGFR race coefficient."""
    version = builders.gen_version(
        world.clinic, world.director, filename="stats.txt", data=STATS_AND_EGFR.encode()
    )
    for f in version.findings:
        reviews.confirm(world.coach, f)
    criteria = {f.criterion_id for f in version.findings}
    assert {"RC-ALG-EGFR", "RC-DISP"} <= criteria
    text = _plan(client, auth, world)
    body = text[
        text.index(
            "2. Confirmed findings and what to do", text.index("Contents") + 200
        ) :
    ]
    assert body.index("RC-ALG-EGFR ·") < body.index("RC-DISP ·")
    # The contents list the criteria in the same order.
    contents = text[
        text.index("Contents") : text.index("1. Summary", text.index("Contents") + 20)
    ]
    assert contents.index("RC-ALG-EGFR") < contents.index("RC-DISP")


def test_what_was_fixed_lists_each_finding_a_revision_removed(client, auth, world):
    first = builders.gen_version(
        world.clinic, world.director, filename="stats.txt", data=STATS_AND_EGFR.encode()
    )
    egfr = next(f for f in first.findings if f.criterion_id == "RC-ALG-EGFR")
    reviews.confirm(world.coach, egfr)
    revised = STATS_AND_EGFR.replace(
        "Calculate eGFR with the MDRD equation, multiplying by 1.212 if the patient is Black.",
        "Calculate eGFR with the race-free CKD-EPI 2021 equation.",
    )
    second = builders.gen_version(
        world.clinic,
        world.director,
        filename="stats.txt",
        data=revised.encode(),
        document=first.document,
    )
    assert second.number == 2 and second.resolved_count >= 1
    text = _plan(client, auth, world)
    fixed = text[text.index("Findings that a revised version") :]
    fixed = fixed[: fixed.index("Pedagogy and learning environment")]
    assert "RC-ALG-EGFR" in fixed
    assert "multiplying by 1.212 if the patient is Black" in fixed  # as it was
    assert "version 2" in fixed
    assert second.uploaded_at.date().isoformat() in fixed
    assert "fixed by revisions" in text


def test_action_items_show_their_findings_by_place_and_excerpt(
    client, auth, world, reviewed
):
    confirmed, _ = reviewed
    workflow.create_action_item(
        world.coach,
        world.clinic,
        title="Replace the coefficient",
        owner=world.director,
        finding_ids=[confirmed[0].id],
    )
    text = _plan(client, auth, world)
    actions = text[text.index("Action items", text.index("1. Summary")) :]
    f = confirmed[0]
    assert (
        f"{f.criterion_id}: {f.version.document.title}, {f.location_label}:" in actions
    )
    assert f.sentence[:40] in actions
