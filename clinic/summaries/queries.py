"""The dean's school summary: numbers across all clinics of a school and academic year.

Everything is computed from the database with a handful of GROUP BY queries per
academic year (no query per clinic). Definitions used throughout:

* **Latest version** of a document: its highest-numbered version whose analysis is
  done. Finding counts, categories and the top criteria look at those versions only.
* **Flagged findings**: open + confirmed findings of the latest versions. Dismissed
  findings (a coach judged them not race-based) are counted separately and never
  mixed into open or flagged numbers. The heat map counts flagged findings.
* **Share of confirmed findings resolved**: confirmed findings that a later version
  of their document no longer contains (``Finding.resolved_in_version_id`` is set),
  divided by all confirmed findings. A confirmed finding that a later version still
  contains is carried forward into that version (with its decision), so to count
  each confirmed passage once the denominator is: confirmed findings of the latest
  versions that are not resolved + confirmed findings resolved in a later version.
* **Action items**: ``open`` counts open and in-progress items; ``overdue`` is the
  part of them past their due date; ``done`` and ``dropped`` are counted apart.
* **Previous year**: the same numbers for the academic year before (2025-26 for
  2026-27), per course and for the school.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import (
    ActionItem,
    ActionStatus,
    Clinic,
    ClinicStatus,
    Course,
    Document,
    DocumentVersion,
    Finding,
    FindingStatus,
    VersionStatus,
)

CATEGORIES = (
    "algorithm",
    "treatment",
    "risk",
    "diagnosis",
    "biology",
    "terminology",
    "culture",
    "skin-tone",
)
TOP_CRITERIA = 10
_YEAR = re.compile(r"^(\d{4})-(\d{2})$")


def previous_year(year: str | None) -> str | None:
    """'2025-26' for '2026-27'; None for anything not shaped like an academic year."""
    match = _YEAR.match(year or "")
    if not match:
        return None
    start = int(match.group(1)) - 1
    return f"{start}-{(start + 1) % 100:02d}"


@dataclass
class FindingCounts:
    open: int = 0
    confirmed: int = 0
    dismissed: int = 0

    @property
    def flagged(self) -> int:
        """Open and confirmed: what still counts as race-based content."""
        return self.open + self.confirmed

    @property
    def total(self) -> int:
        return self.open + self.confirmed + self.dismissed

    def add(self, other: FindingCounts) -> None:
        self.open += other.open
        self.confirmed += other.confirmed
        self.dismissed += other.dismissed


@dataclass
class Resolution:
    confirmed: int = (
        0  # confirmed passages, each counted once (see the module docstring)
    )
    resolved: int = 0  # of those, no longer in a later version

    @property
    def share(self) -> float | None:
        return self.resolved / self.confirmed if self.confirmed else None

    @property
    def percent(self) -> str:
        share = self.share
        return "—" if share is None else f"{round(share * 100)}%"

    def add(self, other: Resolution) -> None:
        self.confirmed += other.confirmed
        self.resolved += other.resolved


@dataclass
class ActionCounts:
    open: int = 0  # open and in progress
    done: int = 0
    dropped: int = 0
    overdue: int = 0  # part of `open`

    @property
    def total(self) -> int:
        return self.open + self.done + self.dropped

    def add(self, other: ActionCounts) -> None:
        self.open += other.open
        self.done += other.done
        self.dropped += other.dropped
        self.overdue += other.overdue


def _zero_categories() -> dict[str, int]:
    return dict.fromkeys(CATEGORIES, 0)


@dataclass
class ClinicRow:
    """One clinic (a course in the academic year) with its numbers."""

    clinic_id: int
    course_id: int
    course_code: str
    course_title: str
    school: str
    academic_year: str
    status: ClinicStatus
    documents: int = 0
    analysed_documents: int = 0
    by_category: dict[str, int] = field(default_factory=_zero_categories)
    findings: FindingCounts = field(default_factory=FindingCounts)
    resolution: Resolution = field(default_factory=Resolution)
    actions: ActionCounts = field(default_factory=ActionCounts)


@dataclass
class YearTotals:
    year: str | None
    clinics: int = 0
    documents: int = 0
    by_category: dict[str, int] = field(default_factory=_zero_categories)
    by_status: dict[ClinicStatus, int] = field(
        default_factory=lambda: dict.fromkeys(ClinicStatus, 0)
    )
    findings: FindingCounts = field(default_factory=FindingCounts)
    resolution: Resolution = field(default_factory=Resolution)
    actions: ActionCounts = field(default_factory=ActionCounts)


@dataclass
class CriterionCount:
    criterion_id: str
    title: str
    count: int


@dataclass
class CourseChange:
    """A course's flagged/confirmed findings and done action items, this year and last."""

    course_code: str
    course_title: str
    current: ClinicRow | None
    previous: ClinicRow | None

    @staticmethod
    def _get(row: ClinicRow | None, what: str) -> int | None:
        if row is None:
            return None
        if what == "flagged":
            return row.findings.flagged
        if what == "confirmed":
            return row.findings.confirmed
        return row.actions.done

    def value(self, what: str, previous: bool = False) -> int | None:
        return self._get(self.previous if previous else self.current, what)

    def delta(self, what: str) -> int | None:
        now, before = self.value(what), self.value(what, previous=True)
        return None if now is None or before is None else now - before


