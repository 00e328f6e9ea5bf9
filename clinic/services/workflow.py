"""The feedback workflow: clinic status, comments, pedagogy, sessions, action items, self-check."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

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
    InternalNote,
    PedagogyScore,
    Role,
    User,
    utcnow,
)
from clinic.services import ServiceError, notifications
from clinic.services.text import long_text, one_line


class TransitionError(ServiceError):
    """A status change the workflow refuses (409 in the API), with the counts behind it.

    `code` names the refusal, `counts` the numbers the message gives, `needs` what the
    request must add to go through (`confirm`, `override_reason`).
    """

    code = "illegal_transition"

    def __init__(
        self, message: str, *, counts: dict | None = None, needs: list[str] = ()
    ):
        super().__init__(message)
        self.counts = counts or {}
        self.needs = list(needs)


class ConfirmationRequired(TransitionError):
    """Sharing with open findings, or closing with open action items: say so first."""

    code = "confirmation_required"


class QualityGate(TransitionError):
    """Open high-severity findings: sharing needs a coach's override with a reason."""

    code = "quality_gate"


class NotPermitted(ServiceError):
    """The workflow step exists, but not for this person."""


# (from, to) -> the roles that may make the step (directors of the course, assigned coaches).
# Admins act for anyone; for "action plan agreed" that is recorded as on the directors' behalf.
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
        {Role.DIRECTOR, Role.ADMIN}
    ),
    (ClinicStatus.PLAN_AGREED, ClinicStatus.CLOSED): frozenset(
        {Role.COACH, Role.ADMIN}
    ),
}
ORDER = list(ClinicStatus)

# Called after feedback is shared and committed: hook(actor, clinic, override_reason).
# Other areas (notifications) register here; a failing hook is logged, never undoes the share.
FEEDBACK_SHARED_HOOKS: list = [notifications.feedback_shared_hook]


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


def previous_status(clinic: Clinic) -> ClinicStatus | None:
    index = ORDER.index(clinic.status)
    return ORDER[index - 1] if index > 0 else None


def _step_roles(src: ClinicStatus, to: ClinicStatus) -> frozenset[Role] | None:
    """Who may make the step: a forward step per TRANSITIONS; a step back one state is
    for whoever takes that step forward (a shared feedback is withdrawn by a coach, an
    agreement by a director), and admins."""
    if (src, to) in TRANSITIONS:
        return TRANSITIONS[(src, to)]
    return TRANSITIONS.get((to, src))


def next_steps(user: User, clinic: Clinic) -> list[ClinicStatus]:
    """The statuses this user may move the clinic forward to now."""
    return [
        to
        for (src, to), roles in TRANSITIONS.items()
        if src == clinic.status and user.role in roles and _member(user, clinic)
    ]


def back_step(user: User, clinic: Clinic) -> ClinicStatus | None:
    """The status this user may step the clinic back to (with a reason), if any."""
    back = previous_status(clinic)
    if back is None:
        return None
    roles = _step_roles(clinic.status, back)
    return back if roles and user.role in roles and _member(user, clinic) else None


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def open_findings(clinic: Clinic) -> dict[str, int]:
    """Open findings of the latest version of each of the clinic's documents, by severity,
    and how many of those versions are still being analysed."""
    from clinic.models import DocumentVersion, VersionStatus

    latest = (
        sa.select(
            DocumentVersion.document_id, sa.func.max(DocumentVersion.number).label("n")
        )
        .join(Document, DocumentVersion.document_id == Document.id)
        .where(Document.clinic_id == clinic.id)
        .group_by(DocumentVersion.document_id)
        .subquery()
    )
    is_latest = sa.and_(
        DocumentVersion.document_id == latest.c.document_id,
        DocumentVersion.number == latest.c.n,
    )
    rows = db.session.execute(
        sa.select(Finding.severity, sa.func.count(Finding.id))
        .join(DocumentVersion, Finding.version_id == DocumentVersion.id)
        .join(latest, is_latest)
        .where(Finding.status == FindingStatus.OPEN)
        .group_by(Finding.severity)
    ).all()
    by_severity = {severity: n for severity, n in rows}
    analysing = db.session.scalar(
        sa.select(sa.func.count(DocumentVersion.id))
        .join(latest, is_latest)
        .where(
            DocumentVersion.status.notin_([VersionStatus.DONE, VersionStatus.FAILED])
        )
    )
    counts = {s: by_severity.get(s, 0) for s in ("high", "medium", "low")}
    counts["open"] = sum(by_severity.values())
    counts["analysing"] = analysing or 0
    return counts


