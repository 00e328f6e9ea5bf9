"""The feedback workflow: clinic status, comments, pedagogy, sessions, action items, self-check."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from clinic import audit
from clinic.extensions import db
from clinic.models import (
    ActionItem,
    ActionStatus,
    AuditEvent,
    Clinic,
    ClinicStatus,
    CoachingSession,
    Comment,
    Document,
    Finding,
    FindingStatus,
    PedagogyScore,
    Role,
    User,
    utcnow,
)
from clinic.services import ServiceError

MAX_TEXT = 10_000


class TransitionError(ServiceError):
    """A status change the workflow does not allow from the clinic's current status."""


class NotPermitted(ServiceError):
    """The workflow step exists, but not for this person."""


# (from, to) -> the roles that may make the step (directors of the course, assigned coaches).
TRANSITIONS: dict[tuple[ClinicStatus, ClinicStatus], frozenset[Role]] = {
    (ClinicStatus.DRAFT, ClinicStatus.SUBMITTED): frozenset(
        {Role.DIRECTOR, Role.ADMIN}
    ),
    (ClinicStatus.SUBMITTED, ClinicStatus.IN_REVIEW): frozenset(
        {Role.COACH, Role.ADMIN}
    ),
    (ClinicStatus.IN_REVIEW, ClinicStatus.FEEDBACK_SHARED): frozenset(
        {Role.COACH, Role.ADMIN}
    ),
    (ClinicStatus.FEEDBACK_SHARED, ClinicStatus.PLAN_AGREED): frozenset(
        {Role.DIRECTOR, Role.COACH, Role.ADMIN}
    ),
    (ClinicStatus.PLAN_AGREED, ClinicStatus.CLOSED): frozenset(
        {Role.COACH, Role.ADMIN}
    ),
}
ORDER = list(ClinicStatus)


def at_least(clinic: Clinic, status: ClinicStatus) -> bool:
    return ORDER.index(clinic.status) >= ORDER.index(status)


def _member(user: User, clinic: Clinic) -> bool:
    if user.role == Role.ADMIN:
        return True
    if user.role == Role.DIRECTOR:
        return user in clinic.course.directors
    if user.role == Role.COACH:
        return user in clinic.coaches
    return False


def next_steps(user: User, clinic: Clinic) -> list[ClinicStatus]:
    """The statuses this user may move the clinic to now."""
    return [
        to
        for (src, to), roles in TRANSITIONS.items()
        if src == clinic.status and user.role in roles and _member(user, clinic)
    ]


def transition(actor: User, clinic: Clinic, to: ClinicStatus | str) -> Clinic:
    try:
        target = ClinicStatus(to)
    except ValueError:
        raise ServiceError(f"Unknown status {to!r}.") from None
    roles = TRANSITIONS.get((clinic.status, target))
    if roles is None:
        raise TransitionError(
            f"A clinic cannot go from {clinic.status.label.lower()} to {target.label.lower()}."
        )
    if actor.role not in roles or not _member(actor, clinic):
        raise NotPermitted(
            f"Moving a clinic to {target.label.lower()} is not for your role."
        )
    before = {"status": clinic.status.value}
    clinic.status = target
    audit.record(
        actor,
        "clinic.transition",
        clinic,
        before=before,
        after={"status": target.value},
    )
    db.session.commit()
    return clinic


def decisions_visible(user: User, clinic: Clinic | None) -> bool:
    """Directors see coach decisions only once feedback is shared."""
    if clinic is None or user.role != Role.DIRECTOR:
        return True
    return at_least(clinic, ClinicStatus.FEEDBACK_SHARED)


def _text(value: str | None, what: str, required: bool = True) -> str | None:
    value = (value or "").strip()
    if required and not value:
        raise ServiceError(f"{what} cannot be empty.")
    if len(value) > MAX_TEXT:
        raise ServiceError(f"{what} is too long (at most {MAX_TEXT} characters).")
    return value or None


def add_comment(
    actor: User, finding: Finding, body: str, parent: Comment | None = None
) -> Comment:
    if parent is not None and parent.finding_id != finding.id:
        raise ServiceError("A reply must be on the same finding.")
    comment = Comment(
        finding=finding,
        parent_id=parent.id if parent else None,
        author=actor,
        body=_text(body, "A comment"),
    )
    db.session.add(comment)
    db.session.flush()
    audit.record(
        actor,
        "comment.add",
        comment,
        after={"finding": finding.id, "body": comment.body[:200]},
    )
    db.session.commit()
    return comment


