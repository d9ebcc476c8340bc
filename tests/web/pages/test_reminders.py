"""Reminders before an invitation's deadline: sent once, only when due, through SMTP."""

from __future__ import annotations

import datetime as dt
import threading

from pages_support import SmtpServer, mail_text
from sqlalchemy import select
from web_support import EMAIL, World

from proofwork.store.models import Invitation, InvitationReminder, InvitationState, Mail, utcnow
from proofwork.web.app import Services
from proofwork.web.reminders import remind_forever, send_due_reminders


def _expire_in(services: Services, world: World, hours: float, age_hours: float = 72) -> None:
    with services.factory() as session, session.begin():
        invitation = session.get(Invitation, world.ids["invitation_id"])
        assert invitation is not None
        invitation.expires_at = utcnow() + dt.timedelta(hours=hours)
        invitation.created_at = utcnow() - dt.timedelta(hours=age_hours)


def _mailing(services: Services, smtp_server: SmtpServer) -> None:
    services.settings = services.settings.model_copy(
        update={"smtp_host": smtp_server.host, "smtp_port": smtp_server.port,
                "smtp_starttls": False, "reminder_hours": 24}
    )  # fmt: skip


def test_a_candidate_is_reminded_once_before_the_deadline(
    services: Services, world: World, smtp_server: SmtpServer
) -> None:
    _mailing(services, smtp_server)
    _expire_in(services, world, hours=30)
    assert send_due_reminders(services) == 0  # not due yet
    _expire_in(services, world, hours=5)
    assert send_due_reminders(services) == 1
    message = smtp_server.wait_for(EMAIL, "Reminder: your Generic round work sample is due")
    text = mail_text(message)
    assert "Acme invited you" in text and "link in the invitation mail" in text
    assert send_due_reminders(services) == 0  # never twice
    with services.factory() as session:
        assert session.get(InvitationReminder, world.ids["invitation_id"]) is not None
        sent = session.scalars(select(Mail).where(Mail.recipient == EMAIL)).all()
        assert [m.status for m in sent] == ["sent"]


def test_no_reminder_after_submitting_or_for_a_short_invitation(
    services: Services, world: World, smtp_server: SmtpServer
) -> None:
    _mailing(services, smtp_server)
    _expire_in(services, world, hours=5, age_hours=10)  # a 15-hour invitation: just sent
    assert send_due_reminders(services) == 0
    _expire_in(services, world, hours=5)
    with services.factory() as session, session.begin():
        invitation = session.get(Invitation, world.ids["invitation_id"])
        assert invitation is not None
        invitation.state = InvitationState.SUBMITTED
    assert send_due_reminders(services) == 0


def test_the_loop_stops_when_told(services: Services) -> None:
    stop = threading.Event()
    loop = threading.Thread(target=remind_forever, args=(services, stop, 0.01))
    loop.start()
    stop.set()
    loop.join(timeout=5)
    assert not loop.is_alive()
