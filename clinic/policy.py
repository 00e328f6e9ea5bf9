"""Authorization in one place: who may do what to which object.

Every view is wrapped in `guard(action, **loaders)`. The guard loads the objects
named in the URL (404 when missing), asks `allowed(user, action, obj)` and answers
403 when the answer is no. `check_all_routes_guarded` makes the app refuse to start
if any endpoint has no policy decision.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Flask, abort
from flask_login import current_user

from clinic.extensions import db
from clinic.models import Clinic, ClinicStatus, Course, Document, Role, User

Rule = Callable[[Any, Any], bool]
MAX_ID = 2**31


def _authenticated(user, _obj) -> bool:
    return bool(user and user.is_authenticated)


def _is(*roles: Role) -> Rule:
    def rule(user, _obj) -> bool:
        return _authenticated(user, None) and user.role in roles

    return rule


def _can_view_course(user, course: Course) -> bool:
    if not _authenticated(user, None):
        return False
    if user.role in (Role.ADMIN, Role.DEAN):
        return True
    if user.role == Role.DIRECTOR:
        return user in course.directors
    if user.role == Role.COACH:
        return any(user in clinic.coaches for clinic in course.clinics)
    return False


def _can_view_clinic(user, clinic: Clinic) -> bool:
    if not _authenticated(user, None):
        return False
    if user.role in (Role.ADMIN, Role.DEAN):
        return True
    if user.role == Role.DIRECTOR:
        return user in clinic.course.directors
    if user.role == Role.COACH:
        return user in clinic.coaches
    return False


def _can_upload_to_clinic(user, clinic: Clinic) -> bool:
    if not _authenticated(user, None):
        return False
    if user.role == Role.ADMIN:
        return True
    if user.role == Role.DIRECTOR:
        return user in clinic.course.directors
    if user.role == Role.COACH:
        return user in clinic.coaches
    return False


def _can_review_clinic(user, clinic: Clinic | None) -> bool:
    if clinic is None or not _authenticated(user, None):
        return False
    return user.role == Role.ADMIN or (
        user.role == Role.COACH and user in clinic.coaches
    )


def _is_lead_coach(user, clinic: Clinic | None) -> bool:
    """The clinic's lead coach (or an admin) settles where its coaches differ."""
    if clinic is None or not _authenticated(user, None):
        return False
    return user.role == Role.ADMIN or (
        user.role == Role.COACH
        and clinic.lead is not None
        and clinic.lead.id == user.id
    )


def _document_rule(clinic_rule: Rule) -> Rule:
    def rule(user, document: Document) -> bool:
        if document.clinic is None:  # a private self-check: its owner only
            return _authenticated(user, None) and document.owner_id == user.id
        return clinic_rule(user, document.clinic)

    return rule


def _via_version(document_rule: Rule) -> Rule:
    return lambda user, version: document_rule(user, version.document)


def _via_finding(version_rule: Rule) -> Rule:
    return lambda user, finding: version_rule(user, finding.version)


def _feedback_shared(clinic: Clinic) -> bool:
    order = list(ClinicStatus)
    return order.index(clinic.status) >= order.index(ClinicStatus.FEEDBACK_SHARED)


def _can_discuss_clinic(user, clinic: Clinic | None) -> bool:
    """Coaches always; the course's directors once feedback is shared."""
    if clinic is None:
        return False
    if _can_review_clinic(user, clinic):
        return True
    return (
        _authenticated(user, None)
        and user.role == Role.DIRECTOR
        and user in clinic.course.directors
        and _feedback_shared(clinic)
    )


def _can_read_comments(user, clinic: Clinic | None) -> bool:
    """Coach comments are private to the clinic's coaches (and admins) until feedback
    is shared; then the course's directors and the deans read them too."""
    if clinic is None:
        return False
    if _can_review_clinic(user, clinic):
        return True
    return (
        _can_view_clinic(user, clinic)
        and user.role in (Role.DIRECTOR, Role.DEAN)
        and _feedback_shared(clinic)
    )


def _is_course_director(user, clinic: Clinic | None) -> bool:
    return (
        clinic is not None
        and _authenticated(user, None)
        and user.role == Role.DIRECTOR
        and user in clinic.course.directors
    )


def _can_update_action(user, item) -> bool:
    if _can_review_clinic(user, item.clinic):
        return True
    return _is_course_director(user, item.clinic) and item.owner_id == user.id


def _finding_clinic(finding) -> Clinic | None:
    return finding.version.document.clinic


