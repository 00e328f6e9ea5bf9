"""Tests for clinic.ingest: locations, PDF geometry, Office structure, text, bad input."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from clinic.ingest import (
    CorruptFileError,
    EmptyFileError,
    EncryptedFileError,
    ExtractedDocument,
    IngestError,
    IngestLimits,
    Location,
    Segment,
    TooLargeError,
    TypeMismatchError,
    UnsupportedTypeError,
    extract,
    render_pdf_page,
)
from tests import doc_builders as b

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "docs"
needs_corpus = pytest.mark.skipif(
    not CORPUS.is_dir(), reason="shared corpus not present"
)


@pytest.fixture(scope="session")
def hyphen_pdf() -> bytes:
    return b.hyphenated_pdf()


@pytest.fixture(scope="session")
def para_pdf() -> bytes:
    return b.paragraphs_pdf()


@pytest.fixture(scope="session")
def header_pdf() -> bytes:
    return b.running_header_pdf(5)


@pytest.fixture(scope="session")
def image_pdf() -> bytes:
    return b.image_pages_pdf(text_pages=1, image_pages=2)


@pytest.fixture(scope="session")
def deck() -> bytes:
    return b.pptx_deck()


@pytest.fixture(scope="session")
def word_doc() -> bytes:
    return b.docx_document()


def _find(doc: ExtractedDocument, needle: str) -> Segment:
    hits = [s for s in doc.segments if needle in " ".join(s.text.split())]
    assert hits, f"{needle!r} not found in {[s.text for s in doc.segments]}"
    return hits[0]


# --- Location / Segment model ------------------------------------------------------


@pytest.mark.parametrize(
    ("loc", "label"),
    [
        (Location("page", 12), "page 12"),
        (Location("page", 12, None, 3), "page 12"),
        (Location("slide", 7, "notes", 2), "slide 7 (notes)"),
        (Location("slide", 7, "table", 1), "slide 7 (table)"),
        (Location("slide", 7, "title"), "slide 7 (title)"),
        (Location("slide", 7, "body", 4), "slide 7"),
        (Location("paragraph", 40), "paragraph 40"),
        (Location("table", 2), "table 2"),
        (Location("table", 2, None, 3), "table 2, row 3"),
        (Location("header", 1), "header"),
        (Location("footer", 2), "footer (section 2)"),
        (Location("footnote", 3), "footnote 3"),
        (Location("line", 14, "heading"), "line 14"),
    ],
)
def test_location_label(loc: Location, label: str) -> None:
    assert loc.label() == label
    assert Location.from_dict(json.loads(json.dumps(loc.to_dict()))) == loc


def test_highlight_rects_merge_and_normalise() -> None:
    seg = Segment(
        "abc def",
        Location("page", 1),
        boxes=[(0, 3, 100, 700, 130, 712), (4, 7, 135, 700, 165, 712)],
        page_box=(0, 0, 200, 800),
    )
    (rect,) = seg.highlight_rects(0, 7)
    assert rect == pytest.approx((0.5, 0.11, 0.825, 0.125))
    (part,) = seg.highlight_rects(1, 2)  # inside a run: interpolated
    assert 0.5 < part[0] < part[2] < 0.65
    assert len(seg.char_boxes()) == 7 and seg.char_boxes()[3] is None
    assert Segment.from_dict(json.loads(json.dumps(seg.to_dict()))) == seg
    turned = Segment(seg.text, seg.location, seg.boxes, seg.page_box, rotation=90)
    (r90,) = turned.highlight_rects(0, 7)
    assert r90 == pytest.approx((1 - 0.125, 0.5, 1 - 0.11, 0.825))


# --- PDF ---------------------------------------------------------------------------


def test_pdf_hyphenated_words_rejoined(hyphen_pdf: bytes) -> None:
    doc = extract(hyphen_pdf, "column.pdf")
    text = doc.segments[0].text
    for word in b.HYPHEN_WORDS:
        assert text.count(word) == 3, text
    assert "\u2010" not in text and "- " not in text


def test_pdf_boxes_line_up_with_text_after_rejoining(hyphen_pdf: bytes) -> None:
    doc = extract(hyphen_pdf, "column.pdf")
    exact = extract(hyphen_pdf, "column.pdf", exact_boxes=True)
    seg, seg_exact = doc.segments[0], exact.segments[0]
    assert seg.text == seg_exact.text
    start = seg.text.index("documentation")
    end = start + len("documentation")
    fast_rects = seg.highlight_rects(start, end)
    exact_rects = seg_exact.highlight_rects(start, end)
    assert fast_rects and exact_rects
    # word split over two lines -> two rectangles in both modes
    assert len(fast_rects) == len(exact_rects)
    for fr, er in zip(fast_rects, exact_rects, strict=True):
        assert fr == pytest.approx(er, abs=0.03)
    # every non-space character of the exact segment has its own box
    boxes = seg_exact.char_boxes()
    assert all(
        box is not None
        for ch, box in zip(seg_exact.text, boxes, strict=True)
        if not ch.isspace()
    )


def test_pdf_highlight_covers_ink_on_rendered_page(para_pdf: bytes) -> None:
    from PIL import Image

    doc = extract(para_pdf, "lecture.pdf")
    seg = _find(doc, b.FLAGGED)
    assert seg.location.kind == "page" and seg.location.number == 2
    start = seg.text.index("eGFR")
    (x0, y0, x1, y1) = seg.highlight_rects(start, start + 4)[0]
    png = render_pdf_page(para_pdf, 2, width=800)
    image = Image.open(io.BytesIO(png)).convert("L")
    assert image.width == 800
    w, h = image.size
    crop = image.crop((int(x0 * w), int(y0 * h), int(x1 * w) + 1, int(y1 * h) + 1))
    assert crop.getextrema()[0] < 100  # dark text pixels under the highlight
    below = image.crop(
        (int(x0 * w), int(y1 * h) + 40, int(x1 * w) + 1, int(y1 * h) + 60)
    )
    assert below.getextrema()[0] > 200  # and blank paper well below it


@pytest.mark.parametrize("rotation", [90, 270])
def test_pdf_highlight_on_rotated_page(para_pdf: bytes, rotation: int) -> None:
    import pypdfium2 as pdfium
    from PIL import Image

    pdf = pdfium.PdfDocument(para_pdf)
    pdf[1].set_rotation(rotation)
    buf = io.BytesIO()
    pdf.save(buf)
    pdf.close()
    data = buf.getvalue()
    seg = _find(extract(data, "turned.pdf"), "eGFR")
    start = seg.text.index("eGFR")
    (x0, y0, x1, y1) = seg.highlight_rects(start, start + 4)[0]
    image = Image.open(io.BytesIO(render_pdf_page(data, 2, width=600))).convert("L")
    w, h = image.size
    assert w > h  # landscape after rotation
    crop = image.crop((int(x0 * w), int(y0 * h), int(x1 * w) + 1, int(y1 * h) + 1))
    assert crop.getextrema()[0] < 120


def test_pdf_blocks_in_reading_order(para_pdf: bytes) -> None:
    doc = extract(para_pdf, "lecture.pdf")
    assert doc.kind == "pdf" and doc.page_count == 2
    assert doc.segments[0].text == "Kidney Function"
    assert [s.location.number for s in doc.segments] == sorted(
        s.location.number for s in doc.segments
    )
    assert len([s for s in doc.segments if s.location.number == 1]) == 3
    assert doc.word_count == sum(len(s.text.split()) for s in doc.segments)
    json.dumps(doc.to_dict())


def test_pdf_running_headers_and_footers_removed(header_pdf: bytes) -> None:
    doc = extract(header_pdf, "syllabus.pdf")
    texts = [s.text for s in doc.segments]
    assert len(texts) == 5
    assert not any("Syllabus" in t or "of 5" in t for t in texts)
    assert [s.location.number for s in doc.segments] == [1, 2, 3, 4, 5]


def test_pdf_image_only_pages_warn(image_pdf: bytes) -> None:
    doc = extract(image_pdf, "scan.pdf")
    assert [s.location.number for s in doc.segments] == [1]
    (warning,) = doc.warnings
    assert "Pages 2-3" in warning and "OCR" in warning and "scan.pdf" in warning


def test_pdf_without_any_text_is_not_silent() -> None:
    doc = extract(b.image_pages_pdf(text_pages=0, image_pages=1), "scan.pdf")
    assert doc.segments == []
    assert (
        doc.warnings
        and "no extractable text" in doc.warnings[0]
        and "OCR" in doc.warnings[0]
    )


def test_render_pdf_page(para_pdf: bytes) -> None:
    png = render_pdf_page(para_pdf, 1, width=300)
    assert png.startswith(b"\x89PNG")
    with pytest.raises(IngestError, match="Page 3 does not exist"):
        render_pdf_page(para_pdf, 3)
    with pytest.raises(IngestError):
        render_pdf_page(para_pdf, 0)
    with pytest.raises(IngestError):
        render_pdf_page(b"not a pdf", 1)


# --- PPTX / DOCX ----------------------------------------------------------------------


def test_pptx_locations(deck: bytes) -> None:
    doc = extract(deck, "renal.pptx")
    assert (
        doc.kind == "pptx" and doc.page_count == 8 and doc.title == "Renal physiology"
    )
    notes = _find(doc, b.NOTES_SENTENCE)
    assert notes.location == Location("slide", 7, "notes", 1)
    assert notes.location.label() == "slide 7 (notes)"
    title = _find(doc, "Slide title 5")
    assert title.location.label() == "slide 5 (title)"
    bullets = [
        s for s in doc.segments if s.location.number == 2 and s.location.part == "body"
    ]
    assert [s.text for s in bullets] == [
        "First bullet on slide 2",
        "Second bullet on slide 2",
    ]


def test_pptx_tables_and_groups(deck: bytes) -> None:
    doc = extract(deck, "renal.pptx")
    row = _find(doc, "Black | 1.159")
    assert row.location.label() == "slide 4 (table)" and row.location.index == 2
    assert _find(doc, "sickle cell trait").location.number == 3
    assert _find(doc, "Nested group text").location.number == 3


def test_docx_body_order_tables_headers_comments(word_doc: bytes) -> None:
    doc = extract(word_doc, "case.docx")
    assert doc.kind == "docx" and doc.title == "Case: Acute kidney injury"
    labels = [s.location.label() for s in doc.segments]
    assert labels[:6] == [
        "paragraph 1",
        "paragraph 2",
        "paragraph 3",
        "table 1, row 1",
        "table 1, row 2",
        "paragraph 4",
    ]
    assert _find(doc, b.FLAGGED).location.label() == "paragraph 3"
    assert _find(doc, "Adjusted for race").text == "Creatinine | Adjusted for race"
    assert _find(doc, "Renal block case file").location.label() == "header"
    assert _find(doc, "Confidential").location.label() == "footer"
    assert _find(doc, "CKD-EPI").location.label() == "comment 1"


def test_docx_footnotes(word_doc: bytes) -> None:
    doc = extract(b.docx_with_footnote(word_doc), "noted.docx")
    seg = _find(doc, b.FOOTNOTE_TEXT)
    assert seg.location.label() == "footnote 1"
    assert not any("separator" in s.text for s in doc.segments)


def test_macro_enabled_office_is_unsupported(word_doc: bytes) -> None:
    import zipfile

    src = zipfile.ZipFile(io.BytesIO(word_doc))
    members = {i.filename: src.read(i) for i in src.infolist()}
    members["[Content_Types].xml"] = members["[Content_Types].xml"].replace(
        b"officedocument.wordprocessingml.document.main+xml",
        b"ms-word.document.macroEnabled.main+xml",
    )
    macro = b.zip_with(members)
    with pytest.raises(UnsupportedTypeError, match="save it as a regular"):
        extract(macro, "macro.docx")


# --- text / markdown -------------------------------------------------------------------


def test_markdown_blocks() -> None:
    md = (
        b"# Renal week\n\nIntro paragraph\nwrapped over two lines.\n\n"
        b"- first **bullet**\n- second [link](http://x)\n\n"
        b"| A | B |\n|---|---|\n| Black | 1.159 |\n\n```\ncode block\n```\n"
    )
    doc = extract(md, "notes.md")
    assert doc.kind == "markdown" and doc.title == "Renal week"
    got = [(s.text, s.location.number, s.location.part) for s in doc.segments]
    assert got == [
        ("Renal week", 1, "heading"),
        ("Intro paragraph\nwrapped over two lines.", 3, None),
        ("first bullet", 6, "list"),
        ("second link", 7, "list"),
        ("A | B", 9, "table"),
        ("Black | 1.159", 11, "table"),
        ("code block", 14, "code"),
    ]


def _md(text: str):
    doc = extract(text.encode(), "notes.md")
    return [(s.text, s.location.part, s.location.level) for s in doc.segments]


def test_markdown_links_and_wiki_links_read_as_their_visible_words() -> None:
    got = _md(
        "ACE inhibitors are less effective in [[Black patients|Black]] patients, "
        "see [[Hypertension]] and [the guideline](https://example.org) ![[chart.png]]\n"
    )
    assert got == [
        (
            (
                "ACE inhibitors are less effective in Black patients, see Hypertension "
                "and the guideline"
            ),
            None,
            None,
        )
    ]


def test_markdown_tables_are_rows_and_cells() -> None:
    got = _md(
        "Drug | Population\n---|---\nCCB | [[Black patients|Black]] pts\n"
        "Thiazide | all\n"
    )
    assert got == [
        ("Drug | Population", "table", None),
        ("CCB | Black pts", "table", None),
        ("Thiazide | all", "table", None),
    ]


def test_html_tables_lists_and_line_breaks() -> None:
    got = _md(
        "<table><tr><th>Risk</th><th>Group</th></tr>\n"
        "<tr><td>Stroke</td><td>Black<br>adults</td></tr></table>\n\n"
        "<ul><li>first item</li><li>second item</li></ul>\n"
    )
    assert got == [
        ("Risk | Group", "table", None),
        ("Stroke | Black adults", "table", None),
        ("first item", "list", 1),
        ("second item", "list", 1),
    ]


def test_heading_levels_and_nested_list_levels() -> None:
    got = _md(
        "# Risk\n\n## Factors\n\n- age\n  - Black race\n    - detail\n- smoking\n"
    )
    assert got == [
        ("Risk", "heading", 1),
        ("Factors", "heading", 2),
        ("age", "list", 1),
        ("Black race", "list", 2),
        ("detail", "list", 3),
        ("smoking", "list", 1),
    ]


def test_callout_items_are_their_own_segments() -> None:
    got = _md("> [!WARNING] Red flags\n> - angioedema more in AA\n> - cough\n")
    assert [t for t, _, _ in got] == ["Red flags", "angioedema more in AA", "cough"]


def test_location_level_round_trips() -> None:
    loc = Location("line", 4, "list", level=2)
    assert Location.from_dict(loc.to_dict()) == loc
    assert "level" not in Location("line", 4).to_dict()
    assert loc.label() == "line 4"


def test_a_stray_nul_byte_is_removed_with_a_warning() -> None:
    doc = extract(b"Renal week\x00 notes\nAll patients get the same dose.\n", "n.txt")
    assert doc.segments[0].text.startswith("Renal week notes")
    assert any("NUL" in w for w in doc.warnings)


def test_plain_text_and_encoding_fallback() -> None:
    doc = extract("Line one\nline two\n\n\ufeffSecond para café".encode(), "a.txt")
    assert doc.kind == "text"
    assert doc.segments[0].text == "Line one\nline two"  # line breaks are kept
    assert doc.segments[1].location.label() == "line 4"
    latin = extract("Caf\xe9 au lait and na\xefve text".encode("cp1252"), "b.txt")
    assert latin.segments[0].text == "Café au lait and naïve text"
    assert "Windows-1252" in latin.warnings[0]
    blank = extract(b"\n\n  \n", "blank.txt")
    assert blank.segments == [] and blank.warnings


# --- bad input -------------------------------------------------------------------------


def test_empty_file() -> None:
    with pytest.raises(EmptyFileError, match=r"week1\.pdf is empty"):
        extract(b"", "week1.pdf")


@pytest.mark.parametrize(
    ("data", "name", "needle"),
    [
        (
            b.fake_ole("PowerPoint Document", "Current User"),
            "old.ppt",
            "save it as PPTX",
        ),
        (b.fake_ole("WordDocument", "1Table"), "old.doc", "save it as DOCX"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "slide.png", "PNG image"),
        (bytes(range(256)) * 4, "mystery.bin", "binary file"),
        (b.zip_with({"a.txt": b"hello"}), "bundle.zip", "ZIP archive"),
    ],
)
def test_unsupported_types(data: bytes, name: str, needle: str) -> None:
    with pytest.raises(UnsupportedTypeError) as info:
        extract(data, name)
    assert needle in str(info.value) and name in str(info.value)


def test_type_mismatch(para_pdf: bytes, deck: bytes, word_doc: bytes) -> None:
    cases = [
        (para_pdf, "lecture.docx", "actually a PDF"),
        (word_doc, "case.pdf", "actually a Word document (DOCX)"),
        (deck, "deck.docx", "actually a PowerPoint presentation (PPTX)"),
        (b"just some text", "notes.pptx", "actually a plain-text file"),
        (deck, "deck.ppt", "actually a PowerPoint presentation (PPTX)"),
    ]
    for data, name, needle in cases:
        with pytest.raises(TypeMismatchError) as info:
            extract(data, name)
        assert needle in str(info.value) and name in str(info.value)
    # content decides when the extension is absent or unknown
    assert extract(para_pdf, "download").kind == "pdf"
    assert extract(deck, "deck.bin").kind == "pptx"


def test_encrypted_pdf(para_pdf: bytes) -> None:
    with pytest.raises(EncryptedFileError, match="password protected") as info:
        extract(b.encrypted_pdf(para_pdf), "locked.pdf")
    assert "locked.pdf" in str(info.value)


def test_encrypted_office() -> None:
    data = b.fake_ole("EncryptionInfo", "EncryptedPackage")
    with pytest.raises(EncryptedFileError, match=r"locked\.docx is password protected"):
        extract(data, "locked.docx")


def test_corrupt_and_truncated(para_pdf: bytes, word_doc: bytes, deck: bytes) -> None:
    cases = [
        (b"%PDF-1.7\n" + b"\x00garbage" * 50, "broken.pdf"),
        (word_doc[: len(word_doc) // 2], "cut.docx"),
        (deck[:-200], "cut.pptx"),
        (b"\x00\x01\x02" * 200, "noise.pdf"),
        (b"hello \x00\x01\x02\x03\x04\x05\x06 world" * 20, "binary.txt"),
    ]
    for data, name in cases:
        with pytest.raises(CorruptFileError) as info:
            extract(data, name)
        message = str(info.value)
        assert name in message and ("damaged" in message or "UTF-8" in message), message


def test_docx_missing_main_part(word_doc: bytes) -> None:
    import zipfile

    src = zipfile.ZipFile(io.BytesIO(word_doc))
    members = {
        i.filename: src.read(i)
        for i in src.infolist()
        if i.filename != "word/document.xml"
    }
    with pytest.raises(CorruptFileError, match="damaged"):
        extract(b.zip_with(members), "hollow.docx")


def test_zip_bomb_ratio(word_doc: bytes) -> None:
    bomb = b.add_zip_member(word_doc, "word/media/pad.bin", b"\x00" * 30_000_000)
    with pytest.raises(TooLargeError, match="ZIP bomb") as info:
        extract(bomb, "bomb.docx")
    assert "bomb.docx" in str(info.value) and "compression ratio" in str(info.value)


def test_zip_uncompressed_and_entry_limits(deck: bytes) -> None:
    with pytest.raises(TooLargeError, match="would expand to"):
        extract(deck, "deck.pptx", IngestLimits(max_zip_uncompressed=10_000))
    with pytest.raises(TooLargeError, match="internal files"):
        extract(deck, "deck.pptx", IngestLimits(max_zip_entries=5))


def test_too_many_pages_slides_or_text(
    header_pdf: bytes, deck: bytes, word_doc: bytes
) -> None:
    with pytest.raises(TooLargeError, match="5 pages \\(limit 3\\)"):
        extract(header_pdf, "long.pdf", IngestLimits(max_pages=3))
    with pytest.raises(TooLargeError, match="8 slides \\(limit 4\\)"):
        extract(deck, "long.pptx", IngestLimits(max_slides=4))
    small = IngestLimits(max_text_chars=50)
    for data, name in [
        (header_pdf, "a.pdf"),
        (deck, "a.pptx"),
        (word_doc, "a.docx"),
        (b"x" * 60, "a.txt"),
    ]:
        with pytest.raises(TooLargeError, match="characters") as info:
            extract(data, name, small)
        assert name in str(info.value)
    with pytest.raises(TooLargeError, match="MB"):
        extract(b"x" * 2000, "big.txt", IngestLimits(max_file_bytes=1000))


def test_non_bytes_input() -> None:
    with pytest.raises(IngestError):
        extract("a string", "a.txt")  # type: ignore[arg-type]


# --- real-world corpus -------------------------------------------------------------------


@needs_corpus
def test_corpus_factsheet_pdf() -> None:
    data = (CORPUS / "cdc-ckd-factsheet-2023.pdf").read_bytes()
    doc = extract(data, "cdc-ckd-factsheet-2023.pdf")
    assert doc.page_count == 4 and doc.title
    seg = _find(doc, "non-Hispanic Black adults (20%)")
    assert seg.location.number == 1
    # a bullet wrapped over three lines is one segment; U+FFFE hyphens are repaired
    bullet = _find(doc, "More than 1 in 7 US adults")
    # the PDF's line breaks are kept (as "\n", one character like the space they
    # replace), so that the engine can read a line of a table or a list on its own
    assert "\n" in bullet.text
    assert " ".join(bullet.text.split()).endswith("are estimated to have CKD.\u2020")
    assert _find(doc, "(61%) than non-Hispanic White adults").location.number == 2
    assert not any("\ufffe" in s.text for s in doc.segments)
    seg3 = _find(doc, "4 times the incidence rate of ESKD")
    assert seg3.location.number == 3
    i = seg3.text.index("4 times")
    assert seg3.highlight_rects(i, i + 7)


@needs_corpus
def test_corpus_manual_cover_warning_and_pages() -> None:
    data = (CORPUS / "cdc-mmrc-abstractor-manual-v4.pdf").read_bytes()
    doc = extract(data, "manual.pdf")
    assert doc.page_count == 115
    assert any("Page 1 has no extractable text" in w for w in doc.warnings)
    assert _find(doc, "dilated cardiomyopathy is more prevalent").location.number == 39
    assert _find(doc, "structural racism").location.number == 12
    # running page numbers are not analysable text
    assert not any(s.text.strip() == str(s.location.number) for s in doc.segments)


@needs_corpus
def test_corpus_pptx_notes_and_charts() -> None:
    doc = extract((CORPUS / "va-peer-support-services.pptx").read_bytes(), "peer.pptx")
    notes_slides = sorted(
        {s.location.number for s in doc.segments if s.location.part == "notes"}
    )
    assert notes_slides == [2, 3, 4, 7, 8, 10, 11, 12, 14, 16, 17]
    charts = extract(
        (CORPUS / "cdc-ckd-prevalence-trends.pptx").read_bytes(), "ckd.pptx"
    )
    series = _find(charts, "Series: Hispanic; Non-Hispanic White; Non-Hispanic Black")
    assert series.location.label() == "slide 7 (chart)"
    assert _find(charts, "highest crude prevalence").location.label() == "slide 1"
    specialists = extract(
        (CORPUS / "va-peer-specialists.pptx").read_bytes(), "vps.pptx"
    )
    assert _find(specialists, "ethnicity, race, gender").location.number == 5
    assert any("Slides 2, 13" in w for w in specialists.warnings)


@needs_corpus
def test_corpus_docx_tables_comments_notes() -> None:
    doc = extract(
        (CORPUS / "va-mtl-session3-cme-worksheet.docx").read_bytes(), "cme.docx"
    )
    kinds = {s.location.kind for s in doc.segments}
    # the worksheet's journal references are Word endnotes (footnotes.xml is empty)
    assert {"paragraph", "table", "endnote", "comment"} <= kinds
    assert _find(doc, "Karlin BE").location.label() == "endnote 1"
    assert (
        _find(doc, "Effect of Overbook on No-Shows").location.label()
        == "table 1, row 4"
    )
    guide = extract(
        (CORPUS / "va-mtl-session3-facilitator-guide.docx").read_bytes(), "g.docx"
    )
    assert _find(guide, "Black font").location.kind in ("paragraph", "table")
