"""Real-looking teaching materials for the demo and the benchmarks (python-pptx)."""

from __future__ import annotations

import io

# (title, bullets, speaker notes): ordinary renal teaching, with race-based content
# at about the density seen in real preclinical decks.
SLIDES = [
    (
        "Learning objectives",
        [
            "Describe glomerular filtration and its regulation",
            "Estimate kidney function at the bedside",
            "Interpret proteinuria and hematuria",
        ],
        "",
    ),
    (
        "Glomerular filtration",
        [
            "GFR depends on the filtration coefficient and net filtration pressure",
            "Afferent and efferent arteriolar tone set glomerular pressure",
        ],
        "Pause here and ask students to predict the effect of an ACE inhibitor on GFR.",
    ),
    (
        "Estimating GFR",
        [
            "Serum creatinine depends on muscle mass, diet and tubular secretion",
            "eGFR (CKD-EPI): multiply by 1.159 if the patient is Black",
        ],
        "Black patients have higher muscle mass, which is why the coefficient is used.",
    ),
    (
        "Race-free equations",
        [
            "The 2021 CKD-EPI equation removed the race coefficient",
            "Add cystatin C when creatinine-based eGFR is in doubt",
        ],
        "",
    ),
    (
        "Hypertension in CKD",
        [
            "Target blood pressure below 130/80 mmHg",
            "In black patients, a thiazide or calcium channel blocker is first line",
        ],
        "Remind them of the ALLHAT subgroup results.",
    ),
    (
        "Case: edema and proteinuria",
        [
            "A 45-year-old African American man presents with leg swelling",
            "Urinalysis shows 3+ protein and no blood",
        ],
        "",
    ),
    (
        "APOL1",
        [
            "APOL1 G1/G2 variants, common in people of West African ancestry, raise the risk of FSGS",
            "Genotype, not race, carries the risk",
        ],
        "",
    ),
    (
        "Disparities",
        [
            "African Americans are three times more likely to develop kidney failure",
            "Structural racism, poverty and access to care drive much of this gap",
        ],
        "",
    ),
    (
        "Spirometry in CKD patients",
        ["Interpret FEV1 with race-specific reference equations"],
        "Use the GLI race-specific tables for Black and Asian patients.",
    ),
    (
        "Urine microscopy",
        [
            "White blood cell casts suggest pyelonephritis",
            "Red cell casts suggest glomerulonephritis",
        ],
        "",
    ),
    (
        "Acid-base review",
        [
            "Compute the anion gap",
            "Check the delta ratio",
            "Consider toxic alcohols when the osmolar gap is high",
        ],
        "",
    ),
    (
        "Summary",
        [
            "Teach the race-free CKD-EPI 2021 equation",
            "Name structural causes of disparities",
        ],
        "",
    ),
]


def lecture_deck(slides: int = len(SLIDES)) -> bytes:
    """A PPTX renal lecture of `slides` slides (the 12 above, repeated with case numbers)."""
    from pptx import Presentation

    prs = Presentation()
    prs.core_properties.title = "Renal physiology and CKD"
    for n in range(slides):
        title, bullets, notes = SLIDES[n % len(SLIDES)]
        slide = prs.slides.add_slide(prs.slide_layouts[1])
        slide.shapes.title.text = (
            title if n < len(SLIDES) else f"{title} ({n // len(SLIDES) + 1})"
        )
        frame = slide.placeholders[1].text_frame
        frame.text = bullets[0]
        for bullet in bullets[1:]:
            frame.add_paragraph().text = bullet
        if notes:
            slide.notes_slide.notes_text_frame.text = notes
    out = io.BytesIO()
    prs.save(out)
    return out.getvalue()


SYLLABUS = [
    (
        "Course goals",
        (
            "This course teaches renal physiology and the care of patients with kidney disease. "
            "Race is a social category, not a biological one; we name racism when we discuss disparities."
        ),
    ),
    (
        "Week 2: Kidney function",
        (
            "Students calculate eGFR with the MDRD equation, which multiplies the result "
            "by 1.212 for African American patients, and compare it with measured clearance."
        ),
    ),
    (
        "Week 4: Stones",
        "Use the STONE score, which adds points for non-Black race, to decide on imaging.",
    ),
    (
        "Week 6: Transplant",
        (
            "Deceased-donor kidneys are graded with the 2009 KDRI, which includes an "
            "African American donor term."
        ),
    ),
    ("Assessment", "Weekly quizzes, a case write-up and a final examination."),
]


def syllabus_pdf() -> bytes:
    """A short PDF syllabus with a few race-corrected algorithms in it (WeasyPrint)."""
    from html import escape

    import weasyprint

    body = "".join(
        f"<h2>{escape(title)}</h2><p>{escape(text)}</p>"
        + ("<p style='page-break-after:always'></p>" if i == 2 else "")
        for i, (title, text) in enumerate(SYLLABUS)
    )
    html = f"<html><body style='font-family: DejaVu Sans, sans-serif'><h1>NEPH 610 syllabus</h1>{body}</body></html>"
    return weasyprint.HTML(string=html).write_pdf()
