import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from clinic.admin.forms import choices
from clinic.extensions import db
from clinic.models import (
    ActionItem,
    Clinic,
    Comment,
    Document,
    Finding,
    User,
)
from clinic.policy import allowed, guard, visible_clinics
from clinic.rubric_cache import app_rubric
from clinic.services import ServiceError, workflow
from clinic.uploads import accepts_files
from clinic.workflow import bp
from clinic.workflow.forms import (
    ActionItemForm,
    ActionStatusForm,
    CommentForm,
    NoteForm,
    PedagogyForm,
    RevisedForm,
    SessionForm,
    ShareForm,
    TransitionForm,
)


def _errors(form) -> str:
    return "; ".join(
        f"{form[name].label.text}: {e}"
        for name, errors in form.errors.items()
        for e in errors
    )


def _clinic_url(clinic: Clinic, anchor: str = "") -> str:
    return url_for("main.clinic", clinic_id=clinic.id) + (
        f"#{anchor}" if anchor else ""
    )


def _confirm_page(clinic: Clinic, check, form: TransitionForm, status: int = 200):
    return (
        render_template(
            "workflow/transition_confirm.html", clinic=clinic, check=check, form=form
        ),
        status,
    )


@bp.route("/clinics/<int:clinic_id>/transition", methods=["GET", "POST"])
@guard("clinic.transition", clinic=Clinic)
def transition(clinic: Clinic):
    """GET: the confirmation step for `?to=`; POST: make the step (guards permitting)."""
    form = TransitionForm()
    to = request.args.get("to") if request.method == "GET" else form.to.data
    if not to:
        flash("Choose the status to move the clinic to.", "danger")
        return redirect(_clinic_url(clinic))
    try:
        check = workflow.check_transition(current_user, clinic, to)
    except workflow.NotPermitted as error:
        flash(str(error), "danger")
        return redirect(_clinic_url(clinic))
    except ServiceError as error:
        flash(str(error), "danger")
        return redirect(_clinic_url(clinic))
    if request.method == "GET":
        form.to.data = check.to.value
        return _confirm_page(clinic, check, form)
    if not form.validate_on_submit():
        flash("The form could not be accepted: " + _errors(form), "danger")
        return _confirm_page(clinic, check, form, 400)
    try:
        workflow.transition(
            current_user,
            clinic,
            check.to,
            confirm=form.confirm.data == "1",
            reason=form.reason.data,
            override_reason=form.override_reason.data,
        )
    except workflow.TransitionError as error:
        # A guard refused: show its counts and ask for what it needs, keeping the input.
        flash(str(error), "danger")
        return _confirm_page(clinic, check, form, 409)
    except ServiceError as error:
        flash(str(error), "danger")
        return _confirm_page(clinic, check, form, 400)
    if check.back:
        flash(
            f"The clinic stepped back to: {clinic.status.label}. The reason is recorded.",
            "success",
        )
    else:
        flash(f"The clinic is now: {clinic.status.label}.", "success")
    return redirect(_clinic_url(clinic))


@bp.post("/clinics/<int:clinic_id>/notes")
@guard("clinic.notes", clinic=Clinic)
def add_clinic_note(clinic: Clinic):
    form = NoteForm()
    if form.validate_on_submit():
        try:
            workflow.add_note(current_user, clinic, form.body.data)
        except ServiceError as error:
            flash(str(error), "danger")
        else:
            flash("Internal note added (coaches only).", "success")
    else:
        flash("Write the note first.", "danger")
    return redirect(_clinic_url(clinic, "internal-notes"))


@bp.post("/findings/<int:finding_id>/notes")
@guard("finding.note", finding=Finding)
def add_finding_note(finding: Finding):
    form = NoteForm()
    if form.validate_on_submit():
        try:
            workflow.add_note(
                current_user, finding.version.document.clinic, form.body.data, finding
            )
        except ServiceError as error:
            flash(str(error), "danger")
    else:
        flash("Write the note first.", "danger")
    return redirect(_back_to_finding(finding))


