"""The scan report: findings.csv, errors.csv, overview.html and overview.pdf (no Flask)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import jinja2

from clinic.export.csvsafe import to_csv

from .core import WORDS_PER_PAGE, ScanSummary

FINDINGS_HEADER = [
    "course",
    "path",
    "location",
    "criterion_id",
    "title",
    "category",
    "severity",
    "confidence",
    "also",
    "matched_text",
    "sentence",
]
ERRORS_HEADER = ["course", "path", "stage", "message"]
NO_COURSE_LABEL = "(no course)"
SEVERITY_ORDER = ("high", "medium", "low")


def _severity_rank(severity: str) -> tuple[int, str]:
    known = severity in SEVERITY_ORDER
    return (SEVERITY_ORDER.index(severity) if known else len(SEVERITY_ORDER), severity)


@dataclass
class ReportProblem:
    """A file the report lists in errors.csv besides unreadable ones (e.g. not imported)."""

    course: str
    path: str
    stage: str
    message: str


OVERVIEW = jinja2.Environment(autoescape=True).from_string(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Curriculum scan: {{ root_name }}</title>
<style>
@page { size: A4 landscape; margin: 1.5cm; }
body { font-family: "DejaVu Sans", sans-serif; font-size: 10pt; color: #222; }
h1 { font-size: 16pt; margin: 0 0 .3em; }
h2 { font-size: 12pt; margin: 1.2em 0 .4em; }
p.meta { color: #555; margin: 0 0 1em; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #bbb; padding: 3px 6px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { background: #eef1f5; }
tr.total td, tr.total th { font-weight: bold; background: #f6f6f6; }
td.zero { color: #aaa; }
td.path { text-align: left; word-break: break-all; }
</style></head>
<body>
<h1>Curriculum scan: {{ root_name }}</h1>
<p class="meta">{{ generated }} · rubric {{ rubric_version }} · {{ files }} files
({{ analysed }} analysed, {{ skipped }} resumed from an earlier run), {{ pages }} pages,
{{ findings }} findings, {{ errors }} unreadable files.
Pages are PDF pages and PPTX slides; DOCX and text files count one page per {{ words_per_page }} words.</p>
<h2>Findings by course and category</h2>
<table>
<thead><tr><th scope="col">Course</th>
{% for c in categories %}<th scope="col">{{ c }}</th>{% endfor %}
<th scope="col">Findings</th><th scope="col">Files</th><th scope="col">Pages</th><th scope="col">Unreadable</th></tr></thead>
<tbody>
{% for row in rows %}<tr><th scope="row">{{ row.course }}</th>
{% for n in row.counts %}<td{% if not n %} class="zero"{% endif %}>{{ n }}</td>{% endfor %}
<td>{{ row.findings }}</td><td>{{ row.files }}</td><td>{{ row.pages }}</td><td>{{ row.errors }}</td></tr>
{% endfor %}
<tr class="total"><th scope="row">Total</th>{% for n in totals.counts %}<td>{{ n }}</td>{% endfor %}
<td>{{ totals.findings }}</td><td>{{ totals.files }}</td><td>{{ totals.pages }}</td><td>{{ totals.errors }}</td></tr>
</tbody></table>
{% if severities %}<h2>Findings by severity</h2>
<table><thead><tr><th scope="col">Severity</th><th scope="col">Findings</th></tr></thead><tbody>
{% for s, n in severities %}<tr><td>{{ s }}</td><td>{{ n }}</td></tr>{% endfor %}
</tbody></table>{% endif %}
{% if problems %}<h2>Files not read or not imported ({{ problems|length }})</h2>
<table><thead><tr><th scope="col">Course</th><th scope="col">File</th><th scope="col">Problem</th></tr></thead><tbody>
{% for p in problems[:200] %}<tr><td>{{ p.course or "(no course)" }}</td><td class="path">{{ p.path }}</td><td class="path">{{ p.message }}</td></tr>{% endfor %}
</tbody></table>{% if problems|length > 200 %}<p>… and {{ problems|length - 200 }} more in errors.csv.</p>{% endif %}{% endif %}
</body></html>
"""
)