def open_action_items(clinic: Clinic) -> dict[str, int]:
    items = [
        i
        for i in clinic.action_items
        if i.status in (ActionStatus.OPEN, ActionStatus.IN_PROGRESS)
    ]
    return {
        "open_action_items": len(items),
        "not_started": sum(i.status == ActionStatus.OPEN for i in items),
        "in_progress": sum(i.status == ActionStatus.IN_PROGRESS for i in items),
        "overdue": sum(i.overdue for i in items),
    }


def _findings_text(counts: dict[str, int]) -> str:
    text = (
        f"{_plural(counts['open'], 'finding')} "
        f"{'is' if counts['open'] == 1 else 'are'} still open "
        f"({counts['high']} high, {counts['medium']} medium, {counts['low']} low severity)"
    )
    if counts["analysing"]:
        text += (
            f" and {_plural(counts['analysing'], 'document')} "
            f"{'is' if counts['analysing'] == 1 else 'are'} still being analysed"
        )
    return text


def _items_text(counts: dict[str, int]) -> str:
    n = counts["open_action_items"]
    text = (
        f"{_plural(n, 'action item')} {'is' if n == 1 else 'are'} still open "
        f"({counts['not_started']} not started, {counts['in_progress']} in progress"
    )
    if counts["overdue"]:
        text += f"; {counts['overdue']} overdue"
    return text + ")"


@dataclass
class Check:
    """What a status change needs before it can go through, for pages and the API."""

    to: ClinicStatus
    back: bool = False
    counts: dict = field(default_factory=dict)
    needs_confirm: bool = False
    needs_override: bool = False
    message: str = ""

    @property
    def needs_reason(self) -> bool:
        return self.back

    @property
    def free(self) -> bool:
        """No confirmation, override or reason needed: one click does it."""
        return not (self.needs_confirm or self.needs_override or self.back)


def _target(to: ClinicStatus | str) -> ClinicStatus:
    try:
        return ClinicStatus(to)
    except ValueError:
        names = ", ".join(s.value for s in ClinicStatus)
        raise ServiceError(
            f"Unknown status {to!r}: it must be one of {names}."
        ) from None


def check_transition(actor: User, clinic: Clinic, to: ClinicStatus | str) -> Check:
    """Whether `actor` may move `clinic` to `to`, and what the guards ask for first.

    Raises for an unknown status (ServiceError), a step the workflow does not have
    (TransitionError) or a step that is not the actor's (NotPermitted).
    """
    target = _target(to)
    back = target == previous_status(clinic)
    roles = _step_roles(clinic.status, target)
    if roles is None or not (back or (clinic.status, target) in TRANSITIONS):
        hint = ""
        previous = previous_status(clinic)
        if previous is not None:
            hint = (
                f" It can step back one state, to {previous.label.lower()}, "
                "with a reason."
            )
        raise TransitionError(
            f"A clinic cannot go from {clinic.status.label.lower()} to "
            f"{target.label.lower()}.{hint}"
        )
    if actor.role not in roles or not _member(actor, clinic):
        if target == ClinicStatus.PLAN_AGREED and not back:
            raise NotPermitted(
                "Only a director of the course marks the action plan agreed "
                "(an admin may do it on their behalf)."
            )
        verb = "Stepping a clinic back" if back else "Moving a clinic"
        raise NotPermitted(f"{verb} to {target.label.lower()} is not for your role.")
    check = Check(to=target, back=back)
    if back:
        check.message = (
            f"Stepping the clinic back from {clinic.status.label.lower()} to "
            f"{target.label.lower()} needs a reason; it is recorded."
        )
        if clinic.status == ClinicStatus.FEEDBACK_SHARED:
            check.message += (
                " Directors no longer see the decisions and comments until "
                "feedback is shared again."
            )
    elif target == ClinicStatus.FEEDBACK_SHARED:
        counts = open_findings(clinic)
        check.counts = counts
        if counts["high"]:
            check.needs_override = True
            check.message = (
                f"Feedback cannot be shared yet: {_findings_text(counts)}. "
                f"Decide the {_plural(counts['high'], 'high-severity finding')}, "
                "or override this quality gate with a reason (it is recorded)."
            )
        elif counts["open"] or counts["analysing"]:
            check.needs_confirm = True
            check.message = (
                f"{_findings_text(counts)}. The directors will see them as open. "
                "Share the feedback anyway?"
            )
    elif target == ClinicStatus.CLOSED:
        counts = open_action_items(clinic)
        check.counts = counts
        if counts["open_action_items"]:
            check.needs_confirm = True
            check.message = f"{_items_text(counts)}. Close the clinic anyway?"
    return check


