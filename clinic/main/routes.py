import sqlalchemy as sa
from flask import render_template
from flask_login import current_user

from clinic.extensions import db
from clinic.main import bp
from clinic.models import Clinic, ClinicStatus, Course, Role, User
from clinic.policy import guard, visible_clinics, visible_courses


@bp.get("/")
@guard("authenticated")
def home():
    from clinic.services import workflow

    clinics = list(db.session.scalars(visible_clinics(current_user)))
    ids = [c.id for c in clinics]
    since = workflow.touch_home(current_user)
    context = {
        "clinics": clinics,
        "changes": workflow.changes_since(current_user, since, ids),
        "since": since,
        "open_items": workflow.open_items(current_user, ids)
        if current_user.role in (Role.DIRECTOR, Role.COACH)
        else [],
    }
    if current_user.role == Role.DIRECTOR:
        context["courses"] = list(db.session.scalars(visible_courses(current_user)))
    if current_user.role == Role.ADMIN:
        context["counts"] = {
            "users": db.session.scalar(sa.select(sa.func.count(User.id))),
            "courses": db.session.scalar(sa.select(sa.func.count(Course.id))),
            "clinics": db.session.scalar(sa.select(sa.func.count(Clinic.id))),
        }
    return render_template(f"home/{current_user.role.value}.html", **context)


@bp.get("/courses")
@guard("authenticated")
def courses():
    return render_template(
        "courses/list.html",
        courses=list(db.session.scalars(visible_courses(current_user))),
    )


@bp.get("/courses/<int:course_id>")
@guard("course.view", course=Course)
def course(course: Course):
    from clinic.policy import allowed

    clinics = [c for c in course.clinics if allowed(current_user, "clinic.view", c)]
    return render_template("courses/detail.html", course=course, clinics=clinics)


@bp.get("/clinics")
@guard("authenticated")
def clinics():
    return render_template(
        "clinics/list.html",
        clinics=list(db.session.scalars(visible_clinics(current_user))),
    )


@bp.get("/clinics/<int:clinic_id>")
@guard("clinic.view", clinic=Clinic)
def clinic(clinic: Clinic):
    from clinic.documents.forms import UploadForm
    from clinic.export.patterns import course_patterns
    from clinic.policy import allowed
    from clinic.services import workflow
    from clinic.workflow.forms import (
        ActionStatusForm,
        NoteForm,
        SessionForm,
        TransitionForm,
    )
    from clinic.workflow.routes import _findings_choices

    upload_form = (
        UploadForm() if allowed(current_user, "clinic.upload", clinic) else None
    )
    session_form = None
    if allowed(current_user, "clinic.coach", clinic):
        session_form = SessionForm()
        session_form.findings.choices = _findings_choices(clinic)
    return render_template(
        "clinics/detail.html",
        clinic=clinic,
        upload_form=upload_form,
        next_steps=workflow.next_steps(current_user, clinic),
        checks=[
            workflow.check_transition(current_user, clinic, to)
            for to in workflow.next_steps(current_user, clinic)
        ],
        back_step=workflow.back_step(current_user, clinic),
        history=workflow.status_history(
            clinic, with_overrides=allowed(current_user, "clinic.notes", clinic)
        ),
        notes=workflow.notes_of(clinic)
        if allowed(current_user, "clinic.notes", clinic)
        else None,
        note_form=NoteForm(),
        transition_form=TransitionForm(),
        status_form=ActionStatusForm(),
        session_form=session_form,
        steps=list(ClinicStatus),
        patterns=course_patterns(clinic.course),
    )
