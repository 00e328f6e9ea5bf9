"""Coach decisions on findings and coach-made (manual) findings."""

from __future__ import annotations

import sqlalchemy as sa
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


def change_criterion(actor: User, finding: Finding, criterion) -> Finding:
    """Put a finding under another rubric criterion (audited): its title and category
    follow, and so does its severity unless a coach has set that by hand."""
    if criterion.id == finding.criterion_id:
        raise ServiceError(f"The finding is already under {criterion.id}.")
    fields = ("criterion_id", "title", "category", "severity")
    before = audit.snapshot(finding, fields)
    coach_severity = (
        finding.machine_severity is not None
        and finding.severity != finding.machine_severity
    )
    finding.criterion_id, finding.title = criterion.id, criterion.title
    finding.category = criterion.category
    if not coach_severity:
        finding.severity = criterion.severity
        if finding.machine_severity is not None:
            finding.machine_severity = criterion.severity
    finding.secondary = [
        label for label in finding.secondary or [] if label.get("id") != criterion.id
    ] or None
    finding.decided_by_id, finding.decided_at = actor.id, utcnow()
    audit.record(
        actor,
        "finding.criterion",
        finding,
        before=before,
        after=audit.snapshot(finding, fields),
    )
    db.session.commit()
    return finding


BULK_ACTIONS = ("confirm", "dismiss")
PAGED_KINDS = ("page", "slide")


def finding_page(finding: Finding) -> int | None:
    """The page (or slide) number of a finding, if its document has pages."""
    location = finding.location or {}
    number = location.get("number")
    return number if location.get("kind") in PAGED_KINDS else None


def matching_findings(
    version: DocumentVersion,
    *,
    criterion: str | None = None,
    category: str | None = None,
    severity: str | None = None,
    confidence: str | None = None,
    status: str | None = None,
    page_from: int | None = None,
    page_to: int | None = None,
) -> list[Finding]:
    """The version's findings that match the review screen's filters, in document order."""
    if status and status not in {s.value for s in FindingStatus}:
        raise ServiceError("The status filter must be open, confirmed or dismissed.")
    if page_from is not None and page_to is not None and page_from > page_to:
        raise ServiceError("The first page of the range comes after the last one.")
    query = sa.select(Finding).where(Finding.version_id == version.id)
    if criterion:
        query = query.where(Finding.criterion_id == criterion)
    if category:
        query = query.where(Finding.category == category)
    if severity:
        query = query.where(Finding.severity == severity)
    if confidence:
        query = query.where(Finding.confidence == confidence)
    if status:
        query = query.where(Finding.status == FindingStatus(status))
    rows = db.session.scalars(
        query.order_by(Finding.segment_id, Finding.start, Finding.id)
    )
    out = []
    for finding in rows:
        if page_from is not None or page_to is not None:
            page = finding_page(finding)
            if page is None:
                continue
            if page_from is not None and page < page_from:
                continue
            if page_to is not None and page > page_to:
                continue
        out.append(finding)
    return out


def findings_of_version(version: DocumentVersion, ids: list[int]) -> list[Finding]:
    """The findings with these ids; refuses the lot if any is not of this version."""
    wanted = sorted(set(ids))
    if not wanted:
        raise ServiceError("Select at least one finding.")
    rows = list(
        db.session.scalars(
            sa.select(Finding)
            .where(Finding.id.in_(wanted), Finding.version_id == version.id)
            .order_by(Finding.segment_id, Finding.start, Finding.id)
        )
    )
    if len(rows) != len(wanted):
        found = {f.id for f in rows}
        foreign = ", ".join(str(i) for i in wanted if i not in found)
        raise ServiceError(
            f"Finding(s) {foreign} are not part of this version: nothing was changed."
        )
    return rows


BULK_FILTERS = ("criterion", "category", "severity", "confidence", "status")


def bulk_selection(
    version: DocumentVersion,
    *,
    ids: list[int] | None = None,
    all_matching: bool = False,
    filters: dict | None = None,
) -> list[Finding]:
    """The findings a bulk decision applies to: chosen ids, or all matching the filters."""
    filters = filters or {}
    if all_matching:
        return matching_findings(
            version,
            **{k: filters.get(k) or None for k in BULK_FILTERS},
            page_from=filters.get("page_from"),
            page_to=filters.get("page_to"),
        )
    return findings_of_version(version, ids or [])


def bulk_decide(
    actor: User,
    version: DocumentVersion,
    findings: list[Finding],
    action: str,
    reason: str | None = None,
    comment: str | None = None,
) -> list[Finding]:
    """Confirm or dismiss several findings with one reason: one transaction, one audit entry."""
    if action not in BULK_ACTIONS:
        raise ServiceError("Choose confirm or dismiss for the selected findings.")
    if not findings:
        raise ServiceError("No finding is selected: nothing was changed.")
    if any(f.version_id != version.id for f in findings):
        raise ServiceError(
            "Some findings are not part of this version: nothing was changed."
        )
    comment = (comment or "").strip() or None
    reason_value = None
    if action == "dismiss":
        try:
            reason_value = DismissReason(reason or "")
        except ValueError:
            raise ServiceError("Choose why the findings are dismissed.") from None
        if reason_value == DismissReason.OTHER and not comment:
            raise ServiceError(
                "Say in the comment why the findings are dismissed when the reason "
                "is 'Other'."
            )
    status = FindingStatus.DISMISSED if action == "dismiss" else FindingStatus.CONFIRMED
    now = utcnow()
    try:
        for finding in findings:
            finding.status, finding.dismiss_reason = status, reason_value
            finding.decision_comment = comment
            finding.decided_by_id, finding.decided_at = actor.id, now
            for name in WHOLE_DECISION:
                flag_modified(finding, name)
        ids = [f.id for f in findings]
        audit.record(
            actor,
            f"finding.bulk_{action}",
            version,
            after={
                "count": len(ids),
                "ids": ids,
                "reason": reason_value.value if reason_value else None,
                "comment": comment,
            },
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return findings


def next_open(finding: Finding) -> Finding | None:
    """The next open finding of the same version in document order (wrapping round)."""
    rows = list(
        db.session.scalars(
            sa.select(Finding)
            .where(
                Finding.version_id == finding.version_id,
                Finding.status == FindingStatus.OPEN,
                Finding.id != finding.id,
            )
            .order_by(Finding.segment_id, Finding.start, Finding.id)
        )
    )
    key = (finding.segment_id, finding.start, finding.id)
    after = [f for f in rows if (f.segment_id, f.start, f.id) > key]
    return (after or rows or [None])[0]


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