def transition(
    actor: User,
    clinic: Clinic,
    to: ClinicStatus | str,
    *,
    confirm: bool = False,
    reason: str | None = None,
    override_reason: str | None = None,
) -> Clinic:
    """Move the clinic one step forward, or back one step with a `reason`.

    Sharing feedback goes through `share_feedback`; the guards of `check_transition`
    refuse (TransitionError subclasses, 409) until `confirm` / `override_reason` is given.
    """
    check = check_transition(actor, clinic, to)
    if check.back:
        return step_back(actor, clinic, reason)
    if check.to == ClinicStatus.FEEDBACK_SHARED:
        return share_feedback(
            actor, clinic, confirm=confirm, override_reason=override_reason
        )
    if check.needs_confirm and not confirm:
        raise ConfirmationRequired(
            check.message, counts=check.counts, needs=["confirm"]
        )
    after: dict = {"status": check.to.value}
    if check.counts:
        after["open_when_moved"] = check.counts
    if check.to == ClinicStatus.PLAN_AGREED:
        on_behalf = actor not in clinic.course.directors
        clinic.plan_agreed_by_id = actor.id
        clinic.plan_agreed_at = utcnow()
        clinic.plan_agreed_on_behalf = on_behalf
        if on_behalf:
            after["on_behalf_of"] = [d.email for d in clinic.course.directors]
            note = _text(reason, "The note", required=False)
            if note:
                after["note"] = note
    _move(actor, clinic, check.to, after)
    db.session.commit()
    return clinic


def _move(actor: User, clinic: Clinic, target: ClinicStatus, after: dict) -> None:
    before = {"status": clinic.status.value}
    clinic.status = target
    audit.record(actor, "clinic.transition", clinic, before=before, after=after)


def share_feedback(
    actor: User,
    clinic: Clinic,
    *,
    confirm: bool = False,
    override_reason: str | None = None,
) -> Clinic:
    """In review -> feedback shared: the one place feedback is shared.

    Open findings need `confirm`; open high-severity findings need `override_reason`
    (a coach's or an admin's, audited as `clinic.gate_override`). After the commit,
    every hook in FEEDBACK_SHARED_HOOKS is called.
    """
    check = check_transition(actor, clinic, ClinicStatus.FEEDBACK_SHARED)
    if check.back or check.to != ClinicStatus.FEEDBACK_SHARED:
        raise TransitionError("Feedback is shared from in review only.")
    override = _text(override_reason, "The override reason", required=False)
    if check.needs_override and not override:
        raise QualityGate(check.message, counts=check.counts, needs=["override_reason"])
    if check.needs_confirm and not (confirm or override):
        raise ConfirmationRequired(
            check.message, counts=check.counts, needs=["confirm"]
        )
    after: dict = {"status": ClinicStatus.FEEDBACK_SHARED.value}
    if check.counts.get("open") or check.counts.get("analysing"):
        after["open_when_moved"] = check.counts
    if check.needs_override:
        after["gate_override"] = override
        audit.record(
            actor,
            "clinic.gate_override",
            clinic,
            after={"reason": override, "counts": check.counts},
        )
    _move(actor, clinic, ClinicStatus.FEEDBACK_SHARED, after)
    db.session.commit()
    for hook in FEEDBACK_SHARED_HOOKS:
        try:
            hook(actor, clinic, override if check.needs_override else None)
        except Exception:  # a hook's failure must not undo or hide the share
            import logging

            logging.getLogger(__name__).exception(
                "feedback-shared hook %r failed", hook
            )
    return clinic


