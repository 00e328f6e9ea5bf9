"""Rubric health: counts and precision from coaches' decisions per criterion and
confidence, per rubric version; dismissed patterns; proposals after N dismissals."""

from __future__ import annotations

import sqlalchemy as sa
import yaml

from clinic.extensions import db
from clinic.models import Finding, FindingStatus
from clinic.services import reviews, tokens
from tests import builders

SURVEY = (
    "In the community health survey, diabetes was more common among Hispanic adults.\n"
    "The community health survey found higher asthma rates among Black children.\n"
    "According to the community health survey, obesity was more prevalent among "
    "Pacific Islander adults.\n"
    "Hypertension is more common in African Americans.\n"
    "Stroke mortality is higher among Black adults than among white adults.\n"
)


def _survey(world) -> list[Finding]:
    """Five RC-DISP findings: three from the survey, two plain disparity claims."""
    version = builders.gen_version(
        world.clinic, world.director, filename="survey.txt", data=SURVEY.encode()
    )
    findings = sorted(version.findings, key=lambda f: f.segment.ordinal)
    assert [f.criterion_id for f in findings] == ["RC-DISP"] * 5
    return findings


def _page(client) -> str:
    response = client.get("/rubric/health")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_counts_precision_and_reasons_per_criterion_and_confidence(client, auth, world):
    one, two, _three, plain, stroke = _survey(world)
    for f in (one, two):
        reviews.dismiss(world.coach, f, "race_conscious", "Survey data, discussed")
    reviews.confirm(world.coach, plain)
    reviews.confirm(world.coach, stroke)
    auth.login(world.coach.email)
    page = _page(client)
    assert "4</strong> decisions on rubric" in page
    version = plain.rubric_version
    row = page[page.index('<a href="#RC-DISP">') :]
    row = row[: row.index("</tr>")]
    # all confidence levels: 2 confirmed, 2 dismissed, 50%, 4 decisions, its version
    assert '<td>all</td><td class="text-end">2</td><td class="text-end">2</td>' in row
    assert "<strong>50%</strong>" in row and '<td class="text-end">4</td>' in row
    assert version in row
    assert "Race-conscious in context: <strong>2</strong>" in page
    # No proposal before three dismissals with one reason.
    assert "Proposed change" not in page


def test_the_proposal_appears_after_n_dismissals(app, client, auth, world):
    one, two, three, plain, stroke = _survey(world)
    reviews.confirm(world.coach, plain)
    reviews.confirm(world.coach, stroke)
    reviews.dismiss(world.coach, one, "race_conscious")
    reviews.dismiss(world.coach, two, "race_conscious")
    auth.login(world.coach.email)
    assert "Proposed change" not in _page(client)

    app.config["PROPOSAL_MIN_DISMISSALS"] = 2  # configurable
    page = _page(client)
    assert "Proposed change: an exception for “community health survey”" in page
    app.config["PROPOSAL_MIN_DISMISSALS"] = 3
    assert "Proposed change" not in _page(client)

    reviews.dismiss(world.coach, three, "race_conscious")
    page = _page(client)
    assert "Proposed change: an exception for “community health survey”" in page
    assert "dismissed <strong>3</strong> findings of RC-DISP" in page

    download = client.get("/rubric/health/proposals/RC-DISP/race_conscious.yaml")
    assert download.status_code == 200
    assert (
        "proposal-RC-DISP-race_conscious.yaml"
        in download.headers["Content-Disposition"]
    )
    proposal = yaml.safe_load(download.get_data(as_text=True))
    [(name, body)] = proposal["sets"].items()
    assert body["phrases"] == ["community health survey"]
    [criterion] = proposal["criteria"]
    assert criterion["id"] == "RC-DISP" and criterion["suppress"][-1] == name
    assert "community health survey" in criterion["examples"]["pass"][0]
    assert "clinic rubric apply" in download.get_data(as_text=True)

    # The API gives the same figures and the proposal's YAML.
    _, token = tokens.create_token(world.coach, world.coach, "t")
    body = client.get(
        "/api/v1/rubric/health", headers={"Authorization": f"Bearer {token}"}
    ).json
    [disp] = [c for c in body["criteria"] if c["criterion_id"] == "RC-DISP"]
    assert (disp["confirmed"], disp["dismissed"], disp["decisions"]) == (2, 3, 5)
    assert disp["precision"] == 0.4
    assert sum(t["decisions"] for t in disp["by_confidence"].values()) == 5
    assert disp["dismissal_reasons"] == {"race_conscious": 3}
    [p] = disp["proposals"]
    assert p["phrase"] == "community health survey" and p["support"] == 3
    assert yaml.safe_load(p["yaml"]) == proposal


def test_a_phrase_in_a_confirmed_finding_is_never_proposed(app, client, auth, world):
    one, two, three, *_ = _survey(world)
    for f in (one, two):
        reviews.dismiss(world.coach, f, "not_about_race")
    reviews.confirm(world.coach, three)  # it has "community health survey" too
    app.config["PROPOSAL_MIN_DISMISSALS"] = 2
    auth.login(world.coach.email)
    page = _page(client)
    assert "“community health survey”" not in page


def test_a_new_rubric_version_restarts_the_count(client, auth, world):
    findings = _survey(world)
    for f in findings[:3]:
        reviews.dismiss(world.coach, f, "race_conscious")
    db.session.execute(
        sa.update(Finding)
        .where(Finding.id.in_([f.id for f in findings]))
        .values(rubric_version="2025.09+0ld0ld00")
    )
    db.session.commit()
    auth.login(world.coach.email)
    page = _page(client)
    assert "No coach has confirmed or dismissed a finding of rubric" in page
    assert 'href="/rubric/health?version=2025.09%2B0ld0ld00"' in page
    old = client.get("/rubric/health?version=2025.09%2B0ld0ld00").get_data(as_text=True)
    assert "3</strong> decisions on rubric <code>2025.09+0ld0ld00</code>" in old


def test_carried_over_findings_count_once_and_coaches_see_their_clinics(
    client, auth, world
):
    one, *_ = _survey(world)
    reviews.dismiss(world.coach, one, "race_conscious")
    # A revision carries the finding (and its decision) over: the later one counts.
    builders.gen_version(
        world.clinic,
        world.director,
        filename="survey.txt",
        data=(SURVEY + "A new line about kidneys.\n").encode(),
        document=one.version.document,
    )
    later = db.session.scalar(sa.select(Finding).where(Finding.previous_id == one.id))
    assert later is not None and later.status == FindingStatus.DISMISSED
    auth.login(world.coach.email)
    assert "1</strong> decisions on rubric" in _page(client)

    # Another clinic's coach sees none of it; a director may not see the page.
    auth.logout()
    auth.login(world.other_coach.email)
    assert "No coach has confirmed or dismissed" in _page(client)
    auth.logout()
    auth.login(world.director.email)
    assert client.get("/rubric/health").status_code == 403
    assert 'href="/rubric/health"' not in client.get("/").get_data(as_text=True)
