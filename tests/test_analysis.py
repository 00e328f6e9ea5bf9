"""The analysis engine: rubric examples, suppression, hard negatives, offsets."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clinic.analysis import (
    Finding,
    Mention,
    load_analyzer,
    load_rubric,
    split_sentences,
)

RUBRIC_DIR = Path(__file__).resolve().parents[1] / "rubrics"
CORPUS = (
    Path(__file__).resolve().parents[2] / "shared" / "corpus" / "dev-sentences.jsonl"
)

_RUBRIC = load_rubric(RUBRIC_DIR)
FLAG_CASES = [(c.id, ex) for c in _RUBRIC.criteria.values() for ex in c.examples_flag]
PASS_CASES = [(c.id, ex) for c in _RUBRIC.criteria.values() for ex in c.examples_pass]


@pytest.fixture(scope="module")
def analyzer():
    return load_analyzer(RUBRIC_DIR)


def ids(findings: list[Finding]) -> set[str]:
    """Criteria a coach sees: each finding's criterion and its secondary labels."""
    return {f.criterion_id for f in findings} | {
        s["criterion_id"] for f in findings for s in f.secondary
    }


@pytest.mark.parametrize(("criterion_id", "text"), FLAG_CASES)
def test_flag_example_yields_criterion(analyzer, criterion_id, text):
    findings = analyzer.analyze_text(text)
    assert criterion_id in ids(findings), [
        (f.criterion_id, f.matched_text) for f in findings
    ]


@pytest.mark.parametrize(("criterion_id", "text"), PASS_CASES)
def test_pass_example_yields_no_finding_of_criterion(analyzer, criterion_id, text):
    findings = analyzer.analyze_text(text)
    assert criterion_id not in ids(findings), [
        (f.criterion_id, f.cues) for f in findings
    ]


HARD_NEGATIVES = [
    "The white blood cell count was 11.2.",
    "She reported black tarry stools for two days.",
    "Familial Mediterranean fever responds to colchicine.",
    "African trypanosomiasis is transmitted by the tsetse fly.",
    "Hemisection of the cord causes Brown-Séquard syndrome.",
    "The Asian tiger mosquito transmits dengue.",
    "Racemic epinephrine is used for croup.",
    "White-coat hypertension is common in older adults.",
    "Indian hedgehog signalling controls chondrocyte proliferation.",
    "Native valve endocarditis is usually caused by streptococci.",
    "Periventricular white matter lesions are typical of multiple sclerosis.",
    "The FDA added a black box warning for fluoroquinolones.",
    "Latrodectism follows the bite of a black widow spider.",
    "Rubella is also called German measles.",
    "Japanese encephalitis is a vaccine-preventable disease endemic to Asia.",
    "India ink shows the capsule of Cryptococcus.",
    "Racing thoughts are a symptom of mania.",
    "Coal workers develop black lung.",
]

CONSCIOUS = [
    "The 2021 CKD-EPI equation removed the race coefficient.",
    "Black patients have higher rates of hypertension, reflecting structural racism and neighborhood poverty.",
    "APOL1 G1/G2 variants in people of West African ancestry increase the risk of kidney failure.",
    "Race is a social construct, not a biological category.",
    "Dermal melanocytosis was formerly called Mongolian blue spots.",
    "Pulse oximeters overestimate oxygen saturation in Black patients, causing occult hypoxemia.",
    "Following criticism for the use of race, an updated version of the VBAC calculator was published.",
    "HLA-B*15:02 testing should be performed before carbamazepine in patients of Asian ancestry.",
]

FLAGGED = [
    ("eGFR: multiply by 1.159 if Black.", "algorithm"),
    ("Black race is a risk factor for hypertension.", "risk"),
    ("A 25-year-old black man presents to the clinic.", "diagnosis"),
    ("ACE inhibitors are less effective in Black patients.", "treatment"),
    ("Black patients have more muscle mass.", "biology"),
    ("The patient is a 60-year-old Caucasian male.", "terminology"),
    ("Oriental patients have a higher incidence of gastric cancer.", "terminology"),
    ("an inward down - mongoloid - slant to the eyes", "terminology"),
    ("Non-white patients had longer stays.", "terminology"),
    ("Blacks and whites were enrolled.", "terminology"),
]


@pytest.mark.parametrize("text", HARD_NEGATIVES)
def test_hard_negatives_do_not_flag(analyzer, text):
    assert analyzer.analyze_text(text) == []


