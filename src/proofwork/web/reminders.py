"""Reminders before an invitation's deadline: one mail per invitation, never two.

`proofwork serve` runs `remind_forever` beside the webhook sender. Each step claims the due
invitations by inserting their `invitation_reminder` rows (the primary key makes a second
claim fail, also from another serve process), then mails the candidates. The invitation's
token is kept only as a hash, so the reminder points to the invitation mail instead of
repeating its link.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from threading import Event
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from proofwork.store.database import unit_of_work
from proofwork.store.models import (
    Assessment,
    Candidate,
    Invitation,
    InvitationReminder,
    InvitationState,
    Organisation,
    utcnow,
)
from proofwork.web.mail import send_mail

if TYPE_CHECKING:
    from proofwork.web.app import Services

log = logging.getLogger(__name__)
REMIND_EVERY_S = 60.0
BATCH = 100


@dataclass(frozen=True)
class Due:
    """A reminder to send: to whom, about what, by when."""

    invitation_id: str
    org_id: str
    org_name: str
    email: str
    name: str
    title: str
    invited_at: dt.datetime
    expires_at: dt.datetime


def _claim(services: Services) -> list[Due]:
    """Due invitations, each claimed by its reminder row in the same transaction."""
    now = utcnow()
    window = dt.timedelta(hours=services.settings.reminder_hours)
    with unit_of_work(services.factory) as session:
        rows = session.execute(
            select(Invitation, Candidate, Assessment, Organisation)
            .join(Candidate, Candidate.id == Invitation.candidate_id)
            .join(Assessment, Assessment.id == Invitation.assessment_id)
            .join(Organisation, Organisation.id == Invitation.org_id)
            .outerjoin(InvitationReminder, InvitationReminder.invitation_id == Invitation.id)
            .where(
                InvitationReminder.invitation_id.is_(None),
                Invitation.state == InvitationState.PENDING,
                Invitation.expires_at > now,
                Invitation.expires_at <= now + window,
            )
            .order_by(Invitation.expires_at)
            .limit(BATCH)
        ).all()
        due = []
        for invitation, candidate, assessment, org in rows:
            # An invitation shorter than the reminder window was just sent: no reminder.
            if invitation.expires_at - invitation.created_at <= window:
                continue
            session.add(InvitationReminder(invitation_id=invitation.id))
            due.append(
                Due(
                    invitation.id,
                    org.id,
                    org.name,
                    candidate.email,
                    candidate.name,
                    assessment.title,
                    invitation.created_at,
                    invitation.expires_at,
                )
            )
    return due


def send_due_reminders(services: Services) -> int:
    """One step: remind every candidate whose deadline is near; how many were reminded."""
    try:
        due = _claim(services)
    except IntegrityError:  # another process claimed the same invitations first
        return 0
    for item in due:
        send_mail(
            services,
            org_id=item.org_id,
            to=item.email,
            subject=f"Reminder: your {item.title} work sample is due "
            f"{item.expires_at:%Y-%m-%d %H:%M} UTC",
            text=_text(item),
        )
    return len(due)


def _text(item: Due) -> str:
    greeting = f"Hello {item.name}," if item.name else "Hello,"
    return (
        f"{greeting}\n\n"
        f"{item.org_name} invited you on {item.invited_at:%Y-%m-%d} to the work sample "
        f'"{item.title}". Your invitation expires on {item.expires_at:%Y-%m-%d at %H:%M} UTC '
        "and we have not received your submission yet.\n\n"
        "Open the link in the invitation mail to start or to submit. If you cannot find it, "
        f"or need more time, reply to {item.org_name}'s recruiter.\n"
    )


def remind_forever(services: Services, stop: Event, every_s: float = REMIND_EVERY_S) -> None:
    """Send due reminders every `every_s` until `stop` is set (a busy store is retried)."""
    while not stop.wait(every_s):
        try:
            send_due_reminders(services)
        except SQLAlchemyError:
            log.exception("reminder step failed; retrying")
