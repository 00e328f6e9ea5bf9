"""The analyser's cheap gates never change what the full matchers find.

Token patterns run only on text holding one of their required strings, fixed
non-race phrases are removed by a token count rather than a second scan, and a
paragraph is tested for a reference entry without tokenising. Each fast path is
checked against the slow one on every rubric example and on the dev sentences.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clinic.analysis import load_analyzer, load_rubric
from clinic.analysis.lexicon import WORD_RE, _substring_gate

RUBRIC_DIR = Path(__file__).resolve().parents[1] / "rubrics"
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def _texts() -> list[str]:
    rubric = load_rubric(RUBRIC_DIR)
    texts = [
        ex
        for c in rubric.criteria.values()
        for ex in (*c.examples_flag, *c.examples_pass)
    ]
    for name in ("dev-sentences.jsonl", "dev2-sentences.jsonl"):
        path = CORPUS / name
        if path.exists():
            texts += [json.loads(line)["text"] for line in path.open()]
    return texts


TEXTS = _texts()


@pytest.fixture(scope="module")
def analyzer():
    return load_analyzer(RUBRIC_DIR)


def _ungated(compiled, doc) -> set[tuple[str, int, int]]:
    out = set()
    for _, matcher in compiled.matchers:
        for key_id, s, e in matcher(doc):
            out.add((doc.vocab.strings[key_id], s, e))
    return out


def test_gated_token_patterns_find_what_ungated_ones_find(analyzer):
    compiled = analyzer.compiled
    assert len(compiled.matchers) > 1, "token patterns should be grouped by gate"
    for text in TEXTS:
        doc = compiled.nlp.make_doc(text)
        gated = {
            (key, h.start, h.end)
            for key, hits in compiled.match(doc).items()
            for h in hits
            if h.rule == "pattern"
        }
        assert gated == _ungated(compiled, doc), text


@pytest.mark.parametrize(
    ("pattern", "gate"),
    [
        ([{"LOWER": "consider"}, {"OP": "{0,3}"}], ("consider",)),
        # the token whose shortest value is longest
        (
            [{"LOWER": {"IN": ["Black", "white"]}}, {"LOWER": "skin"}],
            ("black", "white"),
        ),
        ([{"LOWER": {"IN": ["he", "she"]}}, {"LOWER": "says"}], ("says",)),
        ([{"LOWER": "stone", "OP": "?"}, {"LIKE_NUM": True}], None),  # optional
        ([{"NORM": "not"}], None),  # a norm need not be in the text ("n't")
        ([{"LOWER": {"IN": ["he", "she"]}}], None),  # in almost any text
        ([{"TEXT": {"REGEX": "^x"}}], None),
        ("not a pattern", None),
    ],
)
def test_substring_gate_is_a_required_literal_token(pattern, gate):
    assert _substring_gate(pattern) == gate


def test_a_gate_is_necessary_for_its_patterns(analyzer):
    compiled = analyzer.compiled
    for gate, matcher in compiled.matchers:
        if gate is None:
            continue
        for text in TEXTS:
            if any(g in text.lower() for g in gate):
                continue
            assert not matcher(compiled.nlp.make_doc(text)), (gate, text)


@pytest.mark.parametrize(
    "text",
    [
        "Periventricular white matter lesions; white patients were excluded.",
        "White matter and grey matter, then the white blood cell count.",
        "Familial Mediterranean fever in Mediterranean families.",
        "White matter hyperintensities.",
        "A white woman with white matter disease.",
    ],
)
def test_loose_gate_read_matches_a_fresh_scan(analyzer, text):
    gate = analyzer.compiled.loose
    low = text.lower()
    glow, gwords, words, hit = gate.read(low, WORD_RE.findall(low))
    assert words == set(WORD_RE.findall(low))
    assert gwords == set(WORD_RE.findall(glow))
    assert hit == gate.hit(low, words)


def test_loose_gate_keeps_a_race_word_outside_the_fixed_phrase(analyzer):
    gate = analyzer.compiled.loose
    low = "white matter lesions in a white patient"
    _, gwords, _, hit = gate.read(low, WORD_RE.findall(low))
    assert "matter" not in gwords and "white" in gwords and hit
    low = "white matter lesions on mri"
    _, gwords, _, hit = gate.read(low, WORD_RE.findall(low))
    assert "white" not in gwords and not hit


def test_reference_entry_test_without_tokenising_agrees_with_the_matchers(analyzer):
    frames = analyzer._frames
    skip = analyzer._skip
    assert frames._regexes_of(skip), "the skip sets are regexes: no tokenising"
    entries = [
        "12. Smith AB, Jones CD. Race and eGFR. J Med 2019;12:34-56. More text.",
        "Smith, A. B., & Jones, C. (2019). Race in medicine. Lancet.",
        "Black patients have higher rates of hypertension. See the guideline.",
    ]
    for text in entries + TEXTS[:200]:
        assert frames.holds_any(text, skip) == (not frames.read(text).isdisjoint(skip))
