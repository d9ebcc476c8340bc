"""Seeding what candidate pages need: an invitation (with its link's token) and a graded run."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from pages_support import LiveServer

from proofwork.store.database import unit_of_work
from proofwork.store.models import (
    Assessment,
    Candidate,
    Invitation,
    InvitationState,
    Run,
    RunState,
    Submission,
    utcnow,
)
from proofwork.web.auth import INVITATION_PREFIX, hash_secret, new_secret


@dataclass
class Invited:
    token: str
    invitation_id: str
    assessment_id: str
    candidate_id: str
    email: str

    @property
    def base(self) -> str:
        return f"/i/{self.token}"


def invite(
    server: LiveServer,
    org_id: str,
    *,
    pack: str | None = "sales-ledger",
    email: str = "ada@example.org",
    expires_in: dt.timedelta = dt.timedelta(days=3),
    state: InvitationState = InvitationState.PENDING,
    feedback_visible: bool = True,
) -> Invited:
    """An assessment with one candidate invited to it."""
    with unit_of_work(server.services.factory) as session:
        assessment = Assessment(
            org_id=org_id,
            title="Sales ledger round" if pack else "Generic round",
            pack_id=pack,
            pack_version="1.0.0" if pack else None,
            time_box_minutes=180 if pack else 90,
            feedback_visible=feedback_visible,
        )
        candidate = Candidate(org_id=org_id, name="Ada Lovelace", email=email, alias="Cand A")
        session.add_all([assessment, candidate])
        session.flush()
        secret = new_secret(INVITATION_PREFIX)
        invitation = Invitation(
            org_id=org_id,
            assessment_id=assessment.id,
            candidate_id=candidate.id,
            token_hash=hash_secret(secret),
            expires_at=utcnow() + expires_in,
            state=state,
        )
        session.add(invitation)
        session.flush()
        return Invited(secret, invitation.id, assessment.id, candidate.id, email)


def graded_run(
    server: LiveServer, invited: Invited, report: dict[str, object], html: bytes = b""
) -> str:
    """A finished run of a submission for the invitation, with the given report."""
    blobs = server.services.blobs
    with unit_of_work(server.services.factory) as session:
        archive = blobs.put(session, [b"not read by these pages"])
        report_blob = blobs.put(session, [json.dumps(report).encode()])
        html_blob = blobs.put(session, [html or b"<!doctype html><title>r</title><p>report"])
        submission = Submission(
            org_id=session.get_one(Invitation, invited.invitation_id).org_id,
            candidate_id=invited.candidate_id,
            assessment_id=invited.assessment_id,
            invitation_id=invited.invitation_id,
            sha256=archive.sha256,
            size=archive.size,
            origin="invitation",
        )
        session.add(submission)
        session.flush()
        run = Run(
            org_id=submission.org_id,
            submission_id=submission.id,
            state=RunState.DONE,
            report_sha256=report_blob.sha256,
            html_sha256=html_blob.sha256,
            started_at=utcnow(),
            finished_at=utcnow(),
        )
        session.add(run)
        session.get_one(Invitation, invited.invitation_id).state = InvitationState.SUBMITTED
        session.flush()
        return run.id
