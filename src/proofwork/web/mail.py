"""Mail: through SMTP when PROOFWORK_SMTP_HOST is set, else kept in the outbox for owners.

Every mail is recorded (sent, failed, or waiting in the outbox), so an owner can see what went
out and copy a link when the mail did not reach someone. The embedded default needs no SMTP.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from typing import TYPE_CHECKING

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from proofwork.config import Settings
from proofwork.store.database import unit_of_work
from proofwork.store.models import Mail

if TYPE_CHECKING:
    from proofwork.web.app import Services

log = logging.getLogger(__name__)
SMTP_TIMEOUT_S = 15.0
OUTBOX, SENT, FAILED = "outbox", "sent", "failed"


class MailError(Exception):
    """The SMTP server refused or could not be reached."""


def deliver(settings: Settings, *, to: str, subject: str, text: str) -> None:
    """Send one plain-text mail through the configured SMTP server."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = settings.smtp_from, to, subject
    message.set_content(text)
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_S) as smtp:
            smtp.ehlo()
            if settings.smtp_starttls and smtp.has_extn("starttls"):
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password)
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"{settings.smtp_host}:{settings.smtp_port}: {exc}") from exc


def send_mail(
    services: Services, *, org_id: str, to: str, subject: str, text: str, link: str = ""
) -> Mail:
    """Send a mail (SMTP if configured, else the outbox) and record it.

    `link` is what the outbox page offers to copy (an invitation's, say). A failed SMTP send is
    recorded with its reason, not raised: the owner sees it in the outbox."""
    settings = services.settings
    status, error = OUTBOX, ""
    if settings.smtp_host:
        try:
            deliver(settings, to=to, subject=subject, text=text)
            status = SENT
        except MailError as exc:
            log.warning("mail to %s failed: %s", to, exc)
            status, error = FAILED, str(exc)
    with unit_of_work(services.factory) as session:
        mail = Mail(
            org_id=org_id, recipient=to, subject=subject, text=text, link=link, status=status,
            error=error,
        )  # fmt: skip
        session.add(mail)
    return mail


def outbox_query(org_id: str) -> Select[Mail]:
    """The organisation's mails, newest first."""
    return select(Mail).where(Mail.org_id == org_id)


def recent(session: Session, org_id: str, limit: int = 200) -> list[Mail]:
    """The organisation's latest mails."""
    query = outbox_query(org_id).order_by(Mail.created_at.desc(), Mail.id).limit(limit)
    return list(session.scalars(query))