def step_back(actor: User, clinic: Clinic, reason: str | None) -> Clinic:
    """Back one state, with a reason (audited as `clinic.step_back`)."""
    previous = previous_status(clinic)
    if previous is None:
        raise TransitionError("A draft has no earlier state to step back to.")
    check = check_transition(actor, clinic, previous)
    why = _text(
        reason,
        f"The reason for stepping back to {check.to.label.lower()}",
    )
    before = {"status": clinic.status.value}
    if clinic.status == ClinicStatus.PLAN_AGREED:
        before["plan_agreed_by"] = (
            clinic.plan_agreed_by.email if clinic.plan_agreed_by else None
        )
        clinic.plan_agreed_by_id = None
        clinic.plan_agreed_at = None
        clinic.plan_agreed_on_behalf = False
    clinic.status = check.to
    audit.record(
        actor,
        "clinic.step_back",
        clinic,
        before=before,
        after={"status": check.to.value, "reason": why},
    )
    db.session.commit()
    return clinic


def status_history(clinic: Clinic, with_overrides: bool) -> list[AuditEvent]:
    """The clinic's status changes, newest first (gate overrides for coaches only)."""
    actions = ["clinic.transition", "clinic.step_back"]
    if with_overrides:
        actions.append("clinic.gate_override")
    return list(
        db.session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.clinic_id == clinic.id, AuditEvent.action.in_(actions))
            .order_by(AuditEvent.id.desc())
        )
    )


def decisions_visible(user: User, clinic: Clinic | None) -> bool:
    """Directors see coach decisions only once feedback is shared."""
    if clinic is None or user.role != Role.DIRECTOR:
        return True
    return at_least(clinic, ClinicStatus.FEEDBACK_SHARED)


def comments_visible(user: User, clinic: Clinic | None) -> bool:
    """Coach comments are private to coaches (and admins) until feedback is shared."""
    from clinic.policy import allowed

    return allowed(user, "clinic.comments", clinic)


def _text(value: str | None, what: str, required: bool = True) -> str | None:
    return long_text(value, what, required=required)


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
    created = notifications.for_reply(actor, comment)
    db.session.commit()
    notifications.dispatch(created)
    return comment


def add_note(
    actor: User, clinic: Clinic, body: str, finding: Finding | None = None
) -> InternalNote:
    """A coach's internal note on the clinic, or on one of its findings."""
    if finding is not None and finding.version.document.clinic_id != clinic.id:
        raise ServiceError("The finding is not part of this clinic.")
    note = InternalNote(
        clinic_id=clinic.id,
        finding_id=finding.id if finding else None,
        author_id=actor.id,
        body=_text(body, "An internal note"),
    )
    db.session.add(note)
    db.session.flush()
    audit.record(
        actor,
        "note.add",
        note,
        after={"finding": note.finding_id, "body": note.body[:200]},
    )
    db.session.commit()
    return note


def notes_of(
    clinic: Clinic, finding_ids: list[int] | None = None
) -> list[InternalNote]:
    """The clinic's internal notes, oldest first: clinic-wide ones when `finding_ids` is
    None, else those on these findings."""
    query = (
        sa.select(InternalNote)
        .where(InternalNote.clinic_id == clinic.id)
        .options(joinedload(InternalNote.author))
        .order_by(InternalNote.id)
    )
    if finding_ids is None:
        query = query.where(InternalNote.finding_id.is_(None))
    else:
        query = query.where(InternalNote.finding_id.in_(finding_ids))
    return list(db.session.scalars(query))


def all_notes(clinic: Clinic) -> list[InternalNote]:
    return list(
        db.session.scalars(
            sa.select(InternalNote)
            .where(InternalNote.clinic_id == clinic.id)
            .order_by(InternalNote.id)
        )
    )


def mark_revised(actor: User, finding: Finding, revised: bool = True) -> Finding:
    finding.revised_at, finding.revised_by_id = (
        (utcnow(), actor.id) if revised else (None, None)
    )
    audit.record(actor, "finding.revised" if revised else "finding.unrevised", finding)
    db.session.commit()
    return finding


def _check_score(criterion_id: str, score: int | None) -> None:
    from clinic.rubric_cache import app_rubric

    if criterion_id not in app_rubric().manual_criteria:
        raise ServiceError(f"{criterion_id} is not a pedagogy criterion of the rubric.")
    if score is not None and score not in (0, 1, 2, 3):
        raise ServiceError("A score is 0, 1, 2 or 3 (or N/A).")


