"""The OpenAPI 3.1 description of the API, built from the URL map and the table below.

Paths, methods and path parameters come from the app's URL rules, so they cannot
drift from the implementation; `OPERATIONS` adds what each endpoint takes and
answers. An API endpoint missing from `OPERATIONS` makes `build_spec` fail.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask

from clinic.analysis.findings import CONFIDENCE_LEVELS
from clinic.models import (
    ActionStatus,
    ClinicStatus,
    CourseKind,
    Delivery,
    DismissReason,
    FindingStatus,
    MailStatus,
    MatchState,
    NotificationKind,
    Role,
    VersionStatus,
)

API_PREFIX = "/api/v1"


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _enum(enum_cls) -> dict:
    return {"type": "string", "enum": [m.value for m in enum_cls]}


def _nullable(schema: dict) -> dict:
    if "$ref" in schema:
        return {"oneOf": [schema, {"type": "null"}]}
    out = dict(schema)
    kind = out.get("type")
    if "enum" in out:
        out["enum"] = [*out["enum"], None]
    out["type"] = [kind, "null"] if isinstance(kind, str) else [*kind, "null"]
    return out


def _obj(required: list[str], **props: dict) -> dict:
    return {"type": "object", "required": required, "properties": props}


def _list_of(name: str) -> dict:
    return {"type": "array", "items": _ref(name)}


STR = {"type": "string"}
INT = {"type": "integer"}
BOOL = {"type": "boolean"}
DATETIME = {"type": "string", "format": "date-time"}
DATE = {"type": "string", "format": "date"}
LOCATION = {
    "type": "object",
    "description": "Where in the document: `kind` (page, slide, paragraph...) and `number`.",
    "additionalProperties": True,
}
SEVERITY = {"type": "string", "enum": ["high", "medium", "low"]}
COUNTER = {"type": "object", "additionalProperties": INT}

PREFERENCES = {
    "type": "object",
    "description": "Per kind: immediate (email at once), digest (daily) or off.",
    "properties": {k.value: _enum(Delivery) for k in NotificationKind},
    "additionalProperties": False,
}

SCHEMAS: dict[str, dict] = {
    "Notification": _obj(
        ["id", "kind", "subject", "body", "link", "created_at"],
        id=INT,
        kind=_enum(NotificationKind),
        subject=STR,
        body=STR,
        link={"type": "string", "description": "Path of the thing in the app."},
        clinic_id=_nullable(INT),
        created_at=DATETIME,
        read_at=_nullable(DATETIME),
        mail_status=_enum(MailStatus),
    ),
    "NotificationList": _obj(
        ["unread", "notifications"],
        unread=INT,
        notifications=_list_of("Notification"),
    ),
    "MarkedRead": _obj(["marked"], marked=INT),
    "NotificationPreferencesUpdate": PREFERENCES,
    "NotificationPreferences": _obj(["preferences"], preferences=PREFERENCES),
    "Error": _obj(
        ["error", "message"],
        error={
            "type": "string",
            "description": "A snake_case code: bad_request, invalid, unauthorized, "
            "forbidden, not_found, method_not_allowed, illegal_transition, "
            "request_entity_too_large, unsupported_media_type, ...",
        },
        message=STR,
    ),
    "User": _obj(
        ["id", "email", "name", "role"],
        id=INT,
        email=STR,
        name=STR,
        role=_enum(Role),
    ),
    "CourseCreate": _obj(
        ["code", "title", "school"],
        code=STR,
        title=STR,
        kind=_enum(CourseKind),
        school=STR,
        director_emails={"type": "array", "items": STR},
    ),
    "Course": _obj(
        ["id", "code", "title", "kind", "school", "directors"],
        id=INT,
        code=STR,
        title=STR,
        kind=_enum(CourseKind),
        school=STR,
        directors=_list_of("User"),
        created_at=DATETIME,
        url=STR,
        clinics=_list_of("Clinic"),
    ),
    "CourseList": _obj(["courses"], courses=_list_of("Course")),
    "ClinicCreate": _obj(
        ["course_id", "academic_year"],
        course_id=INT,
        academic_year={"type": "string", "pattern": r"^\d{4}-\d{2}$"},
        coach_emails={"type": "array", "items": STR},
    ),
    "Clinic": _obj(
        ["id", "course_id", "academic_year", "status"],
        id=INT,
        course_id=INT,
        course=_obj(["id", "code", "title"], id=INT, code=STR, title=STR),
        academic_year=STR,
        status=_enum(ClinicStatus),
        status_label=STR,
        coaches=_list_of("User"),
        lead_coach={
            **_nullable(_ref("User")),
            "description": "Settles findings the coaches decided differently.",
        },
        directors=_list_of("User"),
        created_at=DATETIME,
        updated_at=DATETIME,
        url=STR,
    ),
    "ClinicDetail": {
        "allOf": [
            _ref("Clinic"),
            _obj(
                ["documents", "next_steps"],
                documents=_list_of("DocumentSummary"),
                next_steps={"type": "array", "items": _enum(ClinicStatus)},
                back_step={
                    **_nullable(_enum(ClinicStatus)),
                    "description": "The status this user may step the clinic back to "
                    "(one state, with a `reason`), if any.",
                },
                plan_agreed=_nullable(
                    _obj(
                        ["by", "at", "on_behalf_of_directors"],
                        by=_nullable(_ref("User")),
                        at=DATETIME,
                        on_behalf_of_directors={
                            **BOOL,
                            "description": "An admin marked it agreed for the "
                            "course's directors.",
                        },
                    )
                ),
                comments_visible={
                    **BOOL,
                    "description": "Whether this user reads the coach comment "
                    "threads (directors and deans: once feedback is shared).",
                },
                decisions_visible=BOOL,
                action_items_url=STR,
                pedagogy_url=STR,
            ),
        ]
    },
    "ClinicList": _obj(["clinics"], clinics=_list_of("Clinic")),
    "Transition": _obj(
        ["to"],
        to={
            **_enum(ClinicStatus),
            "description": "The next status, or the previous one to step back.",
        },
        confirm={
            **BOOL,
            "description": "Share feedback although findings are still open, or "
            "close although action items are still open.",
        },
        reason={
            **STR,
            "description": "Required to step back one state (audited); for an admin "
            "marking the plan agreed on the directors' behalf, an optional note.",
        },
        override_reason={
            **STR,
            "description": "A coach's reason to share feedback although "
            "high-severity findings are open (the quality gate; audited). Also "
            "counts as `confirm`.",
        },
    ),
    "TransitionRefused": {
        "allOf": [
            _ref("Error"),
            {
                "type": "object",
                "properties": {
                    "error": {
                        "type": "string",
                        "enum": [
                            "illegal_transition",
                            "confirmation_required",
                            "quality_gate",
                        ],
                    },
                    "counts": {
                        **COUNTER,
                        "description": "Open findings (`open`, `high`, `medium`, "
                        "`low`, `analysing`) or open action items "
                        "(`open_action_items`, `not_started`, `in_progress`, "
                        "`overdue`).",
                    },
                    "needs": {
                        "type": "array",
                        "items": {
                            "type": "string",
                            "enum": ["confirm", "override_reason"],
                        },
                        "description": "What to add to the request to go through.",
                    },
                },
            },
        ]
    },
    "InternalNoteCreate": _obj(
        ["body"],
        body=STR,
        finding_id={
            "type": "integer",
            "description": "A finding of the clinic; leave out for a note on the clinic.",
        },
    ),
    "InternalNote": _obj(
        ["id", "clinic_id", "body"],
        id=INT,
        clinic_id=INT,
        finding_id=_nullable(INT),
        author=_nullable(_ref("User")),
        body=STR,
        created_at=DATETIME,
    ),
    "InternalNoteList": _obj(["notes"], notes=_list_of("InternalNote")),
    "Upload": {
        "type": "object",
        "required": ["file"],
        "properties": {
            "file": {"type": "string", "contentMediaType": "application/octet-stream"},
            "document_id": {
                "type": "integer",
                "description": "Upload a new version of this document of the clinic.",
            },
        },
    },
    "UploadResult": _obj(
        ["document_id", "version_id", "version", "status", "status_url"],
        document_id=INT,
        version_id=INT,
        version=INT,
        status=_enum(VersionStatus),
        status_url=STR,
        unchanged=BOOL,
        message=STR,
    ),
    "Version": _obj(
        ["id", "number", "status"],
        id=INT,
        number=INT,
        filename=STR,
        size=INT,
        sha256=STR,
        status=_enum(VersionStatus),
        progress=INT,
        uploaded_at=DATETIME,
        uploaded_by=_nullable(_ref("User")),
    ),
    "DocumentSummary": _obj(
        ["id", "title"],
        id=INT,
        title=STR,
        clinic_id=_nullable(INT),
        latest_version=_nullable(_ref("Version")),
        url=STR,
    ),
    "Counts": _obj(
        ["findings"],
        findings=INT,
        by_status=COUNTER,
        by_severity=COUNTER,
        by_category=COUNTER,
        by_criterion=COUNTER,
    ),
    "Diff": _obj(
        ["resolved", "persisting", "new"],
        previous_version=_nullable(INT),
        resolved=INT,
        persisting=INT,
        new=INT,
    ),
    "Document": {
        "allOf": [
            _ref("DocumentSummary"),
            _obj(
                ["status", "progress", "error", "warnings", "rubric_version"],
                versions=_list_of("Version"),
                version=_nullable(INT),
                version_id=_nullable(INT),
                status=_nullable(_enum(VersionStatus)),
                progress=_nullable(INT),
                finished=_nullable(BOOL),
                error=_nullable(STR),
                warnings={"type": "array", "items": STR},
                rubric_version=_nullable(STR),
                kind=_nullable(STR),
                page_count=_nullable(INT),
                word_count=_nullable(INT),
                counts=_nullable(_ref("Counts")),
                findings_url=STR,
                diff={
                    **_nullable(_ref("Diff")),
                    "description": "From the second version on; null until it is analysed.",
                },
            ),
        ]
    },
    "Finding": _obj(
        [
            "id",
            "criterion_id",
            "category",
            "severity",
            "status",
            "match",
            "location",
            "start",
            "end",
            "matched_text",
            "sentence",
        ],
        id=INT,
        version_id=INT,
        document_id=INT,
        segment_id=INT,
        criterion_id=STR,
        title=STR,
        category=STR,
        severity=SEVERITY,
        confidence={
            "type": "string",
            "enum": list(CONFIDENCE_LEVELS),
            "description": "Strength of the machine's evidence; `likely` for a "
            "finding a coach added.",
        },
        also={
            "type": "array",
            "description": "Other criteria that also apply to the same problem.",
            "items": _obj(
                ["criterion_id", "title", "category"],
                criterion_id=STR,
                title=STR,
                category=STR,
            ),
        },
        status={
            **_enum(FindingStatus),
            "description": "Always `open` for a course director before feedback is "
            "shared (decision fields are then left out).",
        },
        match=_enum(MatchState),
        source={"type": "string", "enum": ["machine", "manual"]},
        location=LOCATION,
        location_label=STR,
        start=INT,
        end=INT,
        matched_text=STR,
        sentence=STR,
        note=_nullable(STR),
        rubric_version=_nullable(STR),
        previous_id=_nullable(INT),
        revised_at=_nullable(DATETIME),
        created_at=DATETIME,
        machine_severity=_nullable(SEVERITY),
        reason=_nullable(_enum(DismissReason)),
        comment=_nullable(STR),
        decided_by=_nullable(_ref("User")),
        decided_at=_nullable(DATETIME),
        assignee={
            **_nullable(_ref("User")),
            "description": "The coach asked to look at it. This and the next four "
            "fields are present only for the clinic's coaches and admins.",
        },
        coaches_differ={
            **BOOL,
            "description": "Coaches decided it differently, and the lead coach has "
            "not settled it since.",
        },
        coach_decisions={
            "type": "array",
            "description": "Each coach's own decision (the finding holds the latest).",
            "items": _obj(
                ["coach", "status", "decided_at"],
                coach=_ref("User"),
                status=_enum(FindingStatus),
                reason=_nullable(_enum(DismissReason)),
                comment=_nullable(STR),
                decided_at=DATETIME,
            ),
        },
        settled_by=_nullable(_ref("User")),
        settled_at=_nullable(DATETIME),
        comments_visible={
            **BOOL,
            "description": "False for directors and deans before feedback is shared: "
            "`comments` is then empty.",
        },
        comments=_list_of("Comment"),
        internal_notes={
            **_list_of("InternalNote"),
            "description": "Coaches' notes on this finding: present only for the "
            "clinic's coaches and admins, never for directors or deans.",
        },
        next_open_id={
            **_nullable(INT),
            "description": "Only in the answer to a decision (PATCH): the next open "
            "finding of the version in document order, or null when none is left.",
        },
    ),
    "BulkDecision": {
        "type": "object",
        "required": ["action"],
        "description": "Send `ids`, or `all_matching: true` with the filters. Ids "
        "of another version are refused and nothing is changed.",
        "properties": {
            "action": {"type": "string", "enum": ["confirm", "dismiss"]},
            "reason": {
                **_enum(DismissReason),
                "description": "Required to dismiss; `other` needs a comment.",
            },
            "comment": STR,
            "ids": {"type": "array", "items": INT},
            "all_matching": BOOL,
            "criterion": STR,
            "category": STR,
            "severity": SEVERITY,
            "confidence": {"type": "string", "enum": list(CONFIDENCE_LEVELS)},
            "status": _enum(FindingStatus),
            "assigned": {
                "type": "string",
                "enum": ["me", "nobody"],
                "description": "Assigned to the token's user, or to nobody.",
            },
            "agreement": {
                "type": "string",
                "enum": ["differ"],
                "description": "Only the findings the coaches decided differently.",
            },
            "page_from": {**INT, "description": "First page (or slide), inclusive."},
            "page_to": {**INT, "description": "Last page (or slide), inclusive."},
        },
    },
    "BulkDecisionResult": _obj(
        ["document_id", "version", "version_id", "action", "count", "ids"],
        document_id=INT,
        version=INT,
        version_id=INT,
        action={"type": "string", "enum": ["confirm", "dismiss"]},
        count=INT,
        ids={"type": "array", "items": INT},
        findings=_list_of("Finding"),
    ),
    "FindingList": _obj(
        ["document_id", "version", "version_id", "findings"],
        document_id=INT,
        version=INT,
        version_id=INT,
        status=_enum(VersionStatus),
        count=INT,
        findings=_list_of("Finding"),
    ),
    "FindingUpdate": {
        "type": "object",
        "properties": {
            "status": _enum(FindingStatus),
            "reason": {
                **_enum(DismissReason),
                "description": "Required to dismiss; `other` needs a comment.",
            },
            "comment": STR,
            "severity": SEVERITY,
            "criterion_id": {
                **STR,
                "description": "Put the finding under another rubric criterion "
                "(audited); its title, category and severity follow.",
            },
            "assignee_id": {
                **_nullable(INT),
                "description": "Assign the finding to a coach of the clinic; null "
                "for nobody (audited).",
            },
        },
    },
    "Settle": _obj(
        ["status"],
        status={"type": "string", "enum": ["confirmed", "dismissed"]},
        reason={
            **_enum(DismissReason),
            "description": "Required to dismiss; `other` needs a comment.",
        },
        comment=STR,
    ),
    "Tally": _obj(
        ["confirmed", "dismissed", "decisions", "precision"],
        confirmed=INT,
        dismissed=INT,
        decisions=INT,
        precision={
            **_nullable({"type": "number"}),
            "description": "Confirmed / decisions; null without decisions.",
        },
    ),
    "RubricHealth": _obj(
        ["rubric_version", "current_rubric_version", "versions", "total", "criteria"],
        rubric_version=STR,
        current_rubric_version=STR,
        versions={
            "type": "array",
            "items": _obj(
                ["rubric_version", "decisions"], rubric_version=STR, decisions=INT
            ),
        },
        min_dismissals={
            **INT,
            "description": "Dismissals with one reason and a shared phrase needed "
            "for a proposal (CLINIC_PROPOSAL_MIN_DISMISSALS).",
        },
        total=_ref("Tally"),
        criteria={
            "type": "array",
            "items": {
                "allOf": [
                    _ref("Tally"),
                    _obj(
                        ["criterion_id", "rubric_version", "by_confidence"],
                        criterion_id=STR,
                        title=STR,
                        rubric_version=STR,
                        by_confidence={
                            "type": "object",
                            "additionalProperties": _ref("Tally"),
                        },
                        dismissal_reasons={
                            "type": "object",
                            "additionalProperties": INT,
                        },
                        dismissed_patterns={
                            "type": "array",
                            "items": _obj(
                                ["pattern", "count", "example"],
                                pattern=STR,
                                count=INT,
                                reasons={
                                    "type": "object",
                                    "additionalProperties": INT,
                                },
                                example=STR,
                            ),
                        },
                        proposals={
                            "type": "array",
                            "items": _obj(
                                ["reason", "phrase", "support", "example", "yaml"],
                                reason=_enum(DismissReason),
                                phrase=STR,
                                support=INT,
                                example=STR,
                                yaml={
                                    **STR,
                                    "description": "The change in the rubric's YAML "
                                    "shape; accept it with `clinic rubric apply`.",
                                },
                            ),
                        },
                    ),
                ]
            },
        },
    ),
    "ManualFinding": _obj(
        ["version_id", "segment_id", "start", "end", "criterion_id"],
        version_id=INT,
        segment_id=INT,
        start=INT,
        end=INT,
        criterion_id=STR,
        note=STR,
    ),
    "Segment": _obj(
        ["id", "ordinal", "location", "text"],
        id=INT,
        version_id=INT,
        ordinal=INT,
        location=LOCATION,
        text=STR,
    ),
    "SegmentList": _obj(
        ["segments"],
        document_id=INT,
        version=INT,
        version_id=INT,
        segments=_list_of("Segment"),
    ),
    "CommentCreate": _obj(["body"], body=STR, parent_id=INT),
    "Comment": _obj(
        ["id", "finding_id", "body"],
        id=INT,
        finding_id=INT,
        parent_id=_nullable(INT),
        author=_nullable(_ref("User")),
        body=STR,
        created_at=DATETIME,
    ),
    "ActionItemCreate": {
        "type": "object",
        "properties": {
            "title": {
                "type": "string",
                "description": "Required unless from_finding_id is given.",
            },
            "description": STR,
            "owner_email": {
                "type": "string",
                "description": "A director of the course.",
            },
            "due_date": _nullable(DATE),
            "finding_ids": {"type": "array", "items": INT},
            "from_finding_id": {
                "type": "integer",
                "description": "Prefill title and description from this finding's "
                "recommendation, and link it.",
            },
        },
    },
    "ActionItemUpdate": {
        "type": "object",
        "description": "A director who owns the item may change status and drop_reason only.",
        "properties": {
            "status": _enum(ActionStatus),
            "drop_reason": {"type": "string", "description": "Required to drop."},
            "title": STR,
            "description": STR,
            "due_date": _nullable(DATE),
            "owner_email": _nullable(STR),
        },
    },
    "ActionItem": _obj(
        ["id", "clinic_id", "title", "status"],
        id=INT,
        clinic_id=INT,
        title=STR,
        description=_nullable(STR),
        owner=_nullable(_ref("User")),
        owner_email=_nullable(STR),
        due_date=_nullable(DATE),
        status=_enum(ActionStatus),
        drop_reason=_nullable(STR),
        overdue=BOOL,
        finding_ids={"type": "array", "items": INT},
        created_at=DATETIME,
        updated_at=DATETIME,
    ),
    "ActionItemList": _obj(["action_items"], action_items=_list_of("ActionItem")),
    "PedagogyScoreUpdate": _obj(
        ["score"],
        score={
            "type": ["integer", "null"],
            "minimum": 0,
            "maximum": 3,
            "description": "0-3, or null for N/A.",
        },
        notes=STR,
        evidence=STR,
    ),
    "PedagogyCriterion": _obj(
        ["criterion_id", "title", "question", "score"],
        criterion_id=STR,
        title=STR,
        question=STR,
        guidance={"type": "object", "additionalProperties": STR},
        scored=BOOL,
        score={"type": ["integer", "null"], "minimum": 0, "maximum": 3},
        notes=_nullable(STR),
        evidence=_nullable(STR),
        scored_by=_nullable(_ref("User")),
        updated_at=_nullable(DATETIME),
    ),
    "PedagogyList": _obj(
        ["criteria"],
        clinic_id=INT,
        can_score=BOOL,
        criteria=_list_of("PedagogyCriterion"),
    ),
}


def _query(name: str, schema: dict, description: str) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


VERSION_PARAM = _query("version", INT, "Version number (default: the latest).")

# endpoint -> summary, tag, request body schema, success status + schema, query parameters.
OPERATIONS: dict[str, dict[str, Any]] = {
    "api.action_plan": {
        "summary": "The clinic's action plan as a PDF (directors: once feedback is shared)",
        "tag": "exports",
        "ok": (200, None),
        "pdf": True,
    },
    "api.summary_pdf": {
        "summary": "The dean summary for a school and academic year as a PDF (deans, admins)",
        "tag": "exports",
        "ok": (200, None),
        "pdf": True,
        "query": [
            _query("school", STR, "School name (default: all schools)."),
            _query("year", STR, "Academic year like 2026-27 (default: the latest)."),
        ],
    },
    "api.openapi": {
        "summary": "This OpenAPI description",
        "tag": "meta",
        "ok": (200, None),
    },
    "api.me": {"summary": "The token's user", "tag": "meta", "ok": (200, "User")},
    "api.rubric_health": {
        "summary": "How coaches' decisions judge each criterion (admins and coaches): "
        "counts and precision per confidence, dismissal reasons, dismissed patterns, "
        "proposed rubric changes",
        "tag": "rubric",
        "ok": (200, "RubricHealth"),
        "query": [
            _query(
                "version",
                STR,
                "Rubric version to count (default: the current one). A change of "
                "rubric restarts the count.",
            )
        ],
    },
    "api.notifications_list": {
        "summary": "The user's own notifications (newest first) and the unread count",
        "tag": "notifications",
        "ok": (200, "NotificationList"),
    },
    "api.notification_read": {
        "summary": "Mark one of the user's notifications read",
        "tag": "notifications",
        "ok": (200, "Notification"),
    },
    "api.notifications_read_all": {
        "summary": "Mark all the user's notifications read",
        "tag": "notifications",
        "ok": (200, "MarkedRead"),
    },
    "api.notification_preferences": {
        "summary": "How each kind of notification is emailed to the user",
        "tag": "notifications",
        "ok": (200, "NotificationPreferences"),
    },
    "api.set_notification_preferences": {
        "summary": "Choose how each kind of notification is emailed",
        "tag": "notifications",
        "body": "NotificationPreferencesUpdate",
        "ok": (200, "NotificationPreferences"),
    },
    "api.courses_list": {
        "summary": "Courses the user may see",
        "tag": "courses",
        "ok": (200, "CourseList"),
    },
    "api.create_course": {
        "summary": "Create a course (admins)",
        "tag": "courses",
        "body": "CourseCreate",
        "ok": (201, "Course"),
    },
    "api.course": {
        "summary": "A course with its clinics",
        "tag": "courses",
        "ok": (200, "Course"),
    },
    "api.clinics_list": {
        "summary": "Clinics the user may see",
        "tag": "clinics",
        "ok": (200, "ClinicList"),
        "query": [
            _query("course_id", INT, "Only this course's clinics."),
            _query("academic_year", STR, "Only this year, e.g. 2026-27."),
            _query("status", _enum(ClinicStatus), "Only clinics in this status."),
        ],
    },
    "api.create_clinic": {
        "summary": "Create a clinic for a course and year (admins)",
        "tag": "clinics",
        "body": "ClinicCreate",
        "ok": (201, "Clinic"),
    },
    "api.clinic": {
        "summary": "A clinic with its documents and the user's next steps",
        "tag": "clinics",
        "ok": (200, "ClinicDetail"),
    },
    "api.transition": {
        "summary": "Move the clinic to its next status, or back one with a reason",
        "tag": "clinics",
        "body": "Transition",
        "ok": (200, "ClinicDetail"),
        "errors": (409,),
        "error_schemas": {409: "TransitionRefused"},
    },
    "api.notes": {
        "summary": "The clinic's internal notes (its coaches and admins only)",
        "tag": "clinics",
        "ok": (200, "InternalNoteList"),
    },
    "api.add_clinic_note": {
        "summary": "Add an internal note on the clinic or one of its findings "
        "(directors and deans never see them)",
        "tag": "clinics",
        "body": "InternalNoteCreate",
        "ok": (201, "InternalNote"),
    },
    "api.upload": {
        "summary": "Upload a file (a new document, or a new version with document_id)",
        "tag": "documents",
        "multipart": "Upload",
        "ok": (202, "UploadResult"),
        "also": {200: ("The same file again: no new version", "UploadResult")},
        "errors": (413, 503),
    },
    "api.document": {
        "summary": "A document, described by its latest version (poll this)",
        "tag": "documents",
        "ok": (200, "Document"),
    },
    "api.document_findings": {
        "summary": "Findings of a version of the document",
        "tag": "findings",
        "ok": (200, "FindingList"),
        "query": [
            VERSION_PARAM,
            _query("criterion", STR, "Criterion id."),
            _query("category", STR, "Category."),
            _query("severity", SEVERITY, "Severity."),
            _query(
                "confidence",
                {"type": "string", "enum": list(CONFIDENCE_LEVELS)},
                "Confidence level.",
            ),
            _query("status", _enum(FindingStatus), "Status as shown to the user."),
            _query("match", _enum(MatchState), "New or persisting."),
            _query(
                "assigned",
                {"type": "string", "enum": ["me", "nobody"]},
                "Coaches and admins: assigned to the token's user, or to nobody.",
            ),
            _query(
                "differ",
                {"type": "string", "enum": ["true", "false"]},
                "Coaches and admins: findings the coaches decided differently.",
            ),
        ],
    },
    "api.document_segments": {
        "summary": "The text segments of a version (for manual findings' offsets)",
        "tag": "documents",
        "ok": (200, "SegmentList"),
        "query": [VERSION_PARAM],
    },
    "api.finding": {
        "summary": "A finding with its comments",
        "tag": "findings",
        "ok": (200, "Finding"),
    },
    "api.update_finding": {
        "summary": "Confirm, dismiss or reopen a finding, or change its severity or "
        "criterion",
        "tag": "findings",
        "body": "FindingUpdate",
        "ok": (200, "Finding"),
    },
    "api.settle_finding": {
        "summary": "The lead coach settles a finding the coaches decided differently "
        "(audited); 409 when they agree",
        "tag": "findings",
        "body": "Settle",
        "ok": (200, "Finding"),
        "errors": (409,),
    },
    "api.bulk_decide": {
        "summary": "Confirm or dismiss several findings (chosen, or all matching "
        "filters) with one reason; one audit entry",
        "tag": "findings",
        "body": "BulkDecision",
        "ok": (200, "BulkDecisionResult"),
        "query": [VERSION_PARAM],
    },
    "api.add_comment": {
        "summary": "Comment on a finding",
        "tag": "findings",
        "body": "CommentCreate",
        "ok": (201, "Comment"),
    },
    "api.add_finding": {
        "summary": "Add a coach's own finding on exact offsets of a segment",
        "tag": "findings",
        "body": "ManualFinding",
        "ok": (201, "Finding"),
    },
    "api.action_items": {
        "summary": "The clinic's action items",
        "tag": "action items",
        "ok": (200, "ActionItemList"),
    },
    "api.create_action_item": {
        "summary": "Add an action item",
        "tag": "action items",
        "body": "ActionItemCreate",
        "ok": (201, "ActionItem"),
    },
    "api.update_action_item": {
        "summary": "Change an action item",
        "tag": "action items",
        "body": "ActionItemUpdate",
        "ok": (200, "ActionItem"),
    },
    "api.pedagogy": {
        "summary": "Every pedagogy criterion with the clinic's score",
        "tag": "pedagogy",
        "ok": (200, "PedagogyList"),
    },
    "api.score_pedagogy": {
        "summary": "Score a pedagogy criterion (0-3 or null for N/A)",
        "tag": "pedagogy",
        "body": "PedagogyScoreUpdate",
        "ok": (200, "PedagogyCriterion"),
    },
}

ERROR_TEXT = {
    400: "Invalid input",
    401: "No valid API token",
    403: "Not allowed for this user",
    404: "No such object",
    409: "Refused: not a legal step from the clinic's current status, or a guard "
    "asks for `confirm` or `override_reason` (see `counts` and `needs`); for a "
    "settle, the coaches agree",
    413: (
        "The upload is too large: the file is over the per-file limit "
        "(`file_too_large`), or the request over the limit for one upload"
    ),
    415: "Wrong content type",
    503: "The server cannot store the file right now (`storage_unavailable`): retry later",
}
_CONVERTER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


def api_rules(app: Flask) -> list:
    return [r for r in app.url_map.iter_rules() if r.endpoint.startswith("api.")]


def openapi_path(rule) -> str:
    return _CONVERTER.sub(r"{\2}", rule.rule)[len(API_PREFIX) :] or "/"


def _path_params(rule) -> list[dict]:
    params = []
    for converter, name in _CONVERTER.findall(rule.rule):
        schema = INT if converter == "int" else STR
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    return params


def _json(schema: dict | None) -> dict:
    return {"application/json": {"schema": schema or {"type": "object"}}}


def _operation(app: Flask, rule, method: str) -> dict:
    spec = OPERATIONS[rule.endpoint]  # KeyError: document the new endpoint above
    view = app.view_functions[rule.endpoint]
    public = getattr(view, "policy_action", None) == "public"
    op: dict[str, Any] = {
        "operationId": rule.endpoint.removeprefix("api."),
        "summary": spec["summary"],
        "tags": [spec["tag"]],
    }
    params = _path_params(rule) + spec.get("query", [])
    if params:
        op["parameters"] = params
    status, schema = spec["ok"]
    content = (
        {
            "application/pdf": {
                "schema": {"type": "string", "contentMediaType": "application/pdf"}
            }
        }
        if spec.get("pdf")
        else _json(_ref(schema) if schema else None)
    )
    responses: dict[str, Any] = {str(status): {"description": "OK", "content": content}}
    for code, (text, extra) in spec.get("also", {}).items():
        responses[str(code)] = {"description": text, "content": _json(_ref(extra))}
    errors = set(spec.get("errors", ()))
    if "body" in spec:
        op["requestBody"] = {"required": True, "content": _json(_ref(spec["body"]))}
        errors |= {400, 415}
    if "multipart" in spec:
        op["requestBody"] = {
            "required": True,
            "content": {"multipart/form-data": {"schema": _ref(spec["multipart"])}},
        }
        errors |= {400, 415}
    if "query" in spec:
        errors.add(400)
    if not public:
        errors |= {401, 403}
        op["security"] = [{"bearerAuth": []}]
    else:
        op["security"] = []
    if rule.arguments:
        errors.add(404)
    error_schemas = spec.get("error_schemas", {})
    for code in sorted(errors):
        responses[str(code)] = {
            "description": ERROR_TEXT[code],
            "content": _json(_ref(error_schemas.get(code, "Error"))),
        }
    op["responses"] = responses
    return op


def build_spec(app: Flask) -> dict:
    paths: dict[str, dict] = {}
    for rule in sorted(api_rules(app), key=lambda r: r.rule):
        item = paths.setdefault(openapi_path(rule), {})
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            item[method.lower()] = _operation(app, rule, method)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Curriculum clinic API",
            "version": "1",
            "description": "Send `Authorization: Bearer TOKEN` (create a token on your "
            "profile page or with `clinic create-token EMAIL`). Access follows the "
            "same rules as the pages. Errors are JSON `{error, message}`.",
        },
        "servers": [{"url": API_PREFIX}],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A personal API token (`clinic_...`).",
                }
            },
        },
    }
