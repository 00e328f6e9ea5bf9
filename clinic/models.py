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
from clinic.roles import Role


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class CourseKind(str, enum.Enum):
    COURSE = "course"
    CLERKSHIP = "clerkship"


class ClinicStatus(str, enum.Enum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    IN_REVIEW = "in_review"
    FEEDBACK_SHARED = "feedback_shared"
    PLAN_AGREED = "plan_agreed"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return {
            "draft": "Draft",
            "submitted": "Materials submitted",
            "in_review": "In review",
            "feedback_shared": "Feedback shared",
            "plan_agreed": "Action plan agreed",
            "closed": "Closed",
        }[self.value]


def _enum_column(enum_cls: type[enum.Enum], default: enum.Enum | None) -> Any:
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
        nullable=default is None,
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
    home_seen_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # Bumped by logout, a password change or reset and deactivation: every browser
    # session signed in with an older version ends (clinic/auth/sessions.py).
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")

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
    # Who marked the action plan agreed, and whether an admin did it for the directors.
    plan_agreed_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    plan_agreed_at: Mapped[dt.datetime | None] = mapped_column(
        sa.DateTime(timezone=True)
    )
    plan_agreed_on_behalf: Mapped[bool] = mapped_column(
        default=False, server_default=sa.false()
    )
    # The coach who settles where the clinic's coaches decided a finding differently.
    lead_coach_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )

    course: Mapped[Course] = relationship(back_populates="clinics")
    plan_agreed_by: Mapped[User | None] = relationship(foreign_keys=[plan_agreed_by_id])
    lead_coach: Mapped[User | None] = relationship(foreign_keys=[lead_coach_id])
    coaches: Mapped[list[User]] = relationship(
        secondary=clinic_coaches, back_populates="coached_clinics", order_by="User.name"
    )
    documents: Mapped[list[Document]] = relationship(
        back_populates="clinic", order_by="Document.title", cascade="all, delete-orphan"
    )
    action_items: Mapped[list[ActionItem]] = relationship(
        back_populates="clinic", order_by="ActionItem.id", cascade="all, delete-orphan"
    )
    sessions: Mapped[list[CoachingSession]] = relationship(
        order_by="CoachingSession.held_on.desc()", cascade="all, delete-orphan"
    )
    pedagogy_scores: Mapped[list[PedagogyScore]] = relationship(
        cascade="all, delete-orphan"
    )

    @property
    def lead(self) -> User | None:
        """The lead coach: the one chosen if still a coach here, else the first coach."""
        if self.lead_coach is not None and self.lead_coach in self.coaches:
            return self.lead_coach
        return self.coaches[0] if self.coaches else None

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
    clinic_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("clinics.id", ondelete="CASCADE"), index=True
    )

    actor: Mapped[User | None] = relationship()

    __table_args__ = (sa.Index("ix_audit_events_object", "object_type", "object_id"),)


class VersionStatus(str, enum.Enum):
    QUEUED = "queued"
    EXTRACTING = "extracting"
    ANALYSING = "analysing"
    DONE = "done"
    FAILED = "failed"

    @property
    def label(self) -> str:
        return self.value.capitalize()

    @property
    def finished(self) -> bool:
        return self in (VersionStatus.DONE, VersionStatus.FAILED)


class FindingStatus(str, enum.Enum):
    OPEN = "open"
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class DismissReason(str, enum.Enum):
    NOT_ABOUT_RACE = "not_about_race"
    RACE_CONSCIOUS = "race_conscious"
    CLINICALLY_JUSTIFIED = "clinically_justified"
    DUPLICATE = "duplicate"
    OTHER = "other"

    @property
    def label(self) -> str:
        return {
            "not_about_race": "Not about race",
            "race_conscious": "Race-conscious in context",
            "clinically_justified": "Clinically justified (with citation)",
            "duplicate": "Duplicate",
            "other": "Other",
        }[self.value]


class MatchState(str, enum.Enum):
    NEW = "new"
    PERSISTING = "persisting"


def document_name_key(filename: str) -> str:
    """A file name as documents are matched by: case and outer spaces ignored."""
    return filename.strip().casefold()[:255]


