"""The course pattern report: which conditions are taught with which race or ethnicity terms.

One finding shows one sentence; this shows what the whole course teaches, e.g. that
every sickle cell case is a Black patient.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import (
    Clinic,
    Course,
    Document,
    DocumentVersion,
    Segment,
    VersionStatus,
)


@dataclass
class Pattern:
    condition: str
    mentions: int
    terms: Counter = field(default_factory=Counter)
    documents: set[str] = field(default_factory=set)

    @property
    def single_group(self) -> bool:
        return len(self.terms) == 1

    @property
    def summary(self) -> str:
        """E.g. "all with Black" or "Black 6, Hispanic 2"."""
        if self.single_group:
            return f"all with {next(iter(self.terms))}"
        return ", ".join(f"{term} {count}" for term, count in self.terms.most_common())


def _latest_versions(courses: list[Course]) -> list[DocumentVersion]:
    ids = [c.id for c in courses]
    if not ids:
        return []
    versions = db.session.scalars(
        sa.select(DocumentVersion)
        .join(Document)
        .join(Clinic)
        .where(Clinic.course_id.in_(ids), DocumentVersion.status == VersionStatus.DONE)
        .order_by(DocumentVersion.document_id, DocumentVersion.number.desc())
    )
    latest: dict[int, DocumentVersion] = {}
    for v in versions:
        latest.setdefault(v.document_id, v)
    return list(latest.values())


def patterns_for(courses: list[Course], rubric_dir: str) -> list[Pattern]:
    """Conditions mentioned with race terms across the latest version of every document."""
    from clinic.analysis import load_analyzer

    versions = _latest_versions(courses)
    if not versions:
        return []
    titles = {v.id: v.document.title for v in versions}
    rows = db.session.execute(
        sa.select(Segment.version_id, Segment.text).where(
            Segment.version_id.in_(list(titles))
        )
    ).all()
    analyzer = load_analyzer(rubric_dir)
    found: dict[str, Pattern] = {}
    for (version_id, _text), mentions in zip(
        rows, analyzer.mentions([r.text for r in rows]), strict=True
    ):
        for mention in mentions:
            for condition in set(mention.conditions):
                pattern = found.setdefault(condition, Pattern(condition, 0))
                pattern.mentions += 1
                pattern.terms.update(set(mention.race_terms))
                pattern.documents.add(titles[version_id])
    return sorted(found.values(), key=lambda p: (-p.mentions, p.condition))


def course_patterns(course: Course) -> list[Pattern]:
    from flask import current_app

    return patterns_for([course], current_app.config["RUBRIC_DIR"])
