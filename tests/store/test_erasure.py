"""Deleting a candidate deletes their submissions, runs, reports and blobs for real."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from proofwork.store import BlobStore, DatabaseBlobs, FolderBlobs
from proofwork.store.erasure import erase_candidate
from proofwork.store.models import (
    Assessment,
    Base,
    Blob,
    Candidate,
    Decision,
    Invitation,
    Organisation,
    Outcome,
    Run,
    RunEvent,
    RunState,
    Scorecard,
    Submission,
    User,
)


@pytest.fixture(params=["folder", "database"])
def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    return FolderBlobs(tmp_path / "blobs") if request.param == "folder" else DatabaseBlobs()


def _candidate(
    db: Session, blobs: BlobStore, org: Organisation, name: str, archive: bytes
) -> Candidate:
    assessment = Assessment(
        org_id=org.id, title="Orders", pack_id="orders-api", time_box_minutes=90
    )
    candidate = Candidate(org_id=org.id, name=name, email=f"{name}@example.org", alias="Blue Fox")
    reviewer = User(email=f"reviewer-of-{name}@example.org")
    db.add_all([assessment, candidate, reviewer])
    db.flush()
    invitation = Invitation(
        org_id=org.id,
        assessment_id=assessment.id,
        candidate_id=candidate.id,
        token_hash=f"{name:0<64}",
        expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=7),
    )
    db.add(invitation)
    db.flush()
    upload = blobs.put(db, [archive])
    submission = Submission(
        org_id=org.id,
        candidate_id=candidate.id,
        assessment_id=assessment.id,
        invitation_id=invitation.id,
        sha256=upload.sha256,
        size=upload.size,
        origin="invitation",
    )
    db.add(submission)
    db.flush()
    report = blobs.put(db, [b'{"report": "%s"}' % name.encode()])
    html = blobs.put(db, [b"<html>%s</html>" % name.encode()])
    run = Run(
        org_id=org.id,
        submission_id=submission.id,
        state=RunState.DONE,
        report_sha256=report.sha256,
        html_sha256=html.sha256,
    )
    db.add(run)
    db.flush()
    db.add_all(
        [
            RunEvent(run_id=run.id, attempt=1, kind="phase", name="intake"),
            Scorecard(org_id=org.id, run_id=run.id, reviewer_id=reviewer.id, levels={"x": 3}),
            Decision(
                org_id=org.id,
                candidate_id=candidate.id,
                assessment_id=assessment.id,
                outcome=Outcome.ADVANCE,
                reason="strong tests",
            ),
        ]
    )
    db.flush()
    return candidate


def _count(db: Session, model: type[Base], **where: object) -> int:
    query = select(func.count()).select_from(model)
    for column, value in where.items():
        query = query.where(getattr(model, column) == value)
    return db.scalar(query) or 0


def test_erasing_a_candidate_removes_their_rows_and_blobs(db: Session, blobs: BlobStore) -> None:
    org = Organisation(name="Acme")
    db.add(org)
    db.flush()
    gone = _candidate(db, blobs, org, "ada", b"ada's archive")
    kept = _candidate(db, blobs, org, "bob", b"bob's archive")
    gone_shas = set(db.scalars(select(Submission.sha256).where(Submission.candidate_id == gone.id)))
    gone_shas |= set(
        db.scalars(
            select(Run.report_sha256).join(Submission).where(Submission.candidate_id == gone.id)
        )
    )
    db.commit()

    assert erase_candidate(session=db, blobs=blobs, org_id=org.id, candidate_id=gone.id)
    db.commit()

    for model in (Invitation, Submission, Decision):
        assert _count(db, model, candidate_id=gone.id) == 0
        assert _count(db, model, candidate_id=kept.id) == 1
    assert _count(db, Run) == _count(db, RunEvent) == _count(db, Scorecard) == 1
    assert _count(db, Candidate) == 1
    assert _count(db, Blob) == 3  # bob's archive, report and HTML
    for sha in gone_shas:
        with pytest.raises(KeyError):
            blobs.read(db, sha)
        if isinstance(blobs, FolderBlobs):
            assert not blobs.path(sha).exists()


def test_a_blob_another_candidate_shares_is_kept(db: Session, blobs: BlobStore) -> None:
    org = Organisation(name="Acme")
    db.add(org)
    db.flush()
    gone = _candidate(db, blobs, org, "ada", b"the same starter, unchanged")
    _candidate(db, blobs, org, "bob", b"the same starter, unchanged")
    shared = db.scalars(select(Submission.sha256).where(Submission.candidate_id == gone.id)).one()
    assert erase_candidate(session=db, blobs=blobs, org_id=org.id, candidate_id=gone.id)
    db.commit()
    assert blobs.read(db, shared) == b"the same starter, unchanged"


def test_another_organisation_cannot_erase_a_candidate(db: Session, blobs: BlobStore) -> None:
    acme, other = Organisation(name="Acme"), Organisation(name="Other")
    db.add_all([acme, other])
    db.flush()
    candidate = _candidate(db, blobs, acme, "ada", b"archive")
    assert not erase_candidate(session=db, blobs=blobs, org_id=other.id, candidate_id=candidate.id)
    assert _count(db, Candidate) == 1