def _back_to_finding(finding: Finding) -> str:
    return (
        url_for("documents.review", version_id=finding.version_id)
        + f"#finding-{finding.id}"
    )


@bp.post("/findings/<int:finding_id>/comments")
@guard("finding.comment", finding=Finding)
def comment(finding: Finding):
    form = CommentForm()
    if form.validate_on_submit():
        parent = (
            db.session.get(Comment, form.parent_id.data)
            if form.parent_id.data
            else None
        )
        try:
            workflow.add_comment(current_user, finding, form.body.data, parent)
        except ServiceError as error:
            flash(str(error), "danger")
    else:
        flash("Write a comment first.", "danger")
    return redirect(_back_to_finding(finding))


@bp.post("/findings/<int:finding_id>/revised")
@guard("finding.mark_revised", finding=Finding)
def mark_revised(finding: Finding):
    form = RevisedForm()
    if form.validate_on_submit():
        workflow.mark_revised(current_user, finding, form.revised.data == "1")
        flash(
            "Marked as revised in the materials; your coach will check the next version.",
            "success",
        )
    return redirect(_back_to_finding(finding))


def _findings_choices(clinic: Clinic):
    return choices(
        (f.id, f"{f.criterion_id} · {f.location_label} · “{f.matched_text[:60]}”")
        for f in workflow.confirmed_findings(clinic)
    )


def _owner_choices(clinic: Clinic):
    return choices(
        [(0, "No owner yet")] + [(d.id, d.name) for d in clinic.course.directors]
    )


@bp.route("/clinics/<int:clinic_id>/action-items/new", methods=["GET", "POST"])
@guard("clinic.coach", clinic=Clinic)
def new_action_item(clinic: Clinic):
    form = ActionItemForm()
    form.owner.choices = _owner_choices(clinic)
    form.findings.choices = _findings_choices(clinic)
    source = db.session.get(Finding, request.args.get("finding", type=int) or 0)
    if source is not None and source.version.document.clinic_id != clinic.id:
        source = None
    if request.method == "GET" and source is not None:
        form.title.data = f"Revise: {source.title}"
        form.description.data = (
            f"{source.location_label} of {source.version.document.title}: “{source.sentence}”\n\n"
            f"{workflow.recommendation_for(source)}"
        )
        form.findings.data = [source.id]
    if form.validate_on_submit():
        owner = db.session.get(User, form.owner.data) if form.owner.data else None
        try:
            workflow.create_action_item(
                current_user,
                clinic,
                title=form.title.data,
                description=form.description.data,
                owner=owner,
                due_date=form.due_date.data,
                finding_ids=form.findings.data or [],
            )
        except ServiceError as error:
            flash(str(error), "danger")
        else:
            flash("Action item added.", "success")
            return redirect(_clinic_url(clinic, "action-items"))
    return render_template("workflow/action_item_form.html", form=form, clinic=clinic)


@bp.post("/action-items/<int:action_item_id>/status")
@guard("action_item.update", action_item=ActionItem)
def action_item_status(action_item: ActionItem):
    form = ActionStatusForm()
    if form.validate_on_submit():
        try:
            workflow.update_action_item(
                current_user,
                action_item,
                status=form.status.data,
                drop_reason=form.drop_reason.data or None,
            )
        except ServiceError as error:
            flash(str(error), "danger")
        else:
            flash(
                f"“{action_item.title}” is now {action_item.status.label.lower()}.",
                "success",
            )
    return redirect(_clinic_url(action_item.clinic, "action-items"))


