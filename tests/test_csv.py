"""CSV downloads of a clinic's findings and action items: filters, decisions, escaping."""

from __future__ import annotations

import csv
import io

from clinic.extensions import db
from clinic.models import ClinicStatus, FindingStatus
from clinic.services import reviews, workflow
from clinic.summaries.exports import ACTION_HEADER, FINDING_HEADER
from tests import builders

EVIL = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1:A2)"]


def _login(auth, user):
    assert auth.login(user.email).status_code == 302


def _rows(response) -> tuple[list[str], list[dict]]:
    assert response.status_code == 200, response.status_code
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    raw = response.data
    assert raw.startswith("\ufeff".encode())  # UTF-8 with a BOM for spreadsheets
    text = raw.decode("utf-8")[1:]
    header = next(csv.reader(io.StringIO(text)))
    return header, list(csv.DictReader(io.StringIO(text)))


def findings_url(world, **params) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"/clinics/{world.clinic.id}/findings.csv" + (f"?{query}" if query else "")


def test_findings_csv_lists_the_latest_versions(client, auth, world):
    _login(auth, world.coach)
    response = client.get(findings_url(world))
    header, rows = _rows(response)
    assert header == FINDING_HEADER
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="NEPH-610-2026-27-findings.csv"'
    )
    assert len(rows) == len(world.version.findings) > 0
    first = world.version.findings[0]
    row = next(r for r in rows if r["criterion_id"] == first.criterion_id)
    assert row["document"] == world.document.title
    assert row["version"] == "1"
    assert row["location"] == first.location_label
    assert row["sentence"] == " ".join(first.sentence.split())  # one line per row
    assert row["status"] == "open" and row["match_state"] == "new"


def test_findings_csv_only_has_the_latest_version(client, auth, world):
    v1 = builders.gen_version(world.clinic, world.director, filename="notes.txt")
    builders.gen_version(
        world.clinic,
        world.director,
        filename="notes.txt",
        data=b"Black patients have higher muscle mass than White patients.",
        document=v1.document,
    )
    _login(auth, world.coach)
    _, rows = _rows(client.get(findings_url(world, document=v1.document_id)))
    assert rows and {r["version"] for r in rows} == {"2"}
    assert {r["document"] for r in rows} == {"notes"}


def test_findings_csv_filters(client, auth, world):
    findings = world.version.findings
    reviews.confirm(world.coach, findings[0])
    reviews.dismiss(world.coach, findings[1], "duplicate")
    _login(auth, world.coach)
    f = findings[0]
    for name, value, column in [
        ("criterion", f.criterion_id, "criterion_id"),
        ("category", f.category, "category"),
        ("severity", f.severity, "severity"),
        ("status", "confirmed", "status"),
    ]:
        _, rows = _rows(client.get(findings_url(world, **{name: value})))
        want = [
            x
            for x in findings
            if (x.status.value if name == "status" else getattr(x, column)) == value
        ]
        assert len(rows) == len(want) > 0, name
        assert {r[column] for r in rows} == {value}
    _, rows = _rows(client.get(findings_url(world, status="dismissed")))
    assert [r["dismiss_reason"] for r in rows] == ["duplicate"]
    _, rows = _rows(client.get(findings_url(world, category="no-such")))
    assert rows == []
    _, rows = _rows(client.get(findings_url(world, document=world.other_document.id)))
    assert rows == []  # another clinic's document is not in this clinic's CSV


def test_directors_see_decisions_only_once_feedback_is_shared(client, auth, world):
    finding = world.version.findings[0]
    reviews.dismiss(world.coach, finding, "other", "Only quoted to criticise")
    _login(auth, world.director)
    _, rows = _rows(client.get(findings_url(world)))
    assert {r["status"] for r in rows} == {""}
    assert {r["dismiss_reason"] for r in rows} == {""}
    assert {r["decision_comment"] for r in rows} == {""}
    # A status filter must not reveal decisions either.
    _, rows = _rows(client.get(findings_url(world, status="dismissed")))
    assert len(rows) == len(world.version.findings)
    world.clinic.status = ClinicStatus.FEEDBACK_SHARED
    db.session.commit()
    _, rows = _rows(client.get(findings_url(world, status="dismissed")))
    assert len(rows) == 1
    assert rows[0]["decision_comment"] == "Only quoted to criticise"
    assert rows[0]["dismiss_reason"] == "other"


