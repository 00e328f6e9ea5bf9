"""``clinic scan DIR``: analyse a folder of course materials, write a report, and
optionally import everything into the app's database."""

from __future__ import annotations

import gc
import hashlib
from pathlib import Path

import click
from flask import current_app
from flask.cli import ScriptInfo

from clinic import config as config_module
from clinic.cli_analysis import exit_if_invalid

from .core import (
    NO_COURSE,
    CourseMap,
    Progress,
    ScanResult,
    analyse_again,
    run_scan,
    walk,
)
from .report import ReportProblem, write_report


@click.command("scan")
@click.argument(
    "directory",
    type=click.Path(exists=True, file_okay=False, dir_okay=True, path_type=Path),
)
@click.option(
    "--course-map",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV with columns path_prefix,course_code (default: the first folder is the course code).",
)
@click.option(
    "--import",
    "do_import",
    is_flag=True,
    help="Create the documents, versions and findings in the database.",
)
@click.option("--year", help="Academic year of the clinics to import into (2026-27).")
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Worker processes.",
)
@click.option(
    "--report",
    "report_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("scan-report"),
    show_default=True,
    help="Folder for the report and the resume state.",
)
@click.option("--no-pdf", is_flag=True, help="Skip overview.pdf.")
def scan_command(
    directory: Path,
    course_map: Path | None,
    do_import: bool,
    year: str | None,
    jobs: int,
    report_dir: Path,
    no_pdf: bool,
) -> None:
    """Scan every file under DIRECTORY for race-based clinical content.

    Files already analysed (same content, same rubric) in an earlier run with the
    same --report folder are skipped. Unreadable files are listed in errors.csv.
    """
    if do_import and not year:
        raise click.UsageError("--import needs --year (for example --year 2026-27).")
    if year and not do_import:
        raise click.UsageError("--year is only used with --import.")
    if year:
        from clinic.services import ServiceError
        from clinic.services.courses import validate_academic_year

        try:
            year = validate_academic_year(year)
        except ServiceError as error:
            raise click.BadParameter(str(error), param_hint="--year") from None
    try:
        mapping = CourseMap.from_csv(course_map) if course_map else CourseMap()
    except (OSError, ValueError, UnicodeDecodeError) as error:
        raise click.BadParameter(str(error), param_hint="--course-map") from None

    settings = _settings(need_app=do_import)
    rubric_dir = settings["RUBRIC_DIR"]
    limits = settings.get("INGEST_LIMITS") or None
    exit_if_invalid(rubric_dir)
    files = walk(directory, exclude=report_dir)
    courses: dict = {}
    if do_import:
        courses, unknown = _check_courses(files, mapping)
        if unknown:
            click.echo(
                "Error: no course has the code "
                + ", ".join(repr(c) for c in unknown)
                + "; files mapped to it are analysed but not imported.",
                err=True,
            )
    click.echo(
        f"Scanning {len(files)} files in {directory} with {jobs} process(es)...",
        err=True,
    )
    importer = None
    if do_import:
        importer = _Importer(
            directory, files, mapping, courses, year, rubric_dir, limits
        )
    summary = run_scan(
        directory,
        report_dir,
        jobs=jobs,
        rubric_dir=rubric_dir,
        limits=limits,
        course_map=mapping,
        with_segments=do_import,
        progress=Progress,
        files=files,
        on_result=importer,
    )
    problems = sorted(importer.problems, key=lambda p: p.path) if importer else []
    counts = importer.counts if importer else None
    paths = write_report(summary, report_dir, problems, pdf=not no_pdf)

    analysed = len(summary.results) - summary.skipped
    click.echo(
        f"Scanned {len(summary.results)} files ({analysed} analysed now, {summary.skipped} "
        f"skipped as unchanged since an earlier run): {summary.pages} pages, "
        f"{summary.findings} findings, {len(summary.errors)} unreadable, "
        f"in {summary.seconds:.1f} s."
    )
    for result in summary.errors:
        click.echo(f"  unreadable: {result.path}: {result.error}", err=True)
    if counts is not None:
        click.echo(
            f"Imported into {year}: {counts['created']} new documents, "
            f"{counts['version']} new versions, {counts['unchanged']} unchanged, "
            f"{counts['clinics']} clinics created, "
            f"{len(problems)} files not imported."
        )
        for problem in problems:
            click.echo(f"  not imported: {problem.path}: {problem.message}", err=True)
    click.echo(f"Report: {', '.join(str(p) for p in paths.values())}")
    # About to exit: spare the interpreter's shutdown a collector walk over everything.
    gc.freeze()


