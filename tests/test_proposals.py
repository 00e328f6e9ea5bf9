"""Proposals learnt from dismissals (clinic.analysis.proposals) and `clinic rubric
apply`: the rubric changes only when the candidate passes its checks and examples."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from clinic.analysis import load_rubric
from clinic.analysis.examples import full_check
from clinic.analysis.proposals import (
    Decided,
    ProposalError,
    apply_proposal,
    normalise,
    pattern_groups,
    proposal_yaml,
    propose,
)

RUBRIC_DIR = Path(__file__).resolve().parents[1] / "rubrics"
SURVEY = [
    (
        "In the community health survey, diabetes was more common among Hispanic adults.",
        "more common among Hispanic",
    ),
    (
        "The community health survey found higher asthma rates among Black children.",
        "higher asthma rates among Black",
    ),
    (
        "According to the community health survey, obesity was more prevalent among Pacific Islander adults.",
        "more prevalent among Pacific Islander",
    ),
]


@pytest.fixture
def rubric_copy(tmp_path: Path) -> Path:
    dest = tmp_path / "rubrics"
    shutil.copytree(RUBRIC_DIR, dest)
    return dest


def _dismissed(reason="race_conscious"):
    return [Decided(s, m, reason) for s, m in SURVEY]


def test_normalise_masks_the_mention_and_numbers():
    assert normalise("Rates were 10.9 per 1,000 among Black infants.", "Black") == (
        "rates were # per # among ‹mention› infants"
    )


def test_patterns_group_sentences_that_read_the_same():
    rows = [
        Decided("Rate: 12 among Black adults.", "Black", "race_conscious"),
        Decided("Rate: 14 among Black adults.", "Black", "not_about_race"),
        Decided("Another sentence about Asian adults.", "Asian", "race_conscious"),
    ]
    [top, other] = pattern_groups(rows)
    assert (top.pattern, top.count) == ("rate # among ‹mention› adults", 2)
    assert top.reasons == {"race_conscious": 1, "not_about_race": 1}
    assert other.count == 1


def test_propose_needs_n_dismissals_with_one_reason():
    assert propose("RC-DISP", _dismissed()[:2], 3) == []
    mixed = _dismissed()[:2] + [Decided(*SURVEY[2], "not_about_race")]
    assert propose("RC-DISP", mixed, 3) == []  # two reasons: no shared judgement
    [p] = propose("RC-DISP", _dismissed(), 3)
    assert (p.phrase, p.support, p.reason) == (
        "community health survey",
        3,
        "race_conscious",
    )
    assert p.set_name == "coach_rc_disp_community_health_survey"
    assert "community health survey" in p.example


def test_apply_adds_the_set_the_suppress_and_the_example(rubric_copy):
    [p] = propose("RC-DISP", _dismissed(), 3)
    criterion = load_rubric(rubric_copy).criteria["RC-DISP"]
    text = proposal_yaml(
        p,
        suppress=list(criterion.suppress),
        criterion_file=criterion.source_file,
        rubric_version="test",
        reason_label="Race-conscious in context",
    )
    before = (rubric_copy / criterion.source_file).read_text(encoding="utf-8")
    changed = apply_proposal(rubric_copy, text, full_check)
    assert changed == [criterion.source_file, "lexicon/coach-exceptions.yaml"]
    after = (rubric_copy / criterion.source_file).read_text(encoding="utf-8")
    # Comments and layout stay: only two lines differ.
    assert len(after.splitlines()) == len(before.splitlines()) + 1
    assert [line for line in before.splitlines() if line.lstrip().startswith("#")] == [
        line for line in after.splitlines() if line.lstrip().startswith("#")
    ]
    rubric = load_rubric(rubric_copy)
    new = rubric.criteria["RC-DISP"]
    assert new.suppress[-1] == p.set_name and p.example in new.examples_pass
    assert rubric.lexicon[p.set_name].phrases == ("community health survey",)
    assert full_check(rubric_copy) == []


def test_a_proposal_that_breaks_an_example_changes_nothing(rubric_copy):
    [p] = propose("RC-DISP", _dismissed(), 3)
    criterion = load_rubric(rubric_copy).criteria["RC-DISP"]
    text = proposal_yaml(
        p,
        suppress=list(criterion.suppress),
        criterion_file=criterion.source_file,
        rubric_version="test",
        reason_label="Race-conscious in context",
    )
    # A phrase that is in a flag example would silence it: refused.
    broken = text.replace(
        'phrases: ["community health survey"]', 'phrases: ["more common"]'
    )
    data = yaml.safe_load(broken)
    assert next(iter(data["sets"].values()))["phrases"] == ["more common"]
    before = {p.name: p.read_bytes() for p in rubric_copy.rglob("*.yaml")}
    with pytest.raises(ProposalError, match="flag example not flagged"):
        apply_proposal(rubric_copy, broken, full_check)
    assert {p.name: p.read_bytes() for p in rubric_copy.rglob("*.yaml")} == before
    assert not (rubric_copy / "lexicon" / "coach-exceptions.yaml").exists()


def test_cli_apply_and_a_malformed_proposal(rubric_copy, tmp_path, app):
    runner = app.test_cli_runner()
    bad = tmp_path / "bad.yaml"
    bad.write_text("sets: [1, 2\n", encoding="utf-8")
    result = runner.invoke(
        args=["rubric", "apply", str(bad), "--rubric-dir", str(rubric_copy)]
    )
    assert result.exit_code == 1
    assert (
        "not valid YAML" in result.output
        and "The rubric was not changed." in result.output
    )

    [p] = propose("RC-DISP", _dismissed(), 3)
    criterion = load_rubric(rubric_copy).criteria["RC-DISP"]
    good = tmp_path / "proposal.yaml"
    good.write_text(
        proposal_yaml(
            p,
            suppress=list(criterion.suppress),
            criterion_file=criterion.source_file,
            rubric_version="test",
            reason_label="Race-conscious in context",
        ),
        encoding="utf-8",
    )
    result = runner.invoke(
        args=["rubric", "apply", str(good), "--rubric-dir", str(rubric_copy)]
    )
    assert result.exit_code == 0, result.output
    assert "Proposal applied" in result.output
    # Applying it twice is refused: the set exists.
    again = runner.invoke(
        args=["rubric", "apply", str(good), "--rubric-dir", str(rubric_copy)]
    )
    assert again.exit_code == 1 and "already has a set" in again.output
    check = runner.invoke(
        args=["rubric", "check", "--examples", "--rubric-dir", str(rubric_copy)]
    )
    assert check.exit_code == 0 and "rubric OK" in check.output
