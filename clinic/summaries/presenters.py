"""What the summary page and PDF show besides the numbers: charts, heat-map shades."""

from __future__ import annotations

from clinic.export.charts import bar_chart, grouped_bar_chart
from clinic.models import ClinicStatus
from clinic.summaries.queries import SchoolSummary


def charts(summary: SchoolSummary) -> dict:
    """Inline SVG charts for the page and the PDF (labels and values printed)."""
    totals, previous = summary.totals, summary.previous
    out = {
        "status": bar_chart(
            [(s.label, totals.by_status[s]) for s in ClinicStatus],
            "Clinics by status",
        ),
        "categories": bar_chart(
            [(c, totals.by_category.get(c, 0)) for c in summary.categories],
            "Flagged findings by category (open + confirmed)",
        ),
        "actions": bar_chart(
            [
                ("Done", totals.actions.done),
                ("Open or in progress", totals.actions.open),
                ("of which overdue", totals.actions.overdue),
                ("Dropped", totals.actions.dropped),
            ],
            "Action items",
        ),
        "criteria": bar_chart(
            [(c.criterion_id, c.count) for c in summary.top_criteria],
            "Most often confirmed criteria",
        )
        if summary.top_criteria
        else None,
    }
    if summary.previous_year:
        series = [summary.year or "", summary.previous_year]
        out["change"] = grouped_bar_chart(
            [
                ("Clinics", [totals.clinics, previous.clinics]),
                (
                    "Flagged findings",
                    [totals.findings.flagged, previous.findings.flagged],
                ),
                ("Confirmed", [totals.findings.confirmed, previous.findings.confirmed]),
                ("Dismissed", [totals.findings.dismissed, previous.findings.dismissed]),
                ("Actions done", [totals.actions.done, previous.actions.done]),
                ("Actions open", [totals.actions.open, previous.actions.open]),
            ],
            series,
            f"{summary.year} compared with {summary.previous_year}",
        )
    return out


def heat(count: int, peak: int) -> str:
    """Inline style of a heat-map cell: a blue shade by count (the number is printed too)."""
    if not count or not peak:
        return ""
    level = count / peak
    lightness = round(96 - level * 58)  # 96% (pale) .. 38% (dark)
    # Text colour for a contrast of at least 4.5:1 on either side of the switch.
    colour = "#fff" if lightness < 48 else "#000"
    return f"background-color:hsl(210,60%,{lightness}%);color:{colour}"


def school_patterns(summary: SchoolSummary) -> list:
    """The course pattern report across every course in the summary (school-wide)."""
    import sqlalchemy as sa
    from flask import current_app

    from clinic.export.patterns import patterns_for
    from clinic.extensions import db
    from clinic.models import Course

    ids = sorted({row.course_id for row in summary.clinics})
    if not ids:
        return []
    courses = list(db.session.scalars(sa.select(Course).where(Course.id.in_(ids))))
    return patterns_for(courses, current_app.config["RUBRIC_DIR"])


def context(summary: SchoolSummary) -> dict:
    return {
        "summary": summary,
        "charts": charts(summary),
        "heat": heat,
        "patterns": school_patterns(summary),
    }


def filename(summary: SchoolSummary, extension: str) -> str:
    """clinic-summary-<school>-<year>.<extension>, safe for a Content-Disposition header."""
    from clinic.summaries.exports import filename as safe

    name = safe(
        "clinic-summary", summary.school or "all-schools", summary.year or "none"
    )
    return f"{name}.{extension}"


def render_summary_pdf(summary: SchoolSummary) -> bytes:
    """The summary as a PDF (needs an app context); the API's summary.pdf uses this too."""
    from clinic.export.pdf import render_pdf

    return render_pdf("summaries/summary_pdf.html", **context(summary))