def test_findings_csv_neutralises_formulas(client, auth, world):
    findings = world.version.findings
    for finding, text in zip(findings, EVIL, strict=False):
        reviews.confirm(world.coach, finding, text)
    _login(auth, world.admin)
    _, rows = _rows(
        client.get(findings_url(world, status=FindingStatus.CONFIRMED.value))
    )
    comments = sorted(r["decision_comment"] for r in rows)
    used = EVIL[: len(findings)]
    assert comments == sorted("'" + t for t in used)
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@")), value


def test_action_items_csv_and_status_filter(client, auth, world):
    import datetime as dt

    late = workflow.create_action_item(
        world.coach,
        world.clinic,
        title="Late one",
        owner=world.director,
        due_date=dt.date.today() - dt.timedelta(days=1),
        finding_ids=[world.finding.id],
    )
    workflow.update_action_item(world.coach, world.action_item, status="done")
    _login(auth, world.director)
    url = f"/clinics/{world.clinic.id}/action-items.csv"
    response = client.get(url)
    header, rows = _rows(response)
    assert header == ACTION_HEADER
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="NEPH-610-2026-27-action-items.csv"'
    )
    assert [r["title"] for r in rows] == ["Teach CKD-EPI 2021", "Late one"]
    assert rows[1]["overdue"] == "yes" and rows[1]["owner"] == "Dora Director"
    assert rows[1]["findings"] == world.finding.criterion_id
    _, rows = _rows(client.get(url + "?status=done"))
    assert [r["title"] for r in rows] == ["Teach CKD-EPI 2021"]
    _, rows = _rows(client.get(url + "?status=overdue"))
    assert [r["id"] for r in rows] == [str(late.id)]
    _, rows = _rows(client.get(url + "?status=open"))
    assert [r["title"] for r in rows] == ["Late one"]
    _, rows = _rows(client.get(url + "?status=bogus"))
    assert len(rows) == 2  # an unknown filter is ignored


def test_action_items_csv_neutralises_formulas(client, auth, world):
    for text in EVIL:
        workflow.create_action_item(
            world.coach, world.clinic, title=text, description=text
        )
    item = workflow.create_action_item(world.coach, world.clinic, title="Drop me")
    workflow.update_action_item(
        world.coach, item, status="dropped", drop_reason="=cmd|' /C calc'!A0"
    )
    _login(auth, world.coach)
    response = client.get(f"/clinics/{world.clinic.id}/action-items.csv")
    _, rows = _rows(response)
    titles = [r["title"] for r in rows]
    for text in EVIL:
        assert "'" + text in titles
        assert text not in titles
    assert rows[-1]["drop_reason"] == "'=cmd|' /C calc'!A0"
    assert "'=HYPERLINK" in response.data.decode("utf-8")


def test_clinic_csvs_follow_clinic_access(client, auth, world):
    paths = [
        f"/clinics/{world.clinic.id}/findings.csv",
        f"/clinics/{world.clinic.id}/action-items.csv",
    ]
    for path in paths:
        assert "/auth/login" in client.get(path).headers["Location"]
    for user, status in [
        # Clinics they may not see answer as if they did not exist.
        (world.other_director, 404),
        (world.other_coach, 404),
        (world.director, 200),
        (world.coach, 200),
        (world.dean, 200),
        (world.admin, 200),
    ]:
        _login(auth, user)
        for path in paths:
            assert client.get(path).status_code == status, (user.name, path)
        auth.logout()
    _login(auth, world.admin)
    assert client.get("/clinics/9999/findings.csv").status_code == 404


def test_clinic_page_links_to_the_csvs(client, auth, world):
    _login(auth, world.director)
    page = client.get(f"/clinics/{world.clinic.id}").get_data(as_text=True)
    assert f"/clinics/{world.clinic.id}/findings.csv" in page
    assert f"/clinics/{world.clinic.id}/action-items.csv" in page
