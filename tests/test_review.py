"""The coach's review screen: highlights, decisions, manual findings, revisions."""

import json
import re

import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import AuditEvent, Finding, FindingStatus, MatchState, Segment
from clinic.services import tokens
from tests import builders


def _finding(version, criterion):
    return db.session.scalar(
        sa.select(Finding).where(
            Finding.version_id == version.id, Finding.criterion_id == criterion
        )
    )


def _decide(client, auth, finding, **data):
    token = auth.csrf_token(f"/versions/{finding.version_id}/review")
    return client.post(
        f"/findings/{finding.id}/decision", data={"csrf_token": token, **data}
    )


def _audit(action):
    return list(
        db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action))
    )


def test_review_shows_text_with_highlights_and_the_why(client, auth, world):
    auth.login(world.coach.email)
    page = client.get(f"/versions/{world.version.id}/review").get_data(as_text=True)
    egfr = _finding(world.version, "RC-ALG-EGFR")
    assert f'id="mark-{egfr.id}"' in page  # the words are highlighted in the text
    assert re.search(
        rf'<mark class="hl sev-high" data-findings="[^"]*\b{egfr.id}\b', page
    )
    assert "Page 2" in page and f"/versions/{world.version.id}/pages/2.png" in page
    assert "page-hl" in page  # the box drawn over the page image
    assert "CKD-EPI 2021" in page  # the race-free replacement
    assert "/glossary#term-" in page
    assert "Confirm" in page and "Dismiss" in page


def test_director_sees_findings_read_only(client, auth, world):
    auth.login(world.director.email)
    page = client.get(f"/versions/{world.version.id}/review").get_data(as_text=True)
    assert "Race coefficient" in page or "RC-ALG-EGFR" in page
    assert "Dismiss finding" not in page and "confirm-form" not in page
    assert _decide(client, auth, world.finding, action="confirm").status_code == 403


def test_confirm_and_dismiss_are_audited(client, auth, world):
    auth.login(world.coach.email)
    egfr = _finding(world.version, "RC-ALG-EGFR")
    assert _decide(client, auth, egfr, action="confirm").status_code == 302
    db.session.refresh(egfr)
    assert (
        egfr.status == FindingStatus.CONFIRMED and egfr.decided_by_id == world.coach.id
    )
    _decide(
        client,
        auth,
        egfr,
        action="dismiss",
        reason="clinically_justified",
        comment="Cited in slide 9",
    )
    db.session.refresh(egfr)
    assert (
        egfr.status == FindingStatus.DISMISSED
        and egfr.decision_comment == "Cited in slide 9"
    )
    (event,) = _audit("finding.dismiss")
    assert (
        event.before["status"] == "confirmed"
        and event.after["dismiss_reason"] == "clinically_justified"
    )
    page = client.get(f"/versions/{world.version.id}/review").get_data(as_text=True)
    assert "Clinically justified (with citation)" in page and "Cited in slide 9" in page


def test_dismiss_needs_a_reason_from_the_list(client, auth, world):
    auth.login(world.coach.email)
    f = world.finding
    _decide(client, auth, f, action="dismiss", reason="because")
    _decide(client, auth, f, action="dismiss", reason="other")
    db.session.refresh(f)
    assert f.status == FindingStatus.OPEN
    page = client.get(f"/versions/{world.version.id}/review").get_data(as_text=True)
    assert "Say in the comment why" in page


def test_severity_change_and_reopen(client, auth, world):
    auth.login(world.coach.email)
    f = world.finding
    _decide(client, auth, f, action="severity", severity="low")
    _decide(client, auth, f, action="confirm")
    _decide(client, auth, f, action="reopen")
    db.session.refresh(f)
    assert f.severity == "low" and f.machine_severity == "high"
    assert f.status == FindingStatus.OPEN
    assert [
        e.action
        for e in db.session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.action.like("finding.%"))
            .order_by(AuditEvent.id)
        )
    ] == ["finding.severity", "finding.confirm", "finding.reopen"]
    assert (
        _decide(client, auth, f, action="severity", severity="critical").status_code
        == 302
    )
    db.session.refresh(f)
    assert f.severity == "low"