class Document(db.Model):
    """An uploaded teaching material; its content lives in its versions."""

    __tablename__ = "documents"
    __table_args__ = (
        # One document per file name in a clinic: a second upload by that name is a
        # version of it, even when two arrive at once.
        sa.UniqueConstraint("clinic_id", "name_key", name="uq_documents_clinic_name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("clinics.id", ondelete="CASCADE"), index=True
    )
    owner_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    title: Mapped[str] = mapped_column(sa.String(255))
    # The file name it was first uploaded as, normalised (document_name_key).
    name_key: Mapped[str | None] = mapped_column(sa.String(255))
    created_at: Mapped[dt.datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow
    )

    clinic: Mapped[Clinic | None] = relationship(back_populates="documents")
    owner: Mapped[User | None] = relationship()
    versions: Mapped[list[DocumentVersion]] = relationship(
        back_populates="document",
        order_by="DocumentVersion.number",
        cascade="all, delete-orphan",
    )

    @property
    def latest(self) -> DocumentVersion | None:
        return self.versions[-1] if self.versions else None


class DocumentVersion(db.Model):
    """One upload of a document: its stored file, analysis status and findings."""

    __tablename__ = "document_versions"
    __table_args__ = (
        sa.UniqueConstraint(
            "document_id", "number", name="uq_document_versions_number"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(
        sa.ForeignKey("documents.id", ondelete="CASCADE")
    )
    number: Mapped[int] = mapped_column()
    filename: Mapped[str] = mapped_column(sa.String(255))
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    size: Mapped[int] = mapped_column(sa.BigInteger)
    uploaded_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    uploaded_at: Mapped[dt.datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow
    )
    status: Mapped[VersionStatus] = _enum_column(VersionStatus, VersionStatus.QUEUED)
    progress: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(sa.Text)
    warnings: Mapped[list | None] = mapped_column(sa.JSON)
    kind: Mapped[str | None] = mapped_column(sa.String(16))
    page_count: Mapped[int | None] = mapped_column()
    word_count: Mapped[int | None] = mapped_column()
    rubric_version: Mapped[str | None] = mapped_column(sa.String(80))
    attempts: Mapped[int] = mapped_column(default=0)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    started_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # Findings of the previous version that no finding here matched.
    resolved_count: Mapped[int | None] = mapped_column()

    document: Mapped[Document] = relationship(back_populates="versions")
    uploaded_by: Mapped[User | None] = relationship()
    segments: Mapped[list[Segment]] = relationship(
        back_populates="version",
        order_by="Segment.ordinal",
        cascade="all, delete-orphan",
    )
    findings: Mapped[list[Finding]] = relationship(
        back_populates="version",
        order_by="Finding.id",
        cascade="all, delete-orphan",
        foreign_keys="Finding.version_id",
    )

    @property
    def label(self) -> str:
        return f"version {self.number}"


class Segment(db.Model):
    """A located piece of a version's text (slide part, PDF block, paragraph)."""

    __tablename__ = "segments"
    __table_args__ = (sa.Index("ix_segments_version_ordinal", "version_id", "ordinal"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        sa.ForeignKey("document_versions.id", ondelete="CASCADE")
    )
    ordinal: Mapped[int] = mapped_column()
    text: Mapped[str] = mapped_column(sa.Text)
    location: Mapped[dict] = mapped_column(sa.JSON)
    # PDF geometry (boxes, page_box, rotation) as given by clinic.ingest.Segment.to_dict.
    geometry: Mapped[dict | None] = mapped_column(sa.JSON)

    version: Mapped[DocumentVersion] = relationship(back_populates="segments")


class Finding(db.Model):
    """A flagged passage (machine or coach), with the coach's decision on it."""

    __tablename__ = "findings"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        sa.ForeignKey("document_versions.id", ondelete="CASCADE"), index=True
    )
    segment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("segments.id", ondelete="CASCADE")
    )
    criterion_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    title: Mapped[str] = mapped_column(sa.String(255))
    category: Mapped[str] = mapped_column(sa.String(32))
    severity: Mapped[str] = mapped_column(sa.String(8))
    machine_severity: Mapped[str | None] = mapped_column(sa.String(8))
    rubric_version: Mapped[str | None] = mapped_column(sa.String(80))
    location: Mapped[dict] = mapped_column(sa.JSON)
    start: Mapped[int] = mapped_column()
    end: Mapped[int] = mapped_column()
    matched_text: Mapped[str] = mapped_column(sa.Text)
    sentence: Mapped[str] = mapped_column(sa.Text)
    sentence_key: Mapped[str] = mapped_column(sa.String(64))
    cues: Mapped[list | None] = mapped_column(sa.JSON)
    rects: Mapped[list | None] = mapped_column(sa.JSON)
    # "certain", "likely" or "possible": the strength of the machine's evidence.
    confidence: Mapped[str] = mapped_column(
        sa.String(8), default="likely", server_default="likely"
    )
    # Other criteria that also apply to the same problem: [{"id", "title"}].
    secondary: Mapped[list | None] = mapped_column(sa.JSON)
    source: Mapped[str] = mapped_column(sa.String(8), default="machine")
    note: Mapped[str | None] = mapped_column(sa.Text)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow
    )
    status: Mapped[FindingStatus] = _enum_column(FindingStatus, FindingStatus.OPEN)
    dismiss_reason: Mapped[DismissReason | None] = _enum_column(DismissReason, None)
    decision_comment: Mapped[str | None] = mapped_column(sa.Text)
    decided_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    decided_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    match_state: Mapped[MatchState] = _enum_column(MatchState, MatchState.NEW)
    previous_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("findings.id", ondelete="SET NULL")
    )
    # A director says the passage was revised; the coach verifies on the next version.
    revised_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    revised_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    # Set on a finding when a later version no longer contains it.
    resolved_in_version_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("document_versions.id", ondelete="SET NULL")
    )
    # The coach asked to look at this finding.
    assignee_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    # The lead coach settled the coaches' differing decisions (cleared by a new one).
    settled_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    settled_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # The status the lead settled on, kept apart from later decisions (a plain value:
    # a second CHECK constraint of the same name on findings trips SQLite's batch mode).
    settled_status: Mapped[str | None] = mapped_column(sa.String(16))

    version: Mapped[DocumentVersion] = relationship(
        back_populates="findings", foreign_keys=[version_id]
    )
    segment: Mapped[Segment] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    revised_by: Mapped[User | None] = relationship(foreign_keys=[revised_by_id])
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    resolved_in: Mapped[DocumentVersion | None] = relationship(
        foreign_keys=[resolved_in_version_id]
    )
    settled_by: Mapped[User | None] = relationship(foreign_keys=[settled_by_id])
    coach_decisions: Mapped[list[FindingDecision]] = relationship(
        back_populates="finding",
        order_by="FindingDecision.decided_at",
        cascade="all, delete-orphan",
    )
    previous: Mapped[Finding | None] = relationship(
        remote_side=[id], foreign_keys=[previous_id]
    )
    comments: Mapped[list[Comment]] = relationship(
        back_populates="finding", order_by="Comment.id", cascade="all, delete-orphan"
    )

    @property
    def location_label(self) -> str:
        from clinic.ingest import Location

        return Location.from_dict(self.location).label()


