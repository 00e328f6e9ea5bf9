"""Builders for test documents (PDF via WeasyPrint, PPTX, DOCX, odd binaries)."""

from __future__ import annotations

import io
import struct
import zipfile

FLAGGED = "Black patients have higher muscle mass, so eGFR is multiplied by 1.159."
NOTES_SENTENCE = "Remind students that race adjusts the spirometry reference values."
HYPHEN_WORDS = [
    "extraordinarily",
    "documentation",
    "internationalization",
    "considerations",
]


def pdf_from_html(html: str) -> bytes:
    """Render HTML to PDF bytes with WeasyPrint."""
    import weasyprint

    return weasyprint.HTML(string=html).write_pdf()


def running_header_pdf(pages: int = 5) -> bytes:
    """Multi-page PDF with a running header and footer, one paragraph per page."""
    body = "".join(
        f"<p style='page-break-after:always'>Page body {i}: the renal lecture discusses "
        f"kidney function estimates and case {i} in detail.</p>"
        for i in range(1, pages + 1)
    )
    css = (
        "@page { size: A5; margin: 2.5cm 2cm;"
        " @top-center { content: 'Renal Block Week 3 Syllabus' }"
        " @bottom-center { content: 'Page ' counter(page) ' of ' counter(pages) } }"
    )
    return pdf_from_html(
        f"<html><head><style>{css}</style></head><body>{body}</body></html>"
    )


def hyphenated_pdf() -> bytes:
    """Narrow-column PDF that WeasyPrint hyphenates automatically."""
    text = " ".join(HYPHEN_WORDS * 3)
    html = (
        "<html lang='en'><body><p style='hyphens:auto; width:95px; font-size:13pt'>"
        f"{text}.</p><p>{FLAGGED}</p></body></html>"
    )
    return pdf_from_html(html)


def paragraphs_pdf() -> bytes:
    """Two-page PDF with headings, paragraphs and the flagged sentence on page 2."""
    filler = "Chronic kidney disease is common and often undiagnosed in adults. " * 6
    html = (
        "<html><body><h1>Kidney Function</h1>"
        f"<p>{filler}</p><p>{filler}</p>"
        f"<p style='page-break-before:always'>{filler}</p><p>{FLAGGED}</p>"
        "</body></html>"
    )
    return pdf_from_html(html)


