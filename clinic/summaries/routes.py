from __future__ import annotations

from flask import Response, render_template, request
from flask_login import current_user

from clinic.models import Clinic
from clinic.policy import guard
from clinic.summaries import bp, exports
from clinic.summaries.presenters import context, filename, render_summary_pdf
from clinic.summaries.queries import school_summary


def _filters() -> tuple[str | None, str | None]:
    school = (request.args.get("school") or "").strip()[:200] or None
    year = (request.args.get("year") or "").strip()[:7] or None
    return school, year


@bp.get("/summary")
@guard("summary.view")
def summary():
    school, year = _filters()
    data = school_summary(school, year)
    return render_template("summaries/summary.html", **context(data))


@bp.get("/summary.pdf")
@guard("summary.view")
def summary_pdf():
    school, year = _filters()
    data = school_summary(school, year)
    return Response(
        render_summary_pdf(data),
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{filename(data, "pdf")}"'
        },
    )


@bp.get("/summary.csv")
@guard("summary.view")
def summary_csv():
    school, year = _filters()
    data = school_summary(school, year)
    return _csv(exports.summary_csv(data), filename(data, "csv"))


def _csv(text: str, name: str) -> Response:
    return Response(
        text.encode("utf-8"),
        mimetype="text/csv",
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{name}"',
        },
    )


@bp.get("/clinics/<int:clinic_id>/findings.csv")
@guard("clinic.view", clinic=Clinic)
def findings_csv(clinic: Clinic):
    filters = {k: request.args.get(k, "").strip() for k in exports.FINDING_FILTERS}
    name = exports.filename(clinic.course.code, clinic.academic_year, "findings.csv")
    return _csv(exports.findings_csv(clinic, current_user, filters), name)


@bp.get("/clinics/<int:clinic_id>/action-items.csv")
@guard("clinic.view", clinic=Clinic)
def action_items_csv(clinic: Clinic):
    status = request.args.get("status", "").strip()
    if status not in exports.ACTION_FILTERS:
        status = ""
    name = exports.filename(
        clinic.course.code, clinic.academic_year, "action-items.csv"
    )
    return _csv(exports.action_items_csv(clinic, status or None), name)
