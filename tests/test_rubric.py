"""Rubric loading and validation (rubrics/*.yaml, rubrics/lexicon/*.yaml)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from clinic.analysis import RubricError, check_rubric, load_analyzer, load_rubric
from clinic.analysis.rubric import CATEGORIES, DEFAULT_RUBRIC_DIR

RUBRIC_DIR = Path(__file__).resolve().parents[1] / "rubrics"

DOMAIN_CRITERIA = [
    "RC-RISK", "RC-DISP", "RC-VIGNETTE", "RC-DX", "RC-BIO", "RC-CONFLATE", "RC-TX",
    "RC-CULT", "RC-NORM", "RC-TERM-CAUCASIAN",
    "RC-ALG-EGFR", "RC-ALG-OPTN", "RC-ALG-KDRI", "RC-ALG-PFT", "RC-ALG-VBAC", "RC-ALG-ASCVD",
    "RC-ALG-STONE", "RC-ALG-UTICALC", "RC-ALG-GWTGHF", "RC-ALG-STS", "RC-ALG-FRAX",
    "RC-ALG-GAIL", "RC-ALG-OTHER", "RC-LAB-HGB", "RC-DEV-SPO2",
]  # fmt: skip


@pytest.fixture(scope="module")
def rubric():
    return load_rubric(RUBRIC_DIR)


@pytest.fixture
def rubric_copy(tmp_path: Path) -> Path:
    dest = tmp_path / "rubrics"
    shutil.copytree(RUBRIC_DIR, dest)
    return dest


def edit_yaml(path: Path, fn) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    fn(data)
    path.write_text(
        yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8"
    )


def first_criterion(data: dict) -> dict:
    return data["criteria"][0]


def test_default_dir_is_project_rubrics():
    assert DEFAULT_RUBRIC_DIR == RUBRIC_DIR


def test_real_rubric_is_valid(rubric):
    assert check_rubric(RUBRIC_DIR) == []
    assert rubric.version
    assert re.fullmatch(r"[0-9a-f]{8}", rubric.content_hash)
    assert rubric.version_id == f"{rubric.version}+{rubric.content_hash}"


def test_covers_domain_criteria_and_algorithms(rubric):
    missing = [c for c in DOMAIN_CRITERIA if c not in rubric.criteria]
    assert missing == []
    for c in rubric.criteria.values():
        assert c.category in CATEGORIES
        if c.category == "algorithm":
            assert c.replacement is not None or c.limitation, c.id
        assert len(c.examples_flag) >= 3 and len(c.examples_pass) >= 3, c.id
        assert c.references and all(
            r.url.startswith("https://") for r in c.references
        ), c.id
        assert set(c.glossary) <= set(rubric.glossary), c.id
    egfr = rubric.criteria["RC-ALG-EGFR"].replacement
    assert egfr.year == 2021 and "CKD-EPI 2021" in egfr.name


def test_manual_criteria_and_glossary(rubric):
    assert [f"M{i}" for i in range(1, 11)] == list(rubric.manual_criteria)[:10]
    m1 = rubric.manual_criteria["M1"]
    assert set(m1.guidance) == {0, 1, 2, 3}
    assert {"race", "ancestry", "structural-racism"} <= set(rubric.glossary)


def test_content_hash_changes_and_cache(rubric_copy):
    a1 = load_analyzer(rubric_copy)
    assert load_analyzer(rubric_copy) is a1
    (rubric_copy / "rubric.yaml").write_text('version: "2099.1"\n', encoding="utf-8")
    a2 = load_analyzer(rubric_copy)
    assert a2 is not a1
    assert (
        a2.version_id.startswith("2099.1+")
        and a2.rubric.content_hash != a1.rubric.content_hash
    )


def _errors(rubric_dir: Path) -> list[str]:
    errors = check_rubric(rubric_dir)
    assert errors, "expected validation errors"
    with pytest.raises(RubricError) as exc:
        load_rubric(rubric_dir) if not any(
            "pattern" in e for e in errors
        ) else load_analyzer(rubric_dir)
    assert exc.value.errors
    return errors


def test_unknown_key(rubric_copy):
    edit_yaml(
        rubric_copy / "biology.yaml", lambda d: first_criterion(d).update(colour="x")
    )
    errs = _errors(rubric_copy)
    assert any(
        e.startswith("biology.yaml: RC-BIO:") and "unknown key" in e and "colour" in e
        for e in errs
    )


def test_missing_field(rubric_copy):
    edit_yaml(
        rubric_copy / "treatment.yaml",
        lambda d: first_criterion(d).pop("recommendation"),
    )
    errs = _errors(rubric_copy)
    assert any(
        e.startswith("treatment.yaml: RC-TX-DOSE:") and "'recommendation'" in e
        for e in errs
    )


def test_duplicate_id_across_files(rubric_copy):
    edit_yaml(
        rubric_copy / "biology.yaml", lambda d: first_criterion(d).update(id="RC-TX")
    )
    errs = _errors(rubric_copy)
    assert any("RC-TX: duplicate id" in e and "treatment.yaml" in e for e in errs)


def test_invalid_spacy_pattern(rubric_copy):
    def bad(d):
        first_criterion(d)["trigger"]["patterns"] = [[{"LOWR": "stone"}]]

    edit_yaml(rubric_copy / "race-correction.yaml", bad)
    errs = _errors(rubric_copy)
    assert any(
        e.startswith("race-correction.yaml: RC-ALG-EGFR:")
        and "not a valid spaCy pattern" in e
        for e in errs
    )


def test_unknown_glossary_term(rubric_copy):
    edit_yaml(
        rubric_copy / "biology.yaml",
        lambda d: first_criterion(d).update(glossary=["racemic"]),
    )
    errs = _errors(rubric_copy)
    assert any(
        e.startswith("biology.yaml: RC-BIO:") and "unknown glossary term 'racemic'" in e
        for e in errs
    )


def test_too_few_examples(rubric_copy):
    def few(d):
        first_criterion(d)["examples"]["pass"] = ["only one"]

    edit_yaml(rubric_copy / "terminology.yaml", few)
    errs = _errors(rubric_copy)
    assert any(
        e.startswith("terminology.yaml: RC-TERM-CAUCASIAN:")
        and "at least 3 'pass' examples" in e
        for e in errs
    )


def test_unknown_set_and_bad_category(rubric_copy):
    def bad(d):
        c = first_criterion(d)
        c["suppress"] = ["no_such_set"]
        c["category"] = "vibes"

    edit_yaml(rubric_copy / "risk-and-diagnosis.yaml", bad)
    errs = _errors(rubric_copy)
    assert any("RC-RISK: suppress names unknown set 'no_such_set'" in e for e in errs)
    assert any("RC-RISK: category 'vibes'" in e for e in errs)


def test_algorithm_needs_replacement_or_limitation(rubric_copy):
    edit_yaml(
        rubric_copy / "race-correction.yaml",
        lambda d: first_criterion(d).pop("replacement"),
    )
    errs = _errors(rubric_copy)
    assert any(
        "RC-ALG-EGFR: algorithm criteria need a 'replacement'" in e for e in errs
    )


def test_bad_yaml_and_bad_lexicon(rubric_copy):
    (rubric_copy / "treatment.yaml").write_text("criteria: [\n", encoding="utf-8")
    errs = _errors(rubric_copy)
    assert any(
        e.startswith("treatment.yaml: (file): cannot be read as YAML") for e in errs
    )


def test_bad_regex_in_lexicon(rubric_copy):
    edit_yaml(
        rubric_copy / "lexicon" / "context-cues.yaml",
        lambda d: d["sets"]["scare_quotes"].update(regex=["(unclosed"]),
    )
    errs = _errors(rubric_copy)
    assert any(
        e.startswith("lexicon/context-cues.yaml: set scare_quotes:") and "regex" in e
        for e in errs
    )


def test_missing_glossary_file_and_manual_guidance(rubric_copy):
    def bad(d):
        d["manual_criteria"][0]["guidance"].pop(3)

    edit_yaml(rubric_copy / "pedagogy.yaml", bad)
    errs = _errors(rubric_copy)
    assert any(e.startswith("pedagogy.yaml: M1:") and "score 3" in e for e in errs)


def test_invalid_rubric_refuses_to_load_analyzer(rubric_copy):
    edit_yaml(
        rubric_copy / "biology.yaml", lambda d: first_criterion(d).pop("examples")
    )
    with pytest.raises(RubricError) as exc:
        load_analyzer(rubric_copy)
    assert any(
        "biology.yaml: RC-BIO: missing required field 'examples'" in e
        for e in exc.value.errors
    )


def test_conditions_lexicon_is_loaded(rubric):
    conds = rubric.lexicon["conditions"]
    assert conds.source_file == "lexicon/conditions.yaml"
    terms = dict(conds.terms)
    assert "sickle cell anemia" in terms["sickle cell disease"]
    # canonical names and synonyms are matched as phrases too
    assert {"sickle cell disease", "sickle cell anemia", "HbSS"} <= set(conds.phrases)
    assert rubric.lexicon["condition_abbreviations"].case_sensitive


def test_lexicon_terms_validation(rubric_copy):
    def bad(d):
        terms = d["sets"]["conditions"]["terms"]
        # HbSS is already a synonym of sickle cell disease
        terms["sickle cell trait"] = ["HbSS"]
        terms["asthma"] = "wheeze"  # not a list

    edit_yaml(rubric_copy / "lexicon" / "conditions.yaml", bad)
    errs = _errors(rubric_copy)
    assert any(
        e.startswith("lexicon/conditions.yaml: set conditions: terms:")
        and "'HbSS'" in e
        and "'sickle cell disease'" in e
        for e in errs
    )
    assert any("'asthma' must map to a list" in e for e in errs)


def test_lexicon_terms_must_be_mapping(rubric_copy):
    edit_yaml(
        rubric_copy / "lexicon" / "conditions.yaml",
        lambda d: d["sets"]["conditions"].update(terms=["asthma"]),
    )
    errs = _errors(rubric_copy)
    assert any("set conditions: 'terms' must map canonical names" in e for e in errs)
