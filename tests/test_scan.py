"""`clinic scan`: batch analysis of a folder, the report, resuming, and the import."""

from __future__ import annotations

import csv
import gc
import io
import os
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from clinic import ingest
from clinic.analysis.rubric import DEFAULT_RUBRIC_DIR
from clinic.cli import main
from clinic.extensions import db
from clinic.ingest import extract
from clinic.models import AuditEvent, Clinic, Document, DocumentVersion, Finding
from clinic.scan import core
from clinic.scan.core import CourseMap, ScanResult, _parallel, run_scan, walk
from clinic.scan.report import write_report
from tests import doc_builders
from tests.builders import LECTURE_TEXT, gen_course


@pytest.fixture(scope="module")
def materials(tmp_path_factory) -> Path:
    """A course folder with every supported type, a damaged PDF and an old .ppt."""
    root = tmp_path_factory.mktemp("materials")
    course = root / "NEPH 610"
    (course / "week1").mkdir(parents=True)
    (course / "week1" / "deck.pptx").write_bytes(doc_builders.pptx_deck())
    (course / "case.docx").write_bytes(doc_builders.docx_document())
    (course / "lecture.pdf").write_bytes(doc_builders.paragraphs_pdf())
    (course / "notes.txt").write_text(LECTURE_TEXT, encoding="utf-8")
    (course / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog" * 20)
    (course / "old.ppt").write_bytes(
        doc_builders.fake_ole("PowerPoint Document", "Current User")
    )
    (course / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (course / "week1" / "~$deck.pptx").write_bytes(b"lock")
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("[core]")
    return root


def _copy(materials: Path, tmp_path: Path) -> Path:
    target = tmp_path / "materials"
    shutil.copytree(materials, target)
    return target


def _rows(path: Path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


def _scan(runner, *args):
    result = runner.invoke(args=["scan", *map(str, args)])
    assert result.exit_code == 0, result.output
    return result


def test_walk_skips_hidden_and_lock_files(materials):
    assert walk(materials) == [
        "NEPH 610/broken.pdf",
        "NEPH 610/case.docx",
        "NEPH 610/lecture.pdf",
        "NEPH 610/notes.txt",
        "NEPH 610/old.ppt",
        "NEPH 610/week1/deck.pptx",
    ]


def test_course_map_longest_prefix(tmp_path):
    path = tmp_path / "map.csv"
    path.write_text(
        "path_prefix,course_code\nYear 1/,MED 100\nYear 1/Renal,NEPH 610\n",
        encoding="utf-8",
    )
    mapping = CourseMap.from_csv(path)
    assert mapping.course_of("Year 1/Renal/deck.pptx") == "NEPH 610"
    assert mapping.course_of("Year 1/Renal2/deck.pptx") == "MED 100"
    assert mapping.course_of("Year 2/x.pdf") == ""
    assert CourseMap().course_of("CARD 630/a/b.pdf") == "CARD 630"
    assert CourseMap().course_of("loose.pdf") == ""
    bad = tmp_path / "bad.csv"
    bad.write_text("prefix,code\na,b\n", encoding="utf-8")
    with pytest.raises(ValueError, match="path_prefix,course_code"):
        CourseMap.from_csv(bad)


def test_scan_report_resume_and_parallel(runner, materials, tmp_path):
    out = tmp_path / "report"
    first = _scan(runner, materials, "--report", out)
    assert "6 files (6 analysed now, 0 skipped" in first.output

    findings = _rows(out / "findings.csv")
    by_file = {}
    for row in findings:
        assert row["course"] == "NEPH 610"
        by_file.setdefault(row["path"], set()).add(row["location"])
    assert "slide 7 (notes)" in by_file["NEPH 610/week1/deck.pptx"]
    assert "page 2" in by_file["NEPH 610/lecture.pdf"]
    assert set(by_file) == {
        "NEPH 610/week1/deck.pptx",
        "NEPH 610/lecture.pdf",
        "NEPH 610/case.docx",
        "NEPH 610/notes.txt",
    }
    assert all(r["criterion_id"] and r["category"] and r["sentence"] for r in findings)

    errors = {r["path"]: r for r in _rows(out / "errors.csv")}
    assert set(errors) == {"NEPH 610/broken.pdf", "NEPH 610/old.ppt"}
    assert "damaged" in errors["NEPH 610/broken.pdf"]["message"]
    assert ".ppt" in errors["NEPH 610/old.ppt"]["message"]

    html = (out / "overview.html").read_text(encoding="utf-8")
    assert "NEPH 610" in html and "<table>" in html and "broken.pdf" in html
    assert "http" not in html.replace('lang="en"', "")
    assert (out / "overview.pdf").read_bytes().startswith(b"%PDF")

    # A rerun analyses nothing and writes the same findings.
    second = _scan(runner, materials, "--report", out, "--no-pdf")
    assert "6 files (0 analysed now, 6 skipped" in second.output
    assert _rows(out / "findings.csv") == findings
    assert {r["path"] for r in _rows(out / "errors.csv")} == set(errors)

    # Two worker processes find exactly the same.
    parallel = tmp_path / "parallel"
    third = _scan(runner, materials, "--report", parallel, "--jobs", "2", "--no-pdf")
    assert "6 files (6 analysed now" in third.output
    assert _rows(parallel / "findings.csv") == findings


def test_bad_arguments_exit_non_zero(runner, materials, tmp_path):
    out = tmp_path / "r"
    assert runner.invoke(args=["scan", str(tmp_path / "missing")]).exit_code == 2
    result = runner.invoke(args=["scan", str(materials), "--import", "--report", out])
    assert result.exit_code == 2 and "--year" in result.output
    result = runner.invoke(
        args=["scan", str(materials), "--import", "--year", "2026", "--report", out]
    )
    assert result.exit_code == 2 and "2026-27" in result.output
    assert runner.invoke(args=["scan", str(materials), "--jobs", "0"]).exit_code == 2


def _counts(clinic_id: int) -> tuple[int, int, int]:
    docs = db.session.scalar(
        sa.select(sa.func.count(Document.id)).where(Document.clinic_id == clinic_id)
    )
    versions = db.session.scalar(
        sa.select(sa.func.count(DocumentVersion.id))
        .join(Document)
        .where(Document.clinic_id == clinic_id)
    )
    findings = db.session.scalar(
        sa.select(sa.func.count(Finding.id))
        .join(DocumentVersion, Finding.version_id == DocumentVersion.id)
        .join(Document)
        .where(Document.clinic_id == clinic_id)
    )
    return docs, versions, findings


def test_import_creates_documents_once(runner, world, materials, tmp_path):
    root = _copy(materials, tmp_path)
    (root / "ZZZ 999").mkdir()
    (root / "ZZZ 999" / "intro.txt").write_text(LECTURE_TEXT, encoding="utf-8")
    out = tmp_path / "report"
    # A plain scan first: the import then reuses its results (resumed files).
    _scan(runner, root, "--report", out, "--no-pdf")
    before = _counts(world.clinic.id)

    args = (root, "--report", out, "--no-pdf", "--import", "--year", "2026-27")
    result = _scan(runner, *args)
    assert "ZZZ 999" in result.output  # the unknown course code is reported
    assert "Imported into 2026-27: 4 new documents" in result.output
    docs, versions, findings = _counts(world.clinic.id)
    assert (docs, versions) == (before[0] + 4, before[1] + 4)
    assert findings > before[2]
    problems = {r["path"]: r for r in _rows(out / "errors.csv")}
    assert problems["ZZZ 999/intro.txt"]["stage"] == "import"

    deck = db.session.scalar(
        sa.select(Document).where(
            Document.clinic_id == world.clinic.id, Document.title == "deck"
        )
    )
    version = deck.latest
    assert version.filename == "deck.pptx" and version.kind == "pptx"
    assert version.status.value == "done" and version.page_count == 8
    assert version.segments and version.findings
    labels = {f.location.get("part") for f in version.findings}
    assert "notes" in labels
    pdf = db.session.scalar(
        sa.select(Document).where(
            Document.clinic_id == world.clinic.id, Document.title == "lecture"
        )
    ).latest
    assert any(f.location["number"] == 2 for f in pdf.findings)
    assert all(f.rects for f in pdf.findings)  # PDF geometry was kept
    assert (
        db.session.scalar(
            sa.select(sa.func.count(AuditEvent.id)).where(
                AuditEvent.action == "version.import"
            )
        )
        == 4
    )

    # Run twice: nothing new.
    again = _scan(runner, *args)
    assert "0 new documents, 0 new versions, 4 unchanged" in again.output
    assert _counts(world.clinic.id) == (docs, versions, findings)

    # A changed file becomes the next version of its document.
    (root / "NEPH 610" / "notes.txt").write_text(
        LECTURE_TEXT + "\n\nA new closing paragraph.", encoding="utf-8"
    )
    changed = _scan(runner, *args)
    assert "0 new documents, 1 new versions, 3 unchanged" in changed.output
    notes = db.session.scalar(
        sa.select(Document).where(
            Document.clinic_id == world.clinic.id, Document.title == "notes"
        )
    )
    assert [v.number for v in notes.versions] == [1, 2]
    assert {f.match_state.value for f in notes.versions[1].findings} == {"persisting"}


def test_import_creates_missing_clinic(runner, world, materials, tmp_path):
    gen_course(code="CARD 700", title="Cardiology 2")
    root = tmp_path / "m"
    (root / "CARD 700").mkdir(parents=True)
    (root / "CARD 700" / "notes.txt").write_text(LECTURE_TEXT, encoding="utf-8")
    result = _scan(
        runner,
        root,
        "--report",
        tmp_path / "r",
        "--no-pdf",
        "--import",
        "--year",
        "2027-28",
    )
    assert "1 clinics created" in result.output
    clinic = db.session.scalar(
        sa.select(Clinic).where(Clinic.academic_year == "2027-28")
    )
    assert clinic.course.code == "CARD 700" and len(clinic.documents) == 1


@pytest.fixture
def no_app(tmp_path, monkeypatch):
    """`clinic` as run from a shell: no app yet, settings from CLINIC_* variables,
    and a database URL the app cannot even be built with."""
    monkeypatch.setenv("CLINIC_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("CLINIC_DATABASE_URL", "nosuchdb://nowhere/none")
    return CliRunner()


def test_a_report_only_scan_needs_no_database(no_app, materials, tmp_path):
    out = tmp_path / "report"
    result = no_app.invoke(main, ["scan", str(materials), "--report", str(out)])
    assert result.exit_code == 0, result.output
    assert "6 files (6 analysed now" in result.output
    assert {r["path"] for r in _rows(out / "errors.csv")} == {
        "NEPH 610/broken.pdf",
        "NEPH 610/old.ppt",
    }


def test_import_from_a_shell_builds_the_app(materials, tmp_path, monkeypatch):
    monkeypatch.setenv("CLINIC_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("CLINIC_DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite'}")
    shell = CliRunner()
    assert shell.invoke(main, ["init"]).exit_code == 0
    result = shell.invoke(
        main,
        ["scan", str(materials), "--import", "--year", "2026-27", "--no-pdf"]
        + ["--report", str(tmp_path / "report")],
    )
    assert result.exit_code == 0, result.output
    assert "no course has the code 'NEPH 610'" in result.output
    assert "Imported into 2026-27: 0 new documents" in result.output


def test_scan_with_an_invalid_rubric_stops_with_every_error(
    no_app, materials, tmp_path, monkeypatch
):
    rubric = tmp_path / "rubrics"
    shutil.copytree(DEFAULT_RUBRIC_DIR, rubric)
    (rubric / "pedagogy.yaml").write_text("criteria: [broken\n", encoding="utf-8")
    monkeypatch.setenv("CLINIC_RUBRIC_DIR", str(rubric))
    out = tmp_path / "report"
    result = no_app.invoke(main, ["scan", str(materials), "--report", str(out)])
    assert result.exit_code == 1
    assert "error: pedagogy.yaml: (file): cannot be read as YAML" in result.output
    assert "invalid rubric (1 error(s)); not analysing" in result.output
    assert not out.exists()


@pytest.mark.parametrize("method", ["fork", "forkserver"])
def test_workers_find_what_one_process_finds(method, materials, tmp_path, monkeypatch):
    # pdfium used in this process before the workers start (forked workers inherit it)
    extract(doc_builders.paragraphs_pdf(), "lecture.pdf")
    one = run_scan(materials, tmp_path / "one", jobs=1)
    monkeypatch.setattr(core, "_start_method", lambda: method)
    two = run_scan(materials, tmp_path / "two", jobs=2)
    assert [(r.path, r.error, r.findings) for r in two.results] == [
        (r.path, r.error, r.findings) for r in one.results
    ]
    assert gc.get_freeze_count() == 0  # the run leaves the collector as it found it


def crash_on_boom(task):
    """Worker stand-in: dies like a reader crashing in C code on one file."""
    if task[1].startswith("boom"):
        os._exit(3)
    return ScanResult(path=task[1], sha256="x" * 64)


@pytest.mark.parametrize(
    ("method", "jobs"), [("fork", 1), ("fork", 2), ("forkserver", 2)]
)
def test_a_crashing_reader_is_reported_and_the_scan_goes_on(
    method, jobs, tmp_path, monkeypatch
):
    monkeypatch.setattr(core, "_start_method", lambda: method)
    tasks = [(str(tmp_path), name) for name in ("a.txt", "boom.pdf", "b.txt", "c.txt")]
    results = list(_parallel(tasks, jobs, (None, None, (), False), crash_on_boom))
    assert sorted(r.path for r in results) == ["a.txt", "b.txt", "boom.pdf", "c.txt"]
    assert [r.path for r in results if r.error] == ["boom.pdf"]
    assert "crashed" in next(r.error for r in results if r.error)


def test_one_job_survives_a_reader_crash_too(tmp_path, monkeypatch):
    """`--jobs 1` (the default) also reads in a worker process: a file that crashes
    the reader is reported, not the end of the scan."""
    folder = tmp_path / "course"
    folder.mkdir()
    for name in ("a.txt", "boom.txt", "b.txt"):
        (folder / name).write_text(LECTURE_TEXT, encoding="utf-8")
    real = ingest.extract

    def crashing(data, name, limits=None):
        if name.startswith("boom"):
            os._exit(3)  # as a reader dying in C code would
        return real(data, name, limits)

    monkeypatch.setattr(ingest, "extract", crashing)  # forked workers inherit it
    monkeypatch.setattr(core, "_start_method", lambda: "fork")
    summary = run_scan(folder, tmp_path / "report", jobs=1)
    assert [r.path for r in summary.errors] == ["boom.txt"]
    assert "crashed the reader process" in summary.errors[0].error
    assert [r.path for r in summary.ok] == ["a.txt", "b.txt"]
    assert all(r.findings for r in summary.ok)


def test_overview_lists_severities_high_first(tmp_path):
    finding = {name: "" for name in core.FINDING_FIELDS} | {
        "cues": [],
        "label": "slide 1",
    }
    result = ScanResult(
        path="A/deck.pptx",
        sha256="x" * 64,
        pages=1,
        findings=[
            finding | {"severity": s} for s in ("low", "medium", "medium", "high")
        ],
    )
    summary = core.ScanSummary(tmp_path, [result], "v", 0, 1.0, 1)
    write_report(summary, tmp_path / "report", pdf=False)
    html = (tmp_path / "report" / "overview.html").read_text(encoding="utf-8")
    part = html[html.index("Findings by severity") :]
    places = [part.index(f"<td>{s}</td>") for s in ("high", "medium", "low")]
    assert places == sorted(places)
