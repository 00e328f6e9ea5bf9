"""Rule-based analysis of teaching text for race-based clinical content.

Public API::

    from clinic.analysis import load_analyzer
    analyzer = load_analyzer()            # project rubrics/, cached per rubric version
    findings = analyzer.analyze_text(text)
    mentions = analyzer.mentions([text])  # race term + condition per sentence

No Flask and no trained models: a ``spacy.blank("en")`` pipeline with rule
components whose vocabulary and criteria live in YAML under ``rubrics/``.
"""

from .findings import CONFIDENCE_LEVELS, Finding, Mention
from .pipeline import Analyzer, load_analyzer, split_sentences
from .rubric import (
    ManualCriterion,
    Rubric,
    RubricError,
    TextCriterion,
    check_rubric,
    load_rubric,
)

__all__ = [
    "CONFIDENCE_LEVELS",
    "Analyzer",
    "Finding",
    "ManualCriterion",
    "Mention",
    "Rubric",
    "RubricError",
    "TextCriterion",
    "check_rubric",
    "load_analyzer",
    "load_rubric",
    "split_sentences",
]
