"""Coach decisions on findings and coach-made (manual) findings."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import flag_modified

from clinic import audit
from clinic.extensions import db
from clinic.models import (
    DismissReason,
    DocumentVersion,
    Finding,
    FindingDecision,
    FindingStatus,
    Segment,
    User,
    utcnow,
)
from clinic.services import ServiceError
from clinic.services.text import long_text

SEVERITIES = ("high", "medium", "low")
DECISION_FIELDS = ("status", "dismiss_reason", "decision_comment", "severity")
WHOLE_DECISION = ("status", "dismiss_reason", "decision_comment")


def _own_decisions(actor: User, findings: list[Finding]) -> dict[int, FindingDecision]:
    """The actor's own decisions on these findings, by finding id (one query)."""
    ids = [f.id for f in findings]
    rows = db.session.scalars(
        sa.select(FindingDecision).where(
            FindingDecision.finding_id.in_(ids), FindingDecision.coach_id == actor.id
        )
    )
    return {d.finding_id: d for d in rows}


def _keep_own(actor: User, findings: list[Finding]) -> None:
    """Record each finding's new decision as the actor's own, beside the other
    coaches' (a reopen withdraws it): this is how differing coaches are seen."""
    own = _own_decisions(actor, findings)
    for finding in findings:
        mine = own.get(finding.id)
        if finding.status == FindingStatus.OPEN:
            if mine is not None:
                db.session.delete(mine)
            continue
        if mine is None:
            mine = FindingDecision(finding_id=finding.id, coach_id=actor.id)
            db.session.add(mine)
        mine.status, mine.dismiss_reason = finding.status, finding.dismiss_reason
        mine.comment, mine.decided_at = finding.decision_comment, finding.decided_at


def _naive(moment):
    # SQLite gives back naive datetimes, PostgreSQL aware ones; all are UTC.
    return moment.replace(tzinfo=None) if moment and moment.tzinfo else moment


def standing_decisions(finding: Finding) -> list[FindingDecision]:
    """The coaches' decisions still to weigh: all of them, or those after a settle."""
    settled = _naive(finding.settled_at)
    return [
        d
        for d in finding.coach_decisions
        if settled is None or _naive(d.decided_at) > settled
    ]


def coaches_differ(finding: Finding) -> bool:
    """Whether coaches decided this finding differently (and the lead has not settled
    it since): one confirmed, another dismissed."""
    statuses = {d.status.value for d in standing_decisions(finding)}
    if finding.settled_status is not None and statuses:
        statuses.add(finding.settled_status)
    return len(statuses) > 1


def _decided(actor: User, finding: Finding, action: str, before: dict) -> Finding:
    finding.decided_by_id, finding.decided_at = actor.id, utcnow()
    if action != "severity":
        # Write the whole decision, unchanged parts too: when two coaches decide at once,
        # the last write wins entirely (no confirmed finding with the other's dismiss reason).
        for name in WHOLE_DECISION:
            flag_modified(finding, name)
        _keep_own(actor, [finding])
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
    finding.decision_comment = long_text(comment, "The comment")
    return _decided(actor, finding, "confirm", before)


def dismiss(
    actor: User, finding: Finding, reason: str, comment: str | None = None
) -> Finding:
    try:
        reason_value = DismissReason(reason)
    except ValueError:
        raise ServiceError("Choose why the finding is dismissed.") from None
    comment = long_text(comment, "The comment")
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


