import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from clinic.admin import bp
from clinic.admin.forms import (
    ActionForm,
    ClinicCoachesForm,
    ClinicForm,
    CourseForm,
    NewUserForm,
    UserForm,
    choices,
)
from clinic.extensions import db
from clinic.models import AuditEvent, Clinic, Course, Role, User
from clinic.policy import guard
from clinic.services import ServiceError, accounts
from clinic.services import courses as course_service

AUDIT_PAGE_SIZE = 100


def _users_with_role(role: Role) -> list[tuple[int, str]]:
    users = db.session.scalars(
        sa.select(User)
        .where(User.role == role, User.active.is_(True))
        .order_by(User.name)
    )
    return choices((u.id, f"{u.name} <{u.email}>") for u in users)


@bp.get("/users")
@guard("admin")
def users():
    all_users = db.session.scalars(sa.select(User).order_by(User.role, User.name))
    return render_template(
        "admin/users.html", users=list(all_users), action_form=ActionForm()
    )


@bp.route("/users/new", methods=["GET", "POST"])
@guard("admin")
def new_user():
    form = NewUserForm()
    if form.validate_on_submit():
        password = form.password.data or accounts.generate_password()
        try:
            user = accounts.create_user(
                current_user,
                email=form.email.data,
                name=form.name.data,
                role=form.role.data,
                password=password,
            )
        except ServiceError as error:
            form.email.errors.append(str(error))
        else:
            message = f"Account created for {user.email}."
            if not form.password.data:
                message += f" Their password is {password} (shown once: give it to them securely)."
            flash(message, "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, title="New user")


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@guard("admin", user=User)
def edit_user(user: User):
    form = UserForm(obj=user if request.method == "GET" else None)
    if request.method == "GET":
        form.role.data = user.role.value
    if form.validate_on_submit():
        try:
            accounts.update_user(
                current_user,
                user,
                email=form.email.data,
                name=form.name.data,
                role=form.role.data,
            )
        except ServiceError as error:
            form.email.errors.append(str(error))
        else:
            flash(f"Saved {user.email}.", "success")
            return redirect(url_for("admin.users"))
    return render_template(
        "admin/user_form.html", form=form, title=f"Edit {user.name}", user=user
    )


@bp.post("/users/<int:user_id>/active")
@guard("admin", user=User)
def set_user_active(user: User):
    form = ActionForm()
    if form.validate_on_submit():
        make_active = request.form.get("active") == "1"
        try:
            accounts.set_active(current_user, user, make_active)
        except ServiceError as error:
            flash(str(error), "danger")
        else:
            flash(
                f"{user.email} is now {'active' if make_active else 'deactivated'}.",
                "success",
            )
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/reset-password")
@guard("admin", user=User)
def reset_password(user: User):
    if ActionForm().validate_on_submit():
        password = accounts.reset_password(current_user, user)
        flash(
            f"New password for {user.email}: {password} (shown once: give it to them securely).",
            "success",
        )
    return redirect(url_for("admin.users"))


@bp.get("/courses")
@guard("admin")
def courses():
    all_courses = db.session.scalars(
        sa.select(Course).order_by(Course.school, Course.code)
    )
    return render_template("admin/courses.html", courses=list(all_courses))


def _course_form(course: Course | None = None) -> CourseForm:
    form = CourseForm(
        obj=course if course is not None and request.method == "GET" else None
    )
    form.directors.choices = _users_with_role(Role.DIRECTOR)
    if course is not None and request.method == "GET":
        form.kind.data = course.kind.value
        form.directors.data = [d.id for d in course.directors]
    return form


@bp.route("/courses/new", methods=["GET", "POST"])
@guard("admin")
def new_course():
    form = _course_form()
    if form.validate_on_submit():
        try:
            course = course_service.create_course(
                current_user,
                code=form.code.data,
                title=form.title.data,
                kind=form.kind.data,
                school=form.school.data,
                director_ids=form.directors.data,
            )
        except ServiceError as error:
            form.code.errors.append(str(error))
        else:
            flash(f"Course {course.code} created.", "success")
            return redirect(url_for("main.course", course_id=course.id))
    return render_template("admin/course_form.html", form=form, title="New course")


@bp.route("/courses/<int:course_id>/edit", methods=["GET", "POST"])
@guard("admin", course=Course)
def edit_course(course: Course):
    form = _course_form(course)
    if form.validate_on_submit():
        try:
            course_service.update_course(
                current_user,
                course,
                code=form.code.data,
                title=form.title.data,
                kind=form.kind.data,
                school=form.school.data,
                director_ids=form.directors.data,
            )
        except ServiceError as error:
            form.code.errors.append(str(error))
        else:
            flash(f"Course {course.code} saved.", "success")
            return redirect(url_for("main.course", course_id=course.id))
    return render_template(
        "admin/course_form.html", form=form, title=f"Edit {course.code}", course=course
    )


@bp.route("/clinics/new", methods=["GET", "POST"])
@guard("admin")
def new_clinic():
    form = ClinicForm()
    form.course.choices = choices(
        (c.id, str(c))
        for c in db.session.scalars(sa.select(Course).order_by(Course.code))
    )
    form.coaches.choices = _users_with_role(Role.COACH)
    if request.method == "GET" and request.args.get("course", type=int):
        form.course.data = request.args.get("course", type=int)
    if form.validate_on_submit():
        course = db.session.get(Course, form.course.data)
        try:
            clinic = course_service.create_clinic(
                current_user,
                course=course,
                academic_year=form.academic_year.data,
                coach_ids=form.coaches.data,
            )
        except ServiceError as error:
            form.academic_year.errors.append(str(error))
        else:
            flash(f"Clinic {clinic} created.", "success")
            return redirect(url_for("main.clinic", clinic_id=clinic.id))
    return render_template("admin/clinic_form.html", form=form, title="New clinic")


@bp.route("/clinics/<int:clinic_id>/coaches", methods=["GET", "POST"])
@guard("admin", clinic=Clinic)
def clinic_coaches(clinic: Clinic):
    form = ClinicCoachesForm()
    form.coaches.choices = _users_with_role(Role.COACH)
    form.lead.choices = choices([(None, "The first coach")]) + form.coaches.choices
    if request.method == "GET":
        form.coaches.data = [c.id for c in clinic.coaches]
        form.lead.data = clinic.lead_coach_id
    if form.validate_on_submit():
        try:
            course_service.update_clinic_coaches(
                current_user, clinic, form.coaches.data, form.lead.data
            )
        except ServiceError as error:
            form.coaches.errors.append(str(error))
        else:
            flash(f"Coaches for {clinic} saved.", "success")
            return redirect(url_for("main.clinic", clinic_id=clinic.id))
    return render_template("admin/clinic_coaches.html", form=form, clinic=clinic)


@bp.get("/audit")
@guard("admin")
def audit_log():
    page = max(request.args.get("page", 1, type=int), 1)
    events = db.session.scalars(
        sa.select(AuditEvent)
        .order_by(AuditEvent.id.desc())
        .limit(AUDIT_PAGE_SIZE)
        .offset((page - 1) * AUDIT_PAGE_SIZE)
    )
    return render_template(
        "admin/audit.html", events=list(events), page=page, page_size=AUDIT_PAGE_SIZE
    )