@pytest.mark.parametrize("text", CONSCIOUS)
def test_race_conscious_context_suppresses(analyzer, text):
    assert analyzer.analyze_text(text) == []


@pytest.mark.parametrize(("text", "category"), FLAGGED)
def test_flagged_categories(analyzer, text, category):
    findings = analyzer.analyze_text(text)
    assert category in {f.category for f in findings}


def test_terminology_is_low_severity(analyzer):
    (f,) = [
        f
        for f in analyzer.analyze_text("Caucasian women were studied.")
        if f.category == "terminology"
    ]
    assert f.severity == "low"


def test_finding_fields_and_why(analyzer):
    text = "Intro.\nFor African American patients, multiply the MDRD estimate by 1.212."
    (f,) = [f for f in analyzer.analyze_text(text) if f.criterion_id == "RC-ALG-EGFR"]
    assert text[f.start : f.end] == f.matched_text
    assert f.sentence == text[f.sentence_start : f.sentence_end]
    assert f.sentence.startswith("For African American")
    assert f.severity == "high" and f.category == "algorithm" and f.title
    assert f.explanation and f.recommendation
    assert f.replacement["year"] == 2021
    assert f.rubric_version == analyzer.version_id
    assert f.references and f.glossary
    kinds = {c["kind"] for c in f.cues}
    assert kinds == {"trigger", "context"}
    assert any(
        c["set"] == "race_mention" and c["text"] == "African American" for c in f.cues
    )
    json.dumps(dataclasses.asdict(f))


def test_one_finding_per_criterion_per_sentence(analyzer):
    text = "Black men and Black women have higher rates of stroke than White men."
    found = [f.criterion_id for f in analyzer.analyze_text(text)]
    assert len(found) == len(set(found))


def test_analyze_segments_aligns_with_inputs(analyzer):
    segs = [
        "Nothing here.",
        "Black race is a risk factor for hypertension.",
        "",
        "Caucasian women.",
    ]
    out = analyzer.analyze_segments(segs)
    assert len(out) == 4
    assert out[0] == [] and out[2] == []
    assert "RC-RISK" in ids(out[1]) and "RC-TERM-CAUCASIAN" in ids(out[3])
    assert ids(out[1]) == ids(analyzer.analyze_text(segs[1]))


def _all_texts() -> list[str]:
    texts = [ex for _, ex in FLAG_CASES + PASS_CASES]
    if CORPUS.exists():
        texts += [
            json.loads(line)["text"]
            for line in CORPUS.read_text(encoding="utf-8").splitlines()
        ]
    return texts


def test_offsets_point_at_matched_words(analyzer):
    texts = _all_texts()
    joined = "\n\n".join(texts)
    count = 0
    for text, findings in zip(
        texts + [joined], analyzer.analyze_segments(texts + [joined])
    ):
        for f in findings:
            count += 1
            assert text[f.start : f.end] == f.matched_text
            assert text[f.sentence_start : f.sentence_end] == f.sentence
            assert f.sentence_start <= f.start < f.end <= f.sentence_end
    assert count > 100


def test_split_sentences_offsets():
    text = "Dr. Smith saw her. A 45-year-old man presents!\n- bullet one\n- bullet two\nWrapped line of prose that is certainly long enough to continue onto\nthe next line here."
    spans = split_sentences(text)
    parts = [text[s:e] for s, e in spans]
    assert parts[0] == "Dr. Smith saw her."
    assert "- bullet one" in parts and "- bullet two" in parts
    assert parts[-1].startswith("Wrapped line") and parts[-1].endswith("here.")


def test_empty_and_whitespace(analyzer):
    assert analyzer.analyze_text("") == []
    assert analyzer.analyze_segments([]) == []
    assert analyzer.analyze_text("   \n\n ") == []


_SNIPPETS = [ex for _, ex in FLAG_CASES[:40]] + HARD_NEGATIVES[:10] + CONSCIOUS[:5]


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    parts=st.lists(st.sampled_from(_SNIPPETS), min_size=1, max_size=6),
    seps=st.lists(
        st.sampled_from([" ", "\n", "\n\n", "  ", "\n- ", " • "]),
        min_size=6,
        max_size=6,
    ),
    prefix=st.text(alphabet="ab é\t", max_size=5),
)
def test_offsets_property(analyzer, parts, seps, prefix):
    text = prefix + "".join(p + s for p, s in zip(parts, seps))
    for f in analyzer.analyze_text(text):
        assert text[f.start : f.end] == f.matched_text
        assert text[f.sentence_start : f.sentence_end] == f.sentence