def test_coach_adds_a_manual_finding_on_selected_text(client, auth, world):
    auth.login(world.coach.email)
    segment = db.session.scalar(
        sa.select(Segment).where(
            Segment.version_id == world.version.id,
            Segment.text.contains("Kidneys filter"),
        )
    )
    start = segment.text.index("Kidneys")
    token = auth.csrf_token(f"/versions/{world.version.id}/review")
    response = client.post(
        f"/versions/{world.version.id}/findings",
        data={
            "csrf_token": token,
            "segment_id": segment.id,
            "start": start,
            "end": start + 7,
            "criterion": "RC-BIO",
            "note": "Framing of kidney biology",
        },
    )
    assert response.status_code == 302
    manual = db.session.scalar(sa.select(Finding).where(Finding.source == "manual"))
    assert manual.matched_text == "Kidneys" and manual.segment_id == segment.id
    assert segment.text[manual.start : manual.end] == "Kidneys"
    assert manual.rects  # drawn on the PDF page as well
    assert _audit("finding.add_manual")[0].actor_id == world.coach.id


def test_manual_finding_rejects_bad_offsets_and_foreign_segments(client, auth, world):
    auth.login(world.coach.email)
    own = db.session.scalar(
        sa.select(Segment).where(Segment.version_id == world.version.id)
    )
    foreign = db.session.scalar(
        sa.select(Segment).where(Segment.version_id == world.other_version.id)
    )
    token = auth.csrf_token(f"/versions/{world.version.id}/review")
    for data in (
        {"segment_id": own.id, "start": 5, "end": 5000, "criterion": "RC-BIO"},
        {"segment_id": own.id, "start": 3, "end": 1, "criterion": "RC-BIO"},
        {"segment_id": foreign.id, "start": 0, "end": 4, "criterion": "RC-BIO"},
        {"segment_id": own.id, "start": 0, "end": 4, "criterion": "NOT-A-CRITERION"},
    ):
        client.post(
            f"/versions/{world.version.id}/findings", data={"csrf_token": token, **data}
        )
    assert (
        db.session.scalar(
            sa.select(sa.func.count(Finding.id)).where(Finding.source == "manual")
        )
        == 0
    )


def _manual_count(version_id):
    return db.session.scalar(
        sa.select(sa.func.count(Finding.id)).where(
            Finding.source == "manual", Finding.version_id == version_id
        )
    )


def test_a_selection_over_several_segments_adds_one_finding_each(client, auth, world):
    auth.login(world.coach.email)
    segments = list(
        db.session.scalars(
            sa.select(Segment)
            .where(Segment.version_id == world.version.id)
            .order_by(Segment.ordinal)
        )
    )
    a, b = [s for s in segments if len(s.text.strip()) > 8][:2]
    url = f"/versions/{world.version.id}/findings"
    token = auth.csrf_token(f"/versions/{world.version.id}/review")
    passages = [[a.id, 0, len(a.text)], [b.id, 0, 5]]
    response = client.post(
        url,
        data={
            "csrf_token": token,
            "segment_id": a.id,
            "start": 0,
            "end": len(a.text),
            "passages": json.dumps(passages),
            "criterion": "RC-BIO",
            "note": "Across two paragraphs",
        },
        follow_redirects=True,
    )
    assert "2 findings added, one per passage" in response.get_data(as_text=True)
    manual = list(
        db.session.scalars(
            sa.select(Finding).where(Finding.source == "manual").order_by(Finding.id)
        )
    )
    assert [(f.segment_id, f.start, f.end) for f in manual] == [
        (a.id, 0, len(a.text)),
        (b.id, 0, 5),
    ]
    assert all(f.note == "Across two paragraphs" for f in manual)
    assert len(_audit("finding.add_manual")) == 2


