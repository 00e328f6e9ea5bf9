"""Notifications: mail through a real SMTP server (aiosmtpd on 127.0.0.1), preferences,
retries, the daily jobs and the in-app list."""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import ssl
import subprocess

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import (
    ClinicStatus,
    MailStatus,
    Notification,
    NotificationKind,
)
from clinic.services import notifications, workflow
from tests import builders
from tests.conftest import free_port


def _of(user, kind=None):
    query = sa.select(Notification).where(Notification.user_id == user.id)
    if kind is not None:
        query = query.where(Notification.kind == kind)
    # The mail job runs in its own session: read what it wrote.
    query = query.order_by(Notification.id).execution_options(populate_existing=True)
    return list(db.session.scalars(query))


def _in_review(world):
    world.clinic.status = ClinicStatus.IN_REVIEW
    db.session.commit()


def test_sharing_feedback_mails_the_course_directors(world, smtp_server):
    second = builders.gen_user("director", name="Sam Second")
    world.course.directors.append(second)
    _in_review(world)
    workflow.share_feedback(
        world.coach, world.clinic, confirm=True, override_reason="Discussed in person"
    )
    mails = [m for m in smtp_server.messages if "Feedback shared" in m["Subject"]]
    assert sorted(r for m in mails for r in m.rcpt_tos) == sorted(
        [world.director.email, second.email]
    )
    mail = smtp_server.to(world.director.email)[-1]
    assert "NEPH 610 Renal Physiology (2026-27)" in mail["Subject"]
    assert mail["From"] == "clinic@school.example.edu"
    body = mail.get_content()
    assert f"http://clinic.test/clinics/{world.clinic.id}" in body
    assert "Cory Coach" in body
    assert not smtp_server.to(world.coach.email) and not smtp_server.to(
        world.dean.email
    )
    [entry] = _of(world.director, NotificationKind.FEEDBACK_SHARED)
    assert entry.mail_status == MailStatus.SENT and entry.attempts == 1


def test_a_reply_mails_the_others_in_the_thread_not_its_author(world, smtp_server):
    world.clinic.status = ClinicStatus.FEEDBACK_SHARED
    db.session.commit()
    root = workflow.add_comment(world.coach, world.finding, "Please revise this.")
    assert not smtp_server.messages  # a new thread: nobody is in it yet
    workflow.add_comment(world.director, world.finding, "Will do.", parent=root)
    assert not smtp_server.to(world.director.email)
    [mail] = smtp_server.to(world.coach.email)
    assert "Reply from Dora Director" in mail["Subject"]
    assert "renal-lecture" in mail["Subject"] and "NEPH 610" in mail["Subject"]
    body = mail.get_content()
    assert "Will do." in body
    assert (
        f"http://clinic.test/versions/{world.version.id}/review#finding-{world.finding.id}"
        in body
    )
    workflow.add_comment(world.coach, world.finding, "Thanks!", parent=root)
    assert len(smtp_server.to(world.director.email)) == 1
    assert len(smtp_server.to(world.coach.email)) == 1


def test_internal_notes_never_notify(world, smtp_server):
    _in_review(world)
    before = len(_of(world.director))
    workflow.add_note(world.coach, world.clinic, "Director seemed defensive.")
    workflow.add_note(
        world.coach, world.clinic, "Check the citation.", finding=world.finding
    )
    assert len(_of(world.director)) == before
    assert not smtp_server.messages


def test_assigning_an_action_item_mails_its_owner(world, smtp_server):
    item = workflow.create_action_item(
        world.coach,
        world.clinic,
        title="Replace the eGFR slide",
        owner=world.director,
        due_date=dt.date(2027, 1, 15),
    )
    [mail] = smtp_server.to(world.director.email)
    assert "Replace the eGFR slide" in mail["Subject"]
    body = mail.get_content()
    assert "2027-01-15" in body and "NEPH 610 Renal Physiology" in body
    assert f"http://clinic.test/clinics/{world.clinic.id}#action-items" in body
    # Re-assigning to the same owner, or by the owner themself, sends nothing more.
    workflow.update_action_item(world.coach, item, owner=world.director)
    assert len(smtp_server.messages) == 1


def test_overdue_items_are_notified_once(world, smtp_server, runner):
    workflow.update_action_item(
        world.admin, world.action_item, due_date=dt.date.today() - dt.timedelta(days=1)
    )
    result = runner.invoke(args=["notifications", "overdue"])
    assert result.exit_code == 0, result.output
    assert "1 overdue" in result.output
    [mail] = smtp_server.to(world.director.email)
    assert "Overdue: Teach CKD-EPI 2021" in mail["Subject"]
    assert runner.invoke(args=["notifications", "overdue"]).exit_code == 0
    assert notifications.notify_overdue() == []
    assert len(smtp_server.messages) == 1


