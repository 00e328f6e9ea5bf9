"""Documents: uploads, the analysis run behind a job, and revision matching."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePath

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from clinic import audit
from clinic.extensions import db
from clinic.models import (
    Clinic,
    Document,
    DocumentVersion,
    Finding,
    FindingStatus,
    MatchState,
    Segment,
    User,
    VersionStatus,
    document_name_key,
    utcnow,
)
from clinic.revisions import Item, match, sentence_key
from clinic.services import ServiceError
from clinic.storage import FileStore, StorageError
from clinic.uploads import UploadLimits, current_limits, format_size, over_file_limit

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
PROGRESS_EVERY = 200  # segments between progress/heartbeat updates
CARRIED_FIELDS = (
    "status",
    "dismiss_reason",
    "decision_comment",
    "decided_by_id",
    "decided_at",
    "severity",
)


def file_store() -> FileStore:
    return FileStore(current_app.config["UPLOAD_FOLDER"])


@dataclass
class UploadResult:
    version: DocumentVersion | None
    message: str
    ok: bool = True
    unchanged: bool = False  # the same file as the latest version: nothing new queued


def _clean_filename(filename: str) -> str:
    name = PurePath(filename.replace("\\", "/")).name.strip()
    return "".join(ch for ch in name if ch.isprintable())[:255] or "upload"


class RefusedFile(ServiceError):
    """A file refused before it is stored; `short` says why in a few words."""

    def __init__(self, message: str, short: str) -> None:
        super().__init__(message)
        self.short = short


# Why a file was refused, in a few words for the batch summary.
_SHORT_REASONS = {
    "EmptyFileError": "empty",
    "UnsupportedTypeError": "a type that cannot be reviewed",
    "TypeMismatchError": "its content does not match its extension",
    "CorruptFileError": "damaged or truncated",
    "EncryptedFileError": "password protected",
    "TooLargeError": "too large to open safely",
}


def _too_large(filename: str, size: int, limits: UploadLimits) -> RefusedFile:
    return RefusedFile(
        over_file_limit(filename, size, limits)
        + " Split it or remove large media, then upload it again.",
        f"{format_size(size)}, over the {limits.file_label} limit",
    )


def _check_file(data: bytes, filename: str, limits: UploadLimits) -> None:
    """Refuse at once what is over the size limit, or what the analysis would refuse
    for its type (no job for it)."""
    from clinic.ingest import IngestError, IngestLimits
    from clinic.ingest.detect import detect

    if len(data) > limits.file_bytes:
        raise _too_large(filename, len(data), limits)
    try:
        detect(data, filename, IngestLimits())
    except IngestError as error:
        short = _SHORT_REASONS.get(type(error).__name__, "cannot be read")
        raise RefusedFile(str(error), short) from None


def upload(
    actor: User,
    clinic: Clinic | None,
    filename: str,
    data: bytes,
    document: Document | None = None,
) -> UploadResult:
    """Store one file and queue its analysis: a new document, or the next version of one.

    Without `document`, a file named like an existing document of the clinic
    becomes that document's next version. An unchanged file adds no version.
    """
    filename = _clean_filename(filename)
    _check_file(data, filename, current_limits())
    if document is None and clinic is not None:
        document = _document_by_filename(clinic, filename)
    latest = document.latest if document else None
    sha = file_store().put(data)  # raises StorageError before any row is written
    if latest is not None and latest.sha256 == sha:
        return UploadResult(
            latest,
            f"{filename} is unchanged since {latest.label}; nothing new to analyse.",
            unchanged=True,
        )
    if document is None:
        document = _new_document(actor, clinic, filename)
        twin_latest = document.latest  # set when a parallel upload made it first
        if twin_latest is not None and twin_latest.sha256 == sha:
            return UploadResult(
                twin_latest,
                f"{filename} is unchanged since {twin_latest.label}; nothing new to "
                "analyse.",
                unchanged=True,
            )
    version = _add_version(actor, document, filename, sha, len(data))
    audit.record(
        actor,
        "version.upload",
        version,
        after={
            "document": document.title,
            "number": version.number,
            "filename": filename,
            "sha256": sha,
        },
    )
    db.session.commit()
    from clinic import jobs

    jobs.enqueue_analysis(version.id)
    what = (
        f"{version.label} of {document.title}" if version.number > 1 else document.title
    )
    return UploadResult(
        version, f"{filename} uploaded as {what}; analysis has started."
    )


# --------------------------------------------------------------------------- batches


@dataclass
class IncomingFile:
    """One file of a batch as it arrived: its bytes are read only when it is stored.

    `read` is None for a file whose bytes were not kept: over the per-file limit on
    the way in, or left out by the browser (`not_sent`), which checked it first.
    """

    filename: str
    size: int
    read: Callable[[], bytes] | None
    not_sent: bool = False


@dataclass
class BatchItem:
    filename: str
    size: int | None
    outcome: str  # "uploaded", "unchanged" or "refused"
    message: str
    reason: str = ""  # refused: why, in a few words
    version_id: int | None = None


@dataclass
class BatchResult:
    items: list[BatchItem] = field(default_factory=list)

    def _with(self, outcome: str) -> list[BatchItem]:
        return [i for i in self.items if i.outcome == outcome]

    @property
    def uploaded(self) -> list[BatchItem]:
        return self._with("uploaded")

    @property
    def unchanged(self) -> list[BatchItem]:
        return self._with("unchanged")

    @property
    def refused(self) -> list[BatchItem]:
        return self._with("refused")


def upload_batch(
    actor: User,
    clinic: Clinic | None,
    files: list[IncomingFile],
    document: Document | None = None,
) -> BatchResult:
    """Store and queue each file of a batch on its own (one transaction per file).

    A file that is over the size limit, beyond the batch's file count, of the wrong
    type, empty or damaged is refused with its reason; the others are stored.
    """
    limits = current_limits()
    result = BatchResult()
    received = 0
    for incoming in files:
        name = _clean_filename(incoming.filename)
        refused = None
        if incoming.not_sent or incoming.read is None:
            if incoming.size > limits.file_bytes:
                refused = _too_large(name, incoming.size, limits)
            elif incoming.not_sent:
                refused = RefusedFile(
                    f"‘{name}’ was not sent: this upload already had as many files "
                    "or bytes as one upload takes. Upload it in another batch.",
                    "over the limit for one upload",
                )
            else:
                refused = RefusedFile(f"‘{name}’ did not arrive.", "not received")
        else:
            received += 1
            if received > limits.max_files:
                refused = RefusedFile(
                    f"‘{name}’ was not uploaded: one upload takes up to "
                    f"{limits.max_files} files. Upload it in another batch.",
                    f"over the {limits.max_files}-file limit for one upload",
                )
        if refused is None:
            try:
                outcome = upload(actor, clinic, name, incoming.read(), document)
            except RefusedFile as error:
                refused = error
            except (ServiceError, StorageError) as error:
                db.session.rollback()
                refused = RefusedFile(str(error), "could not be stored")
            else:
                result.items.append(
                    BatchItem(
                        name,
                        incoming.size,
                        "unchanged" if outcome.unchanged else "uploaded",
                        outcome.message,
                        version_id=outcome.version.id if outcome.version else None,
                    )
                )
                continue
        result.items.append(
            BatchItem(name, incoming.size, "refused", str(refused), refused.short)
        )
    return result


def _new_document(actor: User, clinic: Clinic | None, filename: str) -> Document:
    """A new document for this file name, or the one a parallel upload of the same
    name has just made (the unique key on clinic and name decides)."""
    document = Document(
        clinic_id=clinic.id if clinic is not None else None,
        owner_id=actor.id,
        title=PurePath(filename).stem[:255] or filename,
        name_key=document_name_key(filename) if clinic is not None else None,
    )
    try:
        with db.session.begin_nested():
            db.session.add(document)
            db.session.flush()
    except IntegrityError:
        twin = _document_by_key(clinic, filename)
        if twin is None:
            raise
        return twin
    if clinic is not None:
        db.session.expire(clinic, ["documents"])
    return document


def _add_version(
    actor: User, document: Document, filename: str, sha: str, size: int
) -> DocumentVersion:
    """The document's next version; numbers taken by a parallel upload are skipped."""
    for _attempt in range(10):
        number = (
            db.session.scalar(
                sa.select(sa.func.max(DocumentVersion.number)).where(
                    DocumentVersion.document_id == document.id
                )
            )
            or 0
        ) + 1
        version = DocumentVersion(
            document_id=document.id,
            number=number,
            filename=filename,
            sha256=sha,
            size=size,
            uploaded_by=actor,
            status=VersionStatus.QUEUED,
            progress=0,
        )
        try:
            with db.session.begin_nested():
                db.session.add(version)
                db.session.flush()
        except IntegrityError:
            continue
        db.session.expire(document, ["versions"])
        return version
    raise ServiceError(
        f"{filename}: too many uploads of this document at once; upload it again."
    )