def settle(
    actor: User,
    finding: Finding,
    status: str,
    reason: str | None = None,
    comment: str | None = None,
) -> Finding:
    """The lead coach's decision where the coaches differ (audited with theirs)."""
    if not coaches_differ(finding):
        raise ServiceError(
            "The coaches' decisions on this finding agree: there is nothing to settle."
        )
    if status not in (FindingStatus.CONFIRMED.value, FindingStatus.DISMISSED.value):
        raise ServiceError("Settle a finding as confirmed or dismissed.")
    comment = long_text(comment, "The comment")
    reason_value = None
    if status == FindingStatus.DISMISSED.value:
        try:
            reason_value = DismissReason(reason or "")
        except ValueError:
            raise ServiceError("Choose why the finding is dismissed.") from None
        if reason_value == DismissReason.OTHER and not comment:
            raise ServiceError(
                "Say in the comment why the finding is dismissed when the reason "
                "is 'Other'."
            )
    elif reason:
        raise ServiceError("A reason goes with a dismissal only.")
    before = audit.snapshot(finding, DECISION_FIELDS)
    before["coaches"] = [
        {
            "coach_id": d.coach_id,
            "status": d.status.value,
            "reason": d.dismiss_reason.value if d.dismiss_reason else None,
        }
        for d in standing_decisions(finding)
    ]
    now = utcnow()
    finding.status, finding.dismiss_reason = FindingStatus(status), reason_value
    finding.decision_comment = comment
    finding.decided_by_id, finding.decided_at = actor.id, now
    finding.settled_by_id, finding.settled_at = actor.id, now
    finding.settled_status = finding.status.value
    for name in WHOLE_DECISION:
        flag_modified(finding, name)
    audit.record(
        actor,
        "finding.settle",
        finding,
        before=before,
        after=audit.snapshot(finding, DECISION_FIELDS),
    )
    db.session.commit()
    return finding


def assignable(finding: Finding) -> list[User]:
    """Who a finding can be assigned to: the coaches of its clinic."""
    clinic = finding.version.document.clinic
    return list(clinic.coaches) if clinic is not None else []


def assign(actor: User, finding: Finding, assignee: User | None) -> Finding:
    """Ask a coach of the clinic to look at a finding (None: nobody); audited."""
    if assignee is not None and assignee not in assignable(finding):
        raise ServiceError(
            f"{assignee.name} is not a coach of this clinic: assign the finding to "
            "one of its coaches."
        )
    if assignee is not None and finding.assignee_id == assignee.id:
        raise ServiceError(f"The finding is already assigned to {assignee.name}.")
    if assignee is None and finding.assignee_id is None:
        raise ServiceError("The finding is not assigned to anyone.")
    before = audit.snapshot(finding, ("assignee_id",))
    finding.assignee = assignee
    finding.assignee_id = assignee.id if assignee else None
    audit.record(
        actor,
        "finding.assign",
        finding,
        before=before,
        after=audit.snapshot(finding, ("assignee_id",)),
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
    assigned: str | None = None,
    agreement: str | None = None,
    actor: User | None = None,
    page_from: int | None = None,
    page_to: int | None = None,
) -> list[Finding]:
    """The version's findings that match the review screen's filters, in document order.

    `assigned` is "me" (the actor) or "nobody"; `agreement` "differ" keeps the findings
    the coaches decided differently."""
    if status and status not in {s.value for s in FindingStatus}:
        raise ServiceError("The status filter must be open, confirmed or dismissed.")
    if assigned and assigned not in ASSIGNED_FILTERS:
        raise ServiceError("The assigned filter must be me or nobody.")
    if agreement and agreement != "differ":
        raise ServiceError("The coaches filter can only be differ.")
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
    if assigned == "me":
        query = query.where(Finding.assignee_id == (actor.id if actor else None))
    elif assigned == "nobody":
        query = query.where(Finding.assignee_id.is_(None))
    if agreement:
        query = query.options(selectinload(Finding.coach_decisions))
    rows = db.session.scalars(
        query.order_by(Finding.segment_id, Finding.start, Finding.id)
    )
    out = []
    for finding in rows:
        if agreement and not coaches_differ(finding):
            continue
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


BULK_FILTERS = (
    "criterion",
    "category",
    "severity",
    "confidence",
    "status",
    "assigned",
    "agreement",
)
ASSIGNED_FILTERS = ("me", "nobody")


def bulk_selection(
    version: DocumentVersion,
    *,
    ids: list[int] | None = None,
    all_matching: bool = False,
    filters: dict | None = None,
    actor: User | None = None,
) -> list[Finding]:
    """The findings a bulk decision applies to: chosen ids, or all matching the filters."""
    filters = filters or {}
    if all_matching:
        return matching_findings(
            version,
            **{k: filters.get(k) or None for k in BULK_FILTERS},
            actor=actor,
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
    comment = long_text(comment, "The comment")
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
        _keep_own(actor, findings)
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