def test_preferences_off_and_digest(world, smtp_server, runner):
    notifications.set_preferences(
        world.director,
        {"action_assigned": "off", "feedback_shared": "digest"},
    )
    workflow.create_action_item(
        world.coach, world.clinic, title="No mail for this", owner=world.director
    )
    _in_review(world)
    workflow.share_feedback(
        world.coach, world.clinic, confirm=True, override_reason="Agreed"
    )
    assert not smtp_server.messages
    # Still listed in the app.
    kinds = [n.kind for n in _of(world.director)]
    assert NotificationKind.FEEDBACK_SHARED in kinds
    assert _of(world.director, NotificationKind.ACTION_ASSIGNED)[-1].mail_status == (
        MailStatus.NONE
    )
    result = runner.invoke(args=["notifications", "digest"])
    assert result.exit_code == 0 and "1 digest" in result.output
    [mail] = smtp_server.messages
    assert mail.rcpt_tos == [world.director.email]
    assert "digest" in mail["Subject"].lower()
    body = mail.get_content()
    assert "Feedback shared: NEPH 610" in body and "No mail for this" not in body
    assert f"http://clinic.test/clinics/{world.clinic.id}" in body
    assert runner.invoke(args=["notifications", "digest"]).output.startswith("0 ")


def test_a_failed_send_is_recorded_and_retried(app, world, smtp_server, runner):
    app.config["SMTP_PORT"] = free_port()  # nothing listens there
    workflow.create_action_item(
        world.coach, world.clinic, title="Retry me", owner=world.director
    )
    entry = _of(world.director, NotificationKind.ACTION_ASSIGNED)[-1]
    assert entry.mail_status == MailStatus.FAILED and entry.attempts == 1
    assert entry.last_error
    assert not smtp_server.messages
    app.config["SMTP_PORT"] = smtp_server.port
    result = runner.invoke(args=["notifications", "retry-failed"])
    assert result.exit_code == 0 and "1 failed" in result.output
    db.session.refresh(entry)
    assert entry.mail_status == MailStatus.SENT and entry.attempts == 2
    [mail] = smtp_server.to(world.director.email)
    assert "Retry me" in mail["Subject"]


def test_without_a_host_mail_is_only_logged(app, world, caplog):
    assert app.config["SMTP_HOST"] is None  # the embedded default
    with caplog.at_level(logging.INFO, logger="clinic.mail"):
        workflow.create_action_item(
            world.coach, world.clinic, title="Logged only", owner=world.director
        )
    assert any("Logged only" in r.getMessage() for r in caplog.records)
    assert world.director.email in caplog.text
    assert _of(world.director)[-1].mail_status == MailStatus.SENT


def test_notification_list_badge_and_mark_read(client, auth, world):
    workflow.create_action_item(
        world.coach, world.clinic, title="Second item", owner=world.director
    )
    auth.login(world.director.email)
    page = client.get("/").get_data(as_text=True)
    assert 'id="unread-count">2<' in page
    listing = client.get("/notifications").get_data(as_text=True)
    assert "Second item" in listing and "Teach CKD-EPI 2021" in listing
    first, second = _of(world.director)[:2]
    # Opening an entry from the list marks it read and lands on its link.
    opened = client.get(f"/notifications/{second.id}/open")
    assert opened.status_code == 302
    assert opened.headers["Location"] == f"/clinics/{world.clinic.id}#action-items"
    assert 'id="unread-count">1<' in client.get("/").get_data(as_text=True)
    second.read_at = None
    db.session.commit()
    token = auth.csrf_token("/notifications")
    response = client.post(
        f"/notifications/{first.id}/read", data={"csrf_token": token}
    )
    assert response.status_code == 302
    assert 'id="unread-count">1<' in client.get("/").get_data(as_text=True)
    client.post("/notifications/read-all", data={"csrf_token": token})
    assert "unread-count" not in client.get("/").get_data(as_text=True)
    assert notifications.unread_count(world.director) == 0


def test_nobody_reads_or_marks_another_users_notifications(client, auth, world):
    entry = _of(world.director)[0]
    auth.login(world.coach.email)
    assert "Teach CKD-EPI 2021" not in client.get("/notifications").get_data(
        as_text=True
    )
    token = auth.csrf_token("/notifications")
    response = client.post(
        f"/notifications/{entry.id}/read", data={"csrf_token": token}
    )
    # Someone else's: as if it did not exist.
    assert response.status_code == 404
    assert client.get(f"/notifications/{entry.id}/open").status_code == 404
    assert (
        client.post(
            "/notifications/999999/read", data={"csrf_token": token}
        ).status_code
        == 404
    )
    client.post("/notifications/read-all", data={"csrf_token": token})
    db.session.refresh(entry)
    assert entry.read_at is None