@bp.post("/clinics/<int:clinic_id>/sessions")
@guard("clinic.coach", clinic=Clinic)
def add_session(clinic: Clinic):
    form = SessionForm()
    form.findings.choices = _findings_choices(clinic)
    if form.validate_on_submit():
        try:
            workflow.add_session(
                current_user,
                clinic,
                form.held_on.data,
                form.attendees.data,
                form.notes.data,
                form.findings.data or [],
            )
        except ServiceError as error:
            flash(str(error), "danger")
        else:
            flash("Coaching session logged.", "success")
    else:
        flash("The session could not be logged: " + _errors(form), "danger")
    return redirect(_clinic_url(clinic, "sessions"))


def _pedagogy_page(clinic: Clinic, typed: dict | None = None, status: int = 200):
    """`typed`: criterion -> {score, notes, evidence} as submitted, shown instead of the
    saved scores when the form comes back with a problem."""
    scores = {s.criterion_id: s for s in clinic.pedagogy_scores}
    criteria = list(app_rubric().manual_criteria.values())
    if typed is None:
        typed = {
            c.id: {
                "score": (
                    ""
                    if c.id not in scores
                    else "na"
                    if scores[c.id].score is None
                    else str(scores[c.id].score)
                ),
                "notes": (scores[c.id].notes or "") if c.id in scores else "",
                "evidence": (scores[c.id].evidence or "") if c.id in scores else "",
            }
            for c in criteria
        }
    return (
        render_template(
            "workflow/pedagogy.html",
            clinic=clinic,
            criteria=criteria,
            scores=scores,
            typed=typed,
            form=PedagogyForm(),
            can_score=allowed(current_user, "clinic.coach", clinic),
            rubric=app_rubric(),
        ),
        status,
    )


@bp.get("/clinics/<int:clinic_id>/pedagogy")
@guard("clinic.view", clinic=Clinic)
def pedagogy(clinic: Clinic):
    return _pedagogy_page(clinic)


SCORE_VALUES = {"na": None, "0": 0, "1": 1, "2": 2, "3": 3}


@bp.post("/clinics/<int:clinic_id>/pedagogy")
@guard("clinic.coach", clinic=Clinic)
def score_pedagogy(clinic: Clinic):
    """One form for every criterion: `score-<id>`, `notes-<id>`, `evidence-<id>`.

    All of it is saved, or (any problem) nothing is and the form comes back with
    everything as typed and a message naming each problem."""
    form = PedagogyForm()
    criteria = app_rubric().manual_criteria
    saved = {s.criterion_id: s for s in clinic.pedagogy_scores}
    typed = {
        cid: {
            "score": request.form.get(f"score-{cid}", "").strip(),
            "notes": request.form.get(f"notes-{cid}", ""),
            "evidence": request.form.get(f"evidence-{cid}", ""),
        }
        for cid in criteria
    }
    problems = [
        f"{name.removeprefix('score-')} is not a pedagogy criterion of the rubric."
        for name in request.form
        if name.startswith("score-") and name.removeprefix("score-") not in criteria
    ]
    if not form.validate_on_submit():
        problems.insert(0, "The form expired; check your input and save again.")
    entries = {}
    for cid, value in typed.items():
        text = (value["notes"] + value["evidence"]).strip()
        if not value["score"]:
            if cid in saved:
                score = saved[cid].score  # a saved score stays; its notes may change
            elif text:
                problems.append(f"{cid}: choose a score or N/A to save the notes.")
                continue
            else:
                continue  # not scored, nothing typed
        elif value["score"] in SCORE_VALUES:
            score = SCORE_VALUES[value["score"]]
        else:
            problems.append(f"{cid}: a score is 0, 1, 2 or 3 (or N/A).")
            continue
        entries[cid] = (score, value["notes"], value["evidence"])
    if not problems:
        try:
            written = workflow.score_pedagogy_all(current_user, clinic, entries)
        except ServiceError as error:
            problems.append(str(error))
    if problems:
        flash(
            "Nothing was saved: " + " ".join(problems) + " Everything you typed is "
            "still in the form.",
            "danger",
        )
        return _pedagogy_page(clinic, typed, 400)
    if written:
        flash(
            "Scores saved: " + ", ".join(r.criterion_id for r in written) + ".",
            "success",
        )
    else:
        flash("No score changed.", "info")
    return redirect(url_for("workflow.pedagogy", clinic_id=clinic.id))


