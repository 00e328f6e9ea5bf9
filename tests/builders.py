"""Builders for test data: each adds, commits and returns (CTFd-style)."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

from werkzeug.security import generate_password_hash

from clinic.extensions import db
from clinic.models import Clinic, ClinicStatus, Course, CourseKind, Role, User

PASSWORD = "correct horse battery"
_counter = itertools.count(1)
_HASHES: dict[str, str] = {}


def _hash(password: str) -> str:
    if password not in _HASHES:
        _HASHES[password] = generate_password_hash(
            password, method="pbkdf2:sha256:1000"
        )
    return _HASHES[password]


def gen_user(
    role: Role | str = Role.DIRECTOR,
    *,
    email: str | None = None,
    name: str | None = None,
    password: str = PASSWORD,
    active: bool = True,
) -> User:
    n = next(_counter)
    role = Role(role)
    user = User(
        email=email or f"{role.value}{n}@school.example.edu",
        name=name or f"{role.label} {n}",
        role=role,
        password_hash=_hash(password),
        active=active,
    )
    db.session.add(user)
    db.session.commit()
    return user


def gen_course(
    *,
    code: str | None = None,
    title: str = "Renal Physiology",
    kind: str = "course",
    school: str = "School of Medicine",
    directors: list[User] = (),
) -> Course:
    course = Course(
        code=code or f"CRS {next(_counter)}",
        title=title,
        kind=CourseKind(kind),
        school=school,
        directors=list(directors),
    )
    db.session.add(course)
    db.session.commit()
    return course


def gen_clinic(
    course: Course,
    *,
    year: str = "2026-27",
    coaches: list[User] = (),
    status: ClinicStatus = ClinicStatus.DRAFT,
) -> Clinic:
    clinic = Clinic(
        course=course, academic_year=year, coaches=list(coaches), status=status
    )
    db.session.add(clinic)
    db.session.commit()
    return clinic


def world() -> SimpleNamespace:
    """One user per role; `course`/`clinic` belong to director+coach, `other_*` to nobody of them."""
    admin = gen_user(Role.ADMIN, name="Ada Admin")
    coach = gen_user(Role.COACH, name="Cory Coach")
    other_coach = gen_user(Role.COACH, name="Olive Othercoach")
    director = gen_user(Role.DIRECTOR, name="Dora Director")
    other_director = gen_user(Role.DIRECTOR, name="Otto Otherdirector")
    dean = gen_user(Role.DEAN, name="Dina Dean")
    course = gen_course(code="NEPH 610", title="Renal Physiology", directors=[director])
    clinic = gen_clinic(course, coaches=[coach])
    other_course = gen_course(
        code="CARD 630", title="Cardiology", directors=[other_director]
    )
    other_clinic = gen_clinic(other_course, coaches=[other_coach])
    return SimpleNamespace(
        admin=admin,
        coach=coach,
        other_coach=other_coach,
        director=director,
        other_director=other_director,
        dean=dean,
        course=course,
        clinic=clinic,
        other_course=other_course,
        other_clinic=other_clinic,
        users={"admin": admin, "coach": coach, "director": director, "dean": dean},
    )