@dataclass
class SchoolSummary:
    school: str | None
    year: str | None
    previous_year: str | None
    generated_at: dt.datetime
    schools: list[str]
    years: list[str]
    categories: tuple[str, ...]
    clinics: list[ClinicRow]
    totals: YearTotals
    previous_clinics: list[ClinicRow]
    previous: YearTotals
    top_criteria: list[CriterionCount]

    @property
    def changes(self) -> list[CourseChange]:
        """Every course with a clinic in either year, by course code."""
        now = {r.course_id: r for r in self.clinics}
        before = {r.course_id: r for r in self.previous_clinics}
        rows = []
        for course_id in now.keys() | before.keys():
            row = now.get(course_id) or before[course_id]
            rows.append(
                CourseChange(
                    row.course_code,
                    row.course_title,
                    now.get(course_id),
                    before.get(course_id),
                )
            )
        return sorted(rows, key=lambda c: c.course_code)

    @property
    def heat_peak(self) -> int:
        return max((n for r in self.clinics for n in r.by_category.values()), default=0)

    @property
    def label(self) -> str:
        return f"{self.school or 'All schools'} · {self.year or 'no academic year'}"


# --------------------------------------------------------------------------- queries


def available_schools() -> list[str]:
    return list(
        db.session.scalars(sa.select(Course.school).distinct().order_by(Course.school))
    )


def available_years(school: str | None = None) -> list[str]:
    """Academic years that have clinics (in the school, if given), newest first."""
    query = sa.select(Clinic.academic_year).distinct()
    if school:
        query = query.join(Clinic.course).where(Course.school == school)
    return list(db.session.scalars(query.order_by(Clinic.academic_year.desc())))


def _latest_versions(clinic_ids: list[int]):
    """Subquery (version_id, clinic_id): the latest analysed version of each document."""
    newest = (
        sa.select(
            DocumentVersion.document_id,
            sa.func.max(DocumentVersion.number).label("number"),
        )
        .join(Document, DocumentVersion.document_id == Document.id)
        .where(
            Document.clinic_id.in_(clinic_ids),
            DocumentVersion.status == VersionStatus.DONE,
        )
        .group_by(DocumentVersion.document_id)
        .subquery()
    )
    return (
        sa.select(
            DocumentVersion.id.label("version_id"),
            Document.clinic_id.label("clinic_id"),
        )
        .join(
            newest,
            sa.and_(
                DocumentVersion.document_id == newest.c.document_id,
                DocumentVersion.number == newest.c.number,
            ),
        )
        .join(Document, DocumentVersion.document_id == Document.id)
        .subquery()
    )


def _clinic_rows(school: str | None, year: str | None) -> list[ClinicRow]:
    if not year:
        return []
    query = (
        sa.select(Clinic, Course)
        .join(Clinic.course)
        .where(Clinic.academic_year == year)
        .order_by(Course.code)
    )
    if school:
        query = query.where(Course.school == school)
    rows = [
        ClinicRow(
            clinic_id=clinic.id,
            course_id=course.id,
            course_code=course.code,
            course_title=course.title,
            school=course.school,
            academic_year=clinic.academic_year,
            status=clinic.status,
        )
        for clinic, course in db.session.execute(query)
    ]
    if rows:
        _fill(rows)
    return rows


