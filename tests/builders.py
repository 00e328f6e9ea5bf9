"""Builders for test data: each adds, commits and returns (CTFd-style)."""

from __future__ import annotations

import functools
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


LECTURE_TEXT = (
    "Renal physiology, week 3.\n\n"
    "Estimate kidney function with the CKD-EPI equation, multiplying by 1.159 if the patient is Black.\n\n"
    "Black patients have higher muscle mass than White patients.\n\n"
    "Review the white blood cell count before the biopsy."
)


@functools.cache
def lecture_pdf() -> bytes:
    """A two-page PDF lecture with race-based content on page 2 (built once per run)."""
    import weasyprint

    paragraphs = LECTURE_TEXT.split("\n\n")
    html = (
        f"<h1>{paragraphs[0]}</h1><p>Kidneys filter the blood.</p>"
        f"<p style='page-break-before:always'>{paragraphs[1]}</p><p>{paragraphs[2]}</p><p>{paragraphs[3]}</p>"
    )
    return weasyprint.HTML(string=html).write_pdf()


def gen_version(
    clinic: Clinic | None,
    uploader: User,
    *,
    filename: str = "lecture.txt",
    data: bytes | None = None,
    document=None,
):
    """Upload through the real service (the analysis job runs at once in tests)."""
    from clinic.services import documents

    if data is None:
        data = LECTURE_TEXT.encode()
    result = documents.upload(uploader, clinic, filename, data, document)
    db.session.refresh(result.version)
    return result.version


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
    version = gen_version(
        clinic, director, filename="renal-lecture.pdf", data=lecture_pdf()
    )
    other_version = gen_version(
        other_clinic, other_director, filename="cardio.pdf", data=lecture_pdf()
    )
    from clinic.services import workflow

    action_item = workflow.create_action_item(
        admin, clinic, title="Teach CKD-EPI 2021", owner=director
    )
    other_action_item = workflow.create_action_item(
        admin, other_clinic, title="Other", owner=other_director
    )
    return SimpleNamespace(
        action_item=action_item,
        other_action_item=other_action_item,
        version=version,
        document=version.document,
        finding=version.findings[0],
        other_version=other_version,
        other_document=other_version.document,
        other_finding=other_version.findings[0],
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
