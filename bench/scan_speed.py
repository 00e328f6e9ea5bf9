"""Batch scan speed: ``clinic scan`` with 1 and 2 worker processes.

Generates a folder of mixed teaching materials (PDF, PPTX, DOCX; every file
different), then measures

* the single-process baseline, in this process: ``clinic.ingest.extract`` and
  ``Analyzer.analyze_segments`` on every file (time per file = extract + analyse,
  best of ``--repeat``), i.e. the ingest and analysis benchmarks' rates combined;
* the ``clinic scan`` command as a user runs it (a new process: start-up, rubric
  check, walk, hash, extract, analyse, resume state, report CSV/HTML, exit) with
  ``--jobs 1`` and ``--jobs 2``, each with a fresh report folder, interleaved and
  best of ``--repeat``;

and prints files/s and pages/s, the speed-up (required >= 1.6 on 2 cores) and the
``jobs=1`` throughput relative to the baseline (required >= 0.8).

    .venv/bin/python bench/scan_speed.py [--files 200] [--repeat 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from clinic.demo_materials import SLIDES, SYLLABUS

sys.path.insert(0, str(REPO / "bench"))
from ingest_speed import WORDS

# The ingest bench's prose, plus colour words that must not be flagged.
FILLER = [
    *WORDS,
    *[
        "the",
        "white",
        "blood",
        "cell",
        "count",
        "and",
        "black",
        "tarry",
        "stools",
        "are",
        "reviewed",
        "before",
        "rounds",
    ],
]
RACE = [
    "Black patients have higher rates of hypertension than White patients.",
    "eGFR (CKD-EPI 2009) is multiplied by 1.159 if the patient is Black.",
    "In Black patients, a thiazide diuretic or calcium channel blocker is preferred first line.",
    "Caucasian women have a higher risk of osteoporosis.",
    "Use race-specific spirometry reference equations for Asian patients.",
    "APOL1 variants are common in people of West African ancestry.",
] + [text for _title, text in SYLLABUS]


def _sentence(rng: random.Random, n: int | None = None) -> str:
    if rng.random() < 0.06:
        return rng.choice(RACE)
    words = [rng.choice(FILLER) for _ in range(n or rng.randint(8, 22))]
    return words[0].capitalize() + " " + " ".join(words[1:]) + "."


def _paragraph(rng: random.Random) -> str:
    return " ".join(_sentence(rng) for _ in range(rng.randint(3, 6)))


def make_pdfs(count: int, rng: random.Random) -> list[bytes]:
    """``count`` PDFs of 4-16 pages, cut from one WeasyPrint rendering (pypdf)."""
    import weasyprint
    from pypdf import PdfReader, PdfWriter

    sizes = [rng.randint(4, 16) for _ in range(count)]
    body = []
    for page in range(sum(sizes)):
        body.append(f"<h2 style='page-break-before:always'>Section {page + 1}</h2>")
        body.extend(f"<p>{_paragraph(rng)}</p>" for _ in range(4))
    css = (
        "@page { size: letter; margin: 2cm; @bottom-center { content: counter(page) } }"
        " body { font-family: 'DejaVu Sans', sans-serif; font-size: 10pt }"
    )
    html = f"<html lang='en'><head><style>{css}</style></head><body>{''.join(body)}</body></html>"
    reader = PdfReader(io.BytesIO(weasyprint.HTML(string=html).write_pdf()))
    out, at = [], 0
    for size in sizes:
        writer = PdfWriter()
        for page in reader.pages[at : at + size]:
            writer.add_page(page)
        at += size
        buf = io.BytesIO()
        writer.write(buf)
        out.append(buf.getvalue())
    return out


def make_pptx(rng: random.Random) -> bytes:
    """A 10-40 slide deck: demo lecture slides and generated ones, with notes."""
    from pptx import Presentation

    prs = Presentation()
    for n in range(rng.randint(10, 40)):
        slide = prs.slides.add_slide(prs.slide_layouts[1])
        if rng.random() < 0.3:
            title, bullets, notes = rng.choice(SLIDES)
        else:
            title = f"Topic {n + 1}: " + " ".join(rng.choice(FILLER) for _ in range(4))
            bullets = [
                _sentence(rng, rng.randint(6, 14)) for _ in range(rng.randint(3, 6))
            ]
            notes = _paragraph(rng) if rng.random() < 0.6 else ""
        slide.shapes.title.text = title
        frame = slide.placeholders[1].text_frame
        frame.text = bullets[0]
        for bullet in bullets[1:]:
            frame.add_paragraph().text = bullet
        if notes:
            slide.notes_slide.notes_text_frame.text = notes
    buf = io.BytesIO()
    prs.save(buf)
    return buf.getvalue()


def make_docx(rng: random.Random) -> bytes:
    """A 20-80 paragraph document with headings and a small table."""
    import docx

    document = docx.Document()
    document.add_heading(
        "Case file " + " ".join(rng.choice(FILLER) for _ in range(3)), 1
    )
    for n in range(rng.randint(20, 80)):
        if n % 10 == 0:
            document.add_heading(f"Part {n // 10 + 1}", 2)
        document.add_paragraph(_paragraph(rng))
    table = document.add_table(rows=3, cols=2)
    for r in range(3):
        table.cell(r, 0).text = rng.choice(FILLER)
        table.cell(r, 1).text = _sentence(rng, 5)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def generate(folder: Path, files: int, seed: int = 5) -> None:
    rng = random.Random(seed)
    n_pdf = files // 3
    n_pptx = (files - n_pdf) // 2
    n_docx = files - n_pdf - n_pptx
    pdfs = make_pdfs(n_pdf, rng)
    made = [("pdf", data) for data in pdfs]
    made += [("pptx", make_pptx(rng)) for _ in range(n_pptx)]
    made += [("docx", make_docx(rng)) for _ in range(n_docx)]
    for i, (ext, data) in enumerate(made):
        course = folder / f"COURSE {i % 8 + 1}" / f"week{i % 5 + 1}"
        course.mkdir(parents=True, exist_ok=True)
        (course / f"material-{i:03d}.{ext}").write_bytes(data)


class Baseline:
    """Extract + analyse every file in this process, one pass per :meth:`run`;
    keeps the best extract and analyse totals (the ingest and analysis benches'
    single-process rates, combined)."""

    def __init__(self, folder: Path):
        from clinic.analysis import load_analyzer
        from clinic.scan.core import walk

        self.analyzer = load_analyzer()
        self.paths = [folder / rel for rel in walk(folder)]
        self.extract = self.analyse = float("inf")
        self.pages = self.findings = 0
        self.cpu = float("inf")

    def run(self) -> None:
        from clinic.ingest import extract

        extract_s = analyse_s = 0.0
        pages = findings = 0
        c0 = time.process_time()
        for path in self.paths:
            data = path.read_bytes()
            t0 = time.perf_counter()
            doc = extract(data, path.name)
            t1 = time.perf_counter()
            found = self.analyzer.analyze_segments([s.text for s in doc.segments])
            t2 = time.perf_counter()
            extract_s += t1 - t0
            analyse_s += t2 - t1
            pages += doc.page_count or max(1, -(-doc.word_count // 500))
            findings += sum(map(len, found))
        self.cpu = min(self.cpu, time.process_time() - c0)
        self.extract = min(self.extract, extract_s)
        self.analyse = min(self.analyse, analyse_s)
        self.pages, self.findings = pages, findings


def timed_scan(folder: Path, jobs: int, work: Path) -> tuple[float, dict]:
    """Run ``clinic scan --jobs N`` as a user does (a new process, a fresh report
    folder); return its wall time and what it reported."""
    report = work / f"report-jobs{jobs}"
    shutil.rmtree(report, ignore_errors=True)
    clinic = Path(sys.executable).with_name("clinic")
    command = [str(clinic), "scan", str(folder), "--jobs", str(jobs)]
    command += ["--report", str(report), "--no-pdf"]
    env = {**os.environ, "CLINIC_INSTANCE_PATH": str(work / "instance")}
    t0 = time.perf_counter()
    done = subprocess.run(command, check=False, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"clinic scan failed:\n{done.stderr[-2000:]}")
    with (report / "findings.csv").open(encoding="utf-8-sig") as fh:
        findings = sum(1 for _ in csv.DictReader(fh))
    with (report / "errors.csv").open(encoding="utf-8-sig") as fh:
        errors = sum(1 for _ in csv.DictReader(fh))
    return seconds, {"findings": findings, "errors": errors, "cpu": _child_cpu()}


_CPU_SEEN = 0.0


def _child_cpu() -> float:
    """CPU seconds of the child processes that ended since the last call."""
    global _CPU_SEEN
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = usage.ru_utime + usage.ru_stime
    spent, _CPU_SEEN = total - _CPU_SEEN, total
    return spent


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", type=Path, help="Generate into (and keep) this folder.")
    args = ap.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="scan-bench-"))
    folder = args.keep or work / "materials"
    try:
        t0 = time.perf_counter()
        if not folder.exists() or not any(folder.iterdir()):
            generate(folder, args.files)
        size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
        print(
            f"generated {args.files} files (PDF/PPTX/DOCX), {size / 1e6:.1f} MB "
            f"in {time.perf_counter() - t0:.1f} s; cpu count {os.cpu_count()}"
        )

        # interleaved, best of --repeat, so machine noise hits all three alike
        base = Baseline(folder)
        best: dict[int, tuple[float, dict]] = {}
        empty = work / "empty"
        (empty / "course").mkdir(parents=True)
        (empty / "course" / "note.txt").write_text("Kidneys filter blood.\n")
        startup = float("inf")
        for _ in range(args.repeat):
            base.run()
            startup = min(startup, timed_scan(empty, 1, work)[0])
            for jobs in (1, 2):
                seconds, seen = timed_scan(folder, jobs, work)
                assert seen["errors"] == 0, seen
                assert seen["findings"] == base.findings, (seen, base.findings)
                if seconds < best.get(jobs, (float("inf"),))[0]:
                    best[jobs] = seconds, seen
        n, pages = len(base.paths), base.pages
        t_ext, t_ana = base.extract, base.analyse
        both = t_ext + t_ana
        print(
            f"baseline (single process, in-process): extract {n / t_ext:.1f} files/s "
            f"({pages / t_ext:.1f} pages/s), analyse {n / t_ana:.1f} files/s; "
            f"combined {n / both:.2f} files/s, {pages / both:.1f} pages/s "
            f"({both:.2f} s for {n} files, {pages} pages, {base.findings} findings; "
            f"CPU {base.cpu:.2f} s per pass)"
        )
        for jobs in (1, 2):
            seconds, seen = best[jobs]
            print(
                f"clinic scan --jobs {jobs}: {seconds:.2f} s, {n / seconds:.2f} files/s, "
                f"{pages / seconds:.1f} pages/s, {seen['findings']} findings "
                f"(CPU {seen['cpu']:.2f} s in all processes, "
                f"{seen['cpu'] / seconds:.2f} cores busy on average)"
            )
        speedup = best[1][0] / best[2][0]
        ratio = both / best[1][0]
        print(f"speed-up jobs 2 vs 1: {speedup:.2f}x (required >= 1.6)")
        print(
            f"  (the same command on a one-file folder takes {startup:.2f} s: start-up, "
            "rubric check and analyzer, paid once by either; without it the speed-up "
            f"is {(best[1][0] - startup) / (best[2][0] - startup):.2f}x)"
        )
        print(
            f"jobs 1 throughput vs baseline (extract + analyse): {ratio:.2f}x (required >= 0.8)"
        )
        return 0 if speedup >= 1.6 and ratio >= 0.8 else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