def _fill(rows: list[ClinicRow]) -> None:
    by_id = {r.clinic_id: r for r in rows}
    ids = list(by_id)
    latest = _latest_versions(ids)

    documents = sa.select(Document.clinic_id, sa.func.count(Document.id)).where(
        Document.clinic_id.in_(ids)
    )
    for clinic_id, n in db.session.execute(documents.group_by(Document.clinic_id)):
        by_id[clinic_id].documents = n
    analysed = sa.select(latest.c.clinic_id, sa.func.count()).group_by(
        latest.c.clinic_id
    )
    for clinic_id, n in db.session.execute(analysed):
        by_id[clinic_id].analysed_documents = n

    counts = (
        sa.select(latest.c.clinic_id, Finding.category, Finding.status, sa.func.count())
        .join(latest, Finding.version_id == latest.c.version_id)
        .group_by(latest.c.clinic_id, Finding.category, Finding.status)
    )
    for clinic_id, category, status, n in db.session.execute(counts):
        row = by_id[clinic_id]
        status = FindingStatus(status)
        if status == FindingStatus.DISMISSED:
            row.findings.dismissed += n
            continue
        if status == FindingStatus.CONFIRMED:
            row.findings.confirmed += n
        else:
            row.findings.open += n
        row.by_category[category] = row.by_category.get(category, 0) + n

    in_latest = latest.c.version_id.is_not(None)
    resolved = Finding.resolved_in_version_id.is_not(None)
    resolution = (
        sa.select(
            Document.clinic_id,
            sa.func.count(),
            sa.func.count(Finding.resolved_in_version_id),
        )
        .select_from(Finding)
        .join(DocumentVersion, Finding.version_id == DocumentVersion.id)
        .join(Document, DocumentVersion.document_id == Document.id)
        .outerjoin(latest, Finding.version_id == latest.c.version_id)
        .where(
            Document.clinic_id.in_(ids),
            Finding.status == FindingStatus.CONFIRMED,
            sa.or_(resolved, in_latest),
        )
        .group_by(Document.clinic_id)
    )
    for clinic_id, confirmed, n_resolved in db.session.execute(resolution):
        by_id[clinic_id].resolution = Resolution(confirmed, n_resolved)

    today = dt.date.today()
    overdue = sa.case(
        (sa.and_(ActionItem.due_date.is_not(None), ActionItem.due_date < today), 1),
        else_=0,
    )
    actions = (
        sa.select(
            ActionItem.clinic_id,
            ActionItem.status,
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(overdue), 0),
        )
        .where(ActionItem.clinic_id.in_(ids))
        .group_by(ActionItem.clinic_id, ActionItem.status)
    )
    for clinic_id, status, n, n_overdue in db.session.execute(actions):
        counts_ = by_id[clinic_id].actions
        status = ActionStatus(status)
        if status == ActionStatus.DONE:
            counts_.done += n
        elif status == ActionStatus.DROPPED:
            counts_.dropped += n
        else:
            counts_.open += n
            counts_.overdue += int(n_overdue)


def _totals(year: str | None, rows: list[ClinicRow]) -> YearTotals:
    totals = YearTotals(year=year, clinics=len(rows))
    for row in rows:
        totals.documents += row.documents
        totals.by_status[row.status] += 1
        for category, n in row.by_category.items():
            totals.by_category[category] = totals.by_category.get(category, 0) + n
        totals.findings.add(row.findings)
        totals.resolution.add(row.resolution)
        totals.actions.add(row.actions)
    return totals


def _top_criteria(rows: list[ClinicRow], limit: int) -> list[CriterionCount]:
    if not rows:
        return []
    latest = _latest_versions([r.clinic_id for r in rows])
    n = sa.func.count().label("n")
    query = (
        sa.select(Finding.criterion_id, sa.func.max(Finding.title), n)
        .join(latest, Finding.version_id == latest.c.version_id)
        .where(Finding.status == FindingStatus.CONFIRMED)
        .group_by(Finding.criterion_id)
        .order_by(n.desc(), Finding.criterion_id)
        .limit(limit)
    )
    return [CriterionCount(c, t, n) for c, t, n in db.session.execute(query)]


def school_summary(
    school: str | None = None, year: str | None = None, *, top: int = TOP_CRITERIA
) -> SchoolSummary:
    """The summary of a school (None: all schools) for an academic year.

    `year` None means the latest academic year that has clinics (in that school).
    See the module docstring for what each number counts.
    """
    school = school or None
    years = available_years(school)
    year = year or (years[0] if years else None)
    before = previous_year(year)
    rows = _clinic_rows(school, year)
    previous_rows = _clinic_rows(school, before)
    return SchoolSummary(
        school=school,
        year=year,
        previous_year=before,
        generated_at=dt.datetime.now(dt.UTC),
        schools=available_schools(),
        years=available_years(),
        categories=CATEGORIES,
        clinics=rows,
        totals=_totals(year, rows),
        previous_clinics=previous_rows,
        previous=_totals(before, previous_rows),
        top_criteria=_top_criteria(rows, top),
    )
