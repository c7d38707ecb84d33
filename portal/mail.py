"""Outgoing mail: through an SMTP server, or into a local outbox file in development.

The file is what a developer opens to follow a password-reset link; every message is also
logged with its recipient and subject (never its body: it carries the link).
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
from email.message import EmailMessage
from typing import Protocol

from portal.settings import MailSettings

log = logging.getLogger(__name__)


class MailFailed(Exception):
    """The SMTP server could not be reached or refused the message."""


class Mailer(Protocol):
    async def send(self, to: str, subject: str, body: str) -> None: ...


def compose(sender: str, to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    # 8bit, not quoted-printable: a link in the body stays clickable in a plain outbox file.
    message.set_content(body, cte="8bit")
    return message


class FileMailer:
    def __init__(self, settings: MailSettings) -> None:
        self.settings = settings

    async def send(self, to: str, subject: str, body: str) -> None:
        message = compose(self.settings.sender, to, subject, body)
        path = self.settings.outbox_file
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as outbox:
            outbox.write(message.as_string() + "\n")
        log.info("mail to %s (%r) written to %s", to, subject, path)


class SmtpMailer:
    def __init__(self, settings: MailSettings) -> None:
        self.settings = settings

    async def send(self, to: str, subject: str, body: str) -> None:
        message = compose(self.settings.sender, to, subject, body)
        try:
            await asyncio.to_thread(self._deliver, message)
        except (OSError, smtplib.SMTPException) as error:
            host = f"{self.settings.smtp_host}:{self.settings.smtp_port}"
            raise MailFailed(f"could not send mail through {host}: {error}") from None
        log.info("mail to %s (%r) sent", to, subject)

    def _deliver(self, message: EmailMessage) -> None:
        settings = self.settings
        assert settings.smtp_host is not None
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=15) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password or "")
            smtp.send_message(message)


def make_mailer(settings: MailSettings) -> Mailer:
    return SmtpMailer(settings) if settings.smtp_host else FileMailer(settings)