def _save_score(
    actor: User,
    clinic: Clinic,
    criterion_id: str,
    score: int | None,
    notes: str | None,
    evidence: str | None,
    *,
    only_if_changed: bool = False,
) -> PedagogyScore | None:
    """Write one score (checked already) and audit it; no commit."""
    notes = _text(notes, "Notes", required=False)
    evidence = _text(evidence, "Evidence", required=False)
    row = db.session.scalar(
        sa.select(PedagogyScore).where(
            PedagogyScore.clinic_id == clinic.id,
            PedagogyScore.criterion_id == criterion_id,
        )
    )
    if (
        only_if_changed
        and row is not None
        and (row.score, row.notes, row.evidence) == (score, notes, evidence)
    ):
        return None
    before = {"score": row.score, "notes": row.notes} if row else None
    if row is None:
        row = PedagogyScore(clinic_id=clinic.id, criterion_id=criterion_id)
        db.session.add(row)
    row.score, row.notes, row.evidence, row.scored_by_id = (
        score,
        notes,
        evidence,
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
    return row


def score_pedagogy(
    actor: User,
    clinic: Clinic,
    criterion_id: str,
    score: int | None,
    notes: str | None,
    evidence: str | None,
) -> PedagogyScore:
    """Score a manual criterion 0-3, or None for N/A."""
    _check_score(criterion_id, score)
    row = _save_score(actor, clinic, criterion_id, score, notes, evidence)
    db.session.commit()
    return row


def score_pedagogy_all(
    actor: User,
    clinic: Clinic,
    entries: dict[str, tuple[int | None, str | None, str | None]],
) -> list[PedagogyScore]:
    """Save several criteria at once (criterion -> (score, notes, evidence)): all of
    them or, if any is invalid, none (ServiceError naming every problem). Unchanged
    scores are left as they are (no audit event). Returns the rows written."""
    problems = []
    for criterion_id, (score, notes, evidence) in entries.items():
        try:
            _check_score(criterion_id, score)
            _text(notes, "Notes", required=False)
            _text(evidence, "Evidence", required=False)
        except ServiceError as error:
            text = str(error)
            problems.append(
                text if text.startswith(criterion_id) else f"{criterion_id}: {text}"
            )
    if problems:
        raise ServiceError("; ".join(problems))
    written = [
        row
        for criterion_id, (score, notes, evidence) in entries.items()
        if (
            row := _save_score(
                actor,
                clinic,
                criterion_id,
                score,
                notes,
                evidence,
                only_if_changed=True,
            )
        )
        is not None
    ]
    db.session.commit()
    return written


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
        title=one_line(title, "The title"),
        description=_text(description, "The description", required=False),
        owner=_owner(clinic, owner),
        due_date=due_date,
        created_by_id=actor.id,
        findings=_clinic_findings(clinic, list(finding_ids)),
    )
    db.session.add(item)
    db.session.flush()
    audit.record(actor, "action_item.create", item, after=_snapshot(item))
    created = notifications.for_assigned(actor, item)
    db.session.commit()
    notifications.dispatch(created)
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
        item.title = one_line(title, "The title")
    if description is not None:
        item.description = _text(description, "The description", required=False)
    if due_date is not False:
        item.due_date = due_date
    created = []
    if owner is not False:
        previous_owner = item.owner_id
        item.owner = _owner(item.clinic, owner)
        if item.owner is not None and item.owner.id != previous_owner:
            created = notifications.for_assigned(actor, item)
    audit.record(
        actor, "action_item.update", item, before=before, after=_snapshot(item)
    )
    db.session.commit()
    notifications.dispatch(created)
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
                    "clinic.step_back",
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
    if user.role in (Role.DIRECTOR, Role.DEAN):
        clinics = list(
            db.session.scalars(sa.select(Clinic).where(Clinic.id.in_(clinic_ids)))
        )
        no_decisions = {c.id for c in clinics if not decisions_visible(user, c)}
        no_comments = {c.id for c in clinics if not comments_visible(user, c)}
        events = [
            e
            for e in events
            if not (e.clinic_id in no_decisions and e.action.startswith("finding."))
            and not (e.clinic_id in no_comments and e.action.startswith("comment."))
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
