"""Run every criterion's `flag` and `pass` examples, as the test suite does."""

from __future__ import annotations

from pathlib import Path

from .pipeline import Analyzer
from .rubric import Rubric


def _criteria_seen(findings) -> set[str]:
    """Criteria a coach sees: each finding's criterion and its secondary labels."""
    return {f.criterion_id for f in findings} | {
        s["criterion_id"] for f in findings for s in f.secondary
    }


def example_errors(rubric: Rubric) -> list[str]:
    """Each example that does not behave as its criterion says, as a message naming
    the file, the criterion and the sentence (empty when all behave)."""
    analyzer = Analyzer(rubric)  # not the cached one: a candidate rubric is temporary
    errors = []
    for c in rubric.criteria.values():
        for text in c.examples_flag:
            if c.id not in _criteria_seen(analyzer.analyze_text(text)):
                errors.append(
                    f"{c.source_file}: {c.id}: flag example not flagged: {text!r}"
                )
        for text in c.examples_pass:
            if c.id in _criteria_seen(analyzer.analyze_text(text)):
                errors.append(
                    f"{c.source_file}: {c.id}: pass example flagged: {text!r}"
                )
    return errors


def full_check(rubric_dir: str | Path) -> list[str]:
    """Validation, compilation and every example: what a rubric edit must pass."""
    from .rubric import check_rubric, load_rubric

    errors = check_rubric(rubric_dir)
    if errors:
        return errors
    return example_errors(load_rubric(rubric_dir))
