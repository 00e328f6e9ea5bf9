"""Sending one email through the configured SMTP server (or only logging it)."""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage

from flask import current_app

log = logging.getLogger(__name__)
TLS_MODES = ("off", "starttls", "ssl")
DEFAULT_PORTS = {"off": 25, "starttls": 587, "ssl": 465}
TIMEOUT_SECONDS = 30


class MailError(Exception):
    """The message could not be handed to the SMTP server."""


def send(to: str, subject: str, body: str) -> bool:
    """Send a plain-text message; True when sent, False when only logged (no host)."""
    config = current_app.config
    message = EmailMessage()
    message["From"] = config["MAIL_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    host = config.get("SMTP_HOST")
    if not host:
        log.info("mail (no SMTP host, logged only) to %s: %s\n%s", to, subject, body)
        return False
    tls = (config.get("SMTP_TLS") or "off").lower()
    if tls not in TLS_MODES:
        raise MailError(f"SMTP_TLS must be one of {', '.join(TLS_MODES)}, not {tls!r}")
    port = int(config.get("SMTP_PORT") or DEFAULT_PORTS[tls])
    try:
        if tls == "ssl":
            smtp = smtplib.SMTP_SSL(
                host,
                port,
                timeout=TIMEOUT_SECONDS,
                context=ssl.create_default_context(),
            )
        else:
            smtp = smtplib.SMTP(host, port, timeout=TIMEOUT_SECONDS)
        with smtp:
            if tls == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if config.get("SMTP_USER"):
                smtp.login(config["SMTP_USER"], config.get("SMTP_PASSWORD") or "")
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as error:
        raise MailError(f"{type(error).__name__}: {error}") from error
    return True