def _settings(need_app: bool):
    """The app's settings. The app itself (database, pages) is only built when the
    scan needs it, to import: building it costs more than scanning a few files."""
    if need_app and not current_app:
        ctx = click.get_current_context()
        app = ctx.ensure_object(ScriptInfo).load_app()
        ctx.with_resource(app.app_context())
    if current_app:
        return current_app.config
    return config_module.load()


def _check_courses(files: list[str], mapping: CourseMap):
    from clinic.services.imports import courses_by_code

    codes = {mapping.course_of(f) for f in files} - {NO_COURSE}
    return courses_by_code(codes)


class _Importer:
    """Stores each scanned file in its course's clinic as its result comes in."""

    def __init__(self, root, files, mapping, courses, year, rubric_dir, limits):
        from clinic.services.documents import _clean_filename

        self.root, self.courses, self.year = root, courses, year
        self.rubric_dir, self.limits = rubric_dir, limits
        self.problems: list[ReportProblem] = []
        self.counts = {"created": 0, "version": 0, "unchanged": 0, "clinics": 0}
        self.clinics: dict[
            str, tuple
        ] = {}  # course code -> (clinic, documents by name)
        # Files named alike in one course would be versions of one document: the
        # first by path wins, on every run, whatever order the results come in.
        self.winner: dict[tuple[str, str], str] = {}
        for path in sorted(files):
            key = (mapping.course_of(path), _clean_filename(Path(path).name).lower())
            self.winner.setdefault(key, path)
        self.name_of = _clean_filename

    def skip(self, result: ScanResult, message: str) -> None:
        self.problems.append(
            ReportProblem(result.course, result.path, "import", message)
        )

    def __call__(self, result: ScanResult) -> None:
        from clinic.extensions import db
        from clinic.services import ServiceError
        from clinic.services.imports import (
            clinic_for,
            documents_by_filename,
            import_scan_result,
        )
        from clinic.storage import StorageError

        if result.error:
            return  # listed as unreadable already
        if result.course == NO_COURSE:
            self.skip(
                result,
                "no course for this path (not in a course folder or the course map)",
            )
            return
        course = self.courses.get(result.course)
        if course is None:
            self.skip(result, f"no course has the code {result.course!r}")
            return
        name = self.name_of(Path(result.path).name).lower()
        first = self.winner.get((result.course, name), result.path)
        if first != result.path:
            self.skip(
                result,
                f"another file with this name ({first}) is imported into "
                f"{course.code} {self.year}; rename one of them",
            )
            return
        if result.course not in self.clinics:
            clinic, created = clinic_for(course, self.year)
            self.counts["clinics"] += created
            self.clinics[result.course] = (clinic, documents_by_filename(clinic))
        clinic, index = self.clinics[result.course]
        document = index.get(name)
        latest = document.latest if document else None
        if latest is not None and latest.sha256 == result.sha256:
            self.counts["unchanged"] += 1
            return
        if result.segments is None:  # resumed from the state file: analyse again
            result = analyse_again(self.root, result, self.rubric_dir, self.limits)
            if result.error:
                self.skip(result, result.error)
                return
        try:
            data = (self.root / result.path).read_bytes()
        except OSError as error:
            self.skip(result, f"cannot read the file ({error.strerror or error})")
            return
        if hashlib.sha256(data).hexdigest() != result.sha256:
            self.skip(result, "the file changed during the scan; scan again")
            return
        try:
            outcome = import_scan_result(
                clinic,
                result.path,
                data,
                result.segments,
                result.findings,
                result.rubric_version,
                kind=result.kind,
                page_count=result.pages,
                word_count=result.words,
                warnings=result.warnings,
                index=index,
            )
        except (ServiceError, StorageError) as error:
            db.session.rollback()
            self.skip(result, str(error))
            return
        self.counts[outcome.status] += 1
