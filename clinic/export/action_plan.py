"""The data of a clinic's action plan (the PDF template renders it)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from clinic.models import Clinic, Finding, FindingStatus

CATEGORIES = [
    "algorithm",
    "treatment",
    "risk",
    "diagnosis",
    "biology",
    "terminology",
    "culture",
    "skin-tone",
]


@dataclass
class CriterionGroup:
    criterion_id: str
    title: str
    criterion: object | None
    findings: list[Finding] = field(default_factory=list)


@dataclass
class ActionPlan:
    clinic: Clinic
    generated_at: dt.datetime
    rubric_versions: list[str]
    findings: list[Finding]
    by_category: Counter
    by_severity: Counter
    by_status: Counter
    resolved: int
    groups: list[CriterionGroup]
    pedagogy: list[
        tuple[object, object | None]
    ]  # (manual criterion, score row or None)

    @property
    def dismissed(self) -> int:
        return self.by_status.get("dismissed", 0)


def build_action_plan(clinic: Clinic, rubric) -> ActionPlan:
    """Gather the latest version of every document: counts, confirmed findings by criterion, scores."""
    latest = [
        d.latest
        for d in clinic.documents
        if d.latest is not None and d.latest.status.value == "done"
    ]
    findings = [f for v in latest for f in v.findings]
    confirmed = [f for f in findings if f.status == FindingStatus.CONFIRMED]
    groups: dict[str, CriterionGroup] = {}
    for f in sorted(
        confirmed,
        key=lambda f: (f.criterion_id, f.version.document.title, f.segment_id, f.start),
    ):
        group = groups.get(f.criterion_id)
        if group is None:
            criterion = rubric.criteria.get(f.criterion_id)
            group = groups[f.criterion_id] = CriterionGroup(
                f.criterion_id, f.title, criterion
            )
        group.findings.append(f)
    scores = {s.criterion_id: s for s in clinic.pedagogy_scores}
    return ActionPlan(
        clinic=clinic,
        generated_at=dt.datetime.now(dt.UTC),
        rubric_versions=sorted({v.rubric_version for v in latest if v.rubric_version}),
        findings=findings,
        by_category=Counter(f.category for f in findings),
        by_severity=Counter(f.severity for f in findings),
        by_status=Counter(f.status.value for f in findings),
        resolved=sum(v.resolved_count or 0 for v in latest),
        groups=sorted(
            groups.values(), key=lambda g: (-len(g.findings), g.criterion_id)
        ),
        pedagogy=[(c, scores.get(c.id)) for c in rubric.manual_criteria.values()],
    )
