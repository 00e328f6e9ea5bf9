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
