"""Import scanned files as documents, versions and findings (no job queue).

Used by ``clinic scan --import``: the scan has already extracted and analysed each
file, so its segments and findings are stored as they are.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePath

import sqlalchemy as sa

from clinic import audit
from clinic.extensions import db
from clinic.models import (
    Clinic,
    Course,
    Document,
    DocumentVersion,
    VersionStatus,
    utcnow,
)
from clinic.services import ServiceError, courses
from clinic.services.documents import _clean_filename, _store_results, file_store


@dataclass
class ImportOutcome:
    """``status`` is "created" (new document), "version" (next version) or "unchanged"."""

    status: str
    version: DocumentVersion | None
    document: Document | None


def courses_by_code(codes: Iterable[str]) -> tuple[dict[str, Course], list[str]]:
    """The courses with these codes, and the codes no course has (sorted)."""
    codes = {c for c in codes if c}
    found = {
        c.code: c
        for c in db.session.scalars(sa.select(Course).where(Course.code.in_(codes)))
    }
    return found, sorted(codes - set(found))


def clinic_for(course: Course, year: str) -> tuple[Clinic, bool]:
    """The course's clinic for ``year``, created (audited, no actor) when missing."""
    year = courses.validate_academic_year(year)
    clinic = db.session.scalar(
        sa.select(Clinic).where(
            Clinic.course_id == course.id, Clinic.academic_year == year
        )
    )
    if clinic is not None:
        return clinic, False
    return courses.create_clinic(
        None, course=course, academic_year=year, coach_ids=[]
    ), True


def documents_by_filename(clinic: Clinic) -> dict[str, Document]:
    """The clinic's documents by their latest version's file name (lower case)."""
    out: dict[str, Document] = {}
    for document in clinic.documents:
        latest = document.latest
        if latest is not None:
            out.setdefault(latest.filename.lower(), document)
    return out


def _findings_by_segment(findings: Iterable, n_segments: int) -> list[list]:
    """Per-segment lists of analysis Findings from scan dicts (with "segment") or
    from per-segment lists already."""
    from clinic.analysis import Finding

    findings = list(findings)
    if len(findings) == n_segments and all(isinstance(f, list) for f in findings):
        return findings
    out: list[list] = [[] for _ in range(n_segments)]
    for f in findings:
        if isinstance(f, dict):
            index = f["segment"]
            f = Finding(
                criterion_id=f["criterion_id"],
                title=f["title"],
                category=f["category"],
                severity=f["severity"],
                start=f["start"],
                end=f["end"],
                matched_text=f["matched_text"],
                sentence=f["sentence"],
                sentence_start=f.get("sentence_start", 0),
                sentence_end=f.get("sentence_end", 0),
                explanation=f.get("explanation", ""),
                recommendation=f.get("recommendation", ""),
                cues=f.get("cues") or [],
                confidence=f.get("confidence", "likely"),
                secondary=f.get("secondary") or [],
            )
        else:
            index = f.segment
        if not 0 <= index < n_segments:
            raise ServiceError(f"a finding points at segment {index}, which is missing")
        out[index].append(f)
    return out


def import_scan_result(
    clinic: Clinic,
    path: str,
    data: bytes,
    extracted_segments: list,
    findings: Iterable,
    rubric_version: str,
    *,
    kind: str | None = None,
    page_count: int | None = None,
    word_count: int | None = None,
    warnings: list[str] | None = None,
    index: dict[str, Document] | None = None,
) -> ImportOutcome:
    """Store one scanned file in ``clinic``: a new document, or the next version of the
    document whose latest file has the same name; nothing when that file is unchanged.

    ``extracted_segments`` are ingest Segments or their ``to_dict()`` dicts;
    ``findings`` are scan finding dicts (with a "segment" index) or per-segment lists
    of analysis Findings. ``index`` (from :func:`documents_by_filename`) saves a
    lookup per file and is kept up to date.
    """
    from clinic.ingest import Segment as IngestSegment

    filename = _clean_filename(PurePath(path).name)
    if index is None:
        index = documents_by_filename(clinic)
    document = index.get(filename.lower())
    latest = document.latest if document else None
    sha = file_store().put(data)
    if latest is not None and latest.sha256 == sha:
        return ImportOutcome("unchanged", latest, document)
    segments = [
        s if isinstance(s, IngestSegment) else IngestSegment.from_dict(s)
        for s in extracted_segments
    ]
    results = _findings_by_segment(findings, len(segments))
    created = document is None
    if created:
        document = Document(
            clinic=clinic, owner=None, title=PurePath(filename).stem[:255] or filename
        )
        db.session.add(document)
    now = utcnow()
    version = DocumentVersion(
        document=document,
        number=(latest.number + 1) if latest else 1,
        filename=filename,
        sha256=sha,
        size=len(data),
        uploaded_by=None,
        status=VersionStatus.ANALYSING,
        progress=90,
        kind=kind,
        page_count=page_count,
        word_count=word_count,
        warnings=warnings or None,
        attempts=1,
        started_at=now,
        heartbeat_at=now,
    )
    db.session.add(version)
    db.session.flush()
    audit.record(
        None,
        "version.import",
        version,
        after={
            "document": document.title,
            "number": version.number,
            "filename": filename,
            "path": path,
            "sha256": sha,
        },
    )
    _store_results(version, segments, results, rubric_version)  # commits
    index[filename.lower()] = document
    return ImportOutcome("created" if created else "version", version, document)
