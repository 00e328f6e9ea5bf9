"""CSV downloads: a clinic's findings and action items, the summary's heat map."""

from __future__ import annotations

import re

import sqlalchemy as sa

from clinic.export.csvsafe import to_csv
from clinic.extensions import db
from clinic.models import (
    ActionItem,
    ActionStatus,
    Clinic,
    Document,
    DocumentVersion,
    Finding,
    FindingStatus,
    User,
    VersionStatus,
)
from clinic.services.workflow import decisions_visible
from clinic.summaries.queries import SchoolSummary

FINDING_FILTERS = (
    "criterion",
    "category",
    "severity",
    "confidence",
    "status",
    "document",
)
FINDING_HEADER = [
    "document",
    "version",
    "location",
    "criterion_id",
    "title",
    "category",
    "severity",
    "confidence",
    "also",
    "status",
    "dismiss_reason",
    "decision_comment",
    "matched_text",
    "sentence",
    "match_state",
]
ACTION_HEADER = [
    "id",
    "title",
    "description",
    "owner",
    "due_date",
    "status",
    "overdue",
    "drop_reason",
    "findings",
    "created_at",
]
ACTION_FILTERS = tuple(s.value for s in ActionStatus) + ("overdue",)


def filename(*parts: str) -> str:
    """A safe download name: letters, digits, dots and dashes."""
    text = "-".join(p for p in parts if p)
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "export"


def _latest_done_versions(clinic: Clinic) -> list[DocumentVersion]:
    out = []
    for document in clinic.documents:
        done = [v for v in document.versions if v.status == VersionStatus.DONE]
        if done:
            out.append(done[-1])
    return out


def clinic_findings(clinic: Clinic, user: User, filters: dict) -> list[Finding]:
    """Findings of the latest analysed version of each document, filtered as on the review page.

    Filters: criterion, category, severity, status (ignored when the user may not see
    decisions yet), document (a document id).
    """
    versions = _latest_done_versions(clinic)
    document = filters.get("document")
    if document:
        versions = [v for v in versions if str(v.document_id) == str(document)]
    if not versions:
        return []
    query = (
        sa.select(Finding)
        .join(DocumentVersion, Finding.version_id == DocumentVersion.id)
        .join(Document, DocumentVersion.document_id == Document.id)
        .where(Finding.version_id.in_([v.id for v in versions]))
        .order_by(Document.title, Document.id, Finding.segment_id, Finding.start)
    )
    for name, column in (
        ("criterion", Finding.criterion_id),
        ("category", Finding.category),
        ("severity", Finding.severity),
        ("confidence", Finding.confidence),
    ):
        if filters.get(name):
            query = query.where(column == filters[name])
    status = filters.get("status")
    if status and decisions_visible(user, clinic):
        try:
            query = query.where(Finding.status == FindingStatus(status))
        except ValueError:
            return []
    return list(db.session.scalars(query))


def findings_csv(clinic: Clinic, user: User, filters: dict) -> str:
    show = decisions_visible(user, clinic)
    rows = []
    for f in clinic_findings(clinic, user, filters):
        rows.append(
            [
                f.version.document.title,
                f.version.number,
                f.location_label,
                f.criterion_id,
                f.title,
                f.category,
                f.severity,
                f.confidence,
                "; ".join(x["criterion_id"] for x in f.secondary or ()),
                f.status.value if show else "",
                f.dismiss_reason.value if show and f.dismiss_reason else "",
                (f.decision_comment or "") if show else "",
                " ".join(f.matched_text.split()),
                " ".join(f.sentence.split()),
                f.match_state.value,
            ]
        )
    return to_csv(FINDING_HEADER, rows)


def clinic_action_items(clinic: Clinic, status: str | None) -> list[ActionItem]:
    """The clinic's action items; `status` is an ActionStatus value or "overdue"."""
    items = list(
        db.session.scalars(
            sa.select(ActionItem)
            .where(ActionItem.clinic_id == clinic.id)
            .order_by(ActionItem.id)
        )
    )
    if status == "overdue":
        return [i for i in items if i.overdue]
    if status:
        return [i for i in items if i.status.value == status]
    return items


def action_items_csv(clinic: Clinic, status: str | None) -> str:
    rows = [
        [
            item.id,
            item.title,
            item.description or "",
            item.owner.name if item.owner else "",
            item.due_date.isoformat() if item.due_date else "",
            item.status.value,
            "yes" if item.overdue else "no",
            item.drop_reason or "",
            " ".join(f.criterion_id for f in item.findings),
            item.created_at.strftime("%Y-%m-%d"),
        ]
        for item in clinic_action_items(clinic, status)
    ]
    return to_csv(ACTION_HEADER, rows)


def summary_csv(summary: SchoolSummary) -> str:
    """The heat map per course (flagged findings by category) with status and action counts."""
    header = [
        "school",
        "academic_year",
        "course",
        "title",
        "clinic_status",
        *summary.categories,
        "flagged",
        "open",
        "confirmed",
        "dismissed",
        "confirmed_resolved",
        "confirmed_total",
        "actions_done",
        "actions_open",
        "actions_overdue",
        "actions_dropped",
    ]

    def numbers(by_category, findings, resolution, actions) -> list:
        return [
            *(by_category.get(c, 0) for c in summary.categories),
            findings.flagged,
            findings.open,
            findings.confirmed,
            findings.dismissed,
            resolution.resolved,
            resolution.confirmed,
            actions.done,
            actions.open,
            actions.overdue,
            actions.dropped,
        ]

    rows = [
        [
            r.school,
            r.academic_year,
            r.course_code,
            r.course_title,
            r.status.value,
            *numbers(r.by_category, r.findings, r.resolution, r.actions),
        ]
        for r in summary.clinics
    ]
    t = summary.totals
    rows.append(
        [
            summary.school or "All schools",
            summary.year or "",
            "Total",
            f"{t.clinics} clinics",
            "",
            *numbers(t.by_category, t.findings, t.resolution, t.actions),
        ]
    )
    return to_csv(header, rows)
