"""JSON shapes of the API's objects (documented in clinic/api/openapi.py)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from flask import url_for

from clinic.models import (
    ActionItem,
    ApiToken,
    Clinic,
    Comment,
    Course,
    Document,
    DocumentVersion,
    Finding,
    FindingDecision,
    FindingStatus,
    InternalNote,
    PedagogyScore,
    Segment,
    User,
    VersionStatus,
)


def iso(value: dt.datetime | dt.date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)  # SQLite drops the zone; stored as UTC
    return value.isoformat()


def user(u: User | None) -> dict | None:
    if u is None:
        return None
    return {"id": u.id, "email": u.email, "name": u.name, "role": u.role.value}


def course(c: Course) -> dict:
    return {
        "id": c.id,
        "code": c.code,
        "title": c.title,
        "kind": c.kind.value,
        "school": c.school,
        "directors": [user(d) for d in c.directors],
        "created_at": iso(c.created_at),
        "url": url_for("api.course", course_id=c.id),
    }


def clinic(c: Clinic) -> dict:
    return {
        "id": c.id,
        "course_id": c.course_id,
        "course": {"id": c.course.id, "code": c.course.code, "title": c.course.title},
        "academic_year": c.academic_year,
        "status": c.status.value,
        "status_label": c.status.label,
        "coaches": [user(u) for u in c.coaches],
        "lead_coach": user(c.lead),
        "directors": [user(u) for u in c.course.directors],
        "created_at": iso(c.created_at),
        "updated_at": iso(c.updated_at),
        "url": url_for("api.clinic", clinic_id=c.id),
    }


def version_summary(v: DocumentVersion) -> dict:
    return {
        "id": v.id,
        "number": v.number,
        "filename": v.filename,
        "size": v.size,
        "sha256": v.sha256,
        "status": v.status.value,
        "progress": v.progress,
        "uploaded_at": iso(v.uploaded_at),
        "uploaded_by": user(v.uploaded_by),
    }


def document_summary(d: Document) -> dict:
    latest = d.latest
    return {
        "id": d.id,
        "title": d.title,
        "clinic_id": d.clinic_id,
        "latest_version": version_summary(latest) if latest else None,
        "url": url_for("api.document", document_id=d.id),
    }


def finding(
    f: Finding,
    show_decisions: bool,
    comments: bool = False,
    *,
    show_comments: bool = True,
    notes: list[InternalNote] | None = None,
    review: bool = False,
) -> dict:
    """A finding; without `show_decisions` (a director before feedback is shared)
    the coach's decision is left out and the status reads `open`, as on the page."""
    out: dict[str, Any] = {
        "id": f.id,
        "version_id": f.version_id,
        "document_id": f.version.document_id,
        "segment_id": f.segment_id,
        "criterion_id": f.criterion_id,
        "title": f.title,
        "category": f.category,
        "severity": f.severity,
        "confidence": f.confidence,
        "also": [dict(x) for x in f.secondary or ()],
        "status": f.status.value if show_decisions else FindingStatus.OPEN.value,
        "match": f.match_state.value,
        "source": f.source,
        "location": f.location,
        "location_label": f.location_label,
        "start": f.start,
        "end": f.end,
        "matched_text": f.matched_text,
        "sentence": f.sentence,
        "note": f.note,
        "rubric_version": f.rubric_version,
        "previous_id": f.previous_id,
        "revised_at": iso(f.revised_at),
        "created_at": iso(f.created_at),
    }
    if show_decisions:
        out.update(
            machine_severity=f.machine_severity,
            reason=f.dismiss_reason.value if f.dismiss_reason else None,
            comment=f.decision_comment,
            decided_by=user(f.decided_by),
            decided_at=iso(f.decided_at),
        )
    if review:  # the clinic's coaches and admins: assignment, each coach's decision
        from clinic.services.reviews import coaches_differ

        out.update(
            assignee=user(f.assignee),
            coaches_differ=coaches_differ(f),
            coach_decisions=[coach_decision(d) for d in f.coach_decisions],
            settled_by=user(f.settled_by),
            settled_at=iso(f.settled_at),
        )
    if comments:
        # Coach comments are private until feedback is shared (policy "clinic.comments").
        out["comments_visible"] = show_comments
        out["comments"] = [comment(c) for c in f.comments] if show_comments else []
    if notes is not None:  # the clinic's coaches and admins only
        out["internal_notes"] = [note(n) for n in notes]
    return out


def coach_decision(d: FindingDecision) -> dict:
    return {
        "coach": user(d.coach),
        "status": d.status.value,
        "reason": d.dismiss_reason.value if d.dismiss_reason else None,
        "comment": d.comment,
        "decided_at": iso(d.decided_at),
    }


def note(n: InternalNote) -> dict:
    return {
        "id": n.id,
        "clinic_id": n.clinic_id,
        "finding_id": n.finding_id,
        "author": user(n.author),
        "body": n.body,
        "created_at": iso(n.created_at),
    }