RULES: dict[str, Rule] = {
    "public": lambda _user, _obj: True,
    "authenticated": _authenticated,
    "admin": _is(Role.ADMIN),
    "course.view": _can_view_course,
    "clinic.view": _can_view_clinic,
    "clinic.upload": _can_upload_to_clinic,
    "clinic.review": _can_review_clinic,
    "document.view": _document_rule(_can_view_clinic),
    "document.upload": _document_rule(_can_upload_to_clinic),
    "document.annotate": _document_rule(_can_review_clinic),
    "version.view": _via_version(_document_rule(_can_view_clinic)),
    "version.annotate": _via_version(_document_rule(_can_review_clinic)),
    "finding.decide": _via_finding(_via_version(_document_rule(_can_review_clinic))),
    "finding.view": _via_finding(_via_version(_document_rule(_can_view_clinic))),
    "finding.settle": lambda user, f: _is_lead_coach(user, _finding_clinic(f)),
    "finding.comment": lambda user, f: _can_discuss_clinic(user, _finding_clinic(f)),
    # Reading comment threads (pages, API, action plan): see _can_read_comments.
    "clinic.comments": _can_read_comments,
    "finding.comments": lambda user, f: _can_read_comments(user, _finding_clinic(f)),
    # Coaches' internal notes: the clinic's coaches and admins, never directors or deans.
    "clinic.notes": _can_review_clinic,
    "finding.note": lambda user, f: _can_review_clinic(user, _finding_clinic(f)),
    "finding.mark_revised": lambda user, f: (
        _is_course_director(user, _finding_clinic(f))
        and _feedback_shared(_finding_clinic(f))
    ),
    # Members of the clinic; which step by whom is decided by services.workflow.TRANSITIONS.
    "clinic.transition": _can_upload_to_clinic,
    "clinic.coach": _can_review_clinic,  # pedagogy scores, sessions, action items
    # Those who may take some workflow step: admins, the course's directors, its coaches.
    "clinic.member": _can_upload_to_clinic,
    "token.revoke": lambda user, token: (
        _authenticated(user, None)
        and (user.role == Role.ADMIN or token.user_id == user.id)
    ),
    "action_item.update": _can_update_action,
    # A notification is its recipient's alone (admins included).
    "notification.own": lambda user, n: (
        _authenticated(user, None) and n.user_id == user.id
    ),
    "selfcheck.create": _is(Role.DIRECTOR),
    # The plan shows coach decisions: directors get it once feedback is shared.
    "clinic.action_plan": lambda user, c: (
        _can_view_clinic(user, c)
        and (user.role != Role.DIRECTOR or _feedback_shared(c))
    ),
    "document.share": lambda user, d: (
        d.clinic is None and _authenticated(user, None) and d.owner_id == user.id
    ),
    # How coaches' decisions judge the rubric: CAP staff (admins) and coaches.
    "rubric.health": _is(Role.ADMIN, Role.COACH),
    # The school summary (page, PDF, CSV): deans and admins.
    "summary.view": _is(Role.DEAN, Role.ADMIN),
}


def _visible(user, obj: Any) -> bool:
    """Whether the user may know that this object exists."""
    from clinic.models import (
        ActionItem,
        ApiToken,
        DocumentVersion,
        Finding,
        Notification,
    )

    rule = {
        Course: "course.view",
        Clinic: "clinic.view",
        Document: "document.view",
        DocumentVersion: "version.view",
        Finding: "finding.view",
        ApiToken: "token.revoke",
        Notification: "notification.own",
        User: "admin",
    }.get(type(obj))
    if rule is not None:
        return allowed(user, rule, obj)
    if isinstance(obj, ActionItem):
        return _can_view_clinic(user, obj.clinic)
    return True


def allowed(user, action: str, obj: Any = None) -> bool:
    """True when `user` may perform `action` on `obj` (unknown actions are refused)."""
    rule = RULES.get(action)
    return bool(rule and rule(user, obj))


def visible_courses(user: User):
    """A select() of the courses the user may see, for list pages."""
    import sqlalchemy as sa

    query = sa.select(Course).order_by(Course.code)
    if user.role in (Role.ADMIN, Role.DEAN):
        return query
    if user.role == Role.DIRECTOR:
        return query.where(Course.directors.any(User.id == user.id))
    return query.where(Course.clinics.any(Clinic.coaches.any(User.id == user.id)))


def visible_clinics(user: User):
    """A select() of the clinics the user may see, for list pages."""
    import sqlalchemy as sa

    query = (
        sa.select(Clinic)
        .join(Clinic.course)
        .order_by(Clinic.academic_year.desc(), Course.code)
    )
    if user.role in (Role.ADMIN, Role.DEAN):
        return query
    if user.role == Role.DIRECTOR:
        return query.where(Course.directors.any(User.id == user.id))
    return query.where(Clinic.coaches.any(User.id == user.id))


def guard(action: str, **loaders: type) -> Callable:
    """Decorate a view with its policy decision.

    `loaders` map a keyword to a model class: the URL argument `<kw>_id` is
    loaded and passed to the view as `kw` (404 if missing). The decision is made
    on the last loaded object (or None).
    """
    if action not in RULES:
        raise KeyError(f"unknown policy action {action!r}")

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if action != "public" and not current_user.is_authenticated:
                from clinic.extensions import login_manager

                return login_manager.unauthorized()
            target = None
            for name, model in loaders.items():
                key = kwargs.pop(f"{name}_id")
                if not 0 < key < MAX_ID:  # larger than any database id: nothing there
                    abort(404)
                obj = db.session.get(model, key)
                if obj is None or not _visible(current_user, obj):
                    # What the user may not see answers as if it did not exist, so
                    # that ids cannot be probed; 403 is for actions on what they see.
                    abort(404)
                kwargs[name] = target = obj
            if not allowed(current_user, action, target):
                abort(403)
            return view(*args, **kwargs)

        wrapper.policy_action = action
        return wrapper

    return decorate


def check_all_routes_guarded(app: Flask) -> None:
    """Raise if an endpoint was registered without `guard` (static files excepted)."""
    missing = [
        endpoint
        for endpoint, view in app.view_functions.items()
        if not hasattr(view, "policy_action")
        and endpoint != "static"
        and not endpoint.endswith(".static")
    ]
    if missing:
        raise RuntimeError(
            f"routes without a policy decision: {', '.join(sorted(missing))}"
        )