def mark_revised(actor: User, finding: Finding, revised: bool = True) -> Finding:
    finding.revised_at, finding.revised_by_id = (
        (utcnow(), actor.id) if revised else (None, None)
    )
    audit.record(actor, "finding.revised" if revised else "finding.unrevised", finding)
    db.session.commit()
    return finding


def score_pedagogy(
    actor: User,
    clinic: Clinic,
    criterion_id: str,
    score: int | None,
    notes: str | None,
    evidence: str | None,
) -> PedagogyScore:
    """Score a manual criterion 0-3, or None for N/A."""
    from clinic.rubric_cache import app_rubric

    if criterion_id not in app_rubric().manual_criteria:
        raise ServiceError(f"{criterion_id} is not a pedagogy criterion of the rubric.")
    if score is not None and score not in (0, 1, 2, 3):
        raise ServiceError("A score is 0, 1, 2 or 3 (or N/A).")
    row = db.session.scalar(
        sa.select(PedagogyScore).where(
            PedagogyScore.clinic_id == clinic.id,
            PedagogyScore.criterion_id == criterion_id,
        )
    )
    before = {"score": row.score, "notes": row.notes} if row else None
    if row is None:
        row = PedagogyScore(clinic_id=clinic.id, criterion_id=criterion_id)
        db.session.add(row)
    row.score, row.notes, row.evidence, row.scored_by_id = (
        score,
        _text(notes, "Notes", required=False),
        _text(evidence, "Evidence", required=False),
        actor.id,
    )
    db.session.flush()
    audit.record(
        actor,
        "pedagogy.score",
        row,
        before=before,
        after={"criterion": criterion_id, "score": score, "notes": row.notes},
    )
    db.session.commit()
    return row


def _clinic_findings(clinic: Clinic, ids: list[int]) -> list[Finding]:
    if not ids:
        return []
    from clinic.models import Document, DocumentVersion

    found = list(
        db.session.scalars(
            sa.select(Finding)
            .join(DocumentVersion, Finding.version_id == DocumentVersion.id)
            .join(Document)
            .where(Finding.id.in_(ids), Document.clinic_id == clinic.id)
        )
    )
    if len(found) != len(set(ids)):
        raise ServiceError("Some of the linked findings are not in this clinic.")
    return found


def add_session(
    actor: User,
    clinic: Clinic,
    held_on: dt.date,
    attendees: str,
    notes: str | None,
    finding_ids: list[int] = (),
) -> CoachingSession:
    session = CoachingSession(
        clinic_id=clinic.id,
        held_on=held_on,
        attendees=_text(attendees, "Attendees"),
        notes=_text(notes, "Notes", required=False),
        created_by_id=actor.id,
        findings=_clinic_findings(clinic, list(finding_ids)),
    )
    db.session.add(session)
    db.session.flush()
    audit.record(
        actor,
        "session.add",
        session,
        after={"held_on": held_on.isoformat(), "attendees": session.attendees},
    )
    db.session.commit()
    return session


def _owner(clinic: Clinic, owner: User | None) -> User | None:
    if owner is not None and owner not in clinic.course.directors:
        raise ServiceError(
            "The owner of an action item must be a director of the course."
        )
    return owner


ACTION_FIELDS = ("title", "status", "due_date", "drop_reason")


def _snapshot(item: ActionItem) -> dict:
    out = audit.snapshot(item, ACTION_FIELDS)
    out["due_date"] = item.due_date.isoformat() if item.due_date else None
    out["owner"] = item.owner.email if item.owner else None
    return out


def create_action_item(
    actor: User,
    clinic: Clinic,
    *,
    title: str,
    description: str | None = None,
    owner: User | None = None,
    due_date: dt.date | None = None,
    finding_ids: list[int] = (),
) -> ActionItem:
    item = ActionItem(
        clinic_id=clinic.id,
        title=_text(title, "A title")[:255],
        description=_text(description, "The description", required=False),
        owner=_owner(clinic, owner),
        due_date=due_date,
        created_by_id=actor.id,
        findings=_clinic_findings(clinic, list(finding_ids)),
    )
    db.session.add(item)
    db.session.flush()
    audit.record(actor, "action_item.create", item, after=_snapshot(item))
    db.session.commit()
    return item


