"""Click commands for the analyzer: ``analyze`` and ``rubric check``.

Plain click: they never build the app. Without ``--rubric-dir`` they use the rubric
the app is configured with (instance/config.py, ``CLINIC_RUBRIC_DIR``).
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import click

from clinic.analysis import Finding, RubricError, check_rubric, load_analyzer
from clinic.analysis.rubric import cached_rubric


def _read_bytes(source: str) -> bytes:
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        raise click.ClickException(
            f"cannot read {source}: {exc.strerror or exc}"
        ) from None


def line_col(text: str, offset: int) -> tuple[int, int]:
    """1-based line number and 0-based column of a character offset."""
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1)
    return line, col


def text_location(text: str, f: Finding) -> tuple[dict, str]:
    """Line-based location of a finding in a plain text: ``(dict, label)``."""
    line, col = line_col(text, f.start)
    label = f"line {line}, chars {col}-{col + (f.end - f.start)}"
    return {"kind": "line", "number": line, "column": col}, label


def format_finding(text: str, f: Finding, label: str | None = None) -> str:
    """``line 3, chars 10-25: [RC-ALG-EGFR high] "x 1.159 if Black" — title`` + advice.

    ``label`` replaces the line-based location (``deck.pptx: slide 7 (notes)``).
    """
    if label is None:
        label = text_location(text, f)[1]
    head = f'{label}: [{f.criterion_id} {f.severity}] "{f.matched_text}" — {f.title}'
    sentence = " ".join(f.sentence.split())
    lines = [head, f"    {sentence}", f"    {f.recommendation}"]
    if f.replacement:
        lines.append(
            f"    Replacement: {f.replacement['name']} ({f.replacement['year']})"
        )
    return "\n".join(lines)


@dataclasses.dataclass
class LocatedFinding:
    """A finding with the file it came from and where in the file."""

    file: str
    location: dict
    label: str
    finding: Finding

    def to_dict(self) -> dict:
        loc = dict(self.location)
        loc["label"] = self.label
        return {"file": self.file, "location": loc, **self.finding.to_dict()}


def analyze_source(analyzer, source: str, data: bytes | str) -> tuple[list, list]:
    """Findings of one input as ``(located findings, warnings)``.

    ``data`` is the text read from stdin (``source == "-"``) or the file's bytes.
    Plain ``.txt`` files (and stdin) are analysed as one text with line-based
    locations; other types go through :func:`clinic.ingest.extract` and are
    located by segment ("slide 7 (notes)", "page 3"). Raises ``IngestError``.
    """
    from clinic.ingest import extract
    from clinic.ingest.text import decode_text

    warnings: list[str] = []
    if isinstance(data, str):
        located = [(data, None)]
    else:
        doc = extract(data, source)
        warnings = list(doc.warnings)
        if doc.kind == "text":
            text = decode_text(data, source)[0]
            located = [(text, None)]
        else:
            located = [(seg.text, seg.location) for seg in doc.segments]
    texts = [t for t, _ in located]
    if isinstance(data, str) or doc.kind == "text":
        results = analyzer.analyze_segments(texts)
    else:
        results = analyzer.analyze_document(doc.segments)
    out = []
    for (text, loc), findings in zip(located, results):
        for f in findings:
            if loc is None:
                loc_dict, label = text_location(text, f)
            else:
                loc_dict, label = loc.to_dict(), loc.label()
            out.append(LocatedFinding(source, loc_dict, label, f))
    return out, warnings


def configured_rubric_dir(rubric_dir: str | None = None) -> str:
    """``rubric_dir`` if given, else the app's ``RUBRIC_DIR`` setting."""
    from clinic import config

    return rubric_dir or config.load()["RUBRIC_DIR"]


def exit_if_invalid(rubric_dir: str | None) -> None:
    """Print every problem of an invalid rubric and stop the command (exit 1)."""
    try:
        cached_rubric(rubric_dir)
    except RubricError as exc:
        for err in exc.errors:
            click.echo(f"error: {err}", err=True)
        raise click.ClickException(
            f"invalid rubric ({len(exc.errors)} error(s)); not analysing"
        ) from None


def _load(rubric_dir: str | None):
    rubric_dir = configured_rubric_dir(rubric_dir)
    exit_if_invalid(rubric_dir)
    return load_analyzer(rubric_dir)


