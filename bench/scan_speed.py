"""Batch scan speed: ``clinic scan`` with 1 and 2 worker processes.

Generates a folder of mixed teaching materials (PDF, PPTX, DOCX; every file
different), then measures in this process

* the single-process baseline: ``clinic.ingest.extract`` and
  ``Analyzer.analyze_segments`` on every file (time per file = extract + analyse,
  best of ``--repeat``), i.e. the ingest and analysis benchmarks' rates combined;
* the scan core (walk, hash, extract, analyse, resume state, report CSV/HTML) with
  ``jobs=1`` and ``jobs=2``, each with a fresh state folder and a freshly loaded
  analyzer;

and prints files/s and pages/s, the speed-up (required >= 1.6 on 2 cores) and the
``jobs=1`` throughput relative to the baseline (required >= 0.8).

    .venv/bin/python bench/scan_speed.py [--files 200] [--repeat 2] [--keep DIR]
"""

from __future__ import annotations

import argparse
import io
import os
import random
import shutil
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


def baseline(folder: Path, repeat: int) -> tuple[float, float, float, int, int]:
    """Best-of-``repeat`` total extract seconds and analyse seconds, single process."""
    from clinic.analysis import load_analyzer
    from clinic.ingest import extract
    from clinic.scan.core import walk

    analyzer = load_analyzer()
    paths = [folder / rel for rel in walk(folder)]
    t_ext = t_ana = float("inf")
    pages = findings = 0
    c0 = time.process_time()
    for _ in range(repeat):
        e = a = 0.0
        pages = findings = 0
        for path in paths:
            data = path.read_bytes()
            t0 = time.perf_counter()
            doc = extract(data, path.name)
            t1 = time.perf_counter()
            found = analyzer.analyze_segments([s.text for s in doc.segments])
            t2 = time.perf_counter()
            e += t1 - t0
            a += t2 - t1
            pages += doc.page_count or max(1, -(-doc.word_count // 500))
            findings += sum(map(len, found))
        t_ext, t_ana = min(t_ext, e), min(t_ana, a)
    cpu = (time.process_time() - c0) / repeat
    return t_ext, t_ana, len(paths), pages, findings, cpu


def timed_scan(folder: Path, jobs: int, work: Path):
    from clinic.analysis import pipeline
    from clinic.scan.core import run_scan
    from clinic.scan.report import write_report

    state = work / f"state-jobs{jobs}"
    shutil.rmtree(state, ignore_errors=True)
    pipeline._CACHE.clear()  # load the analyzer afresh, as a new `clinic scan` does
    t0 = time.perf_counter()
    summary = run_scan(folder, state, jobs=jobs)
    write_report(summary, state, pdf=False)
    return time.perf_counter() - t0, summary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=2)
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

        t_ext, t_ana, n, pages, n_find, base_cpu = baseline(folder, args.repeat)
        base = t_ext + t_ana
        print(
            f"baseline (single process, in-process): extract {n / t_ext:.1f} files/s "
            f"({pages / t_ext:.1f} pages/s), analyse {n / t_ana:.1f} files/s; "
            f"combined {n / base:.2f} files/s, {pages / base:.1f} pages/s "
            f"({base:.2f} s for {n} files, {pages} pages, {n_find} findings; "
            f"CPU {base_cpu:.2f} s per pass)"
        )

        # interleaved, best of --repeat, so machine noise hits both alike
        rates: dict[int, float] = {}
        cpu: dict[int, float] = {}
        busy: dict[int, float] = {}
        for _ in range(args.repeat):
            for jobs in (1, 2):
                c0 = time.process_time()
                seconds, summary = timed_scan(folder, jobs, work)
                assert len(summary.errors) == 0, summary.errors[:3]
                assert summary.findings == n_find, (summary.findings, n_find)
                if seconds < rates.get(jobs, float("inf")):
                    rates[jobs], cpu[jobs] = seconds, time.process_time() - c0
                    busy[jobs] = sum(r.cpu_seconds for r in summary.results)
        for jobs in (1, 2):
            seconds = rates[jobs]
            print(
                f"clinic scan --jobs {jobs}: {seconds:.2f} s, "
                f"{len(summary.results) / seconds:.2f} files/s, "
                f"{summary.pages / seconds:.1f} pages/s, {summary.findings} findings "
                f"(CPU: main process {cpu[jobs]:.2f} s, in files {busy[jobs]:.2f} s, "
                f"{busy[jobs] / seconds:.2f} cores busy on average)"
            )
        speedup = rates[1] / rates[2]
        ratio = base / rates[1]
        print(f"speed-up jobs 2 vs 1: {speedup:.2f}x (required >= 1.6)")
        print(
            f"jobs 1 throughput vs baseline (extract + analyse): {ratio:.2f}x (required >= 0.8)"
        )
        return 0 if speedup >= 1.6 and ratio >= 0.8 else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
