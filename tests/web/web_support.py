"""The API's test world: two organisations, personas with tokens, and org A's objects."""

from __future__ import annotations

import datetime as dt
import io
import tarfile
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from proofwork.store.blobs import BlobStore
from proofwork.store.models import (
    Assessment,
    Candidate,
    Decision,
    DeliveryState,
    Invitation,
    Outcome,
    Role,
    Run,
    RunState,
    Scorecard,
    Submission,
    WebhookDelivery,
    WebhookEndpoint,
    utcnow,
)
from proofwork.web import admin
from proofwork.web.auth import INVITATION_PREFIX, hash_secret, new_secret
from proofwork.webhooks.signing import new_secret as new_webhook_secret

PERSONAS = ["owner", "recruiter", "reviewer", "candidate", "outsider", "anonymous"]
NAME, EMAIL = "Ada Lovelace", "ada.lovelace@example.org"


def tiny_archive(files: dict[str, str] | None = None) -> bytes:
    """A small .tar.gz project."""
    files = files or {"tiny.py": "def add(a, b):\n    return a + b\n"}
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"tiny/{name}")
            info.size, info.mtime = len(data), 1_700_000_000
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


@dataclass
class World:
    tokens: dict[str, str | None] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)  # org A's objects by path parameter

    def headers(self, persona: str) -> dict[str, str]:
        token = self.tokens[persona]
        return {"Authorization": f"Bearer {token}"} if token else {}

    @property
    def secrets(self) -> list[str]:
        """What nobody outside org A may ever see: its ids, the candidate's name and e-mail."""
        return [*self.ids.values(), NAME, EMAIL]


def build_world(session: Session, blobs: BlobStore) -> World:
    """Org A with every kind of object, org B with an owner; a token per persona."""
    world = World()
    acme = admin.create_org(session=session, name="Acme")
    other = admin.create_org(session=session, name="Other")
    for role in (Role.OWNER, Role.RECRUITER, Role.REVIEWER):
        user = admin.create_user(session=session, org=acme, email=f"{role}@acme.test", role=role)
        world.tokens[str(role)] = admin.create_token(
            session=session, org=acme, role=role, user=user
        )[1]
    outsider = admin.create_user(session=session, org=other, email="o@other.test", role=Role.OWNER)
    world.tokens["outsider"] = admin.create_token(
        session=session, org=other, role=Role.OWNER, user=outsider
    )[1]
    world.tokens["anonymous"] = None
    assessment = Assessment(org_id=acme.id, title="Generic round", time_box_minutes=60)
    candidate = Candidate(org_id=acme.id, name=NAME, email=EMAIL, alias="Candidate 1A2B3C")
    session.add_all([assessment, candidate])
    session.flush()
    secret = new_secret(INVITATION_PREFIX)
    invitation = Invitation(
        org_id=acme.id,
        assessment_id=assessment.id,
        candidate_id=candidate.id,
        token_hash=hash_secret(secret),
        expires_at=utcnow() + dt.timedelta(days=1),
    )
    session.add(invitation)
    world.tokens["candidate"] = secret
    archive = blobs.put(session, [tiny_archive()])
    submission = Submission(
        org_id=acme.id,
        candidate_id=candidate.id,
        assessment_id=assessment.id,
        sha256=archive.sha256,
        size=archive.size,
        filename="ada-lovelace.tar.gz",
        origin="upload",
    )
    session.add(submission)
    session.flush()
    report = blobs.put(session, [b'{"schema": "proofwork.report/1"}'])
    html = blobs.put(session, [b"<!doctype html><title>report</title>"])
    run = Run(
        org_id=acme.id,
        submission_id=submission.id,
        state=RunState.DONE,
        report_sha256=report.sha256,
        html_sha256=html.sha256,
        finished_at=utcnow(),
    )
    session.add(run)
    session.flush()
    reviewer_id = admin.find_user(session=session, email="reviewer@acme.test").id
    session.add_all(
        [
            Scorecard(org_id=acme.id, run_id=run.id, reviewer_id=reviewer_id, levels={"x": 2}),
            Decision(
                org_id=acme.id, candidate_id=candidate.id, outcome=Outcome.ADVANCE, reason="good"
            ),
        ]
    )
    endpoint = WebhookEndpoint(
        org_id=acme.id, url="https://hooks.example.org/x", secret=new_webhook_secret(), events=[]
    )
    session.add(endpoint)
    session.flush()
    delivery = WebhookDelivery(
        org_id=acme.id,
        endpoint_id=endpoint.id,
        message_id="msg_world",
        event_type="run.completed",
        payload={"type": "run.completed", "data": {"run_id": run.id}},
        state=DeliveryState.FAILED,
    )
    session.add(delivery)
    session.commit()
    world.ids = {
        "assessment_id": assessment.id,
        "candidate_id": candidate.id,
        "invitation_id": invitation.id,
        "submission_id": submission.id,
        "run_id": run.id,
        "endpoint_id": endpoint.id,
        "delivery_id": delivery.id,
    }
    return world