@click.command("analyze")
@click.argument("sources", metavar="FILE...", nargs=-1, required=True)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
)
@click.option(
    "--rubric-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Rubric directory (default: the app's, from instance/config.py or CLINIC_RUBRIC_DIR).",
)
def analyze_command(sources: tuple[str, ...], fmt: str, rubric_dir: str | None) -> None:
    """Print findings for documents (PDF, PPTX, DOCX, text, Markdown) or stdin ('-').

    Each finding is shown with its file and location ("deck.pptx: slide 7 (notes)";
    plain text files and stdin: "line 3, chars 10-25"). A file that cannot be read
    is reported and skipped; the exit status is then 1.
    """
    from clinic.ingest import IngestError

    analyzer = _load(rubric_dir)
    results: list[LocatedFinding] = []
    failed = 0
    for source in sources:
        try:
            data = sys.stdin.read() if source == "-" else _read_bytes(source)
            found, warnings = analyze_source(analyzer, source, data)
        except click.ClickException as exc:
            click.echo(f"error: {exc.message}", err=True)
            failed += 1
            continue
        except IngestError as exc:
            click.echo(f"error: {exc}", err=True)
            failed += 1
            continue
        for w in warnings:
            click.echo(f"warning: {w}", err=True)
        results.extend(found)
    if fmt == "json":
        click.echo(
            json.dumps([r.to_dict() for r in results], indent=2, ensure_ascii=False)
        )
    else:
        for r in results:
            if r.file == "-":
                prefix = "" if len(sources) == 1 else "<stdin>: "
            else:
                prefix = f"{r.file}: "
            click.echo(format_finding("", r.finding, prefix + r.label))
        tail = f"; {failed} file(s) could not be read" if failed else ""
        click.echo(f"{len(results)} finding(s); rubric {analyzer.version_id}{tail}")
    if failed:
        sys.exit(1)


@click.group("rubric")
def rubric_group() -> None:
    """Rubric maintenance commands."""


@rubric_group.command("check")
@click.option(
    "--rubric-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Rubric directory (default: the app's, from instance/config.py or CLINIC_RUBRIC_DIR).",
)
@click.option(
    "--examples/--no-examples",
    default=False,
    help="Also run every criterion's flag and pass examples (as the tests do).",
)
def rubric_check_command(rubric_dir: str | None, examples: bool) -> None:
    """Validate the rubric; exit 1 listing every error."""
    rubric_dir = configured_rubric_dir(rubric_dir)
    if examples:
        from clinic.analysis.examples import full_check

        errors = full_check(rubric_dir)
    else:
        errors = check_rubric(rubric_dir)
    if errors:
        for err in errors:
            click.echo(f"error: {err}", err=True)
        click.echo(f"rubric invalid: {len(errors)} error(s)", err=True)
        sys.exit(1)
    rubric = cached_rubric(rubric_dir)
    cats: dict[str, int] = {}
    for c in rubric.criteria.values():
        cats[c.category] = cats.get(c.category, 0) + 1
    per = ", ".join(f"{k} {v}" for k, v in sorted(cats.items()))
    click.echo(
        f"rubric OK: version {rubric.version_id}; {len(rubric.criteria)} text criteria ({per}); "
        f"{len(rubric.manual_criteria)} manual criteria; {len(rubric.glossary)} glossary terms; "
        f"{len(rubric.lexicon)} lexicon sets"
    )


@rubric_group.command("apply")
@click.argument("proposal", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--rubric-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Rubric directory (default: the app's, from instance/config.py or CLINIC_RUBRIC_DIR).",
)
def rubric_apply_command(proposal: str, rubric_dir: str | None) -> None:
    """Accept a rubric-health proposal (a YAML file from the Rubric health page).

    The rubric with the change is checked and every example run first; the rubric
    folder changes only if all pass."""
    from clinic.analysis.examples import full_check
    from clinic.analysis.proposals import ProposalError, apply_proposal

    rubric_dir = configured_rubric_dir(rubric_dir)
    try:
        changed = apply_proposal(
            Path(rubric_dir), Path(proposal).read_text(encoding="utf-8"), full_check
        )
    except ProposalError as error:
        click.echo(f"error: {error}", err=True)
        click.echo("The rubric was not changed.", err=True)
        sys.exit(1)
    click.echo(
        f"Proposal applied; changed {', '.join(changed)}. The rubric and all its examples pass."
    )
    click.echo(
        "Restart the app (or its workers) to analyse with the new rubric version."
    )