def update_action_item(
    actor: User,
    item: ActionItem,
    *,
    status: ActionStatus | str | None = None,
    drop_reason: str | None = None,
    title: str | None = None,
    description: str | None = None,
    due_date: dt.date | None | bool = False,
    owner: User | None | bool = False,
) -> ActionItem:
    """Change an action item; `False` for due_date/owner means "leave as is"."""
    before = _snapshot(item)
    if status is not None:
        try:
            new = ActionStatus(status)
        except ValueError:
            raise ServiceError(
                "Status must be open, in progress, done or dropped."
            ) from None
        if new == ActionStatus.DROPPED:
            item.drop_reason = _text(drop_reason, "The reason for dropping it")
        elif drop_reason is None:
            item.drop_reason = None
        item.status = new
    if title is not None:
        item.title = _text(title, "A title")[:255]
    if description is not None:
        item.description = _text(description, "The description", required=False)
    if due_date is not False:
        item.due_date = due_date
    if owner is not False:
        item.owner = _owner(item.clinic, owner)
    audit.record(
        actor, "action_item.update", item, before=before, after=_snapshot(item)
    )
    db.session.commit()
    return item


def attach_self_check(actor: User, document: Document, clinic: Clinic) -> Document:
    """Share a director's private self-check document with one of their clinics."""
    if document.clinic_id is not None:
        raise ServiceError("This document is already part of a clinic.")
    if actor not in clinic.course.directors:
        raise NotPermitted("You can add drafts only to clinics of courses you direct.")
    document.clinic_id = clinic.id
    audit.record(actor, "document.share", document, after={"clinic": clinic.id})
    db.session.commit()
    return document


def recommendation_for(finding: Finding) -> str:
    from clinic.rubric_cache import app_rubric

    criterion = app_rubric().criteria.get(finding.criterion_id)
    return criterion.recommendation if criterion else ""


# --------------------------------------------------------------------------- home page feed


def changes_since(
    user: User, since: dt.datetime | None, clinic_ids: list[int], limit: int = 30
) -> list[AuditEvent]:
    """Events in the user's clinics since they last looked, by other people."""
    if not clinic_ids:
        return []
    query = (
        sa.select(AuditEvent)
        .where(
            AuditEvent.clinic_id.in_(clinic_ids),
            sa.or_(AuditEvent.actor_id.is_(None), AuditEvent.actor_id != user.id),
            AuditEvent.action.in_(
                [
                    "comment.add",
                    "finding.confirm",
                    "finding.dismiss",
                    "finding.severity",
                    "finding.revised",
                    "clinic.transition",
                    "version.upload",
                    "version.analysed",
                    "version.failed",
                    "action_item.create",
                    "action_item.update",
                    "session.add",
                    "document.share",
                ]
            ),
        )
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    )
    if since is not None:
        query = query.where(AuditEvent.at > since)
    events = list(db.session.scalars(query))
    if user.role == Role.DIRECTOR:
        hidden = {
            c.id
            for c in db.session.scalars(
                sa.select(Clinic).where(Clinic.id.in_(clinic_ids))
            )
            if not decisions_visible(user, c)
        }
        events = [
            e
            for e in events
            if not (e.clinic_id in hidden and e.action.startswith("finding."))
        ]
    return events


def open_items(user: User, clinic_ids: list[int]) -> list[ActionItem]:
    """Open action items: a director's own, or all in a coach's clinics; overdue first."""
    query = sa.select(ActionItem).where(
        ActionItem.status.in_([ActionStatus.OPEN, ActionStatus.IN_PROGRESS]),
        ActionItem.clinic_id.in_(clinic_ids),
    )
    if user.role == Role.DIRECTOR:
        query = query.where(ActionItem.owner_id == user.id)
    items = list(db.session.scalars(query))
    return sorted(items, key=lambda i: (not i.overdue, i.due_date or dt.date.max))


def touch_home(user: User) -> dt.datetime | None:
    previous = user.home_seen_at
    user.home_seen_at = utcnow()
    db.session.commit()
    return previous


def confirmed_findings(clinic: Clinic) -> list[Finding]:
    """Confirmed findings of the latest version of each document in the clinic."""
    out = []
    for document in clinic.documents:
        latest = document.latest
        if latest is not None:
            out.extend(
                f for f in latest.findings if f.status == FindingStatus.CONFIRMED
            )
    return out
