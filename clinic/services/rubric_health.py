"""Rubric health: how the coaches' decisions judge each criterion of the rubric.

Counts are per rubric version (a finding records the version that produced it), so
a change of rubric restarts them. A finding carried over to a revision counts once:
only the latest finding of each chain (one no later finding points back to) counts.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from clinic.analysis.proposals import (
    Decided,
    PatternGroup,
    Proposal,
    pattern_groups,
    proposal_yaml,
    propose,
)
from clinic.extensions import db
from clinic.models import (
    Clinic,
    DismissReason,
    Document,
    DocumentVersion,
    Finding,
    FindingStatus,
    User,
)
from clinic.policy import visible_clinics

CONFIDENCE_ORDER = ("certain", "likely", "possible")


@dataclass
class Tally:
    confirmed: int = 0
    dismissed: int = 0

    @property
    def decisions(self) -> int:
        return self.confirmed + self.dismissed

    @property
    def precision(self) -> float | None:
        """Share of the coaches' decisions that confirmed the finding."""
        return self.confirmed / self.decisions if self.decisions else None


@dataclass
class CriterionHealth:
    criterion_id: str
    title: str
    rubric_version: str
    total: Tally = field(default_factory=Tally)
    by_confidence: dict[str, Tally] = field(default_factory=dict)
    reasons: Counter = field(default_factory=Counter)
    patterns: list[PatternGroup] = field(default_factory=list)
    proposals: list[Proposal] = field(default_factory=list)

    def confidence_rows(self) -> list[tuple[str, Tally]]:
        return [
            (c, self.by_confidence[c])
            for c in CONFIDENCE_ORDER
            if c in self.by_confidence
        ]


@dataclass
class RubricHealth:
    rubric_version: str
    current_version: str
    versions: dict[str, int]  # rubric version -> decisions, newest first
    criteria: list[CriterionHealth]
    min_dismissals: int

    @property
    def total(self) -> Tally:
        return Tally(
            sum(c.total.confirmed for c in self.criteria),
            sum(c.total.dismissed for c in self.criteria),
        )


def _decided_findings(user: User):
    """The machine findings a coach decided, latest of each chain, in clinics the user
    may see (private self-checks never count)."""
    later = aliased(Finding)
    clinics = visible_clinics(user).with_only_columns(Clinic.id).order_by(None)
    return (
        sa.select(Finding)
        .join(DocumentVersion, Finding.version_id == DocumentVersion.id)
        .join(Document, DocumentVersion.document_id == Document.id)
        .where(
            Finding.source == "machine",
            Finding.status.in_([FindingStatus.CONFIRMED, FindingStatus.DISMISSED]),
            Document.clinic_id.in_(clinics),
            ~sa.exists().where(later.previous_id == Finding.id),
        )
    )


def rubric_health(
    user: User,
    rubric,
    *,
    rubric_version: str | None = None,
    min_dismissals: int = 3,
) -> RubricHealth:
    """Per criterion and confidence: confirmed, dismissed, precision; the dismissal
    reasons, the frequent dismissed patterns and the rubric changes they suggest."""
    rows = list(db.session.scalars(_decided_findings(user)))
    versions = Counter(f.rubric_version or "unknown" for f in rows)
    current = rubric.version_id
    chosen = rubric_version or current
    by_criterion: dict[str, CriterionHealth] = {}
    decided: dict[str, list[Decided]] = {}
    for f in rows:
        if (f.rubric_version or "unknown") != chosen:
            continue
        criterion = rubric.criteria.get(f.criterion_id)
        health = by_criterion.setdefault(
            f.criterion_id,
            CriterionHealth(
                f.criterion_id, criterion.title if criterion else f.title, chosen
            ),
        )
        tally = health.by_confidence.setdefault(f.confidence, Tally())
        reason = None
        if f.status == FindingStatus.CONFIRMED:
            tally.confirmed += 1
            health.total.confirmed += 1
        else:
            tally.dismissed += 1
            health.total.dismissed += 1
            reason = f.dismiss_reason.value if f.dismiss_reason else "other"
            health.reasons[reason] += 1
        decided.setdefault(f.criterion_id, []).append(
            Decided(f.sentence, f.matched_text, reason)
        )
    for criterion_id, health in by_criterion.items():
        items = decided[criterion_id]
        health.patterns = pattern_groups([d for d in items if d.reason is not None])
        health.proposals = propose(criterion_id, items, min_dismissals)
    ordered = sorted(
        by_criterion.values(),
        key=lambda h: (
            h.total.precision if h.total.precision is not None else 2,
            h.criterion_id,
        ),
    )
    # The current version first, then the others, latest name first.
    newest_first = dict(sorted(versions.items(), key=lambda kv: kv[0], reverse=True))
    if current in newest_first:
        newest_first = {current: newest_first.pop(current), **newest_first}
    return RubricHealth(chosen, current, newest_first, ordered, min_dismissals)


def proposal_text(rubric, proposal: Proposal, rubric_version: str) -> str:
    """The proposal as YAML to download or copy into the rubric."""
    criterion = rubric.criteria[proposal.criterion_id]
    return proposal_yaml(
        proposal,
        suppress=list(criterion.suppress),
        criterion_file=criterion.source_file,
        rubric_version=rubric_version,
        reason_label=DismissReason(proposal.reason).label,
    )
