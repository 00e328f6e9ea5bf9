"""Notification mails in the browser: a coach shares feedback and the course director
gets an email (through a real SMTP server, aiosmtpd on 127.0.0.1 in this process) whose
link opens the clinic; the director's reply mails the coach; both see the notification
in the app, with its unread count.

A server of its own: mail needs CLINIC_SMTP_* and a CLINIC_BASE_URL naming the server.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from tests.conftest import SmtpInbox
from tests.e2e.conftest import ACCOUNTS, assert_accessible, free_port, running_server
from tests.e2e.own_clinic import move_to, new_clinic, status

pytestmark = pytest.mark.e2e

MAIL_SECONDS = 60  # the worker polls its queue; the first send also imports smtplib
COMMENT = "Please replace the race-adjusted eGFR with the 2021 CKD-EPI equation."
REPLY = "Agreed: the new slide is ready for the next cohort."


@pytest.fixture(scope="module")
def inbox():
    from aiosmtpd.controller import Controller

    received = SmtpInbox()
    controller = Controller(received, hostname="127.0.0.1", port=free_port())
    controller.start()
    received.port = controller.port
    try:
        yield received
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory, inbox):
    port = free_port()
    with running_server(
        tmp_path_factory.mktemp("e2e-mail"),
        port=port,
        CLINIC_SMTP_HOST="127.0.0.1",
        CLINIC_SMTP_PORT=str(inbox.port),
        CLINIC_SMTP_TLS="off",
        CLINIC_MAIL_FROM="clinic@school.example.edu",
        CLINIC_BASE_URL=f"http://127.0.0.1:{port}",
    ) as running:
        yield running


def _mail_to(inbox: SmtpInbox, email: str, subject: str):
    deadline = time.monotonic() + MAIL_SECONDS
    while time.monotonic() < deadline:
        for message in inbox.to(email):
            if subject in message["Subject"]:
                return message
        time.sleep(0.5)
    seen = [(m.rcpt_tos, m["Subject"]) for m in inbox.messages]
    pytest.fail(f"no mail to {email} with {subject!r} in {MAIL_SECONDS} s; saw {seen}")


def _link(message) -> str:
    body = message.get_body(preferencelist=("plain",)).get_content()
    return re.search(r"Open it: (\S+)", body).group(1)


def test_share_and_reply_mail_the_other_side(server, inbox, login, screenshot):
    clinic = new_clinic(login("admin"), "MAIL 401", "Notification Mails")
    director = login("director")
    director.goto(f"/clinics/{clinic.clinic_id}")
    move_to(director, "Materials submitted")

    coach = login("coach")
    coach.goto(f"/clinics/{clinic.clinic_id}")
    move_to(coach, "In review")
    coach.goto(f"/versions/{clinic.version_id}/review")
    card = coach.locator("#findings li.finding").first
    finding_id = card.get_attribute("id")
    card.locator("details.comments summary").click()
    card.get_by_label(re.compile("^Comment on")).fill(COMMENT)
    card.get_by_role("button", name="Post comment").click()
    expect(coach.locator(f"#{finding_id} details.comments summary")).to_have_text(
        "Comments (1)"
    )
    assert inbox.to(ACCOUNTS["director"].email) == []  # comments are private so far

    coach.goto(f"/clinics/{clinic.clinic_id}")
    coach.get_by_role("link", name="Move to “Feedback shared”…").click()
    coach.get_by_label(re.compile("^Reason for overriding")).fill(
        "Discussed at the coaching session."
    )
    coach.get_by_role("button", name="Override and move to “Feedback shared”").click()
    expect(status(coach)).to_have_text("Feedback shared")

    # --- the director's mail: recipient, subject, and a link that opens the clinic ---
    shared = _mail_to(inbox, ACCOUNTS["director"].email, "Feedback shared")
    assert shared.rcpt_tos == [ACCOUNTS["director"].email]
    assert "MAIL 401" in shared["Subject"]
    assert shared["From"] == "clinic@school.example.edu"
    link = _link(shared)
    assert link == f"{server.url}/clinics/{clinic.clinic_id}"
    director.goto(link)
    expect(director.locator("h1")).to_contain_text("MAIL 401")
    expect(director.locator("#unread-count")).to_contain_text("1")
    director.locator("nav").get_by_role(
        "link", name=re.compile("^Notifications")
    ).click()
    expect(director.locator("main")).to_contain_text("Feedback shared: MAIL 401")
    screenshot(director, "20-director-notifications")
    assert_accessible(director, "notification list")

    # --- the director replies on the coach's thread: the coach gets a mail ---
    director.goto(f"/versions/{clinic.version_id}/review")
    card = director.locator(f"#{finding_id}")
    # The thread is open; a comment on it replies to its last entry.
    card.get_by_label(re.compile("^Comment on")).fill(REPLY)
    card.get_by_role("button", name="Post comment").click()
    expect(director.locator(f"#{finding_id} details.comments")).to_contain_text(REPLY)
    reply = _mail_to(inbox, ACCOUNTS["coach"].email, "Reply from Dana Director")
    assert reply.rcpt_tos == [ACCOUNTS["coach"].email]
    body = reply.get_body(preferencelist=("plain",)).get_content()
    assert REPLY in body
    assert _link(reply) == (
        f"{server.url}/versions/{clinic.version_id}/review#{finding_id}"
    )
    assert not inbox.to(ACCOUNTS["director"].email)[1:]  # no mail for one's own reply

    # --- the coach's email settings ---
    coach.goto("/auth/notifications")
    expect(coach.locator("main")).to_contain_text("Email")
    screenshot(coach, "21-coach-email-settings")
    assert_accessible(coach, "email settings")