def test_a_selection_over_too_many_or_foreign_segments_adds_nothing(
    client, auth, world
):
    auth.login(world.coach.email)
    own = db.session.scalar(
        sa.select(Segment).where(Segment.version_id == world.version.id)
    )
    foreign = db.session.scalar(
        sa.select(Segment).where(Segment.version_id == world.other_version.id)
    )
    url = f"/versions/{world.version.id}/findings"
    token = auth.csrf_token(f"/versions/{world.version.id}/review")
    base = {
        "csrf_token": token,
        "segment_id": own.id,
        "start": 0,
        "end": 2,
        "criterion": "RC-BIO",
    }
    too_many = [[own.id + i, 0, 1] for i in range(21)]
    page = client.post(
        url, data={**base, "passages": json.dumps(too_many)}, follow_redirects=True
    ).get_data(as_text=True)
    assert "at most 20 findings" in page and "touches 21" in page
    for passages in (
        [[own.id, 0, 2], [foreign.id, 0, 2]],  # a foreign segment refuses them all
        [[own.id, 0, 2], [own.id, 3, 5]],  # one passage per segment
        [[own.id, 0, 5000]],
        "not json",
        [[own.id, "0", 2]],
    ):
        client.post(
            url,
            data={
                **base,
                "passages": passages
                if isinstance(passages, str)
                else json.dumps(passages),
            },
        )
    assert _manual_count(world.version.id) == 0


def test_pdf_page_images_reserve_their_size(client, auth, world):
    auth.login(world.coach.email)
    page = client.get(f"/versions/{world.version.id}/review").get_data(as_text=True)
    images = re.findall(r'<img src="[^"]*/pages/\d+\.png[^>]*>', page)
    assert images
    for img in images:
        width = int(re.search(r'width="(\d+)"', img).group(1))
        height = int(re.search(r'height="(\d+)"', img).group(1))
        assert width == 800 and 1.2 < height / width < 1.5, img


def test_glossary_page_lists_the_common_language(client, auth, world):
    auth.login(world.director.email)
    page = client.get("/glossary").get_data(as_text=True)
    assert 'id="term-structural-racism"' in page and "Race-conscious medicine" in page


# --------------------------------------------------------------------------- revisions

V1 = (
    "Slide one introduces kidney function.\n\n"
    "Estimate kidney function with the CKD-EPI equation, multiplying by 1.159 if the patient is Black.\n\n"
    "Black patients have higher muscle mass than White patients."
)


def _version(world, text, number_hint=""):
    return builders.gen_version(
        world.clinic,
        world.coach,
        filename="revisions.txt",
        data=(text + number_hint).encode(),
    )


def test_revision_keeps_decisions_and_reports_resolved(client, auth, world):
    v1 = _version(world, V1)
    egfr, bio = _finding(v1, "RC-ALG-EGFR"), _finding(v1, "RC-BIO")
    auth.login(world.coach.email)
    _decide(client, auth, egfr, action="confirm", comment="Teach CKD-EPI 2021")
    _decide(
        client,
        auth,
        bio,
        action="dismiss",
        reason="other",
        comment="Quoted to debunk it",
    )
    # v2: the eGFR sentence moved to the end and was lightly edited; the muscle sentence is gone.
    v2 = _version(
        world,
        "Slide one introduces kidney function.\n\n"
        "Estimate kidney function with the CKD-EPI equation, multiplying by 1.159 if a patient is Black.",
    )
    egfr2 = _finding(v2, "RC-ALG-EGFR")
    assert egfr2.match_state == MatchState.PERSISTING and egfr2.previous_id == egfr.id
    assert (
        egfr2.status == FindingStatus.CONFIRMED
        and egfr2.decision_comment == "Teach CKD-EPI 2021"
    )
    assert _finding(v2, "RC-BIO") is None
    db.session.refresh(bio)
    assert bio.resolved_in_version_id == v2.id
    assert v2.resolved_count >= 1
    page = client.get(f"/versions/{v2.id}/review").get_data(as_text=True)
    assert "Changes since version 1" in page and "resolved" in page
    # v3: the dismissed sentence comes back, elsewhere: it stays dismissed.
    v3 = _version(
        world,
        "Black patients have higher muscle mass than White patients.\n\n"
        + V1.split("\n\n")[1],
    )
    bio3 = _finding(v3, "RC-BIO")
    assert (
        bio3.status == FindingStatus.DISMISSED
        and bio3.decision_comment == "Quoted to debunk it"
    )


