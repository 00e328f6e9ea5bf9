"""The course pattern report: conditions taught with race terms across a course."""

from clinic.export.patterns import course_patterns
from tests import builders

DECK = (
    "Sickle cell disease is common in Black patients.\n\n"
    "A 12-year-old Black boy with sickle cell disease presents with pain.\n\n"
    "Cystic fibrosis is most common in White children of Northern European ancestry.\n\n"
    "Check the white blood cell count in sickle cell disease."
)


def test_condition_always_with_one_group_is_reported(world):
    builders.gen_version(
        world.clinic, world.director, filename="haem.txt", data=DECK.encode()
    )
    patterns = {p.condition: p for p in course_patterns(world.course)}
    sickle = patterns["sickle cell disease"]
    assert (
        sickle.mentions == 2
        and sickle.single_group
        and sickle.summary == "all with Black"
    )
    assert "haem" in sickle.documents
    assert "cystic fibrosis" in patterns


def test_other_courses_do_not_count(world):
    builders.gen_version(
        world.other_clinic,
        world.other_director,
        filename="haem.txt",
        data=DECK.encode(),
    )
    assert "sickle cell disease" not in {
        p.condition for p in course_patterns(world.course)
    }


def test_clinic_page_and_action_plan_show_patterns(client, auth, world):
    builders.gen_version(
        world.clinic, world.director, filename="haem.txt", data=DECK.encode()
    )
    auth.login(world.coach.email)
    page = client.get(f"/clinics/{world.clinic.id}").get_data(as_text=True)
    assert (
        "Patterns across the course" in page
        and "sickle cell disease" in page
        and "one group only" in page
    )
    import io

    from pypdf import PdfReader

    pdf = client.get(f"/clinics/{world.clinic.id}/action-plan.pdf").data
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "Patterns across the course" in text and "sickle cell disease" in text


def test_dean_sees_school_wide_patterns(client, auth, world):
    builders.gen_version(
        world.clinic, world.director, filename="haem.txt", data=DECK.encode()
    )
    builders.gen_version(
        world.other_clinic,
        world.other_director,
        filename="haem2.txt",
        data=DECK.encode(),
    )
    auth.login(world.dean.email)
    page = client.get("/summary").get_data(as_text=True)
    assert "Patterns across the school" in page
    assert "sickle cell disease" in page and "all with Black" in page