def problems_of(
    summary: ScanSummary, extra: list[ReportProblem] = ()
) -> list[ReportProblem]:
    out = [
        ReportProblem(r.course, r.path, "read", r.error)
        for r in summary.results
        if r.error
    ]
    return out + list(extra)


def findings_csv(summary: ScanSummary) -> str:
    rows = (
        [
            r.course,
            r.path,
            f["label"],
            f["criterion_id"],
            f["title"],
            f["category"],
            f["severity"],
            f.get("confidence", "likely"),
            "; ".join(x["criterion_id"] for x in f.get("secondary") or ()),
            " ".join(f["matched_text"].split()),
            " ".join(f["sentence"].split()),
        ]
        for r in summary.results
        for f in r.findings
    )
    return to_csv(FINDINGS_HEADER, rows)


def errors_csv(problems: list[ReportProblem]) -> str:
    return to_csv(
        ERRORS_HEADER, ([p.course, p.path, p.stage, p.message] for p in problems)
    )


def overview_html(summary: ScanSummary, problems: list[ReportProblem]) -> str:
    categories = sorted({f["category"] for r in summary.results for f in r.findings})
    courses = sorted({r.course for r in summary.results}, key=lambda c: (not c, c))
    rows = []
    for course in courses:
        mine = [r for r in summary.results if r.course == course]
        counts = Counter(f["category"] for r in mine for f in r.findings)
        rows.append(
            {
                "course": course or NO_COURSE_LABEL,
                "counts": [counts.get(c, 0) for c in categories],
                "findings": sum(counts.values()),
                "files": len(mine),
                "pages": sum(r.page_units for r in mine),
                "errors": sum(1 for r in mine if r.error),
            }
        )
    totals = {
        "counts": [
            sum(row["counts"][i] for row in rows) for i in range(len(categories))
        ],
        "findings": summary.findings,
        "files": len(summary.results),
        "pages": summary.pages,
        "errors": len(summary.errors),
    }
    severities = Counter(f["severity"] for r in summary.results for f in r.findings)
    return OVERVIEW.render(
        root_name=summary.root.name or str(summary.root),
        generated=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        rubric_version=summary.rubric_version,
        files=len(summary.results),
        analysed=len(summary.results) - summary.skipped,
        skipped=summary.skipped,
        pages=summary.pages,
        findings=summary.findings,
        errors=len(summary.errors),
        categories=categories,
        rows=rows,
        totals=totals,
        severities=sorted(severities.items(), key=lambda kv: _severity_rank(kv[0])),
        problems=problems,
        words_per_page=WORDS_PER_PAGE,
    )


def html_to_pdf(html: str) -> bytes:
    """WeasyPrint, loading nothing from outside (the page is self-contained)."""
    import weasyprint
    from weasyprint.urls import URLFetcher

    fetcher = URLFetcher(allowed_protocols={"data"})
    return weasyprint.HTML(
        string=html, base_url="data:,", url_fetcher=fetcher
    ).write_pdf()


def write_report(
    summary: ScanSummary,
    out_dir: str | Path,
    extra_problems: list[ReportProblem] = (),
    pdf: bool = True,
) -> dict[str, Path]:
    """Write the report files into ``out_dir``; return them by name."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    problems = problems_of(summary, list(extra_problems))
    html = overview_html(summary, problems)
    written = {
        "findings.csv": findings_csv(summary),
        "errors.csv": errors_csv(problems),
        "overview.html": html,
    }
    paths = {}
    for name, text in written.items():
        (out / name).write_text(text, encoding="utf-8")
        paths[name] = out / name
    if pdf:
        (out / "overview.pdf").write_bytes(html_to_pdf(html))
        paths["overview.pdf"] = out / "overview.pdf"
    return paths
