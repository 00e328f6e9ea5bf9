"""The engine's decisions, one table per decision (clinic/analysis/decision.py).

The sentences here are written for the tests: they pin behaviour, they are not
evidence of quality (bench/eval_corpus.py and bench/eval_docs.py measure that on
real text).
"""

from __future__ import annotations

import pytest

from clinic.analysis import CONFIDENCE_LEVELS, load_analyzer
from clinic.analysis.units import looks_like_title, split_units
from clinic.ingest import Location, Segment


@pytest.fixture(scope="module")
def analyzer():
    return load_analyzer()


def codes(findings) -> list[str]:
    return [f.criterion_id for f in findings]


def seg(text: str, kind: str = "slide", number: int = 1, part: str = "body"):
    return Segment(text=text, location=Location(kind, number, part))


# --- race-conscious reading comes before any criterion ---------------------------
CONSCIOUS_GUIDANCE = [
    "Do not choose the antihypertensive dose by the patient's ethnicity.",
    "Leave race out of the case presentation unless it changes the differential.",
    "The claim that Black patients feel less pain is not supported by evidence.",
    "Aggregating all Asian subgroups into one census category hides large differences in risk.",
    "HLA-B*15:02 testing is recommended before carbamazepine in patients of Han Chinese ancestry.",
    "Sickle cell disease affects all races equally.",
]


@pytest.mark.parametrize("text", CONSCIOUS_GUIDANCE)
def test_race_conscious_teaching_is_left_alone(analyzer, text):
    assert analyzer.analyze_text(text) == []


# --- a person-referring race mention in a clinical unit is a problem by default ---
TERSE = [
    ("HTN 1st line (black pts): CCB", "treatment"),
    ("angioedema ↑ in AA", "risk"),
    ("RFs: >60, male, white", "risk"),
    ("South Asian ethnicity – OR 2.1", "risk"),
    ("Risk: age, ethnicity, smoking", "risk"),
    ("Exam shows a Hispanic female in no distress.", "diagnosis"),
]


@pytest.mark.parametrize(("text", "category"), TERSE)
def test_terse_notes_and_case_phrasing_are_flagged(analyzer, text, category):
    found = analyzer.analyze_text(text)
    assert [f.category for f in found] == [category]


NOT_PEOPLE = [
    "AA amyloidosis complicates chronic inflammatory disease.",
    "The white matter lesions were periventricular.",
    "Black tarry stools suggest an upper gastrointestinal bleed.",
]


@pytest.mark.parametrize("text", NOT_PEOPLE)
def test_homonyms_are_not_race_mentions(analyzer, text):
    assert analyzer.analyze_text(text) == []


# --- calculator source code ------------------------------------------------------
CODE = [
    "if is_black: egfr = egfr * 1.159",
    'k <- ifelse(race == "black", 1.159, 1)',
]


@pytest.mark.parametrize("text", CODE)
def test_race_variables_in_code_are_flagged(analyzer, text):
    found = analyzer.analyze_text(text)
    assert [f.category for f in found] == ["algorithm"]


# --- references and citations are not teaching claims ----------------------------
def test_a_reference_entry_is_skipped_even_when_cut_at_its_dots(analyzer):
    text = (
        "Smith J, Jones K. Hypertension in Black patients. N Engl J Med. 2001;344:1-8."
    )
    assert analyzer.analyze_text(text) == []


def test_a_references_heading_skips_its_section(analyzer):
    doc = [
        seg("References", kind="paragraph", part="heading"),
        seg(
            "Hypertension in Black adults: a randomised trial. Lancet 2003.",
            "paragraph",
        ),
    ]
    assert [codes(fs) for fs in analyzer.analyze_document(doc)] == [[], []]


# --- one finding per problem ------------------------------------------------------
def test_other_criteria_become_secondary_labels(analyzer):
    text = "eGFR is multiplied by 1.159 if Black, because Black people have more muscle mass."
    (finding,) = analyzer.analyze_text(text)
    assert finding.criterion_id == "RC-ALG-EGFR"
    assert finding.matched_text == "1.159 if Black"
    assert [x["criterion_id"] for x in finding.secondary] == ["RC-BIO"]


def test_an_outdated_term_and_a_dose_are_two_problems(analyzer):
    found = analyzer.analyze_text("Mongoloid patients need a lower dose of warfarin.")
    assert sorted(f.category for f in found) == ["terminology", "treatment"]


def test_every_finding_has_a_confidence_level(analyzer):
    for text, _ in TERSE:
        for f in analyzer.analyze_text(text):
            assert f.confidence in CONFIDENCE_LEVELS


# --- document context -------------------------------------------------------------
def test_a_title_naming_the_tool_is_not_flagged_but_the_coefficient_is(analyzer):
    doc = [
        seg("Estimating GFR: the MDRD and CKD-EPI equations", part="title"),
        seg("eGFR = 141 × min(Scr/κ, 1)^α × 0.993^Age × 1.159 (if Black)"),
        seg(
            "always apply the race coefficient when the patient is African American",
            part="notes",
        ),
    ]
    title, body, notes = analyzer.analyze_document(doc)
    assert title == []
    assert [(f.criterion_id, f.matched_text) for f in body] == [
        ("RC-ALG-EGFR", "× 1.159 (if Black)")
    ]
    assert [f.category for f in notes] == ["algorithm"]


def test_a_race_conscious_heading_lowers_what_it_frames(analyzer):
    claim = "Black women die of pregnancy-related causes at three times the rate of White women."
    alone = analyzer.analyze_text(claim)
    doc = [
        seg(
            "Racial disparities in maternal mortality and their structural causes",
            "paragraph",
            part="heading",
        ),
        seg(claim, "paragraph"),
    ]
    _, framed = analyzer.analyze_document(doc)
    order = ["high", "medium", "low"]
    assert alone, "the claim alone is a finding"
    assert all(
        order.index(f.severity) > order.index(a.severity) for f, a in zip(framed, alone)
    )


# --- segment splitting ------------------------------------------------------------
SPLITS = [
    ("Black pts | CCB | first line", ["Black pts", "CCB", "first line"]),
    ("risk is higher\nin older adults", ["risk is higher\nin older adults"]),
    ("Risk factors.\nAge over 60", ["Risk factors.", "Age over 60"]),
    (
        "See e.g. the 2021 equation. It has no race term.",
        ["See e.g. the 2021 equation.", "It has no race term."],
    ),
    ("Week 3. eGFR is estimated.", ["Week 3.", "eGFR is estimated."]),
    ("- first bullet\n- second bullet", ["- first bullet", "- second bullet"]),
]


@pytest.mark.parametrize(("text", "units"), SPLITS)
def test_units_are_sentences_lines_and_cells(text, units):
    assert [text[s:e] for s, e in split_units(text)] == units


TITLES = [
    ("Racial Disparities in Sepsis Management.", True),
    ("Estimating GFR: the MDRD and CKD-EPI Equations", True),
    ("Classically Africa, the Middle East, and the Mediterranean ethnicity.", False),
    ("Black patients have higher rates of hypertension.", False),
]


@pytest.mark.parametrize(("text", "title"), TITLES)
def test_title_case_lines_read_as_headings(text, title):
    assert looks_like_title(text) is title


def test_a_cited_title_in_a_pdf_line_is_not_a_disparity_claim(analyzer):
    assert analyzer.analyze_text("Racial Disparities in Sepsis Management.") == []
