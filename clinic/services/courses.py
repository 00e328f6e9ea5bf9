"""Courses and clinics: creation, directors and coach assignments."""

from __future__ import annotations

import re

import sqlalchemy as sa

from clinic import audit
from clinic.extensions import db
from clinic.models import Clinic, ClinicStatus, Course, CourseKind, Role, User
from clinic.services import ServiceError
from clinic.services.text import CODE_MAX, one_line

COURSE_FIELDS = ("code", "title", "kind", "school", "directors")
CLINIC_FIELDS = ("academic_year", "status", "coaches", "lead_coach_id")
YEAR_PATTERN = re.compile(r"^(\d{4})-(\d{2})$")


def validate_academic_year(year: str) -> str:
    """Accept `2026-27` style years whose second part follows the first."""
    match = YEAR_PATTERN.match(year.strip())
    if not match or (int(match.group(1)) + 1) % 100 != int(match.group(2)):
        raise ServiceError(f"Academic year {year!r} should look like 2026-27.")
    return year.strip()


def _users_with_role(ids: list[int], role: Role, what: str) -> list[User]:
    if not ids:
        return []
    users = list(db.session.scalars(sa.select(User).where(User.id.in_(ids))))
    wrong = [u.email for u in users if u.role != role]
    if wrong or len(users) != len(set(ids)):
        raise ServiceError(
            f"Only {role.value}s can be {what}: {', '.join(wrong) or 'unknown user'}."
        )
    return users


def _course_code_taken(code: str, exclude_id: int | None = None) -> bool:
    query = sa.select(Course.id).where(sa.func.lower(Course.code) == code.lower())
    if exclude_id is not None:
        query = query.where(Course.id != exclude_id)
    return db.session.scalar(query) is not None


def _flush_unique(code: str) -> None:
    """Flush, turning a duplicate course code the pre-check missed into a clear error."""
    from sqlalchemy.exc import IntegrityError

    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise ServiceError(f"A course with code {code} already exists.") from None


def _course_text(code: str, title: str, school: str) -> tuple[str, str, str]:
    return (
        one_line(code, "The course code", CODE_MAX),
        one_line(title, "The course title"),
        one_line(school, "The school"),
    )


def create_course(
    actor: User,
    *,
    code: str,
    title: str,
    kind: str,
    school: str,
    director_ids: list[int],
) -> Course:
    code, title, school = _course_text(code, title, school)
    if _course_code_taken(code):
        raise ServiceError(f"A course with code {code} already exists.")
    course = Course(
        code=code,
        title=title,
        kind=CourseKind(kind),
        school=school,
        directors=_users_with_role(director_ids, Role.DIRECTOR, "course directors"),
    )
    db.session.add(course)
    db.session.flush()
    audit.record(
        actor, "course.create", course, after=audit.snapshot(course, COURSE_FIELDS)
    )
    db.session.commit()
    return course


def update_course(
    actor: User,
    course: Course,
    *,
    code: str,
    title: str,
    kind: str,
    school: str,
    director_ids: list[int],
) -> Course:
    code, title, school = _course_text(code, title, school)
    if _course_code_taken(code, exclude_id=course.id):
        raise ServiceError(f"A course with code {code} already exists.")
    before = audit.snapshot(course, COURSE_FIELDS)
    course.code, course.title, course.kind, course.school = (
        code,
        title,
        CourseKind(kind),
        school,
    )
    course.directors = _users_with_role(director_ids, Role.DIRECTOR, "course directors")
    _flush_unique(code)
    audit.record(
        actor,
        "course.update",
        course,
        before=before,
        after=audit.snapshot(course, COURSE_FIELDS),
    )
    db.session.commit()
    return course


def create_clinic(
    actor: User, *, course: Course, academic_year: str, coach_ids: list[int]
) -> Clinic:
    year = validate_academic_year(academic_year)
    exists = db.session.scalar(
        sa.select(Clinic.id).where(
            Clinic.course_id == course.id, Clinic.academic_year == year
        )
    )
    if exists:
        raise ServiceError(f"{course.code} already has a clinic for {year}.")
    clinic = Clinic(
        course=course,
        academic_year=year,
        status=ClinicStatus.DRAFT,
        coaches=_users_with_role(coach_ids, Role.COACH, "assigned as coaches"),
    )
    db.session.add(clinic)
    db.session.flush()
    audit.record(
        actor, "clinic.create", clinic, after=audit.snapshot(clinic, CLINIC_FIELDS)
    )
    db.session.commit()
    return clinic


def update_clinic_coaches(
    actor: User, clinic: Clinic, coach_ids: list[int], lead_id: int | None = None
) -> Clinic:
    """Set the clinic's coaches and its lead coach (one of them; by default the first)."""
    before = audit.snapshot(clinic, CLINIC_FIELDS)
    coaches = _users_with_role(coach_ids, Role.COACH, "assigned as coaches")
    if lead_id is not None and lead_id not in {c.id for c in coaches}:
        raise ServiceError("The lead coach must be one of the clinic's coaches.")
    clinic.coaches = coaches
    clinic.lead_coach_id = lead_id
    audit.record(
        actor,
        "clinic.update",
        clinic,
        before=before,
        after=audit.snapshot(clinic, CLINIC_FIELDS),
    )
    db.session.commit()
    return clinic