def _png(width: int = 60, height: int = 40) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (width, height), (120, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


def image_pages_pdf(text_pages: int = 1, image_pages: int = 2) -> bytes:
    """PDF whose first ``text_pages`` have text and the rest only a picture."""
    import base64

    uri = "data:image/png;base64," + base64.b64encode(_png()).decode()
    parts = [
        f"<p style='page-break-after:always'>Real text on page {i + 1}.</p>"
        for i in range(text_pages)
    ]
    parts += [
        f"<div style='page-break-after:always'><img src='{uri}' width='300'></div>"
        for _ in range(image_pages)
    ]
    return pdf_from_html("<html><body>" + "".join(parts) + "</body></html>")


def encrypted_pdf(source: bytes) -> bytes:
    """Copy of ``source`` protected with a user password (pypdf)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for page in PdfReader(io.BytesIO(source)).pages:
        writer.add_page(page)
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def pptx_deck(slides: int = 8, notes_on: int = 7) -> bytes:
    """Deck with titles, bullets, a grouped shape, a table and speaker notes."""
    from pptx import Presentation
    from pptx.util import Inches, Pt

    prs = Presentation()
    prs.core_properties.title = "Renal physiology"
    layout = prs.slide_layouts[1]
    for n in range(1, slides + 1):
        slide = prs.slides.add_slide(layout)
        slide.shapes.title.text = f"Slide title {n}"
        body = slide.placeholders[1].text_frame
        body.text = f"First bullet on slide {n}"
        para = body.add_paragraph()
        para.text = f"Second bullet on slide {n}"
        para.level = 1
        if n == notes_on:
            slide.notes_slide.notes_text_frame.text = (
                f"Opening remark. {NOTES_SENTENCE}"
            )
        if n == 3:
            group = slide.shapes.add_group_shape()
            box = group.shapes.add_textbox(Inches(1), Inches(5), Inches(3), Inches(1))
            box.text_frame.text = "Grouped label: sickle cell trait"
            inner = group.shapes.add_group_shape()
            deep = inner.shapes.add_textbox(Inches(4), Inches(5), Inches(3), Inches(1))
            deep.text_frame.text = "Nested group text"
        if n == 4:
            table = slide.shapes.add_table(
                3, 2, Inches(1), Inches(4), Inches(6), Inches(1.5)
            ).table
            cells = [("Group", "eGFR multiplier"), ("Black", "1.159"), ("Other", "1.0")]
            for r, row in enumerate(cells):
                for c, value in enumerate(row):
                    table.cell(r, c).text = value
                    table.cell(r, c).text_frame.paragraphs[0].runs[0].font.size = Pt(12)
    buf = io.BytesIO()
    prs.save(buf)
    return buf.getvalue()


def big_pptx(slides: int) -> bytes:
    """Plain deck with many slides (for limits and the benchmark)."""
    from pptx import Presentation

    prs = Presentation()
    for n in range(slides):
        slide = prs.slides.add_slide(prs.slide_layouts[1])
        slide.shapes.title.text = f"Slide {n + 1}"
        slide.placeholders[1].text_frame.text = "Bullet text " * 10
        slide.notes_slide.notes_text_frame.text = "Speaker notes " * 10
    buf = io.BytesIO()
    prs.save(buf)
    return buf.getvalue()


def docx_document() -> bytes:
    """Document with paragraphs, a table, header, footer and a comment."""
    import docx

    document = docx.Document()
    document.core_properties.title = "Case: Acute kidney injury"
    document.add_heading("Case: Acute kidney injury", level=1)
    document.add_paragraph("A 54-year-old patient presents with fatigue.")
    para = document.add_paragraph(FLAGGED)
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Measure"
    table.cell(0, 1).text = "Value"
    table.cell(1, 0).text = "Creatinine"
    table.cell(1, 1).text = "Adjusted for race"
    document.add_paragraph("Closing paragraph after the table.")
    section = document.sections[0]
    section.header.paragraphs[0].text = "Renal block case file"
    section.footer.paragraphs[0].text = "Confidential teaching material"
    if hasattr(document, "add_comment"):
        document.add_comment(
            para.runs, text="Please cite the 2021 CKD-EPI equation.", author="Coach"
        )
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def zip_with(entries: dict[str, bytes], compress: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A ZIP archive with the given members."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compress) as zf:
        for name, content in entries.items():
            zf.writestr(name, content)
    return buf.getvalue()


def add_zip_member(container: bytes, name: str, content: bytes) -> bytes:
    """Copy of a ZIP-based file with one extra member."""
    src = zipfile.ZipFile(io.BytesIO(container))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in src.infolist():
            zf.writestr(info, src.read(info))
        zf.writestr(name, content)
    return buf.getvalue()


def fake_ole(*stream_names: str) -> bytes:
    """Minimal OLE2/CFB-looking bytes whose directory names the given streams.

    Only the magic number and UTF-16 directory names matter to content sniffing.
    """
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 16 + struct.pack("<HH", 0x3E, 3)
    )
    header = header.ljust(512, b"\x00")
    entries = b""
    for name in ("Root Entry", *stream_names):
        raw = name.encode("utf-16-le") + b"\x00\x00"
        entries += raw.ljust(64, b"\x00") + struct.pack("<H", len(raw)).ljust(
            64, b"\x00"
        )
    return header + entries.ljust(1024, b"\x00")


FOOTNOTE_TEXT = "Reference ranges were stratified by race in the 1999 study."


def docx_with_footnote(source: bytes) -> bytes:
    """Copy of a DOCX with a footnotes part holding one real footnote."""
    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    notes = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:footnotes xmlns:w="{w}">'
        '<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:footnote>'
        '<w:footnote w:type="continuationSeparator" w:id="0"><w:p><w:r><w:continuationSeparator/>'
        "</w:r></w:p></w:footnote>"
        f'<w:footnote w:id="1"><w:p><w:r><w:t>{FOOTNOTE_TEXT}</w:t></w:r></w:p></w:footnote>'
        "</w:footnotes>"
    ).encode()
    src = zipfile.ZipFile(io.BytesIO(source))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "[Content_Types].xml":
                data = data.replace(
                    b"</Types>",
                    b'<Override PartName="/word/footnotes.xml" ContentType="application/'
                    b'vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"/></Types>',
                )
            elif info.filename == "word/_rels/document.xml.rels":
                data = data.replace(
                    b"</Relationships>",
                    b'<Relationship Id="rIdFn1" Type="http://schemas.openxmlformats.org/'
                    b'officeDocument/2006/relationships/footnotes" Target="footnotes.xml"/>'
                    b"</Relationships>",
                )
            zf.writestr(info, data)
        zf.writestr("word/footnotes.xml", notes)
    return buf.getvalue()