@bp.route("/self-check", methods=["GET", "POST"])
@accepts_files
@guard("selfcheck.create")
def self_check():
    from clinic.documents.forms import UploadForm
    from clinic.documents.routes import _upload_files

    form = UploadForm()
    if form.validate_on_submit():
        _upload_files(request.files.getlist(form.files.name), None)
        return redirect(url_for("workflow.self_check"))
    drafts = list(
        db.session.scalars(
            sa.select(Document)
            .where(Document.owner_id == current_user.id, Document.clinic_id.is_(None))
            .order_by(Document.created_at.desc())
        )
    )
    share_form = ShareForm()
    share_form.clinic.choices = choices(
        (c.id, str(c)) for c in db.session.scalars(visible_clinics(current_user))
    )
    return render_template(
        "workflow/self_check.html", form=form, drafts=drafts, share_form=share_form
    )


@bp.post("/documents/<int:document_id>/share")
@guard("document.share", document=Document)
def share(document: Document):
    form = ShareForm()
    form.clinic.choices = choices(
        (c.id, str(c)) for c in db.session.scalars(visible_clinics(current_user))
    )
    if form.validate_on_submit():
        clinic = db.session.get(Clinic, form.clinic.data)
        try:
            workflow.attach_self_check(current_user, document, clinic)
        except ServiceError as error:
            flash(str(error), "danger")
        else:
            flash(f"{document.title} is now part of {clinic}.", "success")
            return redirect(_clinic_url(clinic, "documents"))
    return redirect(url_for("workflow.self_check"))


@bp.get("/clinics/<int:clinic_id>/action-plan.pdf")
@guard("clinic.action_plan", clinic=Clinic)
def action_plan(clinic: Clinic):
    import io

    from flask import send_file

    from clinic.export.plan_pdf import action_plan_pdf

    filename = f"action-plan-{clinic.course.code}-{clinic.academic_year}.pdf".replace(
        " ", "-"
    )
    # send_file quotes the name (and gives an ASCII fallback) for Content-Disposition.
    return send_file(
        io.BytesIO(
            action_plan_pdf(clinic, workflow.comments_visible(current_user, clinic))
        ),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=filename,
    )


@bp.get("/clinics/<int:clinic_id>/patterns.csv")
@guard("clinic.view", clinic=Clinic)
def patterns_csv(clinic: Clinic):
    """The whole course pattern report (the action plan lists the top conditions)."""
    import io

    from flask import send_file

    from clinic.export.csvsafe import to_csv
    from clinic.export.patterns import course_patterns

    rows = [
        (p.condition, p.mentions, p.summary, "; ".join(sorted(p.documents)))
        for p in course_patterns(clinic.course)
    ]
    text = to_csv(
        [
            "condition",
            "mentions_with_a_race_term",
            "race_or_ethnicity_terms",
            "documents",
        ],
        rows,
    )
    name = f"patterns-{clinic.course.code}-{clinic.academic_year}.csv".replace(" ", "-")
    return send_file(
        io.BytesIO(text.encode("utf-8")),
        mimetype="text/csv",
        as_attachment=True,
        download_name=name,
    )


@bp.app_template_global()
def finding_notes(clinic: Clinic | None, findings: list[Finding]) -> dict:
    """finding id -> its internal notes (one query for a whole review screen).

    Templates call this only where `can('clinic.notes', clinic)` holds."""
    if clinic is None or not allowed(current_user, "clinic.notes", clinic):
        return {}
    out: dict[int, list] = {}
    for note in workflow.notes_of(clinic, [f.id for f in findings]):
        out.setdefault(note.finding_id, []).append(note)
    return out
