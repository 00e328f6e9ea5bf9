"""CLI commands `analyze` and `rubric check` (plain click, no Flask)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from clinic.cli_analysis import analyze_command, rubric_group

RUBRIC_DIR = Path(__file__).resolve().parents[1] / "rubrics"
TEXT = (
    "Renal physiology, week 3.\n"
    "eGFR (CKD-EPI 2009) is multiplied by 1.159 if Black.\n"
    "The white blood cell count was normal.\n"
)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_analyze_text_file(runner, tmp_path):
    path = tmp_path / "lecture.txt"
    path.write_text(TEXT, encoding="utf-8")
    result = runner.invoke(analyze_command, [str(path)])
    assert result.exit_code == 0, result.output
    first = result.output.splitlines()[0]
    assert first.startswith('line 2, chars 0-4: [RC-ALG-EGFR high] "eGFR" — ')
    assert result.output.splitlines()[1].startswith("    Teach the 2021 CKD-EPI")
    assert "1 finding(s); rubric 2026" in result.output


def test_analyze_stdin_json(runner):
    result = runner.invoke(analyze_command, ["-", "--format", "json"], input=TEXT)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [d["criterion_id"] for d in data] == ["RC-ALG-EGFR"]
    d = data[0]
    assert TEXT[d["start"] : d["end"]] == d["matched_text"]
    assert {
        "category",
        "severity",
        "sentence",
        "cues",
        "rubric_version",
        "recommendation",
    } <= set(d)


def test_analyze_no_findings(runner):
    result = runner.invoke(analyze_command, ["-"], input="Nothing to see here.\n")
    assert result.exit_code == 0
    assert result.output.startswith("0 finding(s)")


def test_analyze_unreadable_file(runner, tmp_path):
    result = runner.invoke(analyze_command, [str(tmp_path / "missing.txt")])
    assert result.exit_code != 0
    assert "cannot read" in result.output
    assert "Traceback" not in result.output


def test_analyze_binary_file(runner, tmp_path):
    path = tmp_path / "slides.pdf"
    path.write_bytes(b"%PDF-1.7\n\xff\xfe\x00binary")
    result = runner.invoke(analyze_command, [str(path)])
    assert result.exit_code != 0
    assert "not a UTF-8 text file" in result.output


def test_rubric_check_ok(runner):
    result = runner.invoke(rubric_group, ["check", "--rubric-dir", str(RUBRIC_DIR)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("rubric OK: version 2026")
    assert "text criteria" in result.output and "manual criteria" in result.output


def test_rubric_check_invalid(runner, tmp_path):
    dest = tmp_path / "rubrics"
    shutil.copytree(RUBRIC_DIR, dest)
    path = dest / "biology.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["criteria"][0]["severity"] = "extreme"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    result = runner.invoke(rubric_group, ["check", "--rubric-dir", str(dest)])
    assert result.exit_code == 1
    assert "error: biology.yaml: RC-BIO: severity 'extreme'" in result.output
    analyze = runner.invoke(
        analyze_command, ["-", "--rubric-dir", str(dest)], input="x"
    )
    assert analyze.exit_code != 0
    assert "invalid rubric" in analyze.output
