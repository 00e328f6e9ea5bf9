"""Database models (SQLAlchemy 2.0 typed mappings).

Later areas hang off Clinic: documents and their versions, findings, comments,
action items and coaching sessions each reference a clinic (or a version of a
document in one) so that the policy rules for a clinic cover them too.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from clinic.extensions import db


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Role(str, enum.Enum):
    ADMIN = "admin"
    COACH = "coach"
    DIRECTOR = "director"
    DEAN = "dean"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class CourseKind(str, enum.Enum):
    COURSE = "course"
    CLERKSHIP = "clerkship"


class ClinicStatus(str, enum.Enum):
    DRAFT = "draft"
    SUBMITTED = "materials_submitted"
    IN_REVIEW = "in_review"
    FEEDBACK_SHARED = "feedback_shared"
    PLAN_AGREED = "action_plan_agreed"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


def _enum_column(enum_cls: type[enum.Enum], default: enum.Enum) -> Any:
    # Stored as plain strings with a CHECK constraint: portable and diff-stable in Alembic.
    return mapped_column(
        sa.Enum(
            enum_cls,
            native_enum=False,
            create_constraint=True,
            length=32,
            values_callable=lambda members: [m.value for m in members],
            validate_strings=True,
        ),
        default=default,
    )


course_directors = sa.Table(
    "course_directors",
    db.metadata,
    sa.Column(
        "course_id", sa.ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column(
        "user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    ),
)

clinic_coaches = sa.Table(
    "clinic_coaches",
    db.metadata,
    sa.Column(
        "clinic_id", sa.ForeignKey("clinics.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column(
        "user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    ),
)


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased, so uniqueness is case-insensitive on every database.
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[Role] = _enum_column(Role, Role.DIRECTOR)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow
    )
    last_login_at: Mapped[dt.datetime | None] = mapped_column(
        sa.DateTime(timezone=True)
    )

    directed_courses: Mapped[list[Course]] = relationship(
        secondary=course_directors, back_populates="directors", order_by="Course.code"
    )
    coached_clinics: Mapped[list[Clinic]] = relationship(
        secondary=clinic_coaches, back_populates="coaches"
    )

    @validates("email")
    def _normalise_email(self, _key: str, value: str) -> str:
        return normalise_email(value)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    def has_role(self, *roles: Role) -> bool:
        return self.role in roles

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role.value}>"


def normalise_email(value: str) -> str:
    return value.strip().lower()


class Course(db.Model):
    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[CourseKind] = _enum_column(CourseKind, CourseKind.COURSE)
    school: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[dt.datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow
    )

    directors: Mapped[list[User]] = relationship(
        secondary=course_directors,
        back_populates="directed_courses",
        order_by="User.name",
    )
    clinics: Mapped[list[Clinic]] = relationship(
        back_populates="course",
        order_by="Clinic.academic_year.desc()",
        cascade="all, delete-orphan",
    )

    def __str__(self) -> str:
        return f"{self.code} {self.title}"


class Clinic(db.Model):
    __tablename__ = "clinics"
    __table_args__ = (
        sa.UniqueConstraint(
            "course_id", "academic_year", name="uq_clinics_course_year"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(
        sa.ForeignKey("courses.id", ondelete="CASCADE")
    )
    academic_year: Mapped[str] = mapped_column(sa.String(7))
    status: Mapped[ClinicStatus] = _enum_column(ClinicStatus, ClinicStatus.DRAFT)
    created_at: Mapped[dt.datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    course: Mapped[Course] = relationship(back_populates="clinics")
    coaches: Mapped[list[User]] = relationship(
        secondary=clinic_coaches, back_populates="coached_clinics", order_by="User.name"
    )

    def __str__(self) -> str:
        return f"{self.course.code} {self.academic_year}"


class AuditEvent(db.Model):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow, index=True
    )
    actor_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    action: Mapped[str] = mapped_column(sa.String(64), index=True)
    object_type: Mapped[str | None] = mapped_column(sa.String(64))
    object_id: Mapped[str | None] = mapped_column(sa.String(254))
    before: Mapped[dict | None] = mapped_column(sa.JSON)
    after: Mapped[dict | None] = mapped_column(sa.JSON)
    ip: Mapped[str | None] = mapped_column(sa.String(45))

    actor: Mapped[User | None] = relationship()

    __table_args__ = (sa.Index("ix_audit_events_object", "object_type", "object_id"),)