class FindingDecision(db.Model):
    """One coach's own decision on a finding; the finding holds the latest of them."""

    __tablename__ = "finding_decisions"
    __table_args__ = (
        sa.UniqueConstraint(
            "finding_id", "coach_id", name="uq_finding_decisions_coach"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[int] = mapped_column(
        sa.ForeignKey("findings.id", ondelete="CASCADE"), index=True
    )
    coach_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[FindingStatus] = _enum_column(FindingStatus, FindingStatus.OPEN)
    dismiss_reason: Mapped[DismissReason | None] = _enum_column(DismissReason, None)
    comment: Mapped[str | None] = mapped_column(sa.Text)
    decided_at: Mapped[dt.datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow
    )

    finding: Mapped[Finding] = relationship(back_populates="coach_decisions")
    coach: Mapped[User] = relationship()


class ActionStatus(str, enum.Enum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    DROPPED = "dropped"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


action_item_findings = sa.Table(
    "action_item_findings",
    db.metadata,
    sa.Column(
        "action_item_id",
        sa.ForeignKey("action_items.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "finding_id", sa.ForeignKey("findings.id", ondelete="CASCADE"), primary_key=True
    ),
)

session_findings = sa.Table(
    "session_findings",
    db.metadata,
    sa.Column(
        "session_id",
        sa.ForeignKey("coaching_sessions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "finding_id", sa.ForeignKey("findings.id", ondelete="CASCADE"), primary_key=True
    ),
)


class Comment(db.Model):
    """A threaded comment on a finding, by a coach or one of the course's directors."""

    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[int] = mapped_column(
        sa.ForeignKey("findings.id", ondelete="CASCADE"), index=True
    )
    parent_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("comments.id", ondelete="CASCADE")
    )
    author_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow
    )

    finding: Mapped[Finding] = relationship(back_populates="comments")
    author: Mapped[User | None] = relationship()


class InternalNote(db.Model):
    """A coach's working note on a clinic or one of its findings: directors never see it."""

    __tablename__ = "internal_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(
        sa.ForeignKey("clinics.id", ondelete="CASCADE"), index=True
    )
    # None: a note on the clinic as a whole.
    finding_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("findings.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow
    )

    author: Mapped[User | None] = relationship()


class PedagogyScore(db.Model):
    """A coach's score (0-3, or N/A) of a manual rubric criterion for one clinic."""

    __tablename__ = "pedagogy_scores"
    __table_args__ = (
        sa.UniqueConstraint(
            "clinic_id", "criterion_id", name="uq_pedagogy_scores_criterion"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(
        sa.ForeignKey("clinics.id", ondelete="CASCADE")
    )
    criterion_id: Mapped[str] = mapped_column(sa.String(64))
    score: Mapped[int | None] = mapped_column()  # None means N/A
    notes: Mapped[str | None] = mapped_column(sa.Text)
    evidence: Mapped[str | None] = mapped_column(sa.Text)
    scored_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    scored_by: Mapped[User | None] = relationship()


class CoachingSession(db.Model):
    __tablename__ = "coaching_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(
        sa.ForeignKey("clinics.id", ondelete="CASCADE"), index=True
    )
    held_on: Mapped[dt.date] = mapped_column(sa.Date)
    attendees: Mapped[str] = mapped_column(sa.Text)
    notes: Mapped[str | None] = mapped_column(sa.Text)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow
    )

    findings: Mapped[list[Finding]] = relationship(secondary=session_findings)


class ActionItem(db.Model):
    __tablename__ = "action_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(
        sa.ForeignKey("clinics.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(sa.String(255))
    description: Mapped[str | None] = mapped_column(sa.Text)
    owner_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    due_date: Mapped[dt.date | None] = mapped_column(sa.Date)
    status: Mapped[ActionStatus] = _enum_column(ActionStatus, ActionStatus.OPEN)
    drop_reason: Mapped[str | None] = mapped_column(sa.Text)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    clinic: Mapped[Clinic] = relationship(back_populates="action_items")
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    findings: Mapped[list[Finding]] = relationship(secondary=action_item_findings)

    @property
    def overdue(self) -> bool:
        return (
            self.due_date is not None
            and self.status in (ActionStatus.OPEN, ActionStatus.IN_PROGRESS)
            and self.due_date < dt.date.today()
        )


class ApiToken(db.Model):
    """A personal API token; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(100))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(12))
    created_at: Mapped[dt.datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow
    )
    last_used_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))

    user: Mapped[User] = relationship()


class NotificationKind(str, enum.Enum):
    FEEDBACK_SHARED = "feedback_shared"
    REPLY = "reply"
    ACTION_ASSIGNED = "action_assigned"
    ACTION_OVERDUE = "action_overdue"

    @property
    def label(self) -> str:
        return {
            "feedback_shared": "Feedback shared on a clinic of yours",
            "reply": "A reply on a comment thread you are in",
            "action_assigned": "An action item assigned to you",
            "action_overdue": "An action item of yours is overdue",
        }[self.value]


class Delivery(str, enum.Enum):
    IMMEDIATE = "immediate"
    DIGEST = "digest"
    OFF = "off"

    @property
    def label(self) -> str:
        return {
            "immediate": "Email at once",
            "digest": "Daily digest",
            "off": "No email",
        }[self.value]


class MailStatus(str, enum.Enum):
    PENDING = "pending"  # queued for sending at once
    DIGEST = "digest"  # waits for the daily digest
    SENT = "sent"
    FAILED = "failed"  # retried by the queue and `clinic notifications retry-failed`
    NONE = "none"  # the user turned email off for this kind


class NotificationPreference(db.Model):
    """How a user wants one kind of notification mailed (no row: immediately)."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[NotificationKind] = mapped_column(
        sa.Enum(
            NotificationKind,
            native_enum=False,
            create_constraint=True,
            length=32,
            values_callable=lambda members: [m.value for m in members],
            validate_strings=True,
        ),
        primary_key=True,
    )
    delivery: Mapped[Delivery] = _enum_column(Delivery, Delivery.IMMEDIATE)


class Notification(db.Model):
    """One in-app notification for one user, and the outbox state of its email."""

    __tablename__ = "notifications"
    __table_args__ = (sa.Index("ix_notifications_user_read", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[NotificationKind] = _enum_column(NotificationKind, None)
    clinic_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("clinics.id", ondelete="CASCADE")
    )
    # The overdue action item (each is notified once).
    action_item_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("action_items.id", ondelete="CASCADE"), index=True
    )
    subject: Mapped[str] = mapped_column(sa.String(255))
    body: Mapped[str] = mapped_column(sa.Text)
    # A path in the app (the mail makes it absolute with BASE_URL).
    link: Mapped[str] = mapped_column(sa.String(500))
    created_at: Mapped[dt.datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow
    )
    read_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    mail_status: Mapped[MailStatus] = _enum_column(MailStatus, MailStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    sent_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))

    user: Mapped[User] = relationship()
    clinic: Mapped[Clinic | None] = relationship()