def test_preferences_form(client, auth, world):
    auth.login(world.director.email)
    page = client.get("/auth/notifications").get_data(as_text=True)
    assert "Daily digest" in page and "An action item assigned to you" in page
    token = auth.csrf_token("/auth/notifications")
    response = client.post(
        "/auth/notifications",
        data={
            "csrf_token": token,
            "feedback_shared": "digest",
            "reply": "off",
            "action_assigned": "immediate",
            "action_overdue": "immediate",
        },
    )
    assert response.status_code == 302
    chosen = notifications.preferences(world.director)
    assert chosen[NotificationKind.FEEDBACK_SHARED].value == "digest"
    assert chosen[NotificationKind.REPLY].value == "off"
    bad = client.post(
        "/auth/notifications",
        data={"csrf_token": token, "reply": "weekly"},
    )
    assert bad.status_code == 200
    assert notifications.preferences(world.director)[NotificationKind.REPLY].value == (
        "off"
    )


def test_home_feed_names_the_document_and_the_course(client, auth, world):
    auth.login(world.coach.email)
    home = client.get("/").get_data(as_text=True)
    assert "“renal-lecture”" in home
    assert "NEPH 610 Renal Physiology (2026-27)" in home


def test_api_lists_marks_and_sets_preferences(client, world):
    from clinic.services import tokens

    _, token = tokens.create_token(None, world.director, "script")
    headers = {"Authorization": f"Bearer {token}"}
    data = client.get("/api/v1/notifications", headers=headers).get_json()
    assert data["unread"] == 1
    [entry] = data["notifications"]
    assert entry["kind"] == "action_assigned" and "Teach CKD-EPI" in entry["subject"]
    assert entry["link"] == f"/clinics/{world.clinic.id}#action-items"
    read = client.post(
        f"/api/v1/notifications/{entry['id']}/read", headers=headers
    ).get_json()
    assert read["read_at"]
    assert (
        client.get("/api/v1/notifications", headers=headers).get_json()["unread"] == 0
    )
    # Someone else's notification: refused.
    _, coach_token = tokens.create_token(None, world.coach, "script")
    response = client.post(
        f"/api/v1/notifications/{entry['id']}/read",
        headers={"Authorization": f"Bearer {coach_token}"},
    )
    assert response.status_code == 404  # someone else's: as if it did not exist
    assert (
        client.get(
            "/api/v1/notifications", headers={"Authorization": f"Bearer {coach_token}"}
        ).get_json()["notifications"]
        == []
    )
    prefs = client.put(
        "/api/v1/notifications/preferences", headers=headers, json={"reply": "digest"}
    )
    assert prefs.status_code == 200
    assert prefs.get_json()["preferences"]["reply"] == "digest"
    bad = client.put(
        "/api/v1/notifications/preferences", headers=headers, json={"reply": "weekly"}
    )
    assert bad.status_code == 400


def test_mail_waits_for_the_queue_not_the_request(app, world, smtp_server):
    """With a real (SQLite) queue, the service only queues the mail; a worker sends it."""
    huey = app.extensions["huey"]
    huey.immediate = False  # back to the configured SQLite queue
    try:
        workflow.create_action_item(
            world.coach, world.clinic, title="Queued mail", owner=world.director
        )
        entry = _of(world.director, NotificationKind.ACTION_ASSIGNED)[-1]
        assert entry.mail_status == MailStatus.PENDING
        assert not smtp_server.messages and huey.pending_count() == 1
        huey.execute(huey.dequeue())
        assert _of(world.director)[-1].mail_status == MailStatus.SENT
        [mail] = smtp_server.to(world.director.email)
        assert "Queued mail" in mail["Subject"]
    finally:
        huey.flush()
        huey.immediate = True


@pytest.fixture
def self_signed(tmp_path, monkeypatch):
    """A certificate for 127.0.0.1 (openssl), trusted by this process through SSL_CERT_FILE."""
    if not shutil.which("openssl"):
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


@pytest.mark.parametrize("mode", ["starttls", "ssl"])
def test_mail_over_tls(app, world, self_signed, mode):
    """STARTTLS (with a required sign-in) and SSL, against a real server."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    from tests.conftest import SmtpInbox

    def authenticator(server, session, envelope, mechanism, auth_data):
        good = isinstance(auth_data, LoginPassword) and (
            auth_data.login,
            auth_data.password,
        ) == (b"mailer", b"s3cret")
        return AuthResult(success=good)

    inbox = SmtpInbox()
    options = (
        {
            "tls_context": self_signed,
            "require_starttls": True,
            "authenticator": authenticator,
            "auth_required": True,
        }
        if mode == "starttls"
        else {"ssl_context": self_signed}
    )
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), **options)
    controller.start()
    try:
        app.config.update(
            SMTP_HOST="127.0.0.1", SMTP_PORT=controller.port, SMTP_TLS=mode
        )
        if mode == "starttls":  # and sign in to the server
            app.config.update(SMTP_USER="mailer", SMTP_PASSWORD="s3cret")
        workflow.create_action_item(
            world.coach, world.clinic, title=f"Over {mode}", owner=world.director
        )
    finally:
        controller.stop()
    [mail] = inbox.to(world.director.email)
    assert f"Over {mode}" in mail["Subject"]
