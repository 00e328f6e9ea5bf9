"""Ingest speed benchmark.

Generates a 300-page PDF (WeasyPrint) and a 150-slide PPTX (python-pptx), then
prints pages per second for raw pypdfium2 text extraction and for
``clinic.ingest.extract``, and their ratio (required: >= 0.7).

    .venv/bin/python bench/ingest_speed.py [--pages 300] [--slides 150] [--repeat 3]
"""

from __future__ import annotations

import argparse
import io
import random
import time

import pypdfium2 as pdfium

from clinic.ingest import extract

WORDS = [
    "the",
    "patient",
    "presents",
    "with",
    "chronic",
    "kidney",
    "disease",
    "and",
    "the",
    "estimated",
    "glomerular",
    "filtration",
    "rate",
    "is",
    "calculated",
    "from",
    "serum",
    "creatinine",
    "age",
    "and",
    "sex",
    "while",
    "students",
    "review",
    "the",
    "case",
    "notes",
    "discuss",
    "social",
    "determinants",
    "of",
    "health",
    "and",
    "compare",
    "guidelines",
    "for",
    "hypertension",
    "diabetes",
    "and",
    "cardiovascular",
    "risk",
    "in",
    "primary",
    "care",
]


def make_pdf(pages: int) -> bytes:
    """A ``pages``-page text PDF: headings, justified hyphenated paragraphs, running header/footer."""
    import weasyprint

    rng = random.Random(7)
    body = []
    for page in range(pages):
        body.append(f"<h2 style='page-break-before:always'>Section {page + 1}</h2>")
        for _ in range(4):
            words = " ".join(rng.choice(WORDS) for _ in range(90))
            body.append(f"<p>{words.capitalize()}.</p>")
    css = (
        "@page { size: letter; margin: 2cm;"
        " @top-center { content: 'Renal Block Syllabus' }"
        " @bottom-center { content: 'Page ' counter(page) } }"
        " p { font-size: 10.5pt; text-align: justify; hyphens: auto }"
    )
    html = f"<html lang='en'><head><style>{css}</style></head><body>{''.join(body)}</body></html>"
    return weasyprint.HTML(string=html).write_pdf()


def make_pptx(slides: int) -> bytes:
    """A ``slides``-slide deck with title, five bullets and speaker notes per slide."""
    from pptx import Presentation

    rng = random.Random(11)
    prs = Presentation()
    for n in range(slides):
        slide = prs.slides.add_slide(prs.slide_layouts[1])
        slide.shapes.title.text = f"Slide {n + 1}: " + " ".join(
            rng.choice(WORDS) for _ in range(5)
        )
        frame = slide.placeholders[1].text_frame
        frame.text = " ".join(rng.choice(WORDS) for _ in range(12))
        for _ in range(4):
            frame.add_paragraph().text = " ".join(rng.choice(WORDS) for _ in range(12))
        slide.notes_slide.notes_text_frame.text = " ".join(
            rng.choice(WORDS) for _ in range(60)
        )
    buf = io.BytesIO()
    prs.save(buf)
    return buf.getvalue()


def raw_pdfium(data: bytes) -> int:
    """Baseline: open, then text of every page with pypdfium2 (no geometry)."""
    pdf = pdfium.PdfDocument(data)
    try:
        n = len(pdf)
        for i in range(n):
            page = pdf[i]
            textpage = page.get_textpage()
            textpage.get_text_range()
            textpage.close()
            page.close()
    finally:
        pdf.close()
    return n


def best_rate(fn, data: bytes, units: int, repeat: int) -> float:
    """Best-of-``repeat`` units per second."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn(data)
        best = min(best, time.perf_counter() - start)
    return units / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--slides", type=int, default=150)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    start = time.perf_counter()
    pdf = make_pdf(args.pages)
    pages = len(pdfium.PdfDocument(pdf))
    print(
        f"generated PDF: {pages} pages, {len(pdf) / 1e6:.1f} MB in {time.perf_counter() - start:.1f} s"
    )
    start = time.perf_counter()
    deck = make_pptx(args.slides)
    print(
        f"generated PPTX: {args.slides} slides, {len(deck) / 1e6:.1f} MB in {time.perf_counter() - start:.1f} s"
    )

    doc = extract(pdf, "bench.pdf")
    print(
        f"extract(PDF): {len(doc.segments)} segments, {doc.word_count} words, warnings={doc.warnings}"
    )
    # interleave the two PDF measurements so machine noise hits both alike
    raw_rates, ext_rates = [], []
    for _ in range(args.repeat):
        raw_rates.append(best_rate(raw_pdfium, pdf, pages, 1))
        ext_rates.append(best_rate(lambda d: extract(d, "bench.pdf"), pdf, pages, 1))
    raw, ours = max(raw_rates), max(ext_rates)
    print(f"PDF raw pypdfium2 text:   {raw:8.1f} pages/s")
    print(f"PDF clinic.ingest.extract: {ours:8.1f} pages/s")
    print(f"PDF ratio extract/raw:     {ours / raw:8.2f}x  (required >= 0.70)")
    exact = best_rate(
        lambda d: extract(d, "bench.pdf", exact_boxes=True), pdf, pages, 2
    )
    print(
        f"PDF extract(exact_boxes=True): {exact:8.1f} pages/s ({exact / raw:.2f}x raw)"
    )

    deck_doc = extract(deck, "bench.pptx")
    rate = best_rate(lambda d: extract(d, "bench.pptx"), deck, args.slides, args.repeat)
    print(f"PPTX extract: {rate:8.1f} slides/s ({len(deck_doc.segments)} segments)")


if __name__ == "__main__":
    main()
