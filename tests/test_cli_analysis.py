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
    lines = result.output.splitlines()
    assert lines[0].startswith(
        f'{path}: line 2, chars 37-51: [RC-ALG-EGFR high] "1.159 if Black" — '
    )
    assert lines[1] == "    eGFR (CKD-EPI 2009) is multiplied by 1.159 if Black."
    assert lines[2].startswith("    Teach the 2021 CKD-EPI")
    assert "1 finding(s); rubric 2026" in result.output


def test_analyze_stdin_json(runner):
    result = runner.invoke(analyze_command, ["-", "--format", "json"], input=TEXT)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [d["criterion_id"] for d in data] == ["RC-ALG-EGFR"]
    d = data[0]
    assert d["file"] == "-"
    assert d["location"] == {
        "kind": "line",
        "number": 2,
        "column": 37,
        "label": "line 2, chars 37-51",
    }
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


def _deck(path: Path) -> None:
    """A three-slide deck; slide 2's notes hold a race-specific spirometry sentence."""
    from pptx import Presentation

    prs = Presentation()
    layout = prs.slide_layouts[1]
    for i, (title, body, notes) in enumerate(
        [
            ("Pulmonary week", "Objectives for the session", ""),
            (
                "Spirometry",
                "FEV1/FVC below the lower limit of normal means obstruction.",
                "Use race-specific spirometry reference equations for Black patients.",
            ),
            ("Summary", "The white blood cell count was normal.", "No notes."),
        ],
        start=1,
    ):
        slide = prs.slides.add_slide(layout)
        slide.shapes.title.text = title
        slide.placeholders[1].text = body
        if notes:
            slide.notes_slide.notes_text_frame.text = notes
    prs.save(str(path))


def test_analyze_pptx_reports_slide_locations(runner, tmp_path):
    path = tmp_path / "deck.pptx"
    _deck(path)
    result = runner.invoke(analyze_command, [str(path)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(f"{path}: slide 2 (notes): [RC-ALG-PFT high] ")
    assert lines[1] == (
        "    Use race-specific spirometry reference equations for Black patients."
    )
    assert "slide 3" not in result.output
    assert "1 finding(s); rubric 2026" in result.output


def test_analyze_pptx_json(runner, tmp_path):
    path = tmp_path / "deck.pptx"
    _deck(path)
    result = runner.invoke(analyze_command, [str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [d["criterion_id"] for d in data] == ["RC-ALG-PFT"]
    d = data[0]
    assert d["file"] == str(path)
    assert d["location"] == {
        "kind": "slide",
        "number": 2,
        "part": "notes",
        "index": 1,
        "label": "slide 2 (notes)",
    }
    assert d["sentence"][d["start"] - d["sentence_start"] :].startswith(
        d["matched_text"]
    )
    assert {"category", "severity", "recommendation", "rubric_version"} <= set(d)


def test_analyze_several_files_with_a_corrupt_one(runner, tmp_path):
    good = tmp_path / "deck.pptx"
    _deck(good)
    bad = tmp_path / "slides.pdf"
    bad.write_bytes(b"%PDF-1.7\n\xff\xfe\x00binary")
    notes = tmp_path / "notes.txt"
    notes.write_text(TEXT, encoding="utf-8")
    result = runner.invoke(analyze_command, [str(bad), str(good), str(notes)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert f"error: {bad}" in result.output
    assert "damaged" in result.output or "cannot be read" in result.output
    assert f"{good}: slide 2 (notes): [RC-ALG-PFT high]" in result.output
    assert f"{notes}: line 2, chars 37-51: [RC-ALG-EGFR high]" in result.output
    assert (
        "2 finding(s)" in result.output
        and "1 file(s) could not be read" in result.output
    )


def test_analyze_binary_file(runner, tmp_path):
    path = tmp_path / "slides.pdf"
    path.write_bytes(b"%PDF-1.7\n\xff\xfe\x00binary")
    result = runner.invoke(analyze_command, [str(path)])
    assert result.exit_code == 1
    assert result.output.startswith(f"error: {path}")
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_analyze_markdown_segments(runner, tmp_path):
    path = tmp_path / "handout.md"
    path.write_text(
        "# Week 3\n\nIntro text.\n\n- Black race is a risk factor for hypertension.\n",
        encoding="utf-8",
    )
    result = runner.invoke(analyze_command, [str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data and data[0]["location"]["label"].startswith("line 5")


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


def test_commands_use_the_configured_rubric(runner, tmp_path, monkeypatch):
    """Without --rubric-dir, `rubric check` and `analyze` check the rubric the app is
    configured with (CLINIC_RUBRIC_DIR here), not the bundled one."""
    dest = tmp_path / "rubrics"
    shutil.copytree(RUBRIC_DIR, dest)
    (dest / "pedagogy.yaml").write_text("criteria: [broken\n", encoding="utf-8")
    monkeypatch.setenv("CLINIC_RUBRIC_DIR", str(dest))
    monkeypatch.setenv("CLINIC_INSTANCE_PATH", str(tmp_path / "instance"))
    check = runner.invoke(rubric_group, ["check"])
    assert check.exit_code == 1
    assert "error: pedagogy.yaml: (file): cannot be read as YAML" in check.output
    analyze = runner.invoke(analyze_command, ["-"], input="x")
    assert analyze.exit_code == 1 and "invalid rubric (1 error(s))" in analyze.output