def _document_by_key(clinic: Clinic, filename: str) -> Document | None:
    return db.session.scalar(
        sa.select(Document).where(
            Document.clinic_id == clinic.id,
            Document.name_key == document_name_key(filename),
        )
    )


def _document_by_filename(clinic: Clinic, filename: str) -> Document | None:
    found = _document_by_key(clinic, filename)
    if found is not None:
        return found
    for document in clinic.documents:  # renamed in a revision since
        latest = document.latest
        if latest is not None and latest.filename.lower() == filename.lower():
            return document
    return None


# --------------------------------------------------------------------------- the analysis job


def _stale_after() -> dt.timedelta:
    """How long without a heartbeat before a running analysis counts as abandoned."""
    return dt.timedelta(seconds=current_app.config.get("JOB_STALE_SECONDS", 120))


def _claim(version_id: int) -> bool:
    """Take the version for this worker: queued, or abandoned by a dead worker."""
    now = utcnow()
    stale = now - _stale_after()
    result = db.session.execute(
        sa.update(DocumentVersion)
        .where(
            DocumentVersion.id == version_id,
            sa.or_(
                DocumentVersion.status == VersionStatus.QUEUED,
                sa.and_(
                    DocumentVersion.status.in_(
                        [VersionStatus.EXTRACTING, VersionStatus.ANALYSING]
                    ),
                    DocumentVersion.heartbeat_at < stale,
                ),
            ),
        )
        .values(
            status=VersionStatus.EXTRACTING,
            progress=5,
            attempts=DocumentVersion.attempts + 1,
            heartbeat_at=now,
            started_at=now,
            error=None,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def _progress(version: DocumentVersion, status: VersionStatus, progress: int) -> None:
    version.status, version.progress, version.heartbeat_at = status, progress, utcnow()
    db.session.commit()


def _fail(version: DocumentVersion, message: str) -> None:
    version.status = VersionStatus.FAILED
    version.error = message
    version.finished_at = utcnow()
    audit.record(None, "version.failed", version, after={"error": message})
    db.session.commit()


def run_analysis(version_id: int) -> str:
    """Run one analysis; an unexpected error fails the version with a plain message."""
    try:
        return _run_analysis(version_id)
    except Exception as error:
        log.exception("analysis of version %s failed", version_id)
        db.session.rollback()
        version = db.session.get(DocumentVersion, version_id)
        if version is None:
            return "missing"
        _fail(
            version,
            f"The analysis stopped because of an internal error ({type(error).__name__}). "
            "CAP staff can see the details in the server log; upload the file again to retry.",
        )
        return version.status.value


def _run_analysis(version_id: int) -> str:
    """Extract, analyse and store findings for one version; returns the final status.

    Safe to run twice or after a crash: a version is claimed atomically and its
    earlier partial results are replaced in one transaction.
    """
    from clinic.analysis import load_analyzer
    from clinic.ingest import IngestError, IngestLimits, extract

    if not _claim(version_id):
        version = db.session.get(DocumentVersion, version_id)
        return version.status.value if version else "missing"
    version = db.session.get(DocumentVersion, version_id)
    if version.attempts > MAX_ATTEMPTS:
        _fail(
            version,
            "The analysis stopped several times without finishing. Please tell CAP staff.",
        )
        return version.status.value
    try:
        data = file_store().get(version.sha256)
        limits = IngestLimits(**current_app.config.get("INGEST_LIMITS", {}))
        extracted = extract(data, version.filename, limits)
    except (IngestError, StorageError) as error:
        _fail(version, str(error))
        return version.status.value
    version.kind, version.page_count, version.word_count = (
        extracted.kind,
        extracted.page_count,
        extracted.word_count,
    )
    version.warnings = extracted.warnings or None
    _progress(version, VersionStatus.ANALYSING, 20)

    analyzer = load_analyzer(current_app.config["RUBRIC_DIR"])
    texts = [s.text for s in extracted.segments]
    contexts = analyzer.document_contexts(extracted.segments)
    results = []
    for start in range(0, len(texts), PROGRESS_EVERY):
        end = start + PROGRESS_EVERY
        results.extend(
            analyzer.analyze_segments(texts[start:end], contexts=contexts[start:end])
        )
        _progress(
            version,
            VersionStatus.ANALYSING,
            20 + int(70 * min(1, (start + PROGRESS_EVERY) / max(1, len(texts)))),
        )
    _store_results(version, extracted.segments, results, analyzer.version_id)
    return version.status.value


def _store_results(
    version: DocumentVersion, segments, results, rubric_version: str
) -> None:
    db.session.execute(sa.delete(Finding).where(Finding.version_id == version.id))
    db.session.execute(sa.delete(Segment).where(Segment.version_id == version.id))
    rows = []
    for ordinal, seg in enumerate(segments):
        geometry = None
        if seg.boxes is not None:
            full = seg.to_dict()
            geometry = {k: full[k] for k in ("boxes", "page_box", "rotation")}
        rows.append(
            Segment(
                version_id=version.id,
                ordinal=ordinal,
                text=seg.text,
                location=seg.location.to_dict(),
                geometry=geometry,
            )
        )
    db.session.add_all(rows)
    db.session.flush()
    findings = []
    for seg, row, seg_findings in zip(segments, rows, results):
        for f in seg_findings:
            findings.append(
                Finding(
                    version_id=version.id,
                    segment_id=row.id,
                    criterion_id=f.criterion_id,
                    title=f.title,
                    category=f.category,
                    severity=f.severity,
                    machine_severity=f.severity,
                    rubric_version=rubric_version,
                    location=row.location,
                    start=f.start,
                    end=f.end,
                    matched_text=f.matched_text,
                    sentence=f.sentence,
                    sentence_key=sentence_key(f.sentence),
                    cues=f.cues,
                    rects=seg.highlight_rects(f.start, f.end) or None,
                    confidence=f.confidence,
                    secondary=list(f.secondary) or None,
                    source="machine",
                )
            )
    db.session.add_all(findings)
    db.session.flush()
    _match_previous(version, rows, findings)
    version.rubric_version = rubric_version
    version.status, version.progress, version.finished_at = (
        VersionStatus.DONE,
        100,
        utcnow(),
    )
    audit.record(
        None,
        "version.analysed",
        version,
        after={
            "findings": len(version.findings),
            "resolved": version.resolved_count,
            "rubric": rubric_version,
        },
    )
    db.session.commit()


def _previous_version(version: DocumentVersion) -> DocumentVersion | None:
    return db.session.scalar(
        sa.select(DocumentVersion)
        .where(
            DocumentVersion.document_id == version.document_id,
            DocumentVersion.number < version.number,
            DocumentVersion.status == VersionStatus.DONE,
        )
        .order_by(DocumentVersion.number.desc())
        .limit(1)
    )


def _carry(source: Finding, target: Finding) -> None:
    for name in CARRIED_FIELDS:
        setattr(target, name, getattr(source, name))
    target.previous_id = source.id
    target.match_state = MatchState.PERSISTING


def _match_previous(
    version: DocumentVersion, rows: list[Segment], findings: list[Finding]
) -> None:
    previous = _previous_version(version)
    if previous is None:
        version.resolved_count = None
        return
    old = list(
        db.session.scalars(sa.select(Finding).where(Finding.version_id == previous.id))
    )
    old_machine = {f.id: f for f in old if f.source == "machine"}
    result = match(
        [
            Item(f.id, f.criterion_id, f.sentence, f.matched_text)
            for f in old_machine.values()
        ],
        [Item(f.id, f.criterion_id, f.sentence, f.matched_text) for f in findings],
    )
    by_id = {f.id: f for f in findings}
    for current_id, previous_id in result.matched.items():
        _carry(old_machine[previous_id], by_id[current_id])
    _carry_dismissals_from_history(version, [by_id[i] for i in result.new])
    manual_resolved = _carry_manual(
        version, rows, [f for f in old if f.source == "manual"]
    )
    resolved = [old_machine[i] for i in result.resolved] + manual_resolved
    for finding in resolved:
        finding.resolved_in_version_id = version.id
    version.resolved_count = len(resolved)


def _carry_dismissals_from_history(
    version: DocumentVersion, new: list[Finding]
) -> None:
    """A dismissed sentence stays dismissed when it comes back in any later version."""
    if not new:
        return
    dismissed = db.session.scalars(
        sa.select(Finding)
        .join(DocumentVersion, Finding.version_id == DocumentVersion.id)
        .where(
            DocumentVersion.document_id == version.document_id,
            DocumentVersion.number < version.number,
            Finding.status == FindingStatus.DISMISSED,
            Finding.sentence_key.in_({f.sentence_key for f in new}),
        )
        .order_by(Finding.id.desc())
    )
    latest: dict[tuple[str, str], Finding] = {}
    for f in dismissed:
        latest.setdefault((f.criterion_id, f.sentence_key), f)
    for f in new:
        source = latest.get((f.criterion_id, f.sentence_key))
        if source is not None:
            _carry(source, f)


def _carry_manual(
    version: DocumentVersion, rows: list[Segment], manual: list[Finding]
) -> list[Finding]:
    """Re-place coach findings where their words still stand; return those that went away."""

    gone = []
    for old in manual:
        placed = False
        for row in rows:
            at = row.text.find(old.matched_text)
            if at < 0:
                continue
            new = finding_at(
                row,
                at,
                at + len(old.matched_text),
                criterion_id=old.criterion_id,
                title=old.title,
                category=old.category,
                severity=old.severity,
                rubric_version=old.rubric_version,
                cues=old.cues,
                source="manual",
                note=old.note,
                created_by_id=old.created_by_id,
            )
            if (
                new.sentence_key != old.sentence_key
                and old.sentence.strip() not in row.text
            ):
                continue
            db.session.add(new)
            _carry(old, new)
            placed = True
            break
        if not placed:
            gone.append(old)
    return gone


def finding_at(segment: Segment, start: int, end: int, **fields) -> Finding:
    """A finding on `segment.text[start:end]` with its sentence, location and page boxes."""
    from clinic.analysis import split_sentences

    sentence = next(
        (segment.text[s:e] for s, e in split_sentences(segment.text) if s <= start < e),
        segment.text,
    )
    return Finding(
        version_id=segment.version_id,
        segment_id=segment.id,
        location=segment.location,
        start=start,
        end=end,
        matched_text=segment.text[start:end],
        sentence=sentence,
        sentence_key=sentence_key(sentence),
        rects=_rects(segment, start, end),
        **fields,
    )


def _rects(row: Segment, start: int, end: int) -> list | None:
    if not row.geometry:
        return None
    from clinic.ingest import Segment as IngestSegment

    seg = IngestSegment.from_dict(
        {"text": row.text, "location": row.location, **row.geometry}
    )
    return seg.highlight_rects(start, end) or None


# --------------------------------------------------------------------------- recovery


def stale_versions() -> list[int]:
    """Versions a dead worker left behind, or queued but never picked up."""
    now = utcnow()
    return list(
        db.session.scalars(
            sa.select(DocumentVersion.id).where(
                sa.or_(
                    sa.and_(
                        DocumentVersion.status.in_(
                            [VersionStatus.EXTRACTING, VersionStatus.ANALYSING]
                        ),
                        DocumentVersion.heartbeat_at < now - _stale_after(),
                    ),
                    sa.and_(
                        DocumentVersion.status == VersionStatus.QUEUED,
                        DocumentVersion.uploaded_at < now - _stale_after(),
                    ),
                )
            )
        )
    )


def version_state(version: DocumentVersion) -> dict:
    """What the status poller on the page shows."""
    return {
        "id": version.id,
        "status": version.status.value,
        "label": version.status.label,
        "progress": version.progress,
        "finished": version.status.finished,
        "error": version.error,
        "warnings": version.warnings or [],
        "findings": len(version.findings)
        if version.status == VersionStatus.DONE
        else None,
    }
