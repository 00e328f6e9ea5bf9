"""Click commands for the analyzer: ``analyze`` and ``rubric check``.

Plain click (no Flask import); registered into the ``clinic`` CLI group elsewhere as
``analyze_command`` and ``rubric_group``.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import click

from clinic.analysis import (
    Finding,
    RubricError,
    check_rubric,
    load_analyzer,
    load_rubric,
)


def read_text_input(source: str) -> str:
    """Text of FILE or stdin (``-``). The single place to extend for PDF/PPTX input."""
    if source == "-":
        return sys.stdin.read()
    path = Path(source)
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise click.ClickException(
            f"{source}: not a UTF-8 text file (PDF/PPTX input is not supported yet)"
        ) from None
    except OSError as exc:
        raise click.ClickException(
            f"cannot read {source}: {exc.strerror or exc}"
        ) from None


def line_col(text: str, offset: int) -> tuple[int, int]:
    """1-based line number and 0-based column of a character offset."""
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1)
    return line, col


def format_finding(text: str, f: Finding) -> str:
    """``line 3, chars 10-25: [RC-ALG-EGFR high] "x 1.159 if Black" — title`` + advice."""
    line, col = line_col(text, f.start)
    head = (
        f"line {line}, chars {col}-{col + (f.end - f.start)}: "
        f'[{f.criterion_id} {f.severity}] "{f.matched_text}" — {f.title}'
    )
    lines = [head, f"    {f.recommendation}"]
    if f.replacement:
        lines.append(
            f"    Replacement: {f.replacement['name']} ({f.replacement['year']})"
        )
    return "\n".join(lines)


def _load(rubric_dir: str | None):
    try:
        return load_analyzer(rubric_dir)
    except RubricError as exc:
        for err in exc.errors:
            click.echo(f"error: {err}", err=True)
        raise click.ClickException(
            f"invalid rubric ({len(exc.errors)} error(s)); not analysing"
        ) from None


@click.command("analyze")
@click.argument("source", metavar="FILE_OR_-")
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
    help="rubric directory",
)
def analyze_command(source: str, fmt: str, rubric_dir: str | None) -> None:
    """Print findings for a text file, or stdin when FILE_OR_- is '-'."""
    text = read_text_input(source)
    analyzer = _load(rubric_dir)
    findings = analyzer.analyze_text(text)
    if fmt == "json":
        click.echo(
            json.dumps(
                [dataclasses.asdict(f) for f in findings], indent=2, ensure_ascii=False
            )
        )
        return
    for f in findings:
        click.echo(format_finding(text, f))
    click.echo(f"{len(findings)} finding(s); rubric {analyzer.version_id}")


@click.group("rubric")
def rubric_group() -> None:
    """Rubric maintenance commands."""


@rubric_group.command("check")
@click.option(
    "--rubric-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="rubric directory",
)
def rubric_check_command(rubric_dir: str | None) -> None:
    """Validate the rubric; exit 1 listing every error."""
    errors = check_rubric(rubric_dir)
    if errors:
        for err in errors:
            click.echo(f"error: {err}", err=True)
        click.echo(f"rubric invalid: {len(errors)} error(s)", err=True)
        sys.exit(1)
    rubric = load_rubric(rubric_dir)
    cats: dict[str, int] = {}
    for c in rubric.criteria.values():
        cats[c.category] = cats.get(c.category, 0) + 1
    per = ", ".join(f"{k} {v}" for k, v in sorted(cats.items()))
    click.echo(
        f"rubric OK: version {rubric.version_id}; {len(rubric.criteria)} text criteria ({per}); "
        f"{len(rubric.manual_criteria)} manual criteria; {len(rubric.glossary)} glossary terms; "
        f"{len(rubric.lexicon)} lexicon sets"
    )
