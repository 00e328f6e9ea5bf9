"""Matching findings across versions (pure function)."""

from clinic.revisions import Item, match, normalise_sentence, sentence_key

EGFR = "Multiply eGFR by 1.159 if the patient is Black."
BIO = "Black patients have higher muscle mass."


def test_same_sentence_persists_even_if_moved():
    previous = [Item(1, "RC-ALG-EGFR", EGFR), Item(2, "RC-BIO", BIO)]
    current = [Item(10, "RC-BIO", BIO), Item(11, "RC-ALG-EGFR", EGFR)]
    result = match(previous, current)
    assert result.matched == {10: 2, 11: 1}
    assert result.new == [] and result.resolved == []


def test_whitespace_case_and_punctuation_do_not_matter():
    assert normalise_sentence(
        "Black  patients, have\nMORE muscle!"
    ) == normalise_sentence("black patients have more muscle")
    assert sentence_key("A  b.") == sentence_key("a b")


def test_edited_sentence_matches_when_close():
    previous = [Item(1, "RC-ALG-EGFR", EGFR)]
    current = [
        Item(2, "RC-ALG-EGFR", "Multiply the eGFR by 1.159 if the patient is Black.")
    ]
    assert match(previous, current).matched == {2: 1}


def test_rewritten_sentence_is_new_and_old_resolved():
    previous = [Item(1, "RC-ALG-EGFR", EGFR)]
    current = [
        Item(
            2,
            "RC-ALG-EGFR",
            "Older slides used a race coefficient of 1.159 for Black patients in MDRD.",
        )
    ]
    result = match(previous, current)
    assert result.matched == {} and result.new == [2] and result.resolved == [1]


def test_removed_sentence_is_resolved():
    result = match([Item(1, "RC-BIO", BIO)], [])
    assert result.resolved == [1]


def test_criterion_must_agree():
    result = match([Item(1, "RC-BIO", BIO)], [Item(2, "RC-RISK", BIO)])
    assert result.new == [2] and result.resolved == [1]


def test_two_findings_in_one_sentence_pair_by_words():
    sentence = "Black and Asian patients need lower doses."
    previous = [
        Item(1, "RC-TX", sentence, "Asian"),
        Item(2, "RC-TX", sentence, "Black"),
    ]
    current = [Item(3, "RC-TX", sentence, "Black"), Item(4, "RC-TX", sentence, "Asian")]
    assert match(previous, current).matched == {3: 2, 4: 1}
