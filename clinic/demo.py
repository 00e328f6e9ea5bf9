"""Demo data: one account per role, a few courses and clinics."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import Clinic, Course, Role, User
from clinic.services import accounts
from clinic.services import courses as course_service

DEMO_USERS = [
    ("admin@demo.example.edu", "Avery Admin", Role.ADMIN),
    ("coach@demo.example.edu", "Casey Coach", Role.COACH),
    ("coach2@demo.example.edu", "Morgan Okafor", Role.COACH),
    ("director@demo.example.edu", "Dana Director", Role.DIRECTOR),
    ("director2@demo.example.edu", "Priya Raman", Role.DIRECTOR),
    ("dean@demo.example.edu", "Dean Rivera", Role.DEAN),
]

DEMO_COURSES = [
    # code, title, kind, school, director emails, {year: coach emails}
    (
        "NEPH 610",
        "Renal Physiology and Disease",
        "course",
        "School of Medicine",
        ["director@demo.example.edu"],
        {"2026-27": ["coach@demo.example.edu"], "2025-26": ["coach@demo.example.edu"]},
    ),
    (
        "PULM 620",
        "Respiratory Medicine",
        "course",
        "School of Medicine",
        ["director@demo.example.edu"],
        {"2026-27": ["coach@demo.example.edu", "coach2@demo.example.edu"]},
    ),
    (
        "MED 700",
        "Internal Medicine Clerkship",
        "clerkship",
        "School of Medicine",
        ["director2@demo.example.edu"],
        {"2026-27": ["coach2@demo.example.edu"]},
    ),
    (
        "BIOS 540",
        "Human Genetics",
        "course",
        "Graduate School of Biomedical Sciences",
        ["director2@demo.example.edu"],
        {"2026-27": ["coach@demo.example.edu"]},
    ),
]


@dataclass
class DemoAccount:
    email: str
    role: str
    password: str


def load_demo() -> list[DemoAccount]:
    """Create (or refresh) the demo accounts, courses and clinics; return the accounts with passwords."""
    result = []
    admin = None
    for email, name, role in DEMO_USERS:
        password = accounts.generate_password()
        user = accounts.get_by_email(email)
        if user is None:
            user = accounts.create_user(
                admin, email=email, name=name, role=role, password=password
            )
        else:
            user.password_hash = accounts.hash_password(password)
            user.active = True
            db.session.commit()
        if role == Role.ADMIN:
            admin = user
        result.append(DemoAccount(email, role.value, password))

    def ids(emails: list[str]) -> list[int]:
        return [accounts.get_by_email(e).id for e in emails]

    for code, title, kind, school, directors, clinics in DEMO_COURSES:
        course = db.session.scalar(sa.select(Course).where(Course.code == code))
        if course is None:
            course = course_service.create_course(
                admin,
                code=code,
                title=title,
                kind=kind,
                school=school,
                director_ids=ids(directors),
            )
        for year, coaches in clinics.items():
            exists = db.session.scalar(
                sa.select(Clinic.id).where(
                    Clinic.course_id == course.id, Clinic.academic_year == year
                )
            )
            if not exists:
                course_service.create_clinic(
                    admin, course=course, academic_year=year, coach_ids=ids(coaches)
                )
    _load_demo_materials()
    return result


def _load_demo_materials() -> None:
    """A lecture deck and a syllabus for NEPH 610, uploaded by its director (queued for analysis)."""
    from clinic.demo_materials import lecture_deck, syllabus_pdf
    from clinic.services import documents

    course = db.session.scalar(sa.select(Course).where(Course.code == "NEPH 610"))
    clinic = db.session.scalar(
        sa.select(Clinic).where(
            Clinic.course_id == course.id, Clinic.academic_year == "2026-27"
        )
    )
    director = accounts.get_by_email("director@demo.example.edu")
    documents.upload(director, clinic, "week3-renal-lecture.pptx", lecture_deck())
    documents.upload(director, clinic, "neph610-syllabus.pdf", syllabus_pdf())


def demo_user(email: str) -> User | None:
    return accounts.get_by_email(email)
