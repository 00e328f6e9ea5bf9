import sqlalchemy as sa
from flask import render_template
from flask_login import current_user

from clinic.extensions import db
from clinic.main import bp
from clinic.models import Clinic, Course, Role, User
from clinic.policy import guard, visible_clinics, visible_courses


@bp.get("/")
@guard("authenticated")
def home():
    clinics = list(db.session.scalars(visible_clinics(current_user)))
    context = {"clinics": clinics}
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
    from clinic.policy import allowed

    upload_form = UploadForm() if allowed(current_user, "clinic.upload", clinic) else None
    return render_template("clinics/detail.html", clinic=clinic, upload_form=upload_form)
