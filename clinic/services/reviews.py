"""Coach decisions on findings and coach-made (manual) findings."""

from __future__ import annotations

from sqlalchemy.orm.attributes import flag_modified

from clinic import audit
from clinic.extensions import db
from clinic.models import (
    DismissReason,
    DocumentVersion,
    Finding,
    FindingStatus,
    Segment,
    User,
    utcnow,
)
from clinic.services import ServiceError

SEVERITIES = ("high", "medium", "low")
DECISION_FIELDS = ("status", "dismiss_reason", "decision_comment", "severity")
WHOLE_DECISION = ("status", "dismiss_reason", "decision_comment")


def _decided(actor: User, finding: Finding, action: str, before: dict) -> Finding:
    finding.decided_by_id, finding.decided_at = actor.id, utcnow()
    if action != "severity":
        # Write the whole decision, unchanged parts too: when two coaches decide at once,
        # the last write wins entirely (no confirmed finding with the other's dismiss reason).
        for name in WHOLE_DECISION:
            flag_modified(finding, name)
    audit.record(
        actor,
        f"finding.{action}",
        finding,
        before=before,
        after=audit.snapshot(finding, DECISION_FIELDS),
    )
    db.session.commit()
    return finding


def confirm(actor: User, finding: Finding, comment: str | None = None) -> Finding:
    before = audit.snapshot(finding, DECISION_FIELDS)
    finding.status, finding.dismiss_reason = FindingStatus.CONFIRMED, None
    finding.decision_comment = (comment or "").strip() or None
    return _decided(actor, finding, "confirm", before)


def dismiss(
    actor: User, finding: Finding, reason: str, comment: str | None = None
) -> Finding:
    try:
        reason_value = DismissReason(reason)
    except ValueError:
        raise ServiceError("Choose why the finding is dismissed.") from None
    comment = (comment or "").strip() or None
    if reason_value == DismissReason.OTHER and not comment:
        raise ServiceError(
            "Say in the comment why the finding is dismissed when the reason is 'Other'."
        )
    before = audit.snapshot(finding, DECISION_FIELDS)
    finding.status, finding.dismiss_reason, finding.decision_comment = (
        FindingStatus.DISMISSED,
        reason_value,
        comment,
    )
    return _decided(actor, finding, "dismiss", before)


def reopen(actor: User, finding: Finding) -> Finding:
    before = audit.snapshot(finding, DECISION_FIELDS)
    finding.status, finding.dismiss_reason, finding.decision_comment = (
        FindingStatus.OPEN,
        None,
        None,
    )
    return _decided(actor, finding, "reopen", before)


def set_severity(actor: User, finding: Finding, severity: str) -> Finding:
    if severity not in SEVERITIES:
        raise ServiceError("Severity must be high, medium or low.")
    before = audit.snapshot(finding, DECISION_FIELDS)
    finding.severity = severity
    return _decided(actor, finding, "severity", before)


def add_manual_finding(
    actor: User,
    version: DocumentVersion,
    segment: Segment,
    start: int,
    end: int,
    criterion,
    note: str | None,
) -> Finding:
    """A coach's own finding on selected words, stored with exact offsets."""
    from clinic.services.documents import finding_at

    if segment.version_id != version.id:
        raise ServiceError("The selected text is not part of this version.")
    if (
        not (0 <= start < end <= len(segment.text))
        or not segment.text[start:end].strip()
    ):
        raise ServiceError("Select some text in the document first.")
    finding = finding_at(
        segment,
        start,
        end,
        criterion_id=criterion.id,
        title=criterion.title,
        category=criterion.category,
        severity=criterion.severity,
        cues=[{"kind": "coach", "text": "added by a coach"}],
        source="manual",
        note=(note or "").strip() or None,
        created_by_id=actor.id,
        status=FindingStatus.CONFIRMED,
        decided_by_id=actor.id,
        decided_at=utcnow(),
    )
    db.session.add(finding)
    db.session.flush()
    audit.record(
        actor,
        "finding.add_manual",
        finding,
        after={
            "criterion": criterion.id,
            "text": finding.matched_text,
            "note": finding.note,
        },
    )
    db.session.commit()
    return finding
