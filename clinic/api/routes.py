"""API views: parse JSON, ask the policy (`guard`), call a service, answer JSON.

Every endpoint is described in clinic/api/openapi.py (a test keeps the two equal).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from flask import abort, current_app, jsonify, request, url_for
from flask_login import current_user
from sqlalchemy.orm import joinedload, selectinload

from clinic.api import bp
from clinic.api import serializers as s
from clinic.errors import json_error
from clinic.extensions import db
from clinic.models import (
    ActionItem,
    Clinic,
    ClinicStatus,
    Course,
    CourseKind,
    Document,
    DocumentVersion,
    Finding,
    FindingDecision,
    FindingStatus,
    MatchState,
    Notification,
    Segment,
    User,
    VersionStatus,
    normalise_email,
)
from clinic.policy import allowed, guard, visible_clinics, visible_courses
from clinic.rubric_cache import app_rubric
from clinic.services import ServiceError, courses, notifications, reviews, workflow
from clinic.services import documents as document_service
from clinic.storage import StorageError
from clinic.uploads import accepts_files, current_limits, file_size, over_file_limit

# --------------------------------------------------------------------------- input


def json_body() -> dict[str, Any]:
    """The request's JSON object: 415 if it is not JSON, 400 if it does not parse."""
    if not request.is_json:
        abort(415, "Send a JSON body with `Content-Type: application/json`.")
    data = request.get_json(silent=True)
    if data is None:
        abort(400, "The body is not valid JSON.")
    if not isinstance(data, dict):
        abort(400, "The JSON body must be an object.")
    return data


def _text(data: dict, key: str, *, required: bool = False) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise ServiceError(f"`{key}` is required.")
        return None
    if not isinstance(value, str):
        raise ServiceError(f"`{key}` must be a string.")
    if required and not value.strip():
        raise ServiceError(f"`{key}` cannot be empty.")
    return value


