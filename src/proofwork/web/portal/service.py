"""The candidate portal's logic: which invitation a link opens, what is graded, where it stands.

A candidate has no account: the invitation's token in the URL is the credential (stored hashed,
like API tokens). A revoked invitation, or an expired one that was never used, gets a 410 that
says so; once a submission was received, the candidate can still follow its run and read the
feedback after the deadline, but not send anything else.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from proofwork.challenges import Pack, PackError, discover
from proofwork.config import Settings
from proofwork.probes import default_registry
from proofwork.store.blobs import BlobStore
from proofwork.store.models import (
    Assessment,
    Candidate,
    Decision,
    Invitation,
    InvitationState,
    Organisation,
    Run,
    RunEvent,
    RunState,
    Submission,
    utcnow,
)
from proofwork.web.auth import CANDIDATE, INVITATION_PREFIX, Principal, hash_secret
from proofwork.web.errors import ApiError
from proofwork.web.mail import send_mail
from proofwork.web.portal.feedback import Feedback, candidate_feedback
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


def mark_opened(session: Session, invitation_id: str) -> None:
    """Record when the candidate first opened the link (once)."""
    session.execute(
        update(Invitation)
        .where(Invitation.id == invitation_id, Invitation.opened_at.is_(None))
        .values(opened_at=utcnow())
    )


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


def planned_probes(pack: Pack | None) -> list[str]:
    """The probes a run of this pack makes, by name (a generic run: those for a service)."""
    kind = pack.spec.kind if pack is not None else "service"
    found = []
    for probe in default_registry().create():
        kinds = getattr(probe, "kinds", (kind,))
        if kind in kinds and not (pack is None and probe.name in PACK_ONLY):
            found.append(probe.name)
    return found


def probe_title(name: str) -> str:
    """A probe's name in plain words."""
    return PROBE_WORDS.get(name, (name.capitalize(), ""))[0]


def probes_for(pack: Pack | None) -> list[Graded]:
    """The measurements a run of this pack makes, in plain words."""
    return [
        Graded(*PROBE_WORDS.get(name, (name.capitalize(), name))) for name in planned_probes(pack)
    ]


@dataclass
class Step:
    """One probe of a run as the status page shows it."""

    name: str
    title: str
    state: str = "waiting"  # waiting | running | done


def progress(planned: list[str], events: list[RunEvent]) -> list[Step]:
    """The run's probes, each waiting, running or done, from its events so far."""
    steps = {name: Step(name, probe_title(name)) for name in planned}
    for event in events:
        if event.kind not in ("probe-start", "probe-end"):
            continue
        if planned and event.name not in steps and event.name in PROBE_WORDS:
            continue  # a probe the engine passes over for this kind (load for a batch job)
        step = steps.setdefault(event.name, Step(event.name, probe_title(event.name)))
        step.state = "running" if event.kind == "probe-start" else "done"
    return list(steps.values())


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


def receive_submission(
    services: Services, token: str, upload: Upload, *, status_url: str
) -> tuple[Portal, Run]:
    """Store the candidate's submission through the intake, queue its run, wake the workers,
    and tell the candidate by mail that it arrived."""
    with services.factory() as session:
        portal = open_portal(session, token)
        check_can_submit(portal)
        submission, run = create_submission(
            session=session,
            principal=portal.principal,
            settings=services.settings,
            blobs=services.blobs,
            upload=upload,
        )
        session.commit()
        services.ring([run.id])
        send_mail(
            services,
            org_id=portal.invitation.org_id,
            to=portal.candidate.email,
            subject=f"{portal.org_name}: your submission was received",
            text=RECEIVED.format(
                name=portal.candidate.name,
                org=portal.org_name,
                title=portal.assessment.title,
                when=f"{submission.created_at:%d %B %Y at %H:%M} UTC",
                size=submission.size,
                sha=submission.sha256[:12],
                url=status_url,
            ),
            link=status_url,
        )
        return portal, run


RECEIVED = """Hello {name},

{org} received your submission for "{title}" on {when}
({size} bytes, fingerprint {sha}).

It is being graded now. You can follow it, step by step, here:
{url}

Nothing else is needed from you. The hiring team reads every graded submission and will
let you know their decision.
"""


def feedback_for(session: Session, blobs: BlobStore, portal: Portal) -> Feedback:
    """The candidate's feedback: only when the assessment shares it, after the decision, on a
    finished run; 404 with the reason otherwise."""
    if not portal.assessment.feedback_visible:
        raise ApiError(404, f"{portal.org_name} does not share feedback for this assessment")
    decided = session.scalar(
        select(Decision.id).where(
            Decision.candidate_id == portal.candidate.id,
            Decision.assessment_id == portal.assessment.id,
        )
    )
    found = latest_run(session, portal.invitation.id)
    if decided is None or found is None:
        raise ApiError(404, "feedback is shared once the hiring team has made its decision")
    run = found[1]
    if run.state != RunState.DONE or run.report_sha256 is None:
        raise ApiError(404, "your submission's grading did not finish, so there is no feedback")
    report = json.loads(blobs.read(session, run.report_sha256))
    return candidate_feedback(report)
