"""Audit trail: every state change adds an AuditEvent in the caller's transaction."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request

from clinic.extensions import db
from clinic.models import AuditEvent, User


def snapshot(obj: Any, fields: tuple[str, ...]) -> dict:
    """A JSON-able view of selected attributes, for before/after records."""
    out = {}
    for name in fields:
        value = getattr(obj, name)
        if hasattr(value, "value"):
            value = value.value
        elif isinstance(value, list):
            value = sorted(str(getattr(v, "email", v)) for v in value)
        out[name] = value
    return out


def clinic_of(obj: Any) -> int | None:
    """The clinic an object belongs to (for "what changed" lists), if any."""
    from clinic.models import (
        ActionItem,
        Clinic,
        CoachingSession,
        Comment,
        Document,
        DocumentVersion,
        Finding,
        InternalNote,
        PedagogyScore,
    )

    if isinstance(obj, Clinic):
        return obj.id
    if isinstance(
        obj, (ActionItem, CoachingSession, PedagogyScore, Document, InternalNote)
    ):
        return obj.clinic_id
    if isinstance(obj, DocumentVersion):
        return obj.document.clinic_id
    if isinstance(obj, Finding):
        return obj.version.document.clinic_id
    if isinstance(obj, Comment):
        return obj.finding.version.document.clinic_id
    return None


def record(
    actor: User | None,
    action: str,
    obj: Any = None,
    *,
    before: dict | None = None,
    after: dict | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
) -> AuditEvent:
    """Add an audit event to the session; the calling service commits it."""
    if obj is not None:
        object_type = object_type or type(obj).__name__
        if object_id is None and getattr(obj, "id", None) is not None:
            object_id = str(obj.id)
    event = AuditEvent(
        clinic_id=clinic_of(obj),
        actor=actor if actor is not None and getattr(actor, "id", None) else None,
        action=action,
        object_type=object_type,
        object_id=object_id,
        before=before,
        after=after,
        ip=request.remote_addr if has_request_context() else None,
    )
    db.session.add(event)
    return event


DESCRIPTIONS = {
    "comment.add": "commented on a finding",
    "note.add": "added an internal note",
    "clinic.gate_override": "overrode the quality gate: {reason}",
    "finding.confirm": "confirmed a finding",
    "finding.dismiss": "dismissed a finding",
    "finding.bulk_confirm": "confirmed {count} findings at once",
    "finding.bulk_dismiss": "dismissed {count} findings at once",
    "finding.severity": "changed a finding's severity",
    "finding.revised": "marked a finding as revised in the materials",
    "version.upload": "uploaded {filename}",
    "version.analysed": "analysis finished ({findings} findings)",
    "version.failed": "analysis failed: {error}",
    "action_item.create": "added the action item “{title}”",
    "action_item.update": "updated the action item “{title}” ({status})",
    "session.add": "logged a coaching session",
    "document.share": "added a self-checked draft to the clinic",
}


def describe(event: AuditEvent) -> str:
    """One line of plain text for an audit event, for the home page feed."""
    if event.action == "clinic.transition":
        from clinic.models import ClinicStatus

        return f"moved the clinic to {ClinicStatus((event.after or {}).get('status', 'draft')).label.lower()}"
    if event.action == "clinic.step_back":
        from clinic.models import ClinicStatus

        after = event.after or {}
        label = ClinicStatus(after.get("status", "draft")).label.lower()
        return f"stepped the clinic back to {label}: {after.get('reason', '')}"
    template = DESCRIPTIONS.get(event.action, event.action)
    try:
        return template.format(**(event.after or {}))
    except (KeyError, IndexError, ValueError):
        return template.split(" (")[0].replace("{", "").replace("}", "")


def where(event: AuditEvent) -> str:
    """The document (if any) and the course an event is about, e.g.
    "lecture.pdf · NEPH 610 Renal Physiology", for the home page feed."""
    from clinic.models import Clinic, Comment, Document, DocumentVersion, Finding

    document = None
    models = {
        "Document": Document,
        "DocumentVersion": DocumentVersion,
        "Finding": Finding,
        "Comment": Comment,
    }
    model = models.get(event.object_type or "")
    if model is not None and (event.object_id or "").isdigit():
        obj = db.session.get(model, int(event.object_id))
        if isinstance(obj, Comment):
            obj = obj.finding
        if isinstance(obj, Finding):
            obj = obj.version
        if isinstance(obj, DocumentVersion):
            obj = obj.document
        document = obj
    parts = [f"“{document.title}”"] if document is not None else []
    clinic = db.session.get(Clinic, event.clinic_id) if event.clinic_id else None
    if clinic is not None:
        parts.append(f"{clinic.course} ({clinic.academic_year})")
    return " · ".join(parts)
