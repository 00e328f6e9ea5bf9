"""The result type of the analysis."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

#: Strength of a finding's evidence, strongest first.
CONFIDENCE_LEVELS = ("certain", "likely", "possible")


@dataclass
class Finding:
    """One flagged passage: a criterion matched in one sentence.

    ``start``/``end`` are character offsets into the text that was analysed, so
    ``text[f.start:f.end] == f.matched_text``. ``cues`` explains why the rule
    fired: a list of ``{"kind", "set", "text", "rule"}`` dicts (trigger word,
    context cue words, disambiguation rule for race mentions, the section frame).
    ``confidence`` is "certain", "likely" or "possible" (strength of the evidence);
    ``secondary`` lists the other criteria that also apply to the same problem, as
    ``{"criterion_id", "title", "category"}`` dicts.
    """

    criterion_id: str
    title: str
    category: str
    severity: str
    start: int
    end: int
    matched_text: str
    sentence: str
    sentence_start: int
    sentence_end: int
    explanation: str
    recommendation: str
    cues: list[dict] = field(default_factory=list)
    rubric_version: str = ""
    replacement: dict | None = None
    limitation: str = ""
    references: list[dict] = field(default_factory=list)
    glossary: list[str] = field(default_factory=list)
    confidence: str = "likely"
    secondary: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        """Plain JSON-ready dict (``dataclasses.asdict``)."""
        return asdict(self)


@dataclass
class Mention:
    """A sentence that names at least one race/ethnicity term and one condition.

    ``race_terms`` are normalised group names in order of appearance ("Black",
    "African American", "Ashkenazi Jewish"; generic words such as "race" or
    "ethnicity" are not listed); ``conditions`` are canonical names from the
    ``conditions`` lexicon ("sickle cell disease"). ``start``/``end`` are the
    sentence's character offsets in the text it came from.
    """

    sentence: str
    race_terms: list[str]
    conditions: list[str]
    start: int = 0
    end: int = 0

    def to_dict(self) -> dict:
        """Plain JSON-ready dict (``dataclasses.asdict``)."""
        return asdict(self)