def comment(c: Comment) -> dict:
    return {
        "id": c.id,
        "finding_id": c.finding_id,
        "parent_id": c.parent_id,
        "author": user(c.author),
        "body": c.body,
        "created_at": iso(c.created_at),
    }


def counts(findings: list[dict]) -> dict:
    return {
        "findings": len(findings),
        "by_status": dict(Counter(f["status"] for f in findings)),
        "by_severity": dict(Counter(f["severity"] for f in findings)),
        "by_category": dict(Counter(f["category"] for f in findings)),
        "by_criterion": dict(Counter(f["criterion_id"] for f in findings)),
    }


def document(d: Document, findings: list[dict], diff: dict | None) -> dict:
    """The document, described by its latest version."""
    latest = d.latest
    out = document_summary(d)
    out.update(
        versions=[version_summary(v) for v in d.versions],
        version=latest.number if latest else None,
        version_id=latest.id if latest else None,
        status=latest.status.value if latest else None,
        progress=latest.progress if latest else None,
        finished=latest.status.finished if latest else None,
        error=latest.error if latest else None,
        warnings=(latest.warnings or []) if latest else [],
        rubric_version=latest.rubric_version if latest else None,
        kind=latest.kind if latest else None,
        page_count=latest.page_count if latest else None,
        word_count=latest.word_count if latest else None,
        counts=counts(findings)
        if latest and latest.status == VersionStatus.DONE
        else None,
        findings_url=url_for("api.document_findings", document_id=d.id),
    )
    if diff is not None:
        out["diff"] = diff
    return out


def segment(s: Segment) -> dict:
    return {
        "id": s.id,
        "version_id": s.version_id,
        "ordinal": s.ordinal,
        "location": s.location,
        "text": s.text,
    }


def action_item(item: ActionItem) -> dict:
    return {
        "id": item.id,
        "clinic_id": item.clinic_id,
        "title": item.title,
        "description": item.description,
        "owner": user(item.owner),
        "owner_email": item.owner.email if item.owner else None,
        "due_date": iso(item.due_date),
        "status": item.status.value,
        "drop_reason": item.drop_reason,
        "overdue": item.overdue,
        "finding_ids": [f.id for f in item.findings],
        "created_at": iso(item.created_at),
        "updated_at": iso(item.updated_at),
    }


def pedagogy(criterion, score: PedagogyScore | None) -> dict:
    return {
        "criterion_id": criterion.id,
        "title": criterion.title,
        "question": criterion.question,
        "guidance": {str(k): v for k, v in sorted(criterion.guidance.items())},
        "scored": score is not None,
        "score": score.score if score else None,
        "notes": score.notes if score else None,
        "evidence": score.evidence if score else None,
        "scored_by": user(score.scored_by) if score else None,
        "updated_at": iso(score.updated_at) if score else None,
    }


def token(t: ApiToken) -> dict:
    return {
        "id": t.id,
        "name": t.name,
        "prefix": t.prefix,
        "created_at": iso(t.created_at),
        "last_used_at": iso(t.last_used_at),
        "revoked_at": iso(t.revoked_at),
    }


def notification(n) -> dict:
    return {
        "id": n.id,
        "kind": n.kind.value,
        "subject": n.subject,
        "body": n.body,
        "link": n.link,
        "clinic_id": n.clinic_id,
        "created_at": iso(n.created_at),
        "read_at": iso(n.read_at),
        "mail_status": n.mail_status.value,
    }


def notification_preferences(chosen: dict) -> dict:
    return {"preferences": {k.value: v.value for k, v in chosen.items()}}


def _tally(t) -> dict:
    return {
        "confirmed": t.confirmed,
        "dismissed": t.dismissed,
        "decisions": t.decisions,
        "precision": round(t.precision, 4) if t.precision is not None else None,
    }


def rubric_health(health, proposal_text) -> dict:
    """Rubric health; `proposal_text(p)` gives a proposal's YAML."""
    return {
        "rubric_version": health.rubric_version,
        "current_rubric_version": health.current_version,
        "versions": [
            {"rubric_version": v, "decisions": n} for v, n in health.versions.items()
        ],
        "min_dismissals": health.min_dismissals,
        "total": _tally(health.total),
        "criteria": [
            {
                "criterion_id": c.criterion_id,
                "title": c.title,
                "rubric_version": c.rubric_version,
                **_tally(c.total),
                "by_confidence": {level: _tally(t) for level, t in c.confidence_rows()},
                "dismissal_reasons": dict(c.reasons.most_common()),
                "dismissed_patterns": [
                    {
                        "pattern": g.pattern,
                        "count": g.count,
                        "reasons": g.reasons,
                        "example": g.example,
                    }
                    for g in c.patterns
                ],
                "proposals": [
                    {
                        "reason": p.reason,
                        "phrase": p.phrase,
                        "support": p.support,
                        "example": p.example,
                        "yaml": proposal_text(p),
                    }
                    for p in c.proposals
                ],
            }
            for c in health.criteria
        ],
    }
