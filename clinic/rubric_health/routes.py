import io

from flask import abort, current_app, render_template, request, send_file
from flask_login import current_user

from clinic.models import DismissReason
from clinic.policy import guard
from clinic.rubric_cache import app_rubric
from clinic.rubric_health import bp
from clinic.services import rubric_health


def _health():
    return rubric_health.rubric_health(
        current_user,
        app_rubric(),
        rubric_version=request.args.get("version") or None,
        min_dismissals=current_app.config["PROPOSAL_MIN_DISMISSALS"],
    )


@bp.get("/rubric/health")
@guard("rubric.health")
def health():
    return render_template(
        "rubric/health.html",
        health=_health(),
        reasons={r.value: r.label for r in DismissReason},
        proposal_text=lambda p, v: rubric_health.proposal_text(app_rubric(), p, v),
    )


@bp.get("/rubric/health/proposals/<criterion_id>/<reason>.yaml")
@guard("rubric.health")
def proposal(criterion_id: str, reason: str):
    """One proposal as a YAML file, to copy into the rubric or give to `clinic rubric
    apply`."""
    health = _health()
    found = next(
        (
            p
            for c in health.criteria
            if c.criterion_id == criterion_id
            for p in c.proposals
            if p.reason == reason
        ),
        None,
    )
    if found is None or criterion_id not in app_rubric().criteria:
        abort(404)
    text = rubric_health.proposal_text(app_rubric(), found, health.rubric_version)
    return send_file(
        io.BytesIO(text.encode("utf-8")),
        mimetype="application/yaml",
        as_attachment=True,
        download_name=f"proposal-{criterion_id}-{reason}.yaml",
        max_age=0,
    )
