"""In the browser: two coaches on one clinic. The admin adds a second coach and names
the lead; the second coach dismisses a finding the first confirms, and assigns another
to the first; the lead sees "Coaches differ", filters on it and settles it, and finds
what was assigned to them with "Assigned to me".

Runs on a clinic of its own (tests/e2e/own_clinic.py).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ACCOUNTS, VIEWPORT, assert_accessible
from tests.e2e.own_clinic import new_clinic

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def clinic(server, browser, login):
    page = login("admin")
    own = new_clinic(page, "PAIR 401", "Two Coaches")
    page.goto(f"/admin/clinics/{own.clinic_id}/coaches")
    page.get_by_label(f"{ACCOUNTS['coach2'].name} <{ACCOUNTS['coach2'].email}>").check()
    page.get_by_label("Lead coach").select_option(
        label=f"{ACCOUNTS['coach'].name} <{ACCOUNTS['coach'].email}>"
    )
    page.get_by_role("button", name="Save coaches").click()
    expect(page.locator("main")).to_contain_text(
        f"{ACCOUNTS['coach'].name} (lead), {ACCOUNTS['coach2'].name}"
    )
    return own


@pytest.fixture(scope="module")
def login(server, browser):
    """Module-scoped sign-in (the clinic fixture is module-scoped too)."""
    from tests.e2e.conftest import PASSWORD

    contexts = []

    def _login(role):
        account = ACCOUNTS[role]
        context = browser.new_context(viewport=VIEWPORT, base_url=server.url)
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.goto("/auth/login")
        page.get_by_label("Email").fill(account.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator("header")).to_contain_text(account.name)
        return page

    yield _login
    for context in contexts:
        context.close()


def _cards(page):
    return page.locator("#findings li.finding")


def test_coaches_differ_and_the_lead_settles(clinic, login, screenshot):
    review = f"/versions/{clinic.version_id}/review"
    jordan = login("coach2")
    jordan.goto(review)
    cards = _cards(jordan)
    first, second = cards.nth(0), cards.nth(1)
    first_id, second_id = (
        first.get_attribute("data-id"),
        second.get_attribute("data-id"),
    )
    first.locator("summary", has_text="Dismiss…").click()
    dismiss = first.locator(".dismiss-form")
    dismiss.get_by_label("Reason").select_option("race_conscious")
    dismiss.get_by_label("Comment").fill("It names racism as the cause.")
    first.get_by_role("button", name="Dismiss finding").click()
    jordan.wait_for_load_state()
    card = jordan.locator(f"#finding-{second_id}")
    card.get_by_label("Assign").select_option(label=ACCOUNTS["coach"].name)
    card.get_by_role("button", name="Assign", exact=True).click()
    expect(jordan.get_by_role("status").first).to_contain_text(
        f"Assigned to {ACCOUNTS['coach'].name}."
    )

    casey = login("coach")
    casey.goto(review)
    casey.locator(f"#finding-{first_id}").get_by_role(
        "button", name="Confirm", exact=True
    ).click()
    casey.wait_for_load_state()
    casey.goto(review)
    casey.get_by_label("Coaches", exact=True).select_option("differ")
    visible = casey.locator("#findings li.finding:visible")
    expect(visible).to_have_count(1)
    card = casey.locator(f"#finding-{first_id}")
    expect(card.locator(".differ")).to_contain_text("Coaches differ")
    expect(card.locator(".differ")).to_contain_text(
        f"{ACCOUNTS['coach'].name}: confirmed"
    )
    expect(card.locator(".differ")).to_contain_text(
        f"{ACCOUNTS['coach2'].name}: dismissed (Race-conscious"
    )
    card.scroll_into_view_if_needed()
    screenshot(casey, "22-coach-coaches-differ")
    assert_accessible(casey, "review screen, coaches differ")
    card.locator(".settle-form").get_by_label("Comment").fill(
        "Discussed: the slide explains racism as the cause."
    )
    card.locator(".settle-form").get_by_label("Reason (to dismiss)").select_option(
        "race_conscious"
    )
    card.get_by_role("button", name="Settle: dismiss").click()
    expect(casey.get_by_role("status").first).to_contain_text("Settled as dismissed.")
    card = casey.locator(f"#finding-{first_id}")
    expect(card.locator(".settled")).to_contain_text(
        f"Settled by {ACCOUNTS['coach'].name}, lead coach"
    )
    expect(card.locator(".differ")).to_have_count(0)

    # What Jordan assigned to Casey, found with "Assigned to me".
    casey.get_by_label("Assigned", exact=True).select_option("me")
    visible = casey.locator("#findings li.finding:visible")
    expect(visible).to_have_count(1)
    expect(visible.first).to_have_attribute("data-id", second_id)
    expect(visible.first.locator(".assigned")).to_have_text("Assigned to you")
    # Casey puts it under another criterion.
    mine = visible.first
    mine.locator("summary", has_text="Change criterion…").click()
    mine.get_by_label("New criterion for").select_option("RC-BIO")
    mine.scroll_into_view_if_needed()
    screenshot(casey, "23-coach-assigned-change-criterion")
    mine.get_by_role("button", name="Change", exact=True).click()
    casey.wait_for_load_state()
    expect(casey.locator(f"#finding-{second_id} code").first).to_have_text("RC-BIO")

    # Jordan, not the lead, never had the settle buttons.
    jordan.goto(review)
    expect(jordan.get_by_role("button", name="Settle: dismiss")).to_have_count(0)