def test_new_finding_in_revision_is_new(world):
    _version(world, V1)
    v2 = _version(world, V1 + "\n\nAsian patients need lower doses of rosuvastatin.")
    states = {f.criterion_id: f.match_state for f in v2.findings}
    assert (
        MatchState.NEW in states.values() and MatchState.PERSISTING in states.values()
    )
    assert v2.resolved_count == 0


def test_manual_finding_carries_over_when_its_words_remain(client, auth, world):
    v1 = _version(world, V1)
    segment = db.session.scalar(
        sa.select(Segment).where(
            Segment.version_id == v1.id, Segment.text.startswith("Slide one")
        )
    )
    auth.login(world.coach.email)
    token = auth.csrf_token(f"/versions/{v1.id}/review")
    client.post(
        f"/versions/{v1.id}/findings",
        data={
            "csrf_token": token,
            "segment_id": segment.id,
            "start": 20,
            "end": 35,
            "criterion": "RC-BIO",
        },
    )
    v2 = _version(world, "Preface.\n\n" + V1)
    manual = [f for f in v2.findings if f.source == "manual"]
    assert len(manual) == 1 and manual[0].matched_text == segment.text[20:35]
    assert (
        manual[0].segment.text[manual[0].start : manual[0].end]
        == manual[0].matched_text
    )


def _labelled(world, confidence: str) -> Finding:
    """The eGFR finding with a confidence level and RC-BIO as a secondary label."""
    egfr = _finding(world.version, "RC-ALG-EGFR")
    egfr.confidence = confidence
    egfr.secondary = [
        {"criterion_id": "RC-BIO", "title": "Innate biology", "category": "biology"}
    ]
    db.session.commit()
    return egfr


def test_cards_show_confidence_and_secondary_labels(client, auth, world):
    egfr = _labelled(world, "certain")
    auth.login(world.coach.email)
    page = client.get(f"/versions/{world.version.id}/review").get_data(as_text=True)
    card = page[page.index(f'id="finding-{egfr.id}"') :]
    card = card[: card.index("</li>")]
    assert 'data-confidence="certain"' in card
    assert 'Certain<span class="visually-hidden"> confidence</span>' in card
    assert "Also: <code>RC-BIO</code> Innate biology" in card
    assert 'id="filter-confidence"' in page and 'value="certain"' in page
    assert 'id="sort-findings"' in page


def test_api_and_csv_carry_confidence_and_secondary_labels(client, auth, world):
    _labelled(world, "possible")
    auth.login(world.coach.email)
    document_id = world.version.document_id
    token = tokens.create_token(None, world.coach, "test")[1]
    data = client.get(
        f"/api/v1/documents/{document_id}/findings?confidence=possible",
        headers={"Authorization": f"Bearer {token}"},
    ).get_json()
    assert [f["criterion_id"] for f in data["findings"]] == ["RC-ALG-EGFR"]
    assert data["findings"][0]["also"][0]["criterion_id"] == "RC-BIO"
    csv_text = client.get(
        f"/clinics/{world.clinic.id}/findings.csv?confidence=possible"
    ).get_data(as_text=True)
    header, *rows = csv_text.strip().splitlines()
    assert "confidence" in header and "also" in header
    assert len(rows) == 1 and "possible" in rows[0] and "RC-BIO" in rows[0]
