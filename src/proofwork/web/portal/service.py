"""The candidate portal's logic: which invitation a link opens, what is graded, where it stands.

A candidate has no account: the invitation's token in the URL is the credential (stored hashed,
like API tokens). A revoked invitation, or an expired one that was never used, gets a 410 that
says so; once a submission was received, the candidate can still follow its run and read the
feedback after the deadline, but not send anything else.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from proofwork.challenges import Pack, PackError, discover
from proofwork.config import Settings
from proofwork.probes import default_registry
from proofwork.store.models import (
    Assessment,
    Candidate,
    Invitation,
    InvitationState,
    Organisation,
    Run,
    Submission,
    utcnow,
)
from proofwork.web.auth import CANDIDATE, INVITATION_PREFIX, Principal, hash_secret
from proofwork.web.errors import ApiError
from proofwork.web.submissions.service import create_submission
from proofwork.web.submissions.upload import Upload

if TYPE_CHECKING:
    from proofwork.web.app import Services


class InvitationClosed(ApiError):
    """The link is known but no longer open (revoked, or expired before anything was sent)."""

    def __init__(self, message: str) -> None:
        super().__init__(410, message, "gone")


@dataclass(frozen=True)
class Portal:
    """What an invitation link opens."""

    invitation: Invitation
    assessment: Assessment
    candidate: Candidate
    org_name: str
    now: dt.datetime

    @property
    def principal(self) -> Principal:
        """The candidate as the services know callers."""
        return Principal(self.invitation.org_id, CANDIDATE, invitation_id=self.invitation.id)

    @property
    def submitted(self) -> bool:
        return self.invitation.state == InvitationState.SUBMITTED

    @property
    def expired(self) -> bool:
        return self.invitation.expires_at <= self.now

    @property
    def can_submit(self) -> bool:
        """Whether a submission may still be sent (one per invitation, before the deadline)."""
        return self.invitation.state == InvitationState.PENDING and not self.expired


def open_portal(session: Session, token: str, *, now: dt.datetime | None = None) -> Portal:
    """The invitation behind a link; 404 for an unknown one, 410 for a closed one."""
    now = now or utcnow()
    found = None
    if token.startswith(INVITATION_PREFIX) and len(token) <= 100:
        found = session.execute(
            select(Invitation, Assessment, Candidate, Organisation.name)
            .join(Assessment, Assessment.id == Invitation.assessment_id)
            .join(Candidate, Candidate.id == Invitation.candidate_id)
            .join(Organisation, Organisation.id == Invitation.org_id)
            .where(Invitation.token_hash == hash_secret(token))
        ).first()
    if found is None:
        raise ApiError(
            404,
            "this invitation link is not known: check that you copied the whole link from "
            "your e-mail, or ask the company that invited you for a new one",
        )
    portal = Portal(found[0], found[1], found[2], found[3], now)
    check_open(portal)
    return portal


def check_open(portal: Portal) -> None:
    """410 when the invitation was revoked, or expired with nothing sent."""
    invitation = portal.invitation
    if invitation.state == InvitationState.REVOKED:
        raise InvitationClosed(
            f"{portal.org_name} withdrew this invitation. If you think this is a mistake, "
            "reply to the e-mail that brought you here."
        )
    if portal.expired and not portal.submitted:
        raise InvitationClosed(
            f"This invitation expired on {invitation.expires_at:%d %B %Y at %H:%M} UTC, so it "
            f"no longer accepts submissions. Reply to the invitation e-mail to ask "
            f"{portal.org_name} for a new one."
        )


def check_can_submit(portal: Portal) -> None:
    """409 when the invitation already received its submission, 410 past the deadline."""
    if portal.submitted:
        raise ApiError(
            409, "your submission was already received; follow its grading on the status page"
        )
    if portal.expired:
        raise InvitationClosed("the deadline has passed, so this invitation takes no submission")


def pack_of(assessment: Assessment, settings: Settings) -> Pack | None:
    """The assessment's pack (None for a generic assessment or a pack no longer installed)."""
    if assessment.pack_id is None:
        return None
    try:
        return discover(settings.challenges_path).get(assessment.pack_id)
    except PackError:
        return None


def latest_run(session: Session, invitation_id: str) -> tuple[Submission, Run] | None:
    """The newest run of the invitation's submission, with the submission."""
    row = session.execute(
        select(Submission, Run)
        .join(Run, Run.submission_id == Submission.id)
        .where(Submission.invitation_id == invitation_id)
        .order_by(Run.created_at.desc(), Run.id.desc())
        .limit(1)
    ).first()
    return None if row is None else (row[0], row[1])


@dataclass(frozen=True)
class Graded:
    """One thing the candidate's work is measured on, in plain words."""

    title: str
    how: str


# What each built-in probe does, as a candidate would want it said.
PROBE_WORDS = {
    "acceptance": (
        "Does it do what the brief asks",
        "hidden checks exercise every rule of the brief, as a client or an operator would",
    ),
    "tests": ("Your tests", "we run your test suite and measure which lines and branches it runs"),
    "mutation": (
        "How much your tests notice",
        "we plant small bugs in your code and count how many your tests catch",
    ),
    "static": (
        "Readability",
        "size and complexity of functions, duplication, type annotations and lint findings",
    ),
    "security": ("Security", "a scan of your code for risky patterns (injection, eval, secrets)"),
    "load": (
        "Under load",
        "steady traffic against your service, compared with a reference on the same machine",
    ),
    "faults": (
        "When a dependency misbehaves",
        "the upstream provider is made slow or failing; we watch what your service does",
    ),
    "durability": (
        "Crashes",
        "your program is killed abruptly mid-work and restarted: is anything lost or doubled",
    ),
    "input": ("Bad input", "malformed and hostile input: it must be refused clearly, not crash"),
    "operability": (
        "Running it in production",
        "health checks, clear errors and logs an operator can search",
    ),
    "scale": (
        "More data than memory",
        "a much larger day under a tight memory limit, with the right results",
    ),
}


PACK_ONLY = ("acceptance", "load", "faults", "scale")  # they need a pack's checks or plans


def probes_for(pack: Pack | None) -> list[Graded]:
    """The measurements a run of this pack makes (a generic run: those for a service)."""
    kind = pack.spec.kind if pack is not None else "service"
    found = []
    for probe in default_registry().create():
        kinds = getattr(probe, "kinds", (kind,))
        if kind not in kinds or (pack is None and probe.name in PACK_ONLY):
            continue
        title, how = PROBE_WORDS.get(probe.name, (probe.name.capitalize(), probe.name))
        found.append(Graded(title, how))
    return found


def signals_for(pack: Pack | None) -> list[Graded]:
    """The hiring signals the pack scores: machine-scored levels, then the human rubric."""
    if pack is None:
        return []
    found = [
        Graded(spec.title, "levels 0 to 4: " + "; ".join(level.label for level in spec.levels))
        for spec in pack.spec.signals.values()
    ]
    found += [
        Graded(spec.title, f"read by reviewers who do not see your name: {spec.question}")
        for spec in pack.rubric.values()
    ]
    return found


def receive_submission(services: Services, token: str, upload: Upload) -> tuple[Portal, Run]:
    """Store the candidate's submission through the intake, queue its run, wake the workers."""
    with services.factory() as session:
        portal = open_portal(session, token)
        check_can_submit(portal)
        _, run = create_submission(
            session=session,
            principal=portal.principal,
            settings=services.settings,
            blobs=services.blobs,
            upload=upload,
        )
        session.commit()
        services.ring([run.id])
        return portal, run
