"""Notifications: in-app entries and their email outbox (sent from the job queue).

A service that causes notifications creates them in its own transaction (`for_*`),
commits, then calls `dispatch` to queue the mail of those to be sent at once. The
queue's task calls `deliver`, which records each attempt (sent / failed, attempts).
"""

from __future__ import annotations

import datetime as dt
import logging

import sqlalchemy as sa
from flask import current_app, has_request_context, url_for

from clinic.extensions import db
from clinic.mail import MailError, send
from clinic.models import (
    ActionItem,
    ActionStatus,
    Clinic,
    Comment,
    Delivery,
    MailStatus,
    Notification,
    NotificationKind,
    NotificationPreference,
    User,
    utcnow,
)
from clinic.services import ServiceError

log = logging.getLogger(__name__)
APP_NAME = "Curriculum clinic"


# ----------------------------------------------------------------- preferences


def preferences(user: User) -> dict[NotificationKind, Delivery]:
    """The user's choice per kind (immediately unless they chose otherwise)."""
    chosen = {
        p.kind: p.delivery
        for p in db.session.scalars(
            sa.select(NotificationPreference).where(
                NotificationPreference.user_id == user.id
            )
        )
    }
    return {kind: chosen.get(kind, Delivery.IMMEDIATE) for kind in NotificationKind}


def set_preferences(user: User, choices: dict) -> dict[NotificationKind, Delivery]:
    """Save {kind: delivery} (values or enum members); unknown ones are a ServiceError."""
    try:
        parsed = {NotificationKind(k): Delivery(v) for k, v in choices.items()}
    except ValueError:
        raise ServiceError(
            "Choose immediate, digest or off for each kind of notification."
        ) from None
    for kind, delivery in parsed.items():
        row = db.session.get(NotificationPreference, (user.id, kind))
        if row is None:
            db.session.add(
                NotificationPreference(user_id=user.id, kind=kind, delivery=delivery)
            )
        else:
            row.delivery = delivery
    db.session.commit()
    return preferences(user)


# ----------------------------------------------------------------- creating


def _path(endpoint: str, anchor: str | None = None, **values) -> str:
    if has_request_context():
        return url_for(endpoint, _anchor=anchor, **values)
    with current_app.test_request_context():
        return url_for(endpoint, _anchor=anchor, **values)


def absolute(path: str) -> str:
    return current_app.config["BASE_URL"].rstrip("/") + path


def _clinic_name(clinic: Clinic) -> str:
    return f"{clinic.course.code} {clinic.course.title} ({clinic.academic_year})"


def _create(
    user: User,
    kind: NotificationKind,
    subject: str,
    body: str,
    link: str,
    clinic: Clinic | None,
    action_item: ActionItem | None = None,
) -> Notification | None:
    if not user.active:
        return None
    delivery = preferences(user)[kind]
    notification = Notification(
        user_id=user.id,
        kind=kind,
        clinic_id=clinic.id if clinic else None,
        action_item_id=action_item.id if action_item else None,
        subject=f"[{APP_NAME}] {subject}"[:255],
        body=body,
        link=link,
        mail_status={
            Delivery.IMMEDIATE: MailStatus.PENDING,
            Delivery.DIGEST: MailStatus.DIGEST,
            Delivery.OFF: MailStatus.NONE,
        }[delivery],
    )
    db.session.add(notification)
    return notification


def for_feedback_shared(actor: User, clinic: Clinic) -> list[Notification]:
    name = _clinic_name(clinic)
    link = _path("main.clinic", clinic_id=clinic.id)
    created = [
        _create(
            director,
            NotificationKind.FEEDBACK_SHARED,
            f"Feedback shared: {name}",
            f"{actor.name} shared the coaches' feedback on the clinic {name}.\n"
            "You can now read their decisions and comments and reply.",
            link,
            clinic,
        )
        for director in clinic.course.directors
        if director.id != actor.id
    ]
    return [n for n in created if n]


def _thread_root(comment: Comment, by_id: dict[int, Comment]) -> int:
    while comment.parent_id is not None and comment.parent_id in by_id:
        comment = by_id[comment.parent_id]
    return comment.id


def for_reply(actor: User, comment: Comment) -> list[Notification]:
    """Everyone else who wrote in the thread of a reply (who may still read it)."""
    from clinic.policy import allowed

    if comment.parent_id is None:
        return []
    finding = comment.finding
    by_id = {c.id: c for c in finding.comments}
    by_id[comment.id] = comment
    root = _thread_root(comment, by_id)
    people = {
        c.author
        for c in by_id.values()
        if c.author is not None and _thread_root(c, by_id) == root
    }
    document = finding.version.document
    clinic = document.clinic
    where = f"“{document.title}” in {_clinic_name(clinic)}"
    link = _path(
        "documents.review",
        anchor=f"finding-{finding.id}",
        version_id=finding.version_id,
    )
    created = [
        _create(
            person,
            NotificationKind.REPLY,
            f"Reply from {actor.name} on {document.title} ({clinic.course.code})",
            f"{actor.name} replied on the finding “{finding.title}” of {where}:\n\n"
            f"{comment.body[:1000]}",
            link,
            clinic,
        )
        for person in sorted(people, key=lambda u: u.id)
        if person.id != actor.id and allowed(person, "finding.comments", finding)
    ]
    return [n for n in created if n]


def _item_text(item: ActionItem) -> str:
    due = f"Due: {item.due_date.isoformat()}\n" if item.due_date else ""
    return f"“{item.title}” in the clinic {_clinic_name(item.clinic)}\n{due}"