# ----------------------------------------------------------------- mentions API


def test_mentions_race_term_and_condition(analyzer):
    (ms,) = analyzer.mentions(["Sickle cell disease is common in Black patients."])
    (m,) = ms
    assert isinstance(m, Mention)
    assert m.race_terms == ["Black"]
    assert m.conditions == ["sickle cell disease"]
    assert m.sentence == "Sickle cell disease is common in Black patients."
    assert json.loads(json.dumps(m.to_dict()))["conditions"] == ["sickle cell disease"]


def test_mentions_use_sense_checks(analyzer):
    texts = [
        "The white blood cell count in sickle cell disease is often raised.",
        "Periventricular white matter lesions are typical of multiple sclerosis.",
        "Familial Mediterranean fever responds to colchicine.",
        "Race is associated with hypertension.",  # generic word, no group
        "Black patients were enrolled.",  # no condition
    ]
    assert analyzer.mentions(texts) == [[], [], [], [], []]


def test_mentions_normalise_terms_and_synonyms(analyzer):
    text = (
        "Intro line.\n"
        "Tay-Sachs is more common in people of Ashkenazi Jewish descent. "
        "HbSS and sickle cell anemia are seen in African-Americans and Hispanics; "
        "Caucasians rarely have it."
    )
    first, second = analyzer.mentions([text])[0]
    assert first.race_terms == ["Ashkenazi Jewish"]
    assert first.conditions == ["Tay-Sachs disease"]
    assert second.race_terms == ["African American", "Hispanic", "White"]
    assert second.conditions == ["sickle cell disease"]
    for m in (first, second):
        assert text[m.start : m.end] == m.sentence


def test_mentions_abbreviations_are_case_sensitive(analyzer):
    (ms,) = analyzer.mentions(
        [
            "Among Asian patients with HBV, CKD and AIDS were common; the drug aids sleep."
        ]
    )
    (m,) = ms
    assert m.race_terms == ["Asian"]
    assert m.conditions == ["hepatitis B", "chronic kidney disease", "HIV"]
    (none,) = analyzer.mentions(["The program aids Black students with housing."])
    assert none == []


def test_mentions_aligns_with_inputs(analyzer):
    out = analyzer.mentions(
        ["", "Nothing here.", "Asthma is common in Puerto Rican children."]
    )
    assert len(out) == 3 and out[0] == [] and out[1] == []
    assert out[2][0].race_terms == ["Puerto Rican"]
    assert out[2][0].conditions == ["asthma"]
    assert analyzer.mentions([]) == []


def test_conditions_lexicon_has_canonical_names():
    terms = dict(_RUBRIC.lexicon["conditions"].terms)
    assert len(terms) >= 100
    for name in (
        "sickle cell disease",
        "cystic fibrosis",
        "hypertension",
        "type 2 diabetes",
        "chronic kidney disease",
        "focal segmental glomerulosclerosis",
        "prostate cancer",
        "G6PD deficiency",
        "nasopharyngeal carcinoma",
        "maternal mortality",
        "infant mortality",
    ):
        assert name in terms, name
    assert "HbSS" in terms["sickle cell disease"]


INDEPENDENT_SETS = sorted((Path(__file__).parent / "data").glob("independent-*.jsonl"))


@pytest.mark.parametrize("path", INDEPENDENT_SETS, ids=lambda p: p.stem)
def test_independent_labelled_sets_stay_accurate(analyzer, path):
    """Sentences labelled by the corpus rules by writers who never saw the rubric
    (bench/eval_corpus.py prints the full figures). A rule change that breaks how
    the rubric generalises shows up here."""
    records = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    found = analyzer.analyze_segments([r["text"] for r in records])
    pred = [bool(f) for f in found]
    gold = [r["flag"] for r in records]
    tp = sum(p and g for p, g in zip(pred, gold))
    precision = tp / sum(pred)
    recall = tp / sum(gold)
    assert 2 * precision * recall / (precision + recall) >= 0.95
    names = [p for p, r in zip(pred, records) if r["category"] == "NAME"]
    conscious = [p for p, r in zip(pred, records) if r["category"] == "CONSCIOUS"]
    assert not any(names)  # disease and place names are never flagged
    assert sum(conscious) / len(conscious) <= 0.05
