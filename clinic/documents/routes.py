import hashlib
import io
import json
from pathlib import Path

import sqlalchemy as sa
from flask import (
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy.orm import joinedload, selectinload

from clinic.admin.forms import choices
from clinic.documents import batch, bp
from clinic.documents.forms import (
    DecisionForm,
    ManualFindingForm,
    RevisionForm,
    UploadForm,
)
from clinic.documents.presenters import build_groups, facet_counts, version_diff
from clinic.extensions import db
from clinic.models import (
    Clinic,
    Comment,
    Document,
    DocumentVersion,
    Finding,
    FindingDecision,
    Segment,
    User,
    VersionStatus,
)
from clinic.policy import allowed, guard
from clinic.rubric_cache import app_rubric
from clinic.services import ServiceError, reviews
from clinic.services import documents as document_service
from clinic.storage import StorageError
from clinic.uploads import accepts_files

PAGE_WIDTHS = (800, 1200)
# One finding per passage of a selection: a selection across more is a mistake, not a wish.
MAX_PASSAGES = 20


def _upload_files(
    files, clinic: Clinic | None, document: Document | None = None
) -> bool:
    """Store a batch, each file on its own, and flash one banner for all of it."""
    incoming = batch.incoming_files(files)
    if not incoming:
        flash("Choose at least one file.", "danger")
        return False
    result = document_service.upload_batch(current_user, clinic, incoming, document)
    category, message = batch.banner(result)
    flash(message, category)
    return not result.refused


@bp.post("/clinics/<int:clinic_id>/documents")
@accepts_files
@guard("clinic.upload", clinic=Clinic)
def upload(clinic: Clinic):
    form = UploadForm()
    if form.validate_on_submit():
        _upload_files(request.files.getlist(form.files.name), clinic)
    else:
        for errors in form.errors.values():
            for error in errors:
                flash(error, "danger")
    return redirect(url_for("main.clinic", clinic_id=clinic.id) + "#documents")


@bp.get("/documents/<int:document_id>")
@guard("document.view", document=Document)
def document(document: Document):
    return render_template(
        "documents/detail.html",
        document=document,
        revision_form=RevisionForm(),
    )


@bp.post("/documents/<int:document_id>/versions")
@accepts_files
@guard("document.upload", document=Document)
def upload_revision(document: Document):
    form = RevisionForm()
    if form.validate_on_submit():
        files = request.files.getlist(form.files.name)[:1]
        _upload_files(files, document.clinic, document)
    else:
        flash("Choose the revised file to upload.", "danger")
    return redirect(url_for("documents.document", document_id=document.id))


@bp.get("/versions/<int:version_id>/status")
@guard("version.view", version=DocumentVersion)
def version_status(version: DocumentVersion):
    return jsonify(document_service.version_state(version))


@bp.get("/versions/<int:version_id>/file")
@guard("version.view", version=DocumentVersion)
def version_file(version: DocumentVersion):
    try:
        data = document_service.file_store().get(version.sha256)
    except StorageError as error:
        current_app.logger.error("version %s: %s", version.id, error)
        abort(404)
    # Always a download, never shown inline: an uploaded file is not trusted content.
    return send_file(
        io.BytesIO(data),
        mimetype="application/octet-stream",
        as_attachment=True,
        download_name=version.filename,
        max_age=0,
    )


@bp.get("/versions/<int:version_id>/pages/<int:page>.png")
@guard("version.view", version=DocumentVersion)
def page_image(version: DocumentVersion, page: int):
    from clinic.ingest import IngestError, render_pdf_page

    width = request.args.get("w", PAGE_WIDTHS[0], type=int)
    if (
        version.kind != "pdf"
        or width not in PAGE_WIDTHS
        or not 1 <= page <= (version.page_count or 0)
    ):
        abort(404)
    cache = Path(current_app.instance_path) / "cache" / "pages" / version.sha256[:2]
    target = cache / f"{version.sha256}-{page}-{width}.png"
    if not target.exists():
        try:
            png = render_pdf_page(
                document_service.file_store().get(version.sha256), page, width
            )
        except (IngestError, StorageError):
            abort(404)
        cache.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{hashlib.sha1(png).hexdigest()[:8]}.tmp")
        tmp.write_bytes(png)
        tmp.replace(target)
    # Cache-Control is set for signed-in content (private, no-store) after the request.
    return send_file(target, mimetype="image/png")


def _criterion_choices():
    rubric = app_rubric()
    return choices(
        (c.id, f"{c.id} · {c.title}")
        for c in sorted(rubric.criteria.values(), key=lambda c: c.id)
    )


@bp.get("/versions/<int:version_id>/review")
@guard("version.view", version=DocumentVersion)
def review(version: DocumentVersion):
    findings = list(
        db.session.scalars(
            sa.select(Finding)
            .where(Finding.version_id == version.id)
            .order_by(Finding.segment_id, Finding.start)
            # One query per relation, not per finding: the screen may list hundreds.
            .options(
                selectinload(Finding.comments).joinedload(Comment.author),
                joinedload(Finding.decided_by),
                joinedload(Finding.created_by),
                joinedload(Finding.revised_by),
                joinedload(Finding.assignee),
                joinedload(Finding.settled_by),
                selectinload(Finding.coach_decisions).joinedload(FindingDecision.coach),
            )
        )
    )
    from clinic.services.workflow import decisions_visible

    can_decide = allowed(current_user, "version.annotate", version)
    show_decisions = decisions_visible(current_user, version.document.clinic)
    # The same answer for every finding of a version: decided once, not per card.
    sample = findings[0] if findings else None
    can_comment = bool(sample) and allowed(current_user, "finding.comment", sample)
    can_mark_revised = bool(sample) and allowed(
        current_user, "finding.mark_revised", sample
    )
    can_settle = bool(sample) and allowed(current_user, "finding.settle", sample)
    # Coaches' own decisions, where they differ, are for the coaches' eyes.
    differ = (
        {f.id for f in findings if reviews.coaches_differ(f)} if can_decide else set()
    )
    manual_form = ManualFindingForm()
    manual_form.criterion.choices = _criterion_choices()
    rubric = app_rubric()
    # Each criterion's guidance is the same on every card: render it once.
    guidance = {
        cid: Markup(
            render_template(
                "documents/_guidance.html", c=rubric.criteria.get(cid), rubric=rubric
            )
        )
        for cid in {f.criterion_id for f in findings}
    }
    return render_template(
        "documents/review.html",
        version=version,
        document=version.document,
        findings=findings,
        groups=build_groups(version, findings)
        if version.status == VersionStatus.DONE
        else [],
        diff=version_diff(version, findings),
        facets=facet_counts(findings),
        show_decisions=show_decisions,
        can_comment=can_comment,
        can_mark_revised=can_mark_revised,
        guidance=guidance,
        can_decide=can_decide,
        can_settle=can_settle,
        differ=differ,
        standing_decisions=reviews.standing_decisions,
        assignees=reviews.assignable(sample) if can_decide and sample else [],
        decision_form=DecisionForm(),
        manual_form=manual_form,
        page_widths=PAGE_WIDTHS,
        max_passages=MAX_PASSAGES,
    )


@bp.post("/findings/<int:finding_id>/decision")
@guard("finding.decide", finding=Finding)
def decide(finding: Finding):
    form = DecisionForm()
    back = (
        url_for("documents.review", version_id=finding.version_id)
        + f"#finding-{finding.id}"
    )
    if not form.validate_on_submit():
        flash(
            "The decision could not be saved: "
            + "; ".join(e for errors in form.errors.values() for e in errors),
            "danger",
        )
        return redirect(back)
    try:
        action = form.action.data
        if action == "confirm":
            reviews.confirm(current_user, finding, form.comment.data)
        elif action == "dismiss":
            reviews.dismiss(
                current_user, finding, form.reason.data or "", form.comment.data
            )
        elif action == "reopen":
            reviews.reopen(current_user, finding)
        elif action == "severity":
            reviews.set_severity(current_user, finding, form.severity.data or "")
        elif action == "criterion":
            reviews.change_criterion(
                current_user, finding, _criterion(form.criterion.data)
            )
        else:
            raise ServiceError("Unknown decision.")
    except ServiceError as error:
        flash(str(error), "danger")
    else:
        following = (
            reviews.next_open(finding)
            if action not in ("severity", "criterion")
            else None
        )
        if request.accept_mimetypes.best == "application/json":
            return jsonify(
                {
                    "id": finding.id,
                    "status": finding.status.value,
                    "severity": finding.severity,
                    "criterion_id": finding.criterion_id,
                    "next_open_id": following.id if following else None,
                }
            )
        if action in ("confirm", "dismiss") and following is not None:
            # The page opens at the next open finding (review.js focuses it).
            return redirect(
                url_for("documents.review", version_id=finding.version_id)
                + f"#finding-{following.id}"
            )
    return redirect(back)


def _back_to(finding: Finding) -> str:
    return (
        url_for("documents.review", version_id=finding.version_id)
        + f"#finding-{finding.id}"
    )


@bp.post("/findings/<int:finding_id>/assign")
@guard("finding.decide", finding=Finding)
def assign(finding: Finding):
    """Assign the finding to one of the clinic's coaches, or to nobody."""
    raw = (request.form.get("assignee") or "").strip()
    try:
        assignee = None
        if raw:
            assignee = db.session.get(User, _form_int("assignee"))
            if assignee is None:
                raise ServiceError("There is no such user: choose one of the coaches.")
        reviews.assign(current_user, finding, assignee)
    except ServiceError as error:
        flash(str(error), "danger")
    else:
        flash(
            f"Assigned to {assignee.name}." if assignee else "No longer assigned.",
            "success",
        )
    return redirect(_back_to(finding))


@bp.post("/findings/<int:finding_id>/settle")
@guard("finding.settle", finding=Finding)
def settle(finding: Finding):
    """The lead coach settles a finding the coaches decided differently."""
    form = DecisionForm()
    if not form.validate_on_submit():
        flash(
            "The decision could not be saved: "
            + "; ".join(e for errors in form.errors.values() for e in errors),
            "danger",
        )
        return redirect(_back_to(finding))
    try:
        reviews.settle(
            current_user,
            finding,
            form.action.data,
            form.reason.data or None,
            form.comment.data,
        )
    except ServiceError as error:
        flash(str(error), "danger")
    else:
        flash(f"Settled as {finding.status.label.lower()}.", "success")
    return redirect(_back_to(finding))


def _criterion(criterion_id: str | None):
    """The rubric criterion of that id, or a ServiceError naming the id."""
    criterion = app_rubric().criteria.get((criterion_id or "").strip())
    if criterion is None:
        raise ServiceError(
            f"“{criterion_id or ''}” is not a criterion of the rubric; choose one "
            "from the list."
        )
    return criterion


def _form_int(name: str) -> int | None:
    raw = (request.form.get(name) or "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise ServiceError(f"“{raw}” is not a number.") from None


@bp.post("/versions/<int:version_id>/findings/bulk")
@guard("version.annotate", version=DocumentVersion)
def bulk_decide(version: DocumentVersion):
    """Confirm or dismiss the selected findings (or all matching the filters) at once."""
    back = url_for("documents.review", version_id=version.id)
    form = request.form
    try:
        ids = []
        for raw in form.getlist("ids"):
            try:
                ids.append(int(raw))
            except ValueError:
                raise ServiceError(f"“{raw}” is not a finding id.") from None
        findings = reviews.bulk_selection(
            version,
            ids=ids,
            all_matching=form.get("all_matching") == "1",
            filters={
                **{k: form.get(k) for k in reviews.BULK_FILTERS},
                "page_from": _form_int("page_from"),
                "page_to": _form_int("page_to"),
            },
            actor=current_user,
        )
        action = form.get("action") or ""
        reviews.bulk_decide(
            current_user,
            version,
            findings,
            action,
            form.get("reason"),
            form.get("comment"),
        )
    except ServiceError as error:
        flash(str(error), "danger")
        return redirect(back, 303)
    verb = "confirmed" if action == "confirm" else "dismissed"
    flash(
        f"{len(findings)} finding{'s' if len(findings) != 1 else ''} {verb}.",
        "success",
    )
    return redirect(back, 303)


@bp.post("/versions/<int:version_id>/findings")
@guard("version.annotate", version=DocumentVersion)
def add_finding(version: DocumentVersion):
    form = ManualFindingForm()
    form.criterion.choices = _criterion_choices()
    back = url_for("documents.review", version_id=version.id)
    if not form.validate_on_submit():
        flash(
            "Select text in the document and choose a criterion to add a finding.",
            "danger",
        )
        return redirect(back)
    try:
        passages = _passages(form)
    except ValueError as error:
        flash(str(error), "danger")
        return redirect(back)
    located = []
    for segment_id, start, end in passages:
        segment = db.session.get(Segment, segment_id)
        if segment is None or segment.version_id != version.id:
            flash("The selected text is not part of this version.", "danger")
            return redirect(back)
        if (
            not (0 <= start < end <= len(segment.text))
            or not segment.text[start:end].strip()
        ):
            flash("Select some text in the document first.", "danger")
            return redirect(back)
        located.append((segment, start, end))
    criterion = app_rubric().criteria[form.criterion.data]
    added = []
    try:
        for segment, start, end in located:
            added.append(
                reviews.add_manual_finding(
                    current_user,
                    version,
                    segment,
                    start,
                    end,
                    criterion,
                    form.note.data,
                )
            )
    except ServiceError as error:
        flash(str(error), "danger")
        return redirect(back)
    if len(added) == 1:
        flash(f"Finding added: {criterion.title}.", "success")
    else:
        flash(
            f"{len(added)} findings added, one per passage: {criterion.title}.",
            "success",
        )
    return redirect(back + f"#finding-{added[0].id}")


def _passages(form: ManualFindingForm) -> list[tuple[int, int, int]]:
    """The selected passages: the `passages` field (JSON [[segment, start, end], ...],
    one per segment a selection touched) or else the single segment_id/start/end."""
    raw = request.form.get("passages", "").strip()
    if not raw:
        return [(form.segment_id.data, form.start.data, form.end.data)]
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if (
        not isinstance(data, list)
        or not data
        or not all(
            isinstance(p, list)
            and len(p) == 3
            and all(isinstance(v, int) and not isinstance(v, bool) for v in p)
            for p in data
        )
    ):
        raise ValueError("Select text in the document to add a finding.")
    if len(data) > MAX_PASSAGES:
        raise ValueError(
            f"A selection can add at most {MAX_PASSAGES} findings, one per "
            f"paragraph or line; this one touches {len(data)}. Select fewer."
        )
    passages = list(dict.fromkeys(tuple(p) for p in data))
    if len({p[0] for p in passages}) != len(passages):
        raise ValueError("Select text in the document to add a finding.")
    return passages


@bp.get("/glossary")
@guard("authenticated")
def glossary():
    rubric = app_rubric()
    terms = sorted(rubric.glossary.values(), key=lambda t: t.term.lower())
    return render_template("documents/glossary.html", terms=terms, rubric=rubric)