def for_assigned(actor: User, item: ActionItem) -> list[Notification]:
    owner = item.owner
    if owner is None or owner.id == actor.id:
        return []
    notification = _create(
        owner,
        NotificationKind.ACTION_ASSIGNED,
        f"Action item for you: {item.title} ({item.clinic.course.code})",
        f"{actor.name} assigned you an action item:\n{_item_text(item)}",
        _path("main.clinic", anchor="action-items", clinic_id=item.clinic_id),
        item.clinic,
    )
    return [notification] if notification else []


def notify_overdue(today: dt.date | None = None) -> list[Notification]:
    """Notify the owner of each newly overdue action item, once per item."""
    today = today or dt.date.today()
    already = sa.select(Notification.action_item_id).where(
        Notification.kind == NotificationKind.ACTION_OVERDUE,
        Notification.action_item_id.is_not(None),
    )
    items = db.session.scalars(
        sa.select(ActionItem).where(
            ActionItem.due_date < today,
            ActionItem.status.in_([ActionStatus.OPEN, ActionStatus.IN_PROGRESS]),
            ActionItem.owner_id.is_not(None),
            ActionItem.id.not_in(already),
        )
    )
    created = []
    for item in items:
        notification = _create(
            item.owner,
            NotificationKind.ACTION_OVERDUE,
            f"Overdue: {item.title} ({item.clinic.course.code})",
            f"An action item of yours is overdue:\n{_item_text(item)}",
            _path("main.clinic", anchor="action-items", clinic_id=item.clinic_id),
            item.clinic,
            action_item=item,
        )
        if notification:
            created.append(notification)
    db.session.commit()
    dispatch(created)
    return created


def dispatch(created: list[Notification]) -> None:
    """After the commit: queue the mail of each notification to be sent at once."""
    from clinic.jobs import enqueue_notification

    for notification in created:
        if notification.mail_status == MailStatus.PENDING:
            enqueue_notification(notification.id)


def feedback_shared_hook(actor: User, clinic: Clinic, _override: str | None) -> None:
    created = for_feedback_shared(actor, clinic)
    db.session.commit()
    dispatch(created)


# ----------------------------------------------------------------- mail


def _footer() -> str:
    return (
        f"\n\n--\n{APP_NAME}. Choose what you get by email: "
        f"{absolute(_path('notifications.settings'))}\n"
    )


def mail_body(notification: Notification) -> str:
    return f"{notification.body}\n\nOpen it: {absolute(notification.link)}" + _footer()


def deliver(notification_id: int) -> bool:
    """Send one notification's mail (the queue's task); MailError after recording it."""
    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.mail_status not in (
        MailStatus.PENDING,
        MailStatus.FAILED,
    ):
        return False
    notification.attempts += 1
    try:
        send(notification.user.email, notification.subject, mail_body(notification))
    except MailError as error:
        notification.mail_status = MailStatus.FAILED
        notification.last_error = str(error)[:2000]
        db.session.commit()
        log.warning("notification %s: mail failed: %s", notification_id, error)
        raise
    notification.mail_status = MailStatus.SENT
    notification.sent_at = utcnow()
    notification.last_error = None
    db.session.commit()
    return True


def retry_failed() -> list[int]:
    """Queue again the mail of every failed notification; returns their ids."""
    from clinic.jobs import enqueue_notification

    ids = list(
        db.session.scalars(
            sa.select(Notification.id).where(
                Notification.mail_status == MailStatus.FAILED
            )
        )
    )
    for notification_id in ids:
        enqueue_notification(notification_id)
    return ids


def send_digests() -> int:
    """One mail per user with everything waiting for the digest; returns mails sent."""
    waiting = list(
        db.session.scalars(
            sa.select(Notification)
            .where(Notification.mail_status == MailStatus.DIGEST)
            .order_by(Notification.user_id, Notification.id)
        )
    )
    by_user: dict[int, list[Notification]] = {}
    for notification in waiting:
        by_user.setdefault(notification.user_id, []).append(notification)
    sent = 0
    for entries in by_user.values():
        user = entries[0].user
        body = "\n\n".join(
            f"* {n.subject.removeprefix(f'[{APP_NAME}] ')}\n{n.body}\n"
            f"Open it: {absolute(n.link)}"
            for n in entries
        )
        subject = f"[{APP_NAME}] Your daily digest: {len(entries)} notifications"
        try:
            send(user.email, subject, body + _footer())
        except MailError as error:
            for n in entries:
                n.attempts += 1
                n.last_error = str(error)[:2000]
            db.session.commit()
            log.warning("digest for %s failed: %s", user.email, error)
            continue
        for n in entries:
            n.attempts += 1
            n.mail_status = MailStatus.SENT
            n.sent_at = utcnow()
        db.session.commit()
        sent += 1
    return sent


# ----------------------------------------------------------------- in-app list


def of_user(user: User, limit: int = 100) -> list[Notification]:
    return list(
        db.session.scalars(
            sa.select(Notification)
            .where(Notification.user_id == user.id)
            .order_by(Notification.id.desc())
            .limit(limit)
        )
    )


def unread_count(user: User) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(Notification.id)).where(
            Notification.user_id == user.id, Notification.read_at.is_(None)
        )
    )


def mark_read(user: User, notification: Notification) -> Notification:
    if notification.user_id != user.id:
        raise ServiceError("That notification is someone else's.")
    if notification.read_at is None:
        notification.read_at = utcnow()
        db.session.commit()
    return notification


def mark_all_read(user: User) -> int:
    result = db.session.execute(
        sa.update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    db.session.commit()
    return result.rowcount
