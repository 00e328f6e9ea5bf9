"""The action plan PDF of a clinic."""

from __future__ import annotations

from flask import current_app

from clinic.export.action_plan import CATEGORIES, PATTERN_ROWS, build_action_plan
from clinic.export.charts import bar_chart
from clinic.export.patterns import course_patterns
from clinic.export.pdf import mark_words, render_pdf
from clinic.models import Clinic


def action_plan_pdf(clinic: Clinic, show_comments: bool = True) -> bytes:
    """Render the clinic's action plan (confirmed findings, scores, actions, sessions, sign-off).

    `show_comments`: whether the reader may see the coach comment threads (see
    policy "clinic.comments"); internal notes are never part of the plan."""
    from clinic.rubric_cache import app_rubric

    plan = build_action_plan(clinic, app_rubric())
    chart = bar_chart(
        [
            (c, plan.by_category.get(c, 0))
            for c in CATEGORIES
            if plan.by_category.get(c)
        ],
        "Findings by category (latest versions)",
    )
    patterns = course_patterns(clinic.course)
    return render_pdf(
        "export/action_plan.html",
        clinic=clinic,
        plan=plan,
        chart=chart,
        categories=CATEGORIES,
        mark_words=mark_words,
        patterns=patterns,
        pattern_rows=PATTERN_ROWS,
        base_url=current_app.config["BASE_URL"].rstrip("/"),
        show_comments=show_comments,
    )
