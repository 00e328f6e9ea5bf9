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


# What the director must do first: the most severe problems, and among them the tools
# and rules they teach (algorithms, treatment), before statements and words.
SEVERITY_RANK = {"high": 0, "medium": 1, "low": 2}
CATEGORY_PRIORITY = [
    "algorithm",
    "treatment",
    "diagnosis",
    "biology",
    "risk",
    "culture",
    "skin-tone",
    "terminology",
]
# The pattern report lists the most frequent conditions; the CSV has them all.
PATTERN_ROWS = 10


@dataclass
class CriterionGroup:
    criterion_id: str
    title: str
    criterion: object | None
    findings: list[Finding] = field(default_factory=list)

    @property
    def order(self) -> tuple:
        worst = min(SEVERITY_RANK.get(f.severity, 3) for f in self.findings)
        category = self.findings[0].category
        rank = (
            CATEGORY_PRIORITY.index(category)
            if category in CATEGORY_PRIORITY
            else len(CATEGORY_PRIORITY)
        )
        return (worst, rank, -len(self.findings), self.criterion_id)


@dataclass(frozen=True)
class FixedFinding:
    """A finding a revision removed: the evidence of progress."""

    finding: Finding
    removed_in: object  # the DocumentVersion that no longer has it

    @property
    def date(self) -> dt.date:
        return self.removed_in.uploaded_at.date()


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
    fixed: list[FixedFinding]
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
        key=lambda f: (
            f.criterion_id,
            SEVERITY_RANK.get(f.severity, 3),
            f.version.document.title,
            f.segment_id,
            f.start,
        ),
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
        groups=sorted(groups.values(), key=lambda g: g.order),
        fixed=fixed_findings(clinic),
        pedagogy=[(c, scores.get(c.id)) for c in rubric.manual_criteria.values()],
    )


def fixed_findings(clinic: Clinic) -> list[FixedFinding]:
    """Every finding of the clinic's documents that a revision removed (dismissed ones
    were never problems), latest first."""
    fixed = [
        FixedFinding(f, f.resolved_in)
        for d in clinic.documents
        for v in d.versions
        for f in v.findings
        if f.resolved_in is not None and f.status != FindingStatus.DISMISSED
    ]
    return sorted(
        fixed,
        key=lambda x: (
            -x.removed_in.uploaded_at.timestamp(),
            x.finding.version.document.title,
            x.finding.segment_id,
        ),
    )