def _int(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ServiceError(f"`{key}` must be an integer.")
    return value


def _required_int(data: dict, key: str) -> int:
    if data.get(key) is None:
        raise ServiceError(f"`{key}` is required.")
    return _int(data[key], key)


def _int_list(data: dict, key: str) -> list[int]:
    value = data.get(key) or []
    if not isinstance(value, list):
        raise ServiceError(f"`{key}` must be a list of integers.")
    return [_int(v, key) for v in value]


def _emails(data: dict, key: str) -> list[str]:
    value = data.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ServiceError(f"`{key}` must be a list of email addresses.")
    return value


def _date(value: Any, key: str) -> dt.date | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ServiceError(f"`{key}` must be an ISO date like 2027-03-01.")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ServiceError(f"`{key}` must be an ISO date like 2027-03-01.") from None


def _users_by_email(emails: list[str], key: str) -> list[User]:
    wanted = [normalise_email(e) for e in emails]
    found = {
        u.email: u
        for u in db.session.scalars(sa.select(User).where(User.email.in_(wanted)))
    }
    unknown = [e for e in wanted if e not in found]
    if unknown:
        raise ServiceError(f"`{key}`: no account for {', '.join(unknown)}.")
    return [found[e] for e in wanted]


def _query_int(name: str) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise ServiceError(f"The `{name}` parameter must be a number.") from None


def created(payload: dict, location: str):
    response = jsonify(payload)
    response.status_code = 201
    response.headers["Location"] = location
    return response


# --------------------------------------------------------------------------- discovery


@bp.get("/openapi.json")
@guard("public")
def openapi():
    from clinic.api.openapi import build_spec

    return jsonify(build_spec(current_app))


@bp.get("/me")
@guard("authenticated")
def me():
    return jsonify(s.user(current_user))


@bp.get("/rubric/health")
@guard("rubric.health")
def rubric_health():
    """Per criterion and confidence, how the coaches' decisions judge the rubric."""
    from clinic.services import rubric_health as health_service

    rubric = app_rubric()
    health = health_service.rubric_health(
        current_user,
        rubric,
        rubric_version=request.args.get("version") or None,
        min_dismissals=current_app.config["PROPOSAL_MIN_DISMISSALS"],
    )
    return jsonify(
        s.rubric_health(
            health,
            lambda p: health_service.proposal_text(rubric, p, health.rubric_version),
        )
    )


# --------------------------------------------------------------------------- courses and clinics


@bp.get("/courses")
@guard("authenticated")
def courses_list():
    return jsonify(
        {
            "courses": [
                s.course(c) for c in db.session.scalars(visible_courses(current_user))
            ]
        }
    )


@bp.post("/courses")
@guard("admin")
def create_course():
    data = json_body()
    kind = _text(data, "kind") or CourseKind.COURSE.value
    if kind not in {k.value for k in CourseKind}:
        raise ServiceError("`kind` must be `course` or `clerkship`.")
    directors = _users_by_email(_emails(data, "director_emails"), "director_emails")
    course = courses.create_course(
        current_user,
        code=_text(data, "code", required=True),
        title=_text(data, "title", required=True),
        kind=kind,
        school=_text(data, "school", required=True),
        director_ids=[u.id for u in directors],
    )
    return created(s.course(course), url_for("api.course", course_id=course.id))


@bp.get("/courses/<int:course_id>")
@guard("course.view", course=Course)
def course(course: Course):
    out = s.course(course)
    out["clinics"] = [
        s.clinic(c) for c in course.clinics if allowed(current_user, "clinic.view", c)
    ]
    return jsonify(out)


@bp.get("/clinics")
@guard("authenticated")
def clinics_list():
    query = visible_clinics(current_user)
    course_id = _query_int("course_id")
    if course_id is not None:
        query = query.where(Clinic.course_id == course_id)
    if request.args.get("academic_year"):
        query = query.where(Clinic.academic_year == request.args["academic_year"])
    if request.args.get("status"):
        status = request.args["status"]
        if status not in {c.value for c in ClinicStatus}:
            raise ServiceError(f"Unknown clinic status {status!r}.")
        query = query.where(Clinic.status == ClinicStatus(status))
    return jsonify({"clinics": [s.clinic(c) for c in db.session.scalars(query)]})


@bp.post("/clinics")
@guard("admin")
def create_clinic():
    data = json_body()
    course_id = _required_int(data, "course_id")
    course = db.session.get(Course, course_id)
    if course is None:
        raise ServiceError(f"`course_id`: there is no course {course_id}.")
    coaches = _users_by_email(_emails(data, "coach_emails"), "coach_emails")
    clinic = courses.create_clinic(
        current_user,
        course=course,
        academic_year=_text(data, "academic_year", required=True),
        coach_ids=[u.id for u in coaches],
    )
    return created(s.clinic(clinic), url_for("api.clinic", clinic_id=clinic.id))


def _clinic_detail(clinic: Clinic) -> dict:
    out = s.clinic(clinic)
    back = workflow.back_step(current_user, clinic)
    out.update(
        documents=[s.document_summary(d) for d in clinic.documents],
        next_steps=[to.value for to in workflow.next_steps(current_user, clinic)],
        back_step=back.value if back else None,
        plan_agreed=None
        if clinic.plan_agreed_at is None
        else {
            "by": s.user(clinic.plan_agreed_by),
            "at": s.iso(clinic.plan_agreed_at),
            "on_behalf_of_directors": clinic.plan_agreed_on_behalf,
        },
        comments_visible=workflow.comments_visible(current_user, clinic),
        decisions_visible=workflow.decisions_visible(current_user, clinic),
        action_items_url=url_for("api.action_items", clinic_id=clinic.id),
        pedagogy_url=url_for("api.pedagogy", clinic_id=clinic.id),
    )
    return out


@bp.get("/clinics/<int:clinic_id>")
@guard("clinic.view", clinic=Clinic)
def clinic(clinic: Clinic):
    return jsonify(_clinic_detail(clinic))


@bp.post("/clinics/<int:clinic_id>/transition")
@guard("clinic.transition", clinic=Clinic)
def transition(clinic: Clinic):
    if not allowed(current_user, "clinic.member", clinic):
        raise workflow.NotPermitted("Only the clinic's coaches and directors move it.")
    data = json_body()
    confirm = data.get("confirm", False)
    if not isinstance(confirm, bool):
        raise ServiceError("`confirm` must be true or false.")
    to = _text(data, "to", required=True)
    reason = _text(data, "reason")
    check = workflow.check_transition(current_user, clinic, to)
    if check.back and not (reason or "").strip():
        raise ServiceError(
            f"`reason` is required to step the clinic back to {check.to.label.lower()}."
        )
    workflow.transition(
        current_user,
        clinic,
        to,
        confirm=confirm,
        reason=reason,
        override_reason=_text(data, "override_reason"),
    )
    return jsonify(_clinic_detail(clinic))


@bp.get("/clinics/<int:clinic_id>/notes")
@guard("clinic.notes", clinic=Clinic)
def notes(clinic: Clinic):
    return jsonify({"notes": [s.note(n) for n in workflow.all_notes(clinic)]})


@bp.post("/clinics/<int:clinic_id>/notes")
@guard("clinic.notes", clinic=Clinic)
def add_clinic_note(clinic: Clinic):
    """`{body, finding_id?}`: an internal note on the clinic or one of its findings."""
    data = json_body()
    finding = None
    if data.get("finding_id") is not None:
        finding = db.session.get(Finding, _int(data["finding_id"], "finding_id"))
        if finding is None or finding.version.document.clinic_id != clinic.id:
            raise ServiceError("`finding_id`: this clinic has no such finding.")
    note = workflow.add_note(
        current_user, clinic, _text(data, "body", required=True), finding
    )
    return created(s.note(note), url_for("api.notes", clinic_id=clinic.id))


# --------------------------------------------------------------------------- documents


def _status_url(document: Document) -> str:
    return url_for("api.document", document_id=document.id)


@bp.post("/clinics/<int:clinic_id>/documents")
@accepts_files
@guard("clinic.upload", clinic=Clinic)
def upload(clinic: Clinic):
    if request.mimetype != "multipart/form-data":
        abort(415, "Upload the file as multipart/form-data in the field `file`.")
    storage = request.files.get("file")
    if storage is None or not storage.filename:
        raise ServiceError("Send the file in the multipart field `file`.")
    document = None
    if request.form.get("document_id"):
        try:
            document_id = int(request.form["document_id"])
        except ValueError:
            raise ServiceError("`document_id` must be a number.") from None
        document = db.session.get(Document, document_id)
        if document is None or document.clinic_id != clinic.id:
            raise ServiceError(f"This clinic has no document {document_id}.")
    size, over_limit = file_size(storage)
    if over_limit:
        # The request may carry a batch's worth; each file is held to the per-file limit.
        return json_error(
            413,
            "file_too_large",
            over_file_limit(storage.filename, size, current_limits()),
        )
    data = storage.read()
    try:
        result = document_service.upload(
            current_user, clinic, storage.filename, data, document
        )
    except StorageError as error:
        # The server's fault, not the request's: clients retry later or alert.
        current_app.logger.error("upload to clinic %s: %s", clinic.id, error)
        return json_error(
            503,
            "storage_unavailable",
            f"The file could not be stored ({error}); nothing was changed. "
            "Try again later.",
        )
    version = result.version
    unchanged = result.unchanged  # the same file again: no new version
    response = jsonify(
        {
            "document_id": version.document_id,
            "version_id": version.id,
            "version": version.number,
            "status": version.status.value,
            "status_url": _status_url(version.document),
            "unchanged": unchanged,
            "message": result.message,
        }
    )
    response.status_code = 200 if unchanged else 202
    response.headers["Location"] = _status_url(version.document)
    return response


def _version(document: Document) -> DocumentVersion:
    number = _query_int("version")
    if number is None:
        version = document.latest
    else:
        version = next((v for v in document.versions if v.number == number), None)
    if version is None:
        abort(404, "There is no such version of this document.")
    return version


def _findings(version: DocumentVersion) -> list[dict]:
    show = workflow.decisions_visible(current_user, version.document.clinic)
    review = allowed(current_user, "version.annotate", version)
    query = (
        sa.select(Finding)
        .where(Finding.version_id == version.id)
        .order_by(Finding.segment_id, Finding.start, Finding.id)
    )
    if review:
        query = query.options(
            selectinload(Finding.coach_decisions).joinedload(FindingDecision.coach),
            joinedload(Finding.assignee),
        )
    return [s.finding(f, show, review=review) for f in db.session.scalars(query)]


def _diff(version: DocumentVersion, findings: list[dict]) -> dict | None:
    if version.resolved_count is None:
        return None
    previous = db.session.scalar(
        sa.select(DocumentVersion.number)
        .where(
            DocumentVersion.document_id == version.document_id,
            DocumentVersion.number < version.number,
            DocumentVersion.status == VersionStatus.DONE,
        )
        .order_by(DocumentVersion.number.desc())
        .limit(1)
    )
    return {
        "previous_version": previous,
        "resolved": version.resolved_count,
        "persisting": sum(f["match"] == MatchState.PERSISTING.value for f in findings),
        "new": sum(f["match"] == MatchState.NEW.value for f in findings),
    }


@bp.get("/documents/<int:document_id>")
@guard("document.view", document=Document)
def document(document: Document):
    latest = document.latest
    findings = _findings(latest) if latest else []
    out = s.document(document, findings, None)
    if latest is not None and latest.number > 1:
        out["diff"] = _diff(latest, findings)
    return jsonify(out)


FINDING_FILTERS = ("criterion", "category", "severity", "confidence", "status", "match")
FILTER_FIELDS = {"criterion": "criterion_id"}


@bp.get("/documents/<int:document_id>/findings")
@guard("document.view", document=Document)
def document_findings(document: Document):
    version = _version(document)
    status = request.args.get("status")
    if status and status not in {f.value for f in FindingStatus}:
        raise ServiceError("`status` must be open, confirmed or dismissed.")
    assigned = request.args.get("assigned")
    if assigned and assigned not in reviews.ASSIGNED_FILTERS:
        raise ServiceError("`assigned` must be me or nobody.")
    differ = request.args.get("differ")
    if differ and differ not in ("true", "false"):
        raise ServiceError("`differ` must be true or false.")
    findings = _findings(version)
    for name in FINDING_FILTERS:
        wanted = request.args.get(name)
        if wanted:
            field = FILTER_FIELDS.get(name, name)
            findings = [f for f in findings if f[field] == wanted]
    if (assigned or differ) and not allowed(current_user, "version.annotate", version):
        raise ServiceError("`assigned` and `differ` are filters for the coaches.")
    if assigned:
        me = current_user.id if assigned == "me" else None
        findings = [f for f in findings if (f["assignee"] or {}).get("id") == me]
    if differ:
        findings = [f for f in findings if f["coaches_differ"] == (differ == "true")]
    return jsonify(
        {
            "document_id": document.id,
            "version": version.number,
            "version_id": version.id,
            "status": version.status.value,
            "count": len(findings),
            "findings": findings,
        }
    )


@bp.get("/documents/<int:document_id>/segments")
@guard("document.view", document=Document)
def document_segments(document: Document):
    version = _version(document)
    rows = db.session.scalars(
        sa.select(Segment)
        .where(Segment.version_id == version.id)
        .order_by(Segment.ordinal)
    )
    return jsonify(
        {
            "document_id": document.id,
            "version": version.number,
            "version_id": version.id,
            "segments": [s.segment(seg) for seg in rows],
        }
    )


# --------------------------------------------------------------------------- findings


def _finding_out(finding: Finding, status: int = 200):
    clinic = finding.version.document.clinic
    show = workflow.decisions_visible(current_user, clinic)
    notes = (
        workflow.notes_of(clinic, [finding.id])
        if allowed(current_user, "clinic.notes", clinic)
        else None
    )
    response = jsonify(
        s.finding(
            finding,
            show,
            comments=True,
            show_comments=workflow.comments_visible(current_user, clinic),
            notes=notes,
            review=allowed(current_user, "finding.decide", finding),
        )
    )
    response.status_code = status
    return response


@bp.get("/findings/<int:finding_id>")
@guard("finding.view", finding=Finding)
def finding(finding: Finding):
    return _finding_out(finding)


@bp.patch("/findings/<int:finding_id>")
@guard("finding.decide", finding=Finding)
def update_finding(finding: Finding):
    """`{status, reason, comment, severity, criterion_id, assignee_id}`: each given
    field is applied."""
    data = json_body()
    assignee = _assignee(data) if "assignee_id" in data else False
    criterion_id = _text(data, "criterion_id")
    status = _text(data, "status")
    reason = _text(data, "reason")
    comment = _text(data, "comment")
    severity = _text(data, "severity")
    if status is None and (reason is not None or comment is not None):
        status = finding.status.value  # a new reason or comment for the same decision
    # Check everything first, so a bad field changes nothing.
    if status is not None and status not in {f.value for f in FindingStatus}:
        raise ServiceError("`status` must be open, confirmed or dismissed.")
    if severity is not None and severity not in reviews.SEVERITIES:
        raise ServiceError("`severity` must be high, medium or low.")
    if status == FindingStatus.DISMISSED.value:
        reason = reason or (
            finding.dismiss_reason.value if finding.dismiss_reason else None
        )
        if reason is None:
            raise ServiceError(
                "A dismissal needs a `reason`: not_about_race, race_conscious, "
                "clinically_justified, duplicate or other."
            )
    elif status == FindingStatus.OPEN.value and (reason or comment):
        raise ServiceError("An open finding has no `reason` or `comment`.")
    elif status == FindingStatus.CONFIRMED.value and reason:
        raise ServiceError("A `reason` goes with a dismissal only.")
    criterion = None
    if criterion_id is not None and criterion_id != finding.criterion_id:
        criterion = app_rubric().criteria.get(criterion_id)
        if criterion is None:
            raise ServiceError(
                f"`criterion_id` “{criterion_id}” is not a criterion of the rubric."
            )
    nothing = status is None and severity is None and criterion_id is None
    if nothing and assignee is False:
        raise ServiceError(
            "Send at least one of status, reason, comment, severity, "
            "criterion_id, assignee_id."
        )
    if assignee is not False:
        wanted = assignee.id if assignee else None
        if wanted != finding.assignee_id:
            reviews.assign(current_user, finding, assignee)
    if criterion is not None:
        reviews.change_criterion(current_user, finding, criterion)
    if status == FindingStatus.CONFIRMED.value:
        reviews.confirm(current_user, finding, comment)
    elif status == FindingStatus.DISMISSED.value:
        reviews.dismiss(current_user, finding, reason, comment)
    elif status == FindingStatus.OPEN.value:
        reviews.reopen(current_user, finding)
    if severity is not None and severity != finding.severity:
        reviews.set_severity(current_user, finding, severity)
    show = workflow.decisions_visible(current_user, finding.version.document.clinic)
    body = s.finding(finding, show, comments=True, review=True)
    following = reviews.next_open(finding)
    body["next_open_id"] = following.id if following else None
    return jsonify(body)


def _assignee(data: dict) -> User | None:
    """The user `assignee_id` names (null: nobody), checked before anything changes."""
    if data["assignee_id"] is None:
        return None
    user = db.session.get(User, _int(data["assignee_id"], "assignee_id"))
    if user is None:
        raise ServiceError("`assignee_id` is not a user.")
    return user


@bp.post("/findings/<int:finding_id>/settle")
@guard("finding.settle", finding=Finding)
def settle_finding(finding: Finding):
    """`{status, reason?, comment?}`: the lead coach settles where the coaches differ."""
    data = json_body()
    status = _text(data, "status", required=True)
    if not reviews.coaches_differ(finding):
        return json_error(
            409,
            "conflict",
            "The coaches' decisions on this finding agree: there is nothing to settle.",
        )
    reviews.settle(
        current_user, finding, status, _text(data, "reason"), _text(data, "comment")
    )
    return _finding_out(finding)


def _optional_int(data: dict, key: str) -> int | None:
    value = data.get(key)
    return None if value is None else _int(value, key)


@bp.post("/documents/<int:document_id>/findings/bulk")
@guard("document.annotate", document=Document)
def bulk_decide(document: Document):
    """Confirm or dismiss several findings of one version with one reason."""
    data = json_body()
    action = _text(data, "action", required=True)
    if action not in reviews.BULK_ACTIONS:
        raise ServiceError("`action` must be confirm or dismiss.")
    version = _version(document)
    all_matching = data.get("all_matching", False)
    if not isinstance(all_matching, bool):
        raise ServiceError("`all_matching` must be true or false.")
    if not all_matching and "ids" not in data:
        raise ServiceError("Send `ids`, or `all_matching: true` with filters.")
    if all_matching and "ids" in data:
        raise ServiceError("Send either `ids` or `all_matching`, not both.")
    filters = {k: _text(data, k) for k in reviews.BULK_FILTERS}
    filters["page_from"] = _optional_int(data, "page_from")
    filters["page_to"] = _optional_int(data, "page_to")
    findings = reviews.bulk_selection(
        version,
        ids=None if all_matching else _int_list(data, "ids"),
        all_matching=all_matching,
        filters=filters,
        actor=current_user,
    )
    reviews.bulk_decide(
        current_user,
        version,
        findings,
        action,
        _text(data, "reason"),
        _text(data, "comment"),
    )
    show = workflow.decisions_visible(current_user, document.clinic)
    return jsonify(
        {
            "document_id": document.id,
            "version": version.number,
            "version_id": version.id,
            "action": action,
            "count": len(findings),
            "ids": [f.id for f in findings],
            "findings": [s.finding(f, show) for f in findings],
        }
    )


@bp.post("/findings/<int:finding_id>/comments")
@guard("finding.comment", finding=Finding)
def add_comment(finding: Finding):
    from clinic.models import Comment

    data = json_body()
    parent = None
    if data.get("parent_id") is not None:
        parent = db.session.get(Comment, _int(data["parent_id"], "parent_id"))
        if parent is None:
            raise ServiceError("`parent_id`: there is no such comment.")
    comment = workflow.add_comment(
        current_user, finding, _text(data, "body", required=True), parent
    )
    return created(s.comment(comment), url_for("api.finding", finding_id=finding.id))


@bp.post("/clinics/<int:clinic_id>/findings")
@guard("clinic.review", clinic=Clinic)
def add_finding(clinic: Clinic):
    """A coach's own finding: `{version_id, segment_id, start, end, criterion_id, note}`."""
    data = json_body()
    version = db.session.get(DocumentVersion, _required_int(data, "version_id"))
    if version is None or version.document.clinic_id != clinic.id:
        raise ServiceError("`version_id`: this clinic has no such version.")
    if not allowed(current_user, "version.annotate", version):
        abort(403)
    segment = db.session.get(Segment, _required_int(data, "segment_id"))
    if segment is None or segment.version_id != version.id:
        raise ServiceError("`segment_id`: that segment is not part of this version.")
    criterion_id = _text(data, "criterion_id", required=True)
    criterion = app_rubric().criteria.get(criterion_id)
    if criterion is None:
        raise ServiceError(
            f"`criterion_id`: the rubric has no criterion {criterion_id}."
        )
    finding = reviews.add_manual_finding(
        current_user,
        version,
        segment,
        _required_int(data, "start"),
        _required_int(data, "end"),
        criterion,
        _text(data, "note"),
    )
    response = _finding_out(finding, 201)
    response.headers["Location"] = url_for("api.finding", finding_id=finding.id)
    return response


# --------------------------------------------------------------------------- action items


@bp.get("/clinics/<int:clinic_id>/action-items")
@guard("clinic.view", clinic=Clinic)
def action_items(clinic: Clinic):
    return jsonify({"action_items": [s.action_item(i) for i in clinic.action_items]})


def _owner(data: dict) -> User | None:
    email = _text(data, "owner_email")
    if not email:
        return None
    return _users_by_email([email], "owner_email")[0]


@bp.post("/clinics/<int:clinic_id>/action-items")
@guard("clinic.coach", clinic=Clinic)
def create_action_item(clinic: Clinic):
    data = json_body()
    title, description = _text(data, "title"), _text(data, "description")
    finding_ids = _int_list(data, "finding_ids")
    if data.get("from_finding_id") is not None:
        source = db.session.get(
            Finding, _int(data["from_finding_id"], "from_finding_id")
        )
        if source is None or source.version.document.clinic_id != clinic.id:
            raise ServiceError("`from_finding_id`: this clinic has no such finding.")
        title = title or f"Revise: {source.title}"
        if description is None:
            description = (
                f"{source.location_label} of {source.version.document.title}: "
                f"“{source.sentence}”\n\n{workflow.recommendation_for(source)}"
            )
        if source.id not in finding_ids:
            finding_ids.append(source.id)
    if not title:
        raise ServiceError("`title` is required.")
    item = workflow.create_action_item(
        current_user,
        clinic,
        title=title,
        description=description,
        owner=_owner(data),
        due_date=_date(data.get("due_date"), "due_date"),
        finding_ids=finding_ids,
    )
    return created(
        s.action_item(item), url_for("api.action_items", clinic_id=clinic.id)
    )


COACH_ONLY_FIELDS = ("title", "description", "due_date", "owner_email")


@bp.patch("/action-items/<int:action_item_id>")
@guard("action_item.update", action_item=ActionItem)
def update_action_item(action_item: ActionItem):
    """`{status, drop_reason}` for the owner; coaches may also change the rest."""
    data = json_body()
    if not allowed(current_user, "clinic.coach", action_item.clinic) and any(
        k in data for k in COACH_ONLY_FIELDS
    ):
        raise workflow.NotPermitted(
            "As the owner you can change the status only; ask your coach for the rest."
        )
    changes: dict[str, Any] = {
        "status": _text(data, "status"),
        "drop_reason": _text(data, "drop_reason"),
        "title": _text(data, "title"),
        "description": _text(data, "description"),
    }
    if "due_date" in data:
        changes["due_date"] = _date(data["due_date"], "due_date")
    if "owner_email" in data:
        changes["owner"] = _owner(data)
    if not any(k in data for k in ("status", "drop_reason", *COACH_ONLY_FIELDS)):
        raise ServiceError(
            "Send at least one of status, drop_reason, title, description, "
            "due_date, owner_email."
        )
    workflow.update_action_item(current_user, action_item, **changes)
    return jsonify(s.action_item(action_item))


# --------------------------------------------------------------------------- pedagogy


@bp.get("/clinics/<int:clinic_id>/pedagogy")
@guard("clinic.view", clinic=Clinic)
def pedagogy(clinic: Clinic):
    scores = {row.criterion_id: row for row in clinic.pedagogy_scores}
    return jsonify(
        {
            "clinic_id": clinic.id,
            "can_score": allowed(current_user, "clinic.coach", clinic),
            "criteria": [
                s.pedagogy(c, scores.get(c.id))
                for c in app_rubric().manual_criteria.values()
            ],
        }
    )


@bp.put("/clinics/<int:clinic_id>/pedagogy/<criterion_id>")
@guard("clinic.coach", clinic=Clinic)
def score_pedagogy(clinic: Clinic, criterion_id: str):
    criterion = app_rubric().manual_criteria.get(criterion_id)
    if criterion is None:
        abort(404, f"The rubric has no pedagogy criterion {criterion_id}.")
    data = json_body()
    if "score" not in data:
        raise ServiceError("`score` is required: 0, 1, 2, 3, or null for N/A.")
    score = data["score"]
    if score is not None:
        score = _int(score, "score")
    row = workflow.score_pedagogy(
        current_user,
        clinic,
        criterion_id,
        score,
        _text(data, "notes"),
        _text(data, "evidence"),
    )
    return jsonify(s.pedagogy(criterion, row))


def _pdf(data: bytes, filename: str):
    import io

    from flask import send_file

    return send_file(
        io.BytesIO(data),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=filename,
    )


@bp.get("/clinics/<int:clinic_id>/action-plan.pdf")
@guard("clinic.action_plan", clinic=Clinic)
def action_plan(clinic: Clinic):
    from clinic.export.plan_pdf import action_plan_pdf

    name = f"action-plan-{clinic.course.code}-{clinic.academic_year}.pdf".replace(
        " ", "-"
    )
    return _pdf(
        action_plan_pdf(clinic, workflow.comments_visible(current_user, clinic)), name
    )


@bp.get("/summary.pdf")
@guard("summary.view")
def summary_pdf():
    from clinic.summaries.presenters import filename, render_summary_pdf
    from clinic.summaries.queries import school_summary

    summary = school_summary(
        request.args.get("school") or None, request.args.get("year") or None
    )
    return _pdf(render_summary_pdf(summary), filename(summary, "pdf"))


# --------------------------------------------------------------------------- notifications


@bp.get("/notifications")
@guard("authenticated")
def notifications_list():
    return jsonify(
        {
            "unread": notifications.unread_count(current_user),
            "notifications": [
                s.notification(n) for n in notifications.of_user(current_user)
            ],
        }
    )


@bp.post("/notifications/<int:notification_id>/read")
@guard("notification.own", notification=Notification)
def notification_read(notification: Notification):
    return jsonify(s.notification(notifications.mark_read(current_user, notification)))


@bp.post("/notifications/read-all")
@guard("authenticated")
def notifications_read_all():
    return jsonify({"marked": notifications.mark_all_read(current_user)})


@bp.get("/notifications/preferences")
@guard("authenticated")
def notification_preferences():
    return jsonify(s.notification_preferences(notifications.preferences(current_user)))


@bp.put("/notifications/preferences")
@guard("authenticated")
def set_notification_preferences():
    data = json_body()
    return jsonify(
        s.notification_preferences(notifications.set_preferences(current_user, data))
    )
